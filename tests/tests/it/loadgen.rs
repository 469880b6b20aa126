//! The load generator (`gerbang-loadgen`) with tiny numbers, so that it cannot rot: each
//! measurement runs to the end against a real relay over real sockets, and every ack is
//! counted exactly once. Nothing about speed is asserted (that is docs/BENCHMARKS.md's job).

use std::collections::BTreeMap;
use std::time::Duration;

use gerbang_e2e::process;
use gerbang_loadgen::target::Codes;
use gerbang_loadgen::{fanout, idle, ingest, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_counts_every_ack_exactly_once_over_tls() {
    let target = Target::in_process(true).await.unwrap();
    let setup = target.prepare(60, Codes::Signed, 3).await.unwrap();
    assert_eq!(setup.codes.len(), 60);
    let run = |codes: &'static str, range: std::ops::Range<usize>, gates, window| {
        let (target, setup) = (&target, &setup);
        async move {
            let result = ingest::run(
                target,
                setup.event_id,
                &setup.tokens,
                &setup.codes[range.clone()],
                ingest::Load { gates, window },
            )
            .await
            .unwrap();
            assert_eq!(result.scans, range.len(), "{codes}");
            assert_eq!(result.acks, range.len(), "{codes}");
            result.verdicts
        }
    };
    // One at a time, then pipelined from three gates: every scan a first admission.
    let admitted = |n| BTreeMap::from([("admitted", n)]);
    assert_eq!(run("baseline", 0..10, 1, 1).await, admitted(10));
    assert_eq!(run("group", 10..60, 3, 4).await, admitted(50));
    // The same tickets again: still one ack per scan, each refused as used.
    assert_eq!(
        run("again", 10..20, 2, 3).await,
        BTreeMap::from([("already_used", 10)])
    );
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_matches_every_scan_to_every_other_gate() {
    let target = Target::in_process(false).await.unwrap();
    let plan = fanout::Plan {
        gates: 3,
        rate: 50.0,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
    };
    let setup = target
        .prepare(plan.scans(), Codes::Opaque, plan.gates)
        .await
        .unwrap();
    let spread = fanout::run(&target, setup.event_id, &setup.tokens, &setup.codes, plan)
        .await
        .unwrap();
    assert_eq!(spread.missing, 0);
    assert!(spread.scans > 0 && spread.scans <= plan.scans());
    assert_eq!(spread.all_gates.count, spread.scans);
    assert_eq!(spread.deliveries.count, spread.scans * (plan.gates - 1));
    assert_eq!(spread.acks.count, spread.scans);
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_reads_the_memory_of_the_real_relay_binary() {
    let binary = process::binary("gerbang-relay");
    let target = tokio::task::spawn_blocking(move || Target::spawn(&binary, false))
        .await
        .unwrap()
        .unwrap();
    let tokens = target.pair_gates(3).await.unwrap();
    // Two connections per device: the relay allows four.
    let measured = idle::run(&target, &tokens, 6, 2, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(measured.connections, 6);
    assert!(measured.before > 0 && measured.after > 0);
    target.stop().await;
}

//! How fast a new gate goes from nothing to live on a relay with a large event: through a
//! snapshot and a short catch-up, and, side by side as the baseline, through a catch-up of the
//! whole log. The real sync engine, real relays (in this process, file databases,
//! `synchronous=FULL`) and real sockets on loopback, over TLS with the certificate pinned
//! (or plain with `plain`).
//!
//! ```text
//! cargo run --release -p gerbang-e2e --example new_gate [TICKETS] [SCANS] [tls|plain] [RUNS]
//! ```
//!
//! Two relays hold the same event: TICKETS tickets (default 100,000) and SCANS admissions
//! (default 20,000). One sends new gates to a snapshot (its limit is the default, 50,000
//! entries), the other never does. Each run starts a fresh gate on each, alternately, and
//! times it from the engine's start until it is online (caught up).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::protocol::{Role, ScanRecord};
use gerbang_core::{Direction, GateRules, Millis, VerdictKind};
use gerbang_e2e::{code, RelayOptions, TestRelay, EVENT};
use gerbang_gate::sync::{LinkState, SyncConfig, SyncEngine, SyncEvent};
use gerbang_gate::{Pairing, Store};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let tickets: u32 = args.next().map_or(100_000, |a| a.parse().unwrap());
    let scans: u32 = args.next().map_or(20_000, |a| a.parse().unwrap());
    let tls = args.next().is_none_or(|a| a != "plain");
    let runs: u32 = args.next().map_or(3, |a| a.parse().unwrap());

    let with_snapshots = filled(tickets, scans, tls, RelayOptions::default().snapshot_after).await;
    let log_only = filled(tickets, scans, tls, u64::MAX).await;
    let head = with_snapshots.head();
    assert_eq!(head, log_only.head());
    println!(
        "event: {tickets} tickets, {scans} admissions; log of {head} entries; {}",
        if tls { "TLS, pinned" } else { "plain" }
    );

    // What the relay serves: one snapshot, downloaded and timed on its own.
    let (size, served) = download(&with_snapshots).await;
    println!(
        "snapshot: {:.1} MB gzip, served in {:.2} s",
        size as f64 / 1e6,
        served.as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    for run in 1..=runs {
        let (total, snapshot) = new_gate(&with_snapshots, &dir, &format!("snap-{run}")).await;
        let (baseline, none) = new_gate(&log_only, &dir, &format!("log-{run}")).await;
        assert!(snapshot.is_some() && none.is_none());
        let snapshot = snapshot.unwrap_or_default();
        println!(
            "run {run}: snapshot path {:.2} s (snapshot in {:.2} s, then catch-up and online \
             {:.2} s); whole log {:.2} s; {:.1}x",
            total.as_secs_f64(),
            snapshot.as_secs_f64(),
            (total - snapshot).as_secs_f64(),
            baseline.as_secs_f64(),
            baseline.as_secs_f64() / total.as_secs_f64()
        );
    }
    with_snapshots.stop().await;
    log_only.stop().await;
}

/// A relay with the event, `tickets` tickets and `scans` admissions from other gates.
async fn filled(tickets: u32, scans: u32, tls: bool, snapshot_after: u64) -> TestRelay {
    let relay = TestRelay::start_with(RelayOptions {
        tls,
        tickets,
        snapshot_after,
    })
    .await;
    let writer = relay.admin.writer();
    let mut pending = Vec::with_capacity(scans as usize);
    for ticket_id in 1..=scans {
        let scan = ScanRecord {
            scan_id: uuid::Uuid::now_v7(),
            event_id: EVENT,
            code: code(ticket_id),
            ticket_id: Some(ticket_id),
            gate: format!("Pintu {}", ticket_id % 20),
            direction: Direction::Entry,
            at: Millis(1_795_262_400_000),
            local: VerdictKind::Admitted,
        };
        pending.push(writer.submit_scan(scan).await.unwrap());
    }
    for ack in pending {
        ack.wait().await.unwrap();
    }
    relay
}

/// Downloads the event's snapshot as a gate would (pinned), without applying it: its size and
/// how long the relay took to serve it.
async fn download(relay: &TestRelay) -> (usize, Duration) {
    let (_, token) = relay.admin.create_device("measure", Role::Gate).unwrap();
    let transport =
        gerbang_gate::sync::transport::Transport::new(&relay.url(), relay.fingerprint.as_deref())
            .unwrap();
    let client = transport.http_client().unwrap();
    let started = Instant::now();
    let body = client
        .get(transport.http_url(&gerbang_core::snapshot::snapshot_path(EVENT)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (body.len(), started.elapsed())
}

/// A new gate on `relay`: the time until it is online, and until its snapshot was applied if
/// it took one.
async fn new_gate(
    relay: &TestRelay,
    dir: &tempfile::TempDir,
    name: &str,
) -> (Duration, Option<Duration>) {
    let store = Store::open(dir.path().join(format!("{name}.sqlite3"))).unwrap();
    store
        .set_gate_rules(&GateRules {
            gate: name.into(),
            direction: Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();
    let (_, token) = relay.admin.create_device(name, Role::Gate).unwrap();
    let pairing = Pairing {
        relay: relay.url(),
        token,
        fingerprint: relay.fingerprint.clone(),
        device_name: name.into(),
    };
    let store = Arc::new(store);
    let started = Instant::now();
    let engine = SyncEngine::start(Arc::clone(&store), SyncConfig::new(pairing));
    let mut events = engine.subscribe();
    let snapshot = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(SyncEvent::Snapshot { .. }) => return Some(started.elapsed()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    });
    let mut status = engine.status();
    status
        .wait_for(|s| s.state == LinkState::Online)
        .await
        .unwrap();
    let online = started.elapsed();
    assert_eq!(store.cursor().unwrap(), relay.head());
    engine.stop().await;
    let snapshot = snapshot.await.unwrap();
    (online, snapshot)
}

//! How fast a gate comes back from an outage, through the real sync engine, a real relay and
//! real sockets on loopback:
//!
//! * **catch-up**: a gate whose cursor is 100,000 log entries behind (other gates' scans)
//!   connects; time until it has applied all of them and is online;
//! * **outbox**: a gate that scanned 10,000 times offline connects; time until every scan is
//!   acknowledged, with the pipelined upload (window 256) and, side by side as the baseline,
//!   stop-and-wait (window 1, on at most 1,000 scans: compare the rates).
//!
//! ```text
//! cargo run --release -p gerbang-e2e --example catch_up [ENTRIES] [QUEUED]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::protocol::{Role, ScanRecord};
use gerbang_core::{Direction, GateRules, Millis, VerdictKind};
use gerbang_e2e::{code, TestRelay, EVENT};
use gerbang_gate::sync::{LinkState, SyncConfig, SyncEngine};
use gerbang_gate::{Pairing, Store};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let entries: u32 = args.next().map_or(100_000, |a| a.parse().unwrap());
    let queued: u32 = args.next().map_or(10_000, |a| a.parse().unwrap());
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();

    // The backlog: other gates' scans, straight into the relay's writer, in flight together.
    let fill = Instant::now();
    let writer = relay.admin.writer();
    let mut pending = Vec::with_capacity(entries as usize);
    for ticket_id in 1..=entries {
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
    let head = relay.head();
    println!(
        "relay log: {head} entries ({entries} scans written in {:.1} s)",
        fill.elapsed().as_secs_f64()
    );

    // Catch-up: a new gate, cursor 0.
    let store = gate(&relay, &dir, "catch-up");
    let started = Instant::now();
    let engine = SyncEngine::start(Arc::clone(&store), config(&store, 256));
    let mut status = engine.status();
    status
        .wait_for(|s| s.state == LinkState::Online)
        .await
        .unwrap();
    let caught_up = started.elapsed();
    assert_eq!(store.cursor().unwrap(), head);
    engine.stop().await;
    println!(
        "catch-up of {head} entries: {:.2} s ({:.0} entries/s; target under 2 s for 100,000)",
        caught_up.as_secs_f64(),
        head as f64 / caught_up.as_secs_f64()
    );

    // The outbox, pipelined and stop-and-wait, on fresh gates that are already caught up.
    // Stop-and-wait is slow: it gets a smaller queue, and the two compare as rates.
    for (window, queued) in [(256, queued), (1, queued.min(1_000))] {
        let store = gate(&relay, &dir, &format!("outbox-{window}"));
        let engine = SyncEngine::start(Arc::clone(&store), config(&store, window));
        engine
            .status()
            .wait_for(|s| s.state == LinkState::Online)
            .await
            .unwrap();
        engine.stop().await;
        // Offline now: scan the queue.
        let now = gerbang_gate::sync::system_clock();
        for i in 0..queued {
            store
                .record_scan(&format!("PAPER-{window}-{i}"), now)
                .unwrap();
        }
        assert_eq!(store.outbox_depth().unwrap(), u64::from(queued));
        let started = Instant::now();
        let engine = SyncEngine::start(Arc::clone(&store), config(&store, window));
        let mut status = engine.status();
        tokio::time::timeout(Duration::from_secs(600), status.wait_for(|s| s.outbox == 0))
            .await
            .unwrap()
            .unwrap();
        let drained = started.elapsed();
        engine.stop().await;
        println!(
            "outbox of {queued} scans, window {window:>3}: {:.2} s ({:.0} scans/s{})",
            drained.as_secs_f64(),
            f64::from(queued) / drained.as_secs_f64(),
            if window > 1 {
                "; target under 1 s for 10,000"
            } else {
                "; baseline"
            }
        );
    }
    relay.stop().await;
}

/// A gate store paired with the relay (a device token made directly), at gate `name`.
fn gate(relay: &TestRelay, dir: &tempfile::TempDir, name: &str) -> Arc<Store> {
    let store = Store::open(dir.path().join(format!("{name}.sqlite3"))).unwrap();
    store
        .set_gate_rules(&GateRules {
            gate: name.into(),
            direction: Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();
    let (_, token) = relay.admin.create_device(name, Role::Gate).unwrap();
    store
        .set_pairing(Some(&Pairing {
            relay: format!("ws://{}", relay.addr),
            token,
            fingerprint: None,
            device_name: name.into(),
        }))
        .unwrap();
    Arc::new(store)
}

fn config(store: &Store, window: usize) -> SyncConfig {
    let mut config = SyncConfig::new(store.pairing().unwrap().unwrap());
    config.upload_window = window;
    config
}

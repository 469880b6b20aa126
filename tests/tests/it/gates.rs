//! Gates that see each other's scans, conflicts, late pairing, refusals and skewed clocks.

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, AlertKind, ErrorCode, LogBody, Role};
use gerbang_core::VerdictKind;
use gerbang_e2e::gate::{assert_same_view, settled_in, GateOptions, TestGate};
use gerbang_e2e::proxy::Mode;
use gerbang_e2e::{code, RelayOptions, TestRelay, DEADLINE, EVENT};
use gerbang_gate::sync::{LinkState, SyncEvent};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// Waits for the first event `pick` accepts.
async fn next_event<T>(
    events: &mut broadcast::Receiver<SyncEvent>,
    mut pick: impl FnMut(&SyncEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let event = events.recv().await.expect("the engine stopped");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await
    .expect("the event did not come before the deadline")
}

/// Scenario 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_at_gate_a_is_seen_at_gate_b_which_refuses_the_ticket_as_used() {
    let relay = TestRelay::start().await;
    let a = TestGate::start(&relay, "Pintu A").await;
    let b = TestGate::start(&relay, "Pintu B").await;
    a.wait_online().await;
    b.wait_online().await;
    let mut seen_at_b = b.engine.subscribe();

    let first = a.scan(&code(7));
    assert_eq!(first.verdict.kind, VerdictKind::Admitted);
    let remote = next_event(&mut seen_at_b, |e| match e {
        SyncEvent::RemoteScan { scan } if scan.scan_id == first.scan_id => Some(scan.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (remote.gate.as_str(), remote.official),
        ("Pintu A", Some(VerdictKind::Admitted))
    );

    let second = b.scan(&code(7));
    assert_eq!(second.verdict.kind, VerdictKind::AlreadyUsed);
    let previous = second.verdict.previous.expect("where and when it was used");
    assert_eq!((previous.gate.as_str(), previous.at), ("Pintu A", first.at));
    assert_eq!(
        second.verdict.reason,
        format!("Already used at Pintu A, {}.", first.at.local_hhmm(420))
    );

    // The relay agrees, and so do both caches.
    b.wait_synced(relay.head()).await;
    a.wait_synced(relay.head()).await;
    let log = settled_in(&relay.log());
    assert_eq!(log[&first.scan_id].1, VerdictKind::Admitted);
    assert_eq!(log[&second.scan_id].1, VerdictKind::AlreadyUsed);
    assert_same_view(&a.name, &a.settled(), &log);
    assert_same_view(&b.name, &b.settled(), &log);
    relay.stop().await;
}

/// Scenario 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gates_admit_one_ticket_while_a_is_cut_off_and_the_later_is_a_conflict() {
    let relay = TestRelay::start().await;
    let a = TestGate::start(&relay, "Pintu A").await;
    let b = TestGate::start(&relay, "Pintu B").await;
    let supervisor = TestGate::start_as(&relay, "Koordinator", Role::Supervisor, 0).await;
    for gate in [&a, &b, &supervisor] {
        gate.wait_online().await;
    }
    let mut alerts = supervisor.engine.subscribe();

    a.proxy.set(Mode::Cut);
    a.wait_status("offline", |s| s.state == LinkState::Offline)
        .await;
    let at_a = a.scan(&code(7));
    assert_eq!(
        at_a.verdict.kind,
        VerdictKind::Admitted,
        "offline, A decides alone"
    );
    let at_b = b.scan(&code(7));
    assert_eq!(at_b.verdict.kind, VerdictKind::Admitted);
    b.wait_synced(relay.head().max(1)).await;
    assert_eq!(
        a.store.outbox_depth().unwrap(),
        1,
        "A's admission waits in its outbox"
    );

    a.proxy.heal();
    a.wait_status("outbox drained", |s| s.outbox == 0).await;
    let head = relay.head();
    a.wait_synced(head).await;
    b.wait_synced(head).await;

    // Both scans are in the log; B's arrived first and is the official admission.
    let log = relay.log();
    let scans = settled_in(&log);
    assert_eq!(
        scans[&at_b.scan_id],
        (scans[&at_b.scan_id].0, VerdictKind::Admitted, false)
    );
    let (seq_a, official_a, conflict_a) = scans[&at_a.scan_id];
    assert_eq!((official_a, conflict_a), (VerdictKind::AlreadyUsed, true));
    assert!(seq_a > scans[&at_b.scan_id].0);
    let conflict = log
        .iter()
        .find_map(|e| match &e.body {
            LogBody::Scan { scan, conflict, .. } if scan.scan_id == at_a.scan_id => {
                conflict.clone()
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(conflict.first_scan_id, at_b.scan_id);
    assert_eq!(conflict.first_gate, "Pintu B");

    // The supervisor gets an alert with both scans.
    let alert = next_event(&mut alerts, |e| match e {
        SyncEvent::Alert { alert } if alert.kind == AlertKind::Conflict => Some(alert.clone()),
        _ => None,
    })
    .await;
    let mut ids: Vec<_> = alert.scans.iter().map(|s| s.scan_id).collect();
    ids.sort();
    let mut expected = vec![at_a.scan_id, at_b.scan_id];
    expected.sort();
    assert_eq!(ids, expected);

    // Every cache holds the relay's view, counters included: one admission, not two.
    for gate in [&a, &b] {
        assert_same_view(&gate.name, &gate.settled(), &scans);
        let counters = gate.store.counters(EVENT, None).unwrap();
        assert_eq!(
            (counters.admitted, counters.inside_now, counters.refused),
            (1, 1, 1),
            "{}",
            gate.name
        );
    }
    let local = a.store.scan(at_a.scan_id).unwrap().unwrap();
    assert_eq!(
        (local.kind, local.official, local.conflict),
        (VerdictKind::Admitted, Some(VerdictKind::AlreadyUsed), true),
        "A keeps what it decided and learns the official verdict"
    );
    relay.stop().await;
}

/// Scenario 6 on a log longer than the relay's snapshot limit, over TLS through the fault
/// proxy: a gate that pairs late is sent to a snapshot (downloaded over HTTPS, pinned), catches
/// up what came after it from the log, then follows live. Its copy is the relay's view and
/// decides as the gate that followed the log all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_pairs_late_on_a_long_log_starts_from_a_snapshot_then_catches_up_and_goes_live()
{
    let relay = TestRelay::start_with(RelayOptions {
        tls: true,
        snapshot_after: 50,
        ..RelayOptions::default()
    })
    .await;
    let a = TestGate::start(&relay, "Pintu A").await;
    a.wait_online().await;
    for t in 1..=30 {
        a.scan(&code(t));
    }
    a.engine
        .send_message(None, "Pintu C dibuka jam 19.30")
        .unwrap();
    relay
        .admin
        .writer()
        .append(LogBody::TicketRevoked {
            event_id: EVENT,
            ticket_id: 40,
        })
        .await
        .unwrap();
    let store = std::sync::Arc::clone(&a.store);
    gerbang_e2e::eventually("the message to come back to A", || {
        !store.messages(1).unwrap().is_empty()
    })
    .await;
    let head = relay.head();
    assert!(head > 50, "a log longer than the limit: {head}");
    a.wait_synced(head).await;

    // C starts cut off, so that it listens before it first reaches the relay.
    let options = GateOptions {
        offline: true,
        ..GateOptions::for_relay(&relay)
    };
    let c = TestGate::start_with(&relay, "Pintu C", options).await;
    let mut events = c.engine.subscribe();
    c.proxy.heal();
    let applied = next_event(&mut events, |e| match e {
        SyncEvent::Snapshot { applied } => Some(applied.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (
            applied.event_id,
            applied.tickets,
            applied.scans,
            applied.outbox
        ),
        (EVENT, 100, 30, 0)
    );
    assert!(applied.cursor >= head);
    c.wait_online().await;
    assert_eq!(c.store.active_event().unwrap(), Some(EVENT));

    // Cut off a while: what happens meanwhile is caught up from the log, not a snapshot.
    c.proxy.set(Mode::Cut);
    c.wait_status("offline", |s| s.state == LinkState::Offline)
        .await;
    for t in 31..=40 {
        a.scan(&code(t));
    }
    a.wait_synced(relay.head()).await;
    c.proxy.heal();
    c.wait_synced(relay.head()).await;
    c.wait_online().await;
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, SyncEvent::Snapshot { .. }),
            "a second snapshot: {event:?}"
        );
    }

    // Then live.
    let later = a.scan(&code(41));
    let seen = next_event(&mut events, |e| match e {
        SyncEvent::RemoteScan { scan } if scan.scan_id == later.scan_id => Some(scan.gate.clone()),
        _ => None,
    })
    .await;
    assert_eq!(seen, "Pintu A");

    // C's copy is the relay's view, counts as A's, and decides like A.
    let head = relay.head();
    a.wait_synced(head).await;
    c.wait_synced(head).await;
    let log = settled_in(&relay.log());
    assert_same_view(&c.name, &c.settled(), &log);
    assert_eq!(
        c.store.counters(EVENT, None).unwrap(),
        a.store.counters(EVENT, None).unwrap()
    );
    for t in [1, 40, 41, 99, 100] {
        assert_eq!(
            c.store.ticket(EVENT, t).unwrap(),
            a.store.ticket(EVENT, t).unwrap()
        );
    }
    assert_eq!(c.store.messages(10).unwrap(), a.store.messages(10).unwrap());
    let used = c.scan(&code(5));
    assert_eq!(used.verdict.kind, VerdictKind::AlreadyUsed);
    assert_eq!(c.scan(&code(40)).verdict.kind, VerdictKind::Revoked);
    assert_eq!(c.scan(&code(77)).verdict.kind, VerdictKind::Admitted);
    c.wait_synced(relay.head()).await;
    relay.stop().await;
}

/// Scenario 6 (without a snapshot: the relay serves the whole log to a new gate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_pairs_late_catches_up_and_then_sees_live_scans() {
    let relay = TestRelay::start().await;
    let a = TestGate::start(&relay, "Pintu A").await;
    a.wait_online().await;
    let early: Vec<_> = (1..=30).map(|t| a.scan(&code(t))).collect();
    a.wait_synced(relay.head()).await;

    // C pairs the way a person does it: a pairing code over HTTP.
    let pairing_code = relay.admin.create_pairing_code(Role::Gate).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(gerbang_gate::Store::open(dir.path().join("c.sqlite3")).unwrap());
    let link =
        gerbang_core::pairing::PairingLink::new(&format!("ws://{}", relay.addr), &pairing_code)
            .unwrap();
    let paired = gerbang_gate::sync::pairing::pair(&store, &link, "Pintu C")
        .await
        .unwrap();
    assert_eq!(
        (paired.device_name.as_str(), paired.role),
        ("Pintu C", Role::Gate)
    );
    store
        .set_gate_rules(&gerbang_core::GateRules {
            gate: "Pintu C".into(),
            direction: gerbang_core::Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();
    let pairing = store.pairing().unwrap().unwrap();
    let c = gerbang_gate::sync::SyncEngine::start(
        std::sync::Arc::clone(&store),
        gerbang_gate::sync::SyncConfig::new(pairing),
    );
    let mut live = c.subscribe();
    let mut status = c.status();
    tokio::time::timeout(DEADLINE, status.wait_for(|s| s.state == LinkState::Online))
        .await
        .unwrap()
        .unwrap();

    // Caught up: the event, its tickets and every earlier scan, and it follows the event.
    assert_eq!(store.active_event().unwrap(), Some(EVENT));
    assert_eq!(store.counters(EVENT, None).unwrap().issued, 100);
    assert_eq!(store.counters(EVENT, None).unwrap().admitted, 30);
    for outcome in &early {
        assert!(store.scan(outcome.scan_id).unwrap().is_some());
    }
    let refused = store
        .record_scan(&code(5), gerbang_gate::sync::system_clock())
        .unwrap();
    assert_eq!(refused.verdict.kind, VerdictKind::AlreadyUsed);

    // Then live.
    let later = a.scan(&code(31));
    let seen = next_event(&mut live, |e| match e {
        SyncEvent::RemoteScan { scan } if scan.scan_id == later.scan_id => Some(scan.gate.clone()),
        _ => None,
    })
    .await;
    assert_eq!(seen, "Pintu A");
    c.stop().await;
    relay.stop().await;
}

/// Scenario 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_gate_is_refused_and_keeps_its_scans_and_a_wrong_version_gets_a_clear_error() {
    let relay = TestRelay::start().await;
    let a = TestGate::start(&relay, "Pintu A").await;
    a.wait_online().await;

    assert!(relay.admin.revoke_device(&a.device_id).unwrap());
    a.wait_status("refused", |s| s.state == LinkState::Refused)
        .await;
    let status = a.status();
    assert_eq!(status.refused, Some(ErrorCode::DeviceRevoked));
    let words = status.last_error.unwrap();
    assert!(
        words.contains("removed from the relay") && words.contains("pair it again"),
        "{words}"
    );
    // The engine stopped trying: no new connection through the proxy.
    let attempts = a.proxy.accepted();
    // Still a gate: it decides offline and keeps the scan for whichever relay comes next.
    let outcome = a.scan(&code(8));
    assert_eq!(outcome.verdict.kind, VerdictKind::Admitted);
    assert_eq!(a.store.outbox_depth().unwrap(), 1);
    assert_eq!(a.proxy.accepted(), attempts);

    // A client speaking version 99 is told so, with the protocol-error close code.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}{}", relay.addr, protocol::WS_PATH))
            .await
            .unwrap();
    ws.send(Message::text(
        r#"{"v":99,"type":"hello","token":"gbt_x","cursor":0,"device_name":"x","app_version":"9"}"#,
    ))
    .await
    .unwrap();
    let mut error = None;
    let mut close = None;
    while let Some(frame) = tokio::time::timeout(DEADLINE, ws.next()).await.unwrap() {
        match frame.unwrap() {
            Message::Text(text) => error = Some(protocol::decode_server(text.as_str()).unwrap()),
            Message::Close(frame) => {
                close = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    let Some(protocol::ServerMessage::Error { code, message }) = error else {
        panic!("expected an error message, got {error:?}");
    };
    assert_eq!(code, ErrorCode::UnknownVersion);
    assert!(message.contains("99"), "{message}");
    assert_eq!(close, Some(1002));
    relay.stop().await;
}

/// Scenario 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_with_clocks_ten_minutes_apart_agree_on_the_official_first_use() {
    const TEN_MINUTES: i64 = 10 * 60 * 1000;
    let relay = TestRelay::start().await;
    let ahead = TestGate::start_as(&relay, "Pintu A", Role::Gate, TEN_MINUTES).await;
    let behind = TestGate::start_as(&relay, "Pintu B", Role::Gate, -TEN_MINUTES).await;
    ahead.wait_online().await;
    behind.wait_online().await;

    // Each gate measures its clock against the relay's.
    ahead
        .wait_status("clock offset", |s| s.clock_offset_ms.is_some())
        .await;
    behind
        .wait_status("clock offset", |s| s.clock_offset_ms.is_some())
        .await;
    let off = |g: &TestGate| g.status().clock_offset_ms.unwrap();
    assert!((off(&ahead) + TEN_MINUTES).abs() < 2_000, "{}", off(&ahead));
    assert!(
        (off(&behind) - TEN_MINUTES).abs() < 2_000,
        "{}",
        off(&behind)
    );

    // Online: A's admission, stamped ten minutes in B's future, still makes B refuse.
    let mut at_b = behind.engine.subscribe();
    let first = ahead.scan(&code(3));
    next_event(&mut at_b, |e| {
        matches!(e, SyncEvent::RemoteScan { scan } if scan.scan_id == first.scan_id).then_some(())
    })
    .await;
    assert_eq!(behind.scan(&code(3)).verdict.kind, VerdictKind::AlreadyUsed);

    // Offline: both admit ticket 4. B's clock says its scan came twenty minutes before A's,
    // but A reaches the relay first, so A's is the official first use, everywhere.
    ahead.proxy.set(Mode::Cut);
    behind.proxy.set(Mode::Cut);
    let from_a = ahead.scan(&code(4));
    let from_b = behind.scan(&code(4));
    assert!(from_b.at.0 < from_a.at.0);
    ahead.proxy.heal();
    ahead
        .wait_status("A's outbox drained", |s| s.outbox == 0)
        .await;
    behind.proxy.heal();
    behind
        .wait_status("B's outbox drained", |s| s.outbox == 0)
        .await;
    let head = relay.head();
    ahead.wait_synced(head).await;
    behind.wait_synced(head).await;
    let log = settled_in(&relay.log());
    assert_eq!(log[&from_a.scan_id].1, VerdictKind::Admitted);
    assert_eq!(
        (log[&from_b.scan_id].1, log[&from_b.scan_id].2),
        (VerdictKind::AlreadyUsed, true)
    );
    assert_same_view(&ahead.name, &ahead.settled(), &log);
    assert_same_view(&behind.name, &behind.settled(), &log);
    relay.stop().await;
}

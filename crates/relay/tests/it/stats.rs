//! Live statistics: exact counts after scans, the same object over HTTP and pushed, pushes
//! coalesced, and capacity alerts once per upward crossing.

use std::time::Instant;

use gerbang_core::protocol::{AlertKind, EventStats, Role, ServerMessage};
use gerbang_core::{Direction, VerdictKind};
use reqwest::StatusCode;
use serde_json::json;

use crate::{fixed_clock, scan_of, ticket_code, upload, Body, Client, Http, TestRelay, EVENT, NOW};

/// The first `stats` message of the event on a connection that has just caught up.
async fn first_stats(client: &mut Client) -> EventStats {
    match client
        .until(|m| matches!(m, ServerMessage::Stats { stats } if stats.event_id == EVENT))
        .await
    {
        ServerMessage::Stats { stats } => stats,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn statistics_count_exactly_what_was_logged() {
    let relay = TestRelay::start_at(fixed_clock).await;
    let http = Http::new(&relay);
    let (_, supervisor_token) = relay.token("Koordinator", Role::Supervisor);
    let mut supervisor = relay.client("Koordinator 2", Role::Supervisor).await;
    let before = first_stats(&mut supervisor).await;
    assert_eq!(
        (
            before.issued,
            before.admitted,
            before.inside_now,
            before.remaining
        ),
        (10, 0, 0, Some(500))
    );

    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let mut b = relay.client("Gerbang B", Role::Gate).await;
    let verdicts = upload(
        &mut a,
        vec![
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, NOW - 1_000),
            scan_of(&ticket_code(2), "Gerbang A", Direction::Entry, NOW - 900),
            scan_of(&ticket_code(3), "Gerbang A", Direction::Entry, NOW - 800),
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, NOW - 700),
            scan_of("TIDAK-DIKENAL", "Gerbang A", Direction::Entry, NOW - 600),
        ],
    )
    .await;
    assert_eq!(
        verdicts,
        [
            VerdictKind::Admitted,
            VerdictKind::Admitted,
            VerdictKind::Admitted,
            VerdictKind::AlreadyUsed,
            VerdictKind::UnknownTicket
        ]
    );
    let verdicts = upload(
        &mut b,
        vec![
            scan_of(&ticket_code(2), "Gerbang B", Direction::Exit, NOW - 500),
            // Two minutes ago (uploaded late): counted, but not in the last minute.
            scan_of(
                &ticket_code(4),
                "Gerbang B",
                Direction::Entry,
                NOW - 120_000,
            ),
        ],
    )
    .await;
    assert_eq!(verdicts, [VerdictKind::ExitRecorded, VerdictKind::Admitted]);
    let (status, _) = http
        .call(
            "POST",
            &format!("/events/{EVENT}/tickets/5/revoke"),
            Some(&supervisor_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Acks are sent after the counts are updated: no wait needed for the HTTP figures.
    let (status, stats) = http
        .call(
            "GET",
            &format!("/events/{EVENT}/stats"),
            Some(&supervisor_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    expect_test::expect![[r#"
        {
          "admitted": 4,
          "at": 1795262400000,
          "capacity": 500,
          "event_id": 1,
          "inside_now": 3,
          "issued": 9,
          "per_gate": [
            {
              "admitted": 3,
              "exits": 0,
              "gate": "Gerbang A",
              "last_minute": 3
            },
            {
              "admitted": 1,
              "exits": 1,
              "gate": "Gerbang B",
              "last_minute": 1
            }
          ],
          "remaining": 497
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&stats).unwrap());

    // A dashboard that connects now is pushed the same object. (The first supervisor is not
    // used again: it sends no heartbeat, and a slow run could outlast the link timeout.)
    drop(supervisor);
    let expected: EventStats = serde_json::from_value(stats).unwrap();
    let mut dashboard = relay.client("Dasbor", Role::Supervisor).await;
    assert_eq!(first_stats(&mut dashboard).await, expected);
    relay.stop().await;
}

#[tokio::test]
async fn statistics_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.sqlite3");
    let open = || {
        let mut config = gerbang_relay::Config::new(gerbang_relay::Location::file(&path));
        config.clock = fixed_clock;
        gerbang_relay::Relay::open(config).unwrap()
    };
    let relay = open();
    crate::seed(&relay).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = relay.spawn(listener).unwrap();
    let (_, token) = running
        .admin
        .create_device("Gerbang A", Role::Gate)
        .unwrap();
    let mut gate = Client::connect(running.addr).await;
    gate.hello(&token, 0).await;
    gate.until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
        .await;
    upload(
        &mut gate,
        vec![
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, NOW - 10),
            scan_of(&ticket_code(2), "Gerbang A", Direction::Entry, NOW - 10),
            scan_of(&ticket_code(2), "Gerbang A", Direction::Exit, NOW - 5),
        ],
    )
    .await;
    drop(gate);
    running.stop().await.unwrap();

    let relay = open();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = relay.spawn(listener).unwrap();
    let (_, token) = running
        .admin
        .create_device("Koordinator", Role::Supervisor)
        .unwrap();
    let mut supervisor = Client::connect(running.addr).await;
    supervisor.hello(&token, 0).await;
    let stats = first_stats(&mut supervisor).await;
    assert_eq!((stats.issued, stats.admitted, stats.inside_now), (10, 2, 1));
    let gate = &stats.per_gate[0];
    assert_eq!(
        (
            gate.gate.as_str(),
            gate.admitted,
            gate.exits,
            gate.last_minute
        ),
        ("Gerbang A", 2, 1, 3)
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn many_scans_make_few_stats_messages() {
    const SCANS: u32 = 300;
    let relay = TestRelay::start().await;
    let mut supervisor = relay.client("Koordinator", Role::Supervisor).await;
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let started = Instant::now();
    // Signed codes of tickets the relay has never stored: each is admitted, so every scan
    // changes the figures.
    let scans = (0..SCANS)
        .map(|i| {
            scan_of(
                &ticket_code(1_000 + i),
                "Gerbang A",
                Direction::Entry,
                gerbang_relay::system_clock().0,
            )
        })
        .collect();
    let verdicts = upload(&mut gate, scans).await;
    assert!(verdicts.iter().all(|v| *v == VerdictKind::Admitted));

    let mut pushes = 0;
    let mut last: Option<EventStats> = None;
    loop {
        if let ServerMessage::Stats { stats } = supervisor.recv_any().await {
            pushes += 1;
            // Only changes are pushed: never the same figures twice in a row.
            if let Some(previous) = &last {
                let mut again = stats.clone();
                again.at = previous.at;
                assert_ne!(&again, previous, "the same figures were pushed twice");
            }
            let done = stats.admitted == SCANS;
            last = Some(stats);
            if done {
                break;
            }
        }
    }
    // At most one push per interval while the scans came in, plus the one after catch-up and
    // one for a tick that straddles the start.
    let intervals = started.elapsed().as_millis() / 250;
    assert!(
        pushes as u128 <= intervals + 3,
        "{pushes} stats messages in {intervals} intervals of 250 ms"
    );
    assert!(pushes < SCANS, "{pushes} stats messages for {SCANS} scans");
    relay.stop().await;
}

#[tokio::test]
async fn a_capacity_threshold_alerts_supervisors_once_per_crossing() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let mut event = http
        .call("GET", &format!("/events/{EVENT}"), Some(&admin), None)
        .await
        .1;
    event["capacity"] = json!(10);
    let (status, _) = http
        .call(
            "PUT",
            &format!("/events/{EVENT}"),
            Some(&admin),
            Some(Body::Json(event)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut supervisor = relay.client("Koordinator", Role::Supervisor).await;
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let now = gerbang_relay::system_clock().0;
    let entry = |t: u32| scan_of(&ticket_code(t), "Gerbang A", Direction::Entry, now);
    let exit = |t: u32| scan_of(&ticket_code(t), "Gerbang A", Direction::Exit, now);

    // 9 of 10 inside: 90%. Down to 8 and back to 9: a second crossing. Then 10: full.
    upload(&mut gate, (1..=9).map(entry).collect()).await;
    upload(&mut gate, vec![exit(1), entry(1)]).await;
    upload(&mut gate, vec![entry(10)]).await;
    let mut alerts = Vec::new();
    let mut figures = Vec::new();
    while alerts.len() < 3 {
        if let ServerMessage::Alert { alert } = supervisor.recv().await {
            assert_eq!(alert.kind, AlertKind::CapacityThreshold);
            alerts.push(alert.text);
            // The same figures, for a client that words the alert in its own language.
            let crossed = alert
                .capacity
                .expect("a capacity alert carries its figures");
            assert_eq!(crossed.event_name, "Seminar Nasional");
            figures.push((crossed.percent, crossed.inside, crossed.capacity));
        }
    }
    assert_eq!(figures, [(90, 9, 10), (90, 9, 10), (100, 10, 10)]);
    expect_test::expect![[r#"
        [
            "Seminar Nasional has reached 90% of its capacity: 9 inside, capacity 10.",
            "Seminar Nasional has reached 90% of its capacity: 9 inside, capacity 10.",
            "Seminar Nasional is full: 10 inside, capacity 10. Gates refuse entries until people leave.",
        ]
    "#]]
    .assert_debug_eq(&alerts);
    // The hall is full: the relay refuses the next entry, and nothing more is raised.
    assert_eq!(
        upload(&mut gate, vec![entry(11)]).await,
        [VerdictKind::HallFull]
    );
    relay.stop().await;
}

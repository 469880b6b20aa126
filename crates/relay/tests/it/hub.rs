//! The WebSocket hub: acks, broadcast, idempotency, conflicts, catch-up and refusals.

use gerbang_core::protocol::{
    AlertKind, ClientMessage, ErrorCode, LogBody, Role, ScanRecord, ServerMessage,
};
use gerbang_core::{Code, Millis, VerdictKind};

use crate::{scan, upload, Client, TestRelay, EVENT};

const T0: Millis = Millis(1_795_262_400_000);

fn ack_of(message: &ServerMessage) -> Option<(u64, VerdictKind, bool)> {
    match message {
        ServerMessage::Ack {
            seq,
            official,
            conflict,
            ..
        } => Some((*seq, official.kind, conflict.is_some())),
        _ => None,
    }
}

#[tokio::test]
async fn a_scan_is_acked_once_durable_and_broadcast_to_every_gate() {
    let relay = TestRelay::start().await;
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let mut b = relay.client("Gerbang B", Role::Gate).await;

    let first = scan(1, "Gerbang A", T0, VerdictKind::Admitted);
    a.send(&ClientMessage::Scan {
        scan: first.clone(),
    })
    .await;
    let ack = a.until(|m| matches!(m, ServerMessage::Ack { .. })).await;
    let (seq, official, conflict) = ack_of(&ack).unwrap();
    assert_eq!((official, conflict), (VerdictKind::Admitted, false));

    // Gate B hears of it as a log entry with the official verdict and the holder's name.
    let ServerMessage::Entries { entries, .. } = b
        .until(|m| matches!(m, ServerMessage::Entries { .. }))
        .await
    else {
        unreachable!()
    };
    let LogBody::Scan {
        scan: seen,
        official,
        ..
    } = &entries[0].body
    else {
        panic!("{entries:?}")
    };
    assert_eq!((entries[0].seq, seen.scan_id), (seq, first.scan_id));
    assert_eq!(official.holder.as_deref(), Some("Peserta 1"));

    // The same ticket at B, a minute later, is officially already used, at A.
    let second = scan(
        1,
        "Gerbang B",
        T0.plus(Millis::MINUTE),
        VerdictKind::AlreadyUsed,
    );
    b.send(&ClientMessage::Scan { scan: second }).await;
    let ServerMessage::Ack {
        official, conflict, ..
    } = b.until(|m| matches!(m, ServerMessage::Ack { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(official.kind, VerdictKind::AlreadyUsed);
    assert_eq!(
        official.previous.map(|p| (p.gate, p.at)),
        Some(("Gerbang A".to_owned(), T0))
    );
    assert!(conflict.is_none(), "B refused it too: no conflict");
    relay.stop().await;
}

#[tokio::test]
async fn re_uploading_a_scan_gets_the_same_ack_and_no_second_entry() {
    let relay = TestRelay::start().await;
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let record = scan(3, "Gerbang A", T0, VerdictKind::Admitted);
    let mut acks = Vec::new();
    for _ in 0..3 {
        a.send(&ClientMessage::Scan {
            scan: record.clone(),
        })
        .await;
        acks.push(ack_of(&a.until(|m| matches!(m, ServerMessage::Ack { .. })).await).unwrap());
    }
    assert_eq!(acks[0], acks[1]);
    assert_eq!(acks[1], acks[2]);
    let head = relay.admin.reader().head().unwrap();
    assert_eq!(head, acks[0].0, "the re-uploads added nothing to the log");
    relay.stop().await;
}

/// An admission by name from a gate is decided officially from the relay's own copy of the
/// ticket, and then counts like any admission of it.
#[tokio::test]
async fn an_admission_by_name_is_decided_from_the_relays_ticket() {
    let relay = TestRelay::start().await;
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let by_name = |text: String| ScanRecord {
        code: text,
        ..scan(4, "Gerbang A", T0, VerdictKind::Admitted)
    };
    let verdicts = upload(
        &mut a,
        vec![
            by_name(Code::manual_text(EVENT, 4)),
            scan(4, "Gerbang A", T0.plus(60_000), VerdictKind::Admitted),
            by_name(Code::manual_text(EVENT, 9_999)),
            by_name(Code::manual_text(EVENT + 1, 4)),
            // The text scanned from a print: the gate refused it as forged, and so does the
            // relay, whatever ticket it names.
            ScanRecord {
                local: VerdictKind::Forged,
                ..by_name(Code::manual_text(EVENT, 5))
            },
        ],
    )
    .await;
    assert_eq!(
        verdicts,
        [
            VerdictKind::Admitted,
            VerdictKind::AlreadyUsed,
            VerdictKind::UnknownTicket,
            VerdictKind::WrongEvent,
            VerdictKind::Forged,
        ]
    );
    // A code too large for the log is refused, and the link stays.
    a.send(&ClientMessage::Scan {
        scan: by_name("X".repeat(64 * 1024 - 400)),
    })
    .await;
    match a.until(|m| matches!(m, ServerMessage::Error { .. })).await {
        ServerMessage::Error { code, message } => {
            assert_eq!(code, ErrorCode::InvalidMessage);
            assert!(message.contains("a relay logs at most 2048"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        upload(
            &mut a,
            vec![scan(6, "Gerbang A", T0, VerdictKind::Admitted)]
        )
        .await,
        [VerdictKind::Admitted]
    );
    relay.stop().await;
}

#[tokio::test]
async fn two_offline_admissions_are_both_logged_and_the_second_is_a_conflict() {
    let relay = TestRelay::start().await;
    let mut supervisor = relay.client("Koordinator", Role::Supervisor).await;
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let mut b = relay.client("Gerbang B", Role::Gate).await;

    // Both gates admitted ticket 2 while cut off; B's clock is even earlier than A's, but the
    // relay's arrival order decides who was first.
    let at_a = scan(2, "Gerbang A", T0, VerdictKind::Admitted);
    let at_b = scan(
        2,
        "Gerbang B",
        T0.plus(-10 * Millis::MINUTE),
        VerdictKind::Admitted,
    );
    a.send(&ClientMessage::Scan { scan: at_a.clone() }).await;
    assert_eq!(
        ack_of(&a.until(|m| matches!(m, ServerMessage::Ack { .. })).await)
            .unwrap()
            .1,
        VerdictKind::Admitted
    );
    b.send(&ClientMessage::Scan { scan: at_b.clone() }).await;
    let ServerMessage::Ack {
        official, conflict, ..
    } = b.until(|m| matches!(m, ServerMessage::Ack { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(official.kind, VerdictKind::AlreadyUsed);
    let conflict = conflict.expect("B's admission is flagged");
    assert_eq!(
        (conflict.first_scan_id, conflict.first_gate.as_str()),
        (at_a.scan_id, "Gerbang A")
    );

    let ServerMessage::Alert { alert } = supervisor
        .until(|m| matches!(m, ServerMessage::Alert { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(alert.kind, AlertKind::Conflict);
    let ids: Vec<_> = alert.scans.iter().map(|s| s.scan_id).collect();
    assert_eq!(ids, vec![at_a.scan_id, at_b.scan_id]);
    assert!(
        alert.text.contains("Gerbang A") && alert.text.contains("Gerbang B"),
        "{}",
        alert.text
    );

    // Both scans are in the log; only the second is flagged.
    let scans: Vec<_> = relay
        .admin
        .reader()
        .entries_after(0, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            LogBody::Scan { scan, conflict, .. } => Some((scan.gate, conflict.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(
        scans,
        vec![("Gerbang A".into(), false), ("Gerbang B".into(), true)]
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_reconnecting_gate_gets_exactly_the_entries_after_its_cursor() {
    let relay = TestRelay::start().await;
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let mut seqs = Vec::new();
    for ticket in 4..=6 {
        a.send(&ClientMessage::Scan {
            scan: scan(ticket, "Gerbang A", T0, VerdictKind::Admitted),
        })
        .await;
        seqs.push(
            ack_of(&a.until(|m| matches!(m, ServerMessage::Ack { .. })).await)
                .unwrap()
                .0,
        );
    }
    let (_, token) = relay.token("Gerbang C", Role::Gate);
    let mut c = Client::connect(relay.addr).await;
    c.hello(&token, seqs[0]).await;
    let ServerMessage::Welcome {
        cursor, head, role, ..
    } = c.recv().await
    else {
        panic!("no welcome")
    };
    assert_eq!((cursor, head, role), (seqs[0], seqs[2], Role::Gate));
    let mut got = Vec::new();
    loop {
        match c.recv().await {
            ServerMessage::Entries { entries, .. } => got.extend(entries.iter().map(|e| e.seq)),
            ServerMessage::CaughtUp { cursor } => {
                assert_eq!(cursor, seqs[2]);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, seqs[1..]);
    relay.stop().await;
}

/// What the relay answers to a bad first message: the error code and the close code.
async fn refusal(relay: &TestRelay, first: &str) -> (ErrorCode, Option<u16>) {
    let mut client = Client::connect(relay.addr).await;
    client.send_raw(first).await;
    match client.closed().await {
        (Some(ServerMessage::Error { code, .. }), close) => (code, close),
        other => panic!("no error before close: {other:?}"),
    }
}

#[tokio::test]
async fn bad_hellos_are_refused_with_a_stable_code_and_close_code() {
    let relay = TestRelay::start().await;
    let (device, token) = relay.token("Hilang", Role::Gate);
    relay.admin.revoke_device(&device).unwrap();
    let hello = |v: u16, token: &str| {
        format!(
            r#"{{"v":{v},"type":"hello","token":"{token}","cursor":0,"device_name":"x","app_version":"0"}}"#
        )
    };
    let cases = [
        (hello(1, "gbt_nope"), ErrorCode::Unauthorized),
        (hello(1, &token), ErrorCode::DeviceRevoked),
        (hello(2, "gbt_nope"), ErrorCode::UnknownVersion),
        ("{not json".to_owned(), ErrorCode::MalformedJson),
        (
            r#"{"v":1,"type":"ping","nonce":1}"#.to_owned(),
            ErrorCode::NotHelloFirst,
        ),
        ("x".repeat(70_000), ErrorCode::TooLarge),
    ];
    for (first, expected) in cases {
        if expected == ErrorCode::TooLarge {
            // The relay answers too_large and closes with 1009, but it has not read the rest
            // of the frame, so the kernel may reset the connection and the client then sees
            // nothing: either is right, anything else is not.
            let mut client = Client::connect(relay.addr).await;
            client.send_raw(&first).await;
            match client.closed().await {
                (Some(ServerMessage::Error { code, .. }), close) => {
                    assert_eq!(code, ErrorCode::TooLarge, "oversized frame");
                    assert!(close.is_none() || close == Some(1009), "{close:?}");
                }
                (None, close) => assert!(close.is_none() || close == Some(1009), "{close:?}"),
                other => panic!("oversized frame: {other:?}"),
            }
            continue;
        }
        let (code, close) = refusal(&relay, &first).await;
        assert_eq!(
            (code, close),
            (expected, Some(expected.close_code())),
            "first message {first:.60}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_bad_message_after_hello_is_answered_and_the_link_stays() {
    let relay = TestRelay::start().await;
    let mut supervisor = relay.client("Koordinator", Role::Supervisor).await;
    supervisor
        .send_raw(r#"{"v":1,"type":"scan","scan":{"oops":1}}"#)
        .await;
    let ServerMessage::Error { code, .. } = supervisor.recv().await else {
        panic!("no error")
    };
    assert_eq!(code, ErrorCode::InvalidMessage);
    supervisor
        .send(&ClientMessage::Scan {
            scan: scan(7, "Koordinator", T0, VerdictKind::Admitted),
        })
        .await;
    let ServerMessage::Error { code, .. } = supervisor.recv().await else {
        panic!("no error")
    };
    assert_eq!(code, ErrorCode::Forbidden);
    supervisor.send(&ClientMessage::Ping { nonce: 42 }).await;
    assert!(matches!(
        supervisor.recv().await,
        ServerMessage::Pong { nonce: 42, .. }
    ));
    relay.stop().await;
}

#[tokio::test]
async fn a_device_may_hold_only_a_few_connections() {
    let relay = TestRelay::start().await;
    let (_, token) = relay.token("Gerbang A", Role::Gate);
    let mut open = Vec::new();
    for _ in 0..gerbang_relay::Limits::default().connections_per_device {
        let mut client = Client::connect(relay.addr).await;
        client.hello(&token, 0).await;
        assert!(matches!(client.recv().await, ServerMessage::Welcome { .. }));
        open.push(client);
    }
    let mut extra = Client::connect(relay.addr).await;
    extra.hello(&token, 0).await;
    let (error, close) = extra.closed().await;
    assert!(
        matches!(
            error,
            Some(ServerMessage::Error {
                code: ErrorCode::TooManyConnections,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(close, Some(ErrorCode::TooManyConnections.close_code()));
    relay.stop().await;
}

#[tokio::test]
async fn a_scan_for_an_unknown_event_is_refused_and_the_link_stays() {
    let relay = TestRelay::start().await;
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let mut stray = scan(1, "Gerbang A", T0, VerdictKind::Admitted);
    stray.event_id = 99;
    gate.send(&ClientMessage::Scan {
        scan: stray.clone(),
    })
    .await;
    let ServerMessage::Error { code, message } = gate.recv().await else {
        panic!("no error")
    };
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert_eq!(
        message,
        format!(
            "scan {} was not recorded: event 99 does not exist on this relay",
            stray.scan_id
        )
    );
    // Still connected, and the next good scan is acknowledged.
    gate.send(&ClientMessage::Scan {
        scan: scan(2, "Gerbang A", T0, VerdictKind::Admitted),
    })
    .await;
    // The scan's live entry may reach its own gate before the ack does; no error may come.
    let reply = gate
        .until(|m| matches!(m, ServerMessage::Ack { .. } | ServerMessage::Error { .. }))
        .await;
    assert!(ack_of(&reply).is_some(), "{reply:?}");
    relay.stop().await;
}

/// A gate uploading its outbox sends many scans at once; the relay checks their signatures
/// together. A forged code among genuine ones is still refused, each genuine one is admitted,
/// and the acks come back once each, in upload order.
#[tokio::test]
async fn a_burst_of_scans_with_a_forged_code_among_them_is_decided_scan_by_scan() {
    let relay = TestRelay::start().await;
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let impostor = gerbang_core::EventSigner::from_secret(EVENT, 1, [99; 32]);
    let mut scans: Vec<ScanRecord> = (1..=12)
        .map(|id| scan(id, "Gerbang A", T0, VerdictKind::Admitted))
        .collect();
    scans[4].code = impostor
        .issue(&gerbang_core::TicketClaims {
            event_id: EVENT,
            ticket_id: 40,
            type_id: 1,
            valid_from: None,
            valid_until: None,
        })
        .unwrap();
    let messages: Vec<ClientMessage> = scans
        .iter()
        .map(|scan| ClientMessage::Scan { scan: scan.clone() })
        .collect();
    gate.send_burst(&messages).await;

    let mut acked = Vec::new();
    while acked.len() < scans.len() {
        if let ServerMessage::Ack {
            scan_id, official, ..
        } = gate.recv().await
        {
            acked.push((scan_id, official.kind));
        }
    }
    let expected: Vec<_> = scans
        .iter()
        .enumerate()
        .map(|(i, scan)| {
            let kind = if i == 4 {
                VerdictKind::Forged
            } else {
                VerdictKind::Admitted
            };
            (scan.scan_id, kind)
        })
        .collect();
    assert_eq!(acked, expected);
    relay.stop().await;
}

//! Applying the relay's log to the cache: `Store::apply_entries`.

use gerbang_core::protocol::{Conflict, LogBody, LogEntry, OperatorMessage, ScanRecord};
use gerbang_core::{Direction, Millis, Verdict, VerdictKind};
use gerbang_gate::{Error, Origin, Store};
use uuid::Uuid;

use crate::{signed, signer, test_store, ticket, EVENING, EVENT};

fn entry(seq: u64, body: LogBody) -> LogEntry {
    LogEntry {
        seq,
        at: EVENING,
        body,
    }
}

/// Another gate's scan of signed ticket `ticket_id`, with the relay's verdict.
fn remote_scan(seq: u64, ticket_id: u32, official: VerdictKind, at: Millis) -> (Uuid, LogEntry) {
    let scan_id = Uuid::now_v7();
    let body = LogBody::Scan {
        scan: ScanRecord {
            scan_id,
            event_id: EVENT,
            code: signed(ticket_id),
            ticket_id: Some(ticket_id),
            gate: "Gerbang B".into(),
            direction: Direction::Entry,
            at,
            local: VerdictKind::Admitted,
        },
        official: Verdict {
            kind: official,
            ticket_id: Some(ticket_id),
            holder: Some("Budi Santoso".into()),
            ticket_type: Some("Reguler".into()),
            reason: "Welcome.".into(),
            previous: None,
        },
        conflict: None,
    };
    (scan_id, entry(seq, body))
}

#[test]
fn another_gates_admission_makes_this_gate_refuse_the_ticket() {
    let store = test_store();
    let (scan_id, e) = remote_scan(10, 100, VerdictKind::Admitted, EVENING);
    let applied = store.apply_entries(&[e]).unwrap();
    assert_eq!((applied.cursor, applied.entries), (10, 1));
    assert_eq!(applied.remote_scans.len(), 1);
    assert_eq!(applied.remote_scans[0].origin, Origin::Remote);
    assert_eq!(store.cursor().unwrap(), 10);
    assert_eq!(
        store.outbox_depth().unwrap(),
        0,
        "a remote scan is not this gate's to upload"
    );

    let here = store
        .record_scan(&signed(100), EVENING.plus(60_000))
        .unwrap();
    assert_eq!(here.verdict.kind, VerdictKind::AlreadyUsed);
    let previous = here.verdict.previous.unwrap();
    assert_eq!(
        (previous.gate.as_str(), previous.at),
        ("Gerbang B", EVENING)
    );
    assert_eq!(store.scan(scan_id).unwrap().unwrap().seq, Some(10));
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!(
        (counters.admitted, counters.inside_now, counters.refused),
        (1, 1, 1)
    );
}

#[test]
fn entries_at_or_below_the_cursor_are_skipped_so_overlapping_batches_count_once() {
    let store = test_store();
    let (_, first) = remote_scan(5, 100, VerdictKind::Admitted, EVENING);
    let (_, second) = remote_scan(6, 101, VerdictKind::Admitted, EVENING);
    store.apply_entries(std::slice::from_ref(&first)).unwrap();
    let applied = store.apply_entries(&[first, second]).unwrap();
    assert_eq!(
        (applied.cursor, applied.entries, applied.remote_scans.len()),
        (6, 1, 1)
    );
    assert_eq!(store.counters(EVENT, None).unwrap().admitted, 2);
}

#[test]
fn this_gates_own_scan_coming_back_in_the_log_settles_it_like_an_ack() {
    let store = test_store();
    let mine = store.record_scan(&signed(100), EVENING).unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 1);
    // The ack was lost with the link; the relay's catch-up carries the scan, officially
    // the second admission (another gate's came first): a conflict.
    let (_, e) = remote_scan(20, 100, VerdictKind::AlreadyUsed, EVENING);
    let LogBody::Scan {
        mut scan, official, ..
    } = e.body
    else {
        unreachable!()
    };
    scan.scan_id = mine.scan_id;
    scan.gate = "Gerbang A".into();
    let conflict = Some(Conflict {
        first_scan_id: Uuid::now_v7(),
        first_gate: "Gerbang B".into(),
        first_at: EVENING,
    });
    let applied = store
        .apply_entries(&[entry(
            20,
            LogBody::Scan {
                scan,
                official,
                conflict,
            },
        )])
        .unwrap();
    assert_eq!((applied.own_scans, applied.remote_scans.len()), (1, 0));
    assert_eq!(store.outbox_depth().unwrap(), 0);
    let settled = store.scan(mine.scan_id).unwrap().unwrap();
    assert_eq!(
        (
            settled.kind,
            settled.seq,
            settled.official,
            settled.conflict
        ),
        (
            VerdictKind::Admitted,
            Some(20),
            Some(VerdictKind::AlreadyUsed),
            true
        )
    );
    // Counted by the official verdict now: no admission, one refusal, nobody inside.
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!(
        (counters.admitted, counters.inside_now, counters.refused),
        (0, 0, 1)
    );
    // And the late ack changes nothing.
    store
        .ack_scan(mine.scan_id, 20, VerdictKind::AlreadyUsed, true)
        .unwrap();
    assert_eq!(store.counters(EVENT, None).unwrap(), counters);
}

#[test]
fn ticket_key_and_event_changes_apply_and_take_effect_on_the_next_scan() {
    let store = test_store();
    let mut renamed = crate::event();
    renamed.name = "Seminar Nasional 2026".into();
    let message = OperatorMessage {
        message_id: Uuid::now_v7(),
        from: "Koordinator".into(),
        to: None,
        text: "Buka jalur 3".into(),
        at: EVENING,
    };
    let applied = store
        .apply_entries(&[
            entry(
                1,
                LogBody::TicketUpsert {
                    ticket: ticket(150, "Rina Wati", None),
                },
            ),
            entry(
                2,
                LogBody::TicketRevoked {
                    event_id: EVENT,
                    ticket_id: 101,
                },
            ),
            entry(3, LogBody::EventUpdated { event: renamed }),
            entry(
                4,
                LogBody::KeyRetired {
                    event_id: EVENT,
                    key_id: 1,
                },
            ),
            entry(
                5,
                LogBody::Message {
                    message: message.clone(),
                },
            ),
        ])
        .unwrap();
    assert_eq!(applied.cursor, 5);
    assert_eq!(
        store.ticket(EVENT, 150).unwrap().unwrap().holder,
        "Rina Wati"
    );
    assert_eq!(
        store.event(EVENT).unwrap().unwrap().name,
        "Seminar Nasional 2026"
    );
    assert_eq!(store.messages(10).unwrap()[0].message, message);
    // Issued: 4 loaded + 150 - revoked 101 - revoked 201 (already) = 3.
    assert_eq!(store.counters(EVENT, None).unwrap().issued, 3);
    // The retired key no longer vouches for codes: the scan path saw the change.
    let outcome = store.record_scan(&signed(100), EVENING).unwrap();
    assert_eq!(outcome.verdict.kind, VerdictKind::Forged);

    store
        .apply_entries(&[entry(
            6,
            LogBody::KeyAdded {
                key: signer().public_key(),
            },
        )])
        .unwrap();
    let outcome = store.record_scan(&signed(150), EVENING).unwrap();
    assert_eq!(outcome.verdict.kind, VerdictKind::Admitted);
    assert_eq!(outcome.verdict.holder.as_deref(), Some("Rina Wati"));
}

#[test]
fn an_entry_that_cannot_apply_fails_the_whole_batch_and_names_its_seq() {
    let store = test_store();
    let (_, good) = remote_scan(1, 100, VerdictKind::Admitted, EVENING);
    let mut stranger = ticket(1, "Tamu", None);
    stranger.event_id = 99;
    let err = store
        .apply_entries(&[good, entry(2, LogBody::TicketUpsert { ticket: stranger })])
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(
        err.to_string().contains("log entry 2 (ticket_upsert)"),
        "{err}"
    );
    assert!(err.to_string().contains("event 99"), "{err}");
    // Nothing of the batch stayed: the good scan and the cursor rolled back together.
    assert_eq!(store.cursor().unwrap(), 0);
    assert_eq!(store.counters(EVENT, None).unwrap().admitted, 0);
}

#[test]
fn the_outbox_is_read_after_a_position_for_pipelined_uploads() {
    let store = Store::open_in_memory().unwrap();
    crate::setup(&store);
    let ids: Vec<_> = (0..5)
        .map(|i| {
            store
                .record_scan(&format!("X{i}"), EVENING)
                .unwrap()
                .scan_id
        })
        .collect();
    let first = store.outbox_after(0, 2).unwrap();
    assert_eq!(
        first.iter().map(|(_, s)| s.scan_id).collect::<Vec<_>>(),
        ids[..2]
    );
    let rest = store.outbox_after(first[1].0, 10).unwrap();
    assert_eq!(
        rest.iter().map(|(_, s)| s.scan_id).collect::<Vec<_>>(),
        ids[2..]
    );
}

fn paired_with(relay: &str, fingerprint: Option<&str>) -> gerbang_gate::Pairing {
    gerbang_gate::Pairing {
        relay: relay.into(),
        token: "token".into(),
        fingerprint: fingerprint.map(str::to_owned),
        device_name: "Gerbang A".into(),
    }
}

#[test]
fn pairing_with_another_relay_starts_the_cache_over_and_keeps_only_unsent_scans() {
    let store = test_store();
    store
        .set_pairing(Some(&paired_with("wss://10.0.0.1:8420", Some("ab12"))))
        .unwrap();
    // One scan the relay acknowledged, another gate's scan, and one scan not yet sent.
    let sent = store.record_scan(&signed(1), EVENING).unwrap();
    store
        .ack_scan(sent.scan_id, 10, VerdictKind::Admitted, false)
        .unwrap();
    let (other, e) = remote_scan(11, 100, VerdictKind::Admitted, EVENING);
    store.apply_entries(&[e]).unwrap();
    let unsent = store.record_scan(&signed(2), EVENING.plus(1_000)).unwrap();
    assert_eq!(
        (store.cursor().unwrap(), store.outbox_depth().unwrap()),
        (11, 1)
    );

    // The same relay at a new address (a hosted relay whose port moved): nothing changes.
    store
        .set_pairing(Some(&paired_with("wss://10.0.0.1:9999", Some("AB12"))))
        .unwrap();
    assert_eq!(store.cursor().unwrap(), 11);
    assert!(store.scan(other).unwrap().is_some());

    // Another relay: its log is not the one the cache followed.
    store
        .set_pairing(Some(&paired_with("wss://10.0.0.2:8420", Some("cd34"))))
        .unwrap();
    assert_eq!(
        store.cursor().unwrap(),
        0,
        "the new relay's log is read from its start"
    );
    assert_eq!(
        store.outbox_depth().unwrap(),
        1,
        "the unsent scan goes to the new relay"
    );
    assert!(store.scan(unsent.scan_id).unwrap().is_some());
    assert!(
        store.scan(sent.scan_id).unwrap().is_none(),
        "it is in the old relay's log"
    );
    assert!(store.scan(other).unwrap().is_none());
    assert!(
        store.event(EVENT).unwrap().is_some(),
        "the unsent scan's event stays"
    );
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!(
        (counters.issued, counters.admitted, counters.inside_now),
        (0, 1, 1),
        "the old relay's tickets are gone; only the unsent admission counts"
    );
    // Ticket 100, admitted at another gate of the old relay, is not "already used" here: the
    // old relay's keys are gone, so the gate cannot vouch for any of its tickets.
    let again = store
        .record_scan(&signed(100), EVENING.plus(2_000))
        .unwrap();
    assert_ne!(again.verdict.kind, VerdictKind::AlreadyUsed);
    assert_ne!(again.verdict.kind, VerdictKind::Admitted);

    // Unpairing and pairing again with that same relay keeps the cache.
    store.set_pairing(None).unwrap();
    store
        .set_pairing(Some(&paired_with("wss://10.0.0.2:8420", Some("cd34"))))
        .unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 2);
}

//! Taking in a snapshot: `Store::apply_snapshot`. It replaces the event's copy in one
//! transaction with the cursor, keeps this gate's unsent scans, and leaves everything as it was
//! when the snapshot is cut off, damaged or stopped.

use gerbang_core::protocol::{LogBody, LogEntry, OperatorMessage, ScanRecord};
use gerbang_core::snapshot::{
    SnapshotCounts, SnapshotHeader, SnapshotItem, SNAPSHOT_FORMAT, SNAPSHOT_VERSION,
};
use gerbang_core::{Direction, Verdict, VerdictKind};
use gerbang_gate::{Error, Origin, Store};
use uuid::Uuid;

use crate::{event, other_event, signed, signer, test_store, ticket, EVENING, EVENT};

/// A snapshot of the test event as of `seq`, holding `tickets` and `entries`, with the events
/// and the key every test store has.
fn snapshot(seq: u64, tickets: &[gerbang_core::TicketRecord], entries: &[LogEntry]) -> String {
    let mut items = vec![
        SnapshotItem::Event { event: event() },
        SnapshotItem::Event {
            event: other_event(),
        },
        SnapshotItem::Key {
            key: signer().public_key(),
            retired: false,
        },
    ];
    items.extend(
        tickets
            .iter()
            .map(|t| SnapshotItem::Ticket { ticket: t.clone() }),
    );
    items.extend(
        entries
            .iter()
            .map(|e| SnapshotItem::Entry { entry: e.clone() }),
    );
    let counts = SnapshotCounts {
        events: 2,
        keys: 1,
        tickets: tickets.len() as u64,
        entries: entries.len() as u64,
    };
    let mut text = SnapshotItem::Header(SnapshotHeader {
        format: SNAPSHOT_FORMAT.into(),
        version: SNAPSHOT_VERSION,
        event_id: EVENT,
        seq,
        at: EVENING,
        counts,
    })
    .to_line();
    for item in &items {
        text.push_str(&item.to_line());
    }
    text.push_str(
        &SnapshotItem::End {
            items: counts.total(),
        }
        .to_line(),
    );
    text
}

/// A scan entry as the relay logs it: `scan_id` at `gate`, officially `official`.
fn scan_entry(
    seq: u64,
    scan_id: Uuid,
    ticket_id: u32,
    gate: &str,
    official: VerdictKind,
) -> LogEntry {
    LogEntry {
        seq,
        at: EVENING,
        body: LogBody::Scan {
            scan: ScanRecord {
                scan_id,
                event_id: EVENT,
                code: signed(ticket_id),
                ticket_id: Some(ticket_id),
                gate: gate.into(),
                direction: Direction::Entry,
                at: EVENING,
                local: VerdictKind::Admitted,
            },
            official: Verdict {
                kind: official,
                ticket_id: Some(ticket_id),
                holder: Some(format!("Peserta {ticket_id}")),
                ticket_type: Some("Reguler".into()),
                reason: "Welcome.".into(),
                previous: None,
            },
            conflict: None,
        },
    }
}

fn message_entry(seq: u64) -> LogEntry {
    LogEntry {
        seq,
        at: EVENING,
        body: LogBody::Message {
            message: OperatorMessage {
                message_id: Uuid::now_v7(),
                from: "Koordinator".into(),
                to: None,
                text: format!("pesan {seq}"),
                at: EVENING,
            },
        },
    }
}

fn apply(store: &Store, text: &str) -> gerbang_gate::Result<gerbang_gate::SnapshotApplied> {
    store.apply_snapshot(text.as_bytes(), |_, _| true)
}

/// Everything a test can see of the event's copy, to tell "unchanged" from "changed".
fn state(store: &Store) -> String {
    format!(
        "cursor {} outbox {} counters {:?} tickets {:?} scans {:?} messages {}",
        store.cursor().unwrap(),
        store.outbox_depth().unwrap(),
        store.counters(EVENT, None).unwrap(),
        (1..=400)
            .filter_map(|id| store.ticket(EVENT, id).unwrap())
            .map(|t| (t.ticket_id, t.revoked))
            .collect::<Vec<_>>(),
        store
            .recent_scans(usize::MAX)
            .unwrap()
            .iter()
            .map(|s| (s.scan_id, s.seq, s.official))
            .collect::<Vec<_>>(),
        store.messages(usize::MAX).unwrap().len(),
    )
}

#[test]
fn a_snapshot_replaces_the_events_copy_and_keeps_this_gates_unsent_scans() {
    let store = test_store();
    // Three scans made here, not yet acknowledged.
    let mine: Vec<_> = [100, 101, 150]
        .iter()
        .map(|&t| store.record_scan(&signed(t), EVENING).unwrap())
        .collect();
    assert_eq!(store.outbox_depth().unwrap(), 3);

    // The relay has ticket 100 to 102 (101 revoked since), one of this gate's scans (its
    // upload got through; the ack did not), another gate's admission of 102, and a message.
    let mut revoked = ticket(101, "José Martínez", None);
    revoked.revoked = true;
    let tickets = [
        ticket(100, "Budi Santoso", None),
        revoked,
        ticket(102, "Ani Wijaya", None),
    ];
    let other_gate = Uuid::now_v7();
    let entries = [
        message_entry(40),
        scan_entry(41, mine[0].scan_id, 100, "Gerbang A", VerdictKind::Admitted),
        scan_entry(42, other_gate, 102, "Gerbang B", VerdictKind::Admitted),
    ];
    let applied = apply(&store, &snapshot(42, &tickets, &entries)).unwrap();
    assert_eq!(
        (
            applied.cursor,
            applied.tickets,
            applied.scans,
            applied.outbox,
            applied.relay_reset
        ),
        (42, 3, 2, 2, false)
    );
    assert_eq!(store.cursor().unwrap(), 42);

    // The event's tickets are the snapshot's: 200 and 201 (loaded here before) are gone, 102
    // is new and 101 revoked; the other event's ticket is untouched.
    assert!(store.ticket(EVENT, 200).unwrap().is_none());
    assert!(store.ticket(EVENT, 101).unwrap().unwrap().revoked);
    assert_eq!(
        store.ticket(EVENT, 102).unwrap().unwrap().holder,
        "Ani Wijaya"
    );
    assert!(store.ticket(crate::OTHER_EVENT, 300).unwrap().is_some());
    // This gate's scan that the relay has is settled; the two others wait in the outbox.
    let settled = store.scan(mine[0].scan_id).unwrap().unwrap();
    assert_eq!(
        (settled.seq, settled.official),
        (Some(41), Some(VerdictKind::Admitted))
    );
    assert_eq!(settled.origin, Origin::Local);
    let waiting: Vec<Uuid> = store
        .outbox_batch(10)
        .unwrap()
        .iter()
        .map(|s| s.scan_id)
        .collect();
    assert_eq!(waiting, [mine[1].scan_id, mine[2].scan_id]);
    assert_eq!(
        store.scan(other_gate).unwrap().unwrap().origin,
        Origin::Remote
    );
    assert_eq!(store.messages(10).unwrap().len(), 1);
    // Counted from the result: 100 and 102 admitted officially, 101 and 150 by this gate.
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!(
        (counters.issued, counters.admitted, counters.inside_now),
        (2, 4, 4)
    );
    // And decided from it: 102 is inside already.
    let again = store
        .record_scan(&signed(102), EVENING.plus(60_000))
        .unwrap();
    assert_eq!(again.verdict.kind, VerdictKind::AlreadyUsed);
    assert_eq!(again.verdict.previous.unwrap().gate, "Gerbang B");
}

#[test]
fn a_cut_damaged_or_stopped_snapshot_changes_nothing() {
    let store = test_store();
    store.record_scan(&signed(100), EVENING).unwrap();
    let before = state(&store);
    let tickets: Vec<_> = (1..=300).map(|t| ticket(t, "Peserta", None)).collect();
    let whole = snapshot(90, &tickets, &[message_entry(5)]);

    let lines: Vec<&str> = whole.lines().collect();
    let cut = lines[..lines.len() - 1].join("\n") + "\n";
    let err = apply(&store, &cut).unwrap_err();
    assert!(
        err.to_string()
            .contains("without its end line: it was cut off"),
        "{err}"
    );
    assert_eq!(state(&store), before);

    let damaged = whole.replacen("\"ticket_id\":150", "\"ticket_id\":\"x\"", 1);
    let err = apply(&store, &damaged).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 154 of the snapshot is not valid"),
        "{err}"
    );
    assert_eq!(state(&store), before);

    let err = store
        .apply_snapshot(whole.as_bytes(), |done, _| done < 200)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(state(&store), before);

    // The same snapshot, whole, goes in.
    apply(&store, &whole).unwrap();
    assert_eq!(store.cursor().unwrap(), 90);
}

#[test]
fn progress_is_reported_up_to_the_total() {
    let store = test_store();
    let tickets: Vec<_> = (1..=2_500).map(|t| ticket(t, "Peserta", None)).collect();
    let mut seen = Vec::new();
    store
        .apply_snapshot(snapshot(3, &tickets, &[]).as_bytes(), |done, total| {
            seen.push((done, total));
            true
        })
        .unwrap();
    assert_eq!(seen, [(1_000, 2_503), (2_000, 2_503), (2_503, 2_503)]);
}

#[test]
fn a_large_snapshot_is_loaded_in_bulk_and_found_by_name() {
    let store = test_store();
    let tickets: Vec<_> = (1..=12_000)
        .map(|t| ticket(t, &format!("Peserta Nomor {t}"), None))
        .collect();
    let applied = apply(&store, &snapshot(12_000, &tickets, &[])).unwrap();
    assert_eq!(applied.tickets, 12_000);
    assert_eq!(store.counters(EVENT, None).unwrap().issued, 12_000);
    let found = store.search(EVENT, "peserta nomor 11999", 5).unwrap();
    assert!(found.iter().any(|t| t.ticket_id == 11_999), "{found:?}");
    // The name index follows later changes again (its triggers are back).
    store
        .load_tickets(EVENT, [ticket(12_001, "Ratna Sari", None)])
        .unwrap();
    assert_eq!(store.search(EVENT, "ratna", 5).unwrap().len(), 1);
}

/// A relay restored from a backup has a log shorter than the gate's cursor: every `seq` the
/// gate holds is from a log that is gone. Its own scans go back into the outbox, to be logged
/// again (idempotently); other gates' scans and the relay's messages are dropped.
#[test]
fn a_snapshot_from_a_reset_relay_queues_this_gates_scans_again() {
    let store = test_store();
    let mine = store.record_scan(&signed(100), EVENING).unwrap();
    store
        .ack_scan(mine.scan_id, 400, VerdictKind::Admitted, false)
        .unwrap();
    let theirs = Uuid::now_v7();
    store
        .apply_entries(&[
            scan_entry(401, theirs, 101, "Gerbang B", VerdictKind::Admitted),
            message_entry(402),
        ])
        .unwrap();
    assert_eq!(
        (store.cursor().unwrap(), store.outbox_depth().unwrap()),
        (402, 0)
    );

    // The restored relay's log has seq 7 for a different scan: no clash with the old 401.
    let restored = Uuid::now_v7();
    let applied = apply(
        &store,
        &snapshot(
            10,
            &[ticket(100, "Budi Santoso", None)],
            &[scan_entry(
                7,
                restored,
                101,
                "Gerbang C",
                VerdictKind::Admitted,
            )],
        ),
    )
    .unwrap();
    assert!(applied.relay_reset);
    assert_eq!((applied.cursor, applied.outbox), (10, 1));
    let again = store.scan(mine.scan_id).unwrap().unwrap();
    assert_eq!(
        (again.seq, again.official),
        (None, None),
        "to be logged again"
    );
    assert_eq!(store.outbox_batch(5).unwrap()[0].scan_id, mine.scan_id);
    assert!(store.scan(theirs).unwrap().is_none());
    assert!(store.scan(restored).unwrap().is_some());
    assert!(store.messages(10).unwrap().is_empty());
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!((counters.admitted, counters.inside_now), (2, 2));
}

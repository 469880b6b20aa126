//! The outbox, acknowledgements and the relay cursor, as the sync engine will use them.

use gerbang_core::VerdictKind;
use gerbang_gate::Error;

use crate::{signed, test_store, EVENING};

#[test]
fn the_outbox_keeps_scans_in_order_until_acknowledged() {
    let store = test_store();
    let ids: Vec<_> = ["EXT-200", "NOPE", &signed(100), &signed(101)]
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let at = EVENING.plus(i as i64 * 10_000);
            store.record_scan(text, at).unwrap().scan_id
        })
        .collect();
    assert_eq!(store.outbox_depth().unwrap(), 4);
    let batch = store.outbox_batch(3).unwrap();
    assert_eq!(
        batch.iter().map(|s| s.scan_id).collect::<Vec<_>>(),
        ids[..3]
    );

    // The relay saw another gate admit ticket 100 first: official already_used, a conflict.
    store
        .ack_scan(ids[0], 41, VerdictKind::Admitted, false)
        .unwrap();
    store
        .ack_scan(ids[2], 43, VerdictKind::AlreadyUsed, true)
        .unwrap();
    // Acknowledging again (a repeated ack after a reconnect) is harmless.
    store
        .ack_scan(ids[2], 43, VerdictKind::AlreadyUsed, true)
        .unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 2);
    let left: Vec<_> = store
        .outbox_batch(10)
        .unwrap()
        .iter()
        .map(|s| s.scan_id)
        .collect();
    assert_eq!(left, [ids[1], ids[3]]);

    let acked = store.scan(ids[2]).unwrap().unwrap();
    assert_eq!(
        (acked.seq, acked.official, acked.conflict, acked.kind),
        (
            Some(43),
            Some(VerdictKind::AlreadyUsed),
            true,
            VerdictKind::Admitted
        )
    );
    let unknown = uuid::Uuid::now_v7();
    assert!(matches!(
        store.ack_scan(unknown, 44, VerdictKind::Admitted, false),
        Err(Error::UnknownScan(id)) if id == unknown
    ));

    // Newest first.
    let recent: Vec<_> = store
        .recent_scans(2)
        .unwrap()
        .iter()
        .map(|s| s.scan_id)
        .collect();
    assert_eq!(recent, [ids[3], ids[2]]);
}

#[test]
fn the_cursor_round_trips() {
    let store = test_store();
    assert_eq!(store.cursor().unwrap(), 0);
    store.set_cursor(1_234_567).unwrap();
    assert_eq!(store.cursor().unwrap(), 1_234_567);
}

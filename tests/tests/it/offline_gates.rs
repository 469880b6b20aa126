//! Two gates decide the same ticket while cut off from each other; the relay orders them.

use gerbang_core::protocol::{Role, ServerMessage};
use gerbang_core::{Millis, VerdictKind};
use gerbang_e2e::{code, gate_store, upload_outbox, TestRelay, EVENT};

const T0: Millis = Millis(1_795_262_400_000);

#[tokio::test]
async fn two_offline_gates_admit_one_ticket_and_the_relay_flags_the_second() {
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = gate_store(&dir.path().join("a.sqlite3"), "Gerbang A");
    let b = gate_store(&dir.path().join("b.sqlite3"), "Gerbang B");

    // Offline, each gate admits ticket 7 on its own; the camera sees A's code twice.
    let at_a = a.record_scan(&code(7), T0).unwrap();
    let again = a.record_scan(&code(7), T0.plus(500)).unwrap();
    let at_b = b.record_scan(&code(7), T0.plus(Millis::MINUTE)).unwrap();
    assert_eq!(at_a.verdict.kind, VerdictKind::Admitted);
    assert!(again.duplicate && again.scan_id == at_a.scan_id);
    assert_eq!(at_b.verdict.kind, VerdictKind::Admitted);
    assert_eq!(
        (a.outbox_depth().unwrap(), b.outbox_depth().unwrap()),
        (1, 1)
    );

    // A reconnects first: its admission is the official one.
    let (_, token_a) = relay.admin.create_device("Gerbang A", Role::Gate).unwrap();
    let (_, token_b) = relay.admin.create_device("Gerbang B", Role::Gate).unwrap();
    let acks = upload_outbox(&a, relay.addr, &token_a).await;
    let [ServerMessage::Ack {
        seq: seq_a,
        official,
        conflict,
        ..
    }] = acks.as_slice()
    else {
        panic!("{acks:?}")
    };
    assert_eq!(
        (official.kind, conflict.is_some()),
        (VerdictKind::Admitted, false)
    );

    // B's admission arrives second: officially already used at A, and flagged as a conflict.
    let acks = upload_outbox(&b, relay.addr, &token_b).await;
    let [ServerMessage::Ack {
        seq: seq_b,
        official,
        conflict,
        ..
    }] = acks.as_slice()
    else {
        panic!("{acks:?}")
    };
    assert_eq!(official.kind, VerdictKind::AlreadyUsed);
    assert!(seq_b > seq_a);
    let conflict = conflict.as_ref().expect("B's admission is a conflict");
    assert_eq!(
        (conflict.first_scan_id, conflict.first_gate.as_str()),
        (at_a.scan_id, "Gerbang A")
    );

    // Each gate's log now holds the relay's word, and nothing is left to upload. B keeps its
    // own verdict too: a person did walk in there.
    let logged_b = b.scan(at_b.scan_id).unwrap().unwrap();
    assert_eq!(
        (
            logged_b.kind,
            logged_b.official,
            logged_b.conflict,
            logged_b.seq
        ),
        (
            VerdictKind::Admitted,
            Some(VerdictKind::AlreadyUsed),
            true,
            Some(*seq_b)
        )
    );
    let logged_a = a.scan(at_a.scan_id).unwrap().unwrap();
    assert_eq!(
        (logged_a.official, logged_a.conflict),
        (Some(VerdictKind::Admitted), false)
    );
    assert_eq!(
        (a.outbox_depth().unwrap(), b.outbox_depth().unwrap()),
        (0, 0)
    );

    // Uploading again (a gate that missed the acks) changes nothing.
    assert!(upload_outbox(&a, relay.addr, &token_a).await.is_empty());
    assert_eq!(a.counters(EVENT, None).unwrap().admitted, 1);
    relay.stop().await;
}

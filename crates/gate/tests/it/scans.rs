//! `record_scan` as a table: scripts of scans at a gate, one line of outcome per scan, then
//! the counters.

use std::time::Duration;

use expect_test::{expect, Expect};
use gerbang_core::{Direction, EventSigner, Millis, TicketClaims};
use gerbang_gate::{Error, ScanRecord, Store};

use crate::{gate, signed, test_store, EVENING, EVENT, OTHER_EVENT};

/// Runs a script against the standard test gate (see [`crate::setup`]) and renders what
/// happened. One step per line:
///
/// * `+S CODE`: scan CODE at S seconds after 19:00. CODE is `name:N` (ticket N admitted by
///   its holder's name, not scanned), `signed:N` (signed ticket N),
///   `forged:N` (signed by an impostor key), `other-event:N` (signed for the other event),
///   `garbage` (binary with control characters), `long` (10 kB), `empty`, or literal text.
/// * `gate NAME entry|exit`: the gate becomes "Gerbang NAME" in that direction.
/// * `window MS`: sets the duplicate window.
/// * `retire`: retires the event's signing key.
/// * `allow TYPE`: the gate admits only that ticket type.
fn check(script: &str, expect: Expect) {
    let store = test_store();
    let out = run(&store, script);
    expect.assert_eq(&out);
}

fn run(store: &Store, script: &str) -> String {
    let mut gate_rules = gate("Gerbang A", Direction::Entry);
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["gate", name, direction] => {
                gate_rules.gate = format!("Gerbang {name}");
                gate_rules.direction = match direction {
                    "entry" => Direction::Entry,
                    _ => Direction::Exit,
                };
                store.set_gate_rules(&gate_rules).unwrap();
            }
            ["window", ms] => store
                .set_duplicate_window(Duration::from_millis(ms.parse().unwrap()))
                .unwrap(),
            ["retire"] => store.retire_key(EVENT, 1).unwrap(),
            ["allow", type_id] => {
                gate_rules.allowed_types = vec![type_id.parse().unwrap()];
                store.set_gate_rules(&gate_rules).unwrap();
            }
            [at, spec] if at.starts_with('+') => {
                let secs: i64 = at[1..].parse().unwrap();
                let now = EVENING.plus(secs * Millis::SECOND);
                let outcome = if let Some(n) = spec.strip_prefix("name:") {
                    store.admit_by_name(EVENT, n.parse().unwrap(), now)
                } else if let Some(n) = spec.strip_prefix("name-other-event:") {
                    store.admit_by_name(OTHER_EVENT, n.parse().unwrap(), now)
                } else {
                    store.record_scan(&code(spec), now)
                }
                .unwrap();
                let v = &outcome.verdict;
                let who = [
                    v.ticket_id.map(|id| format!("#{id}")),
                    v.holder.clone(),
                    v.ticket_type.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                out += &format!(
                    "{at:>4} {} {:<5} {spec}: {}{} ({who}) {}\n",
                    gate_rules.gate,
                    gate_rules.direction.as_str(),
                    v.kind.as_str(),
                    if outcome.duplicate {
                        " [duplicate]"
                    } else {
                        ""
                    },
                    v.reason,
                );
            }
            _ => panic!("bad script line {line:?}"),
        }
    }
    let c = store.counters(EVENT, None).unwrap();
    out += &format!(
        "counters: issued={} admitted={} exits={} inside={} refused={}; outbox={}\n",
        c.issued,
        c.admitted,
        c.exits,
        c.inside_now,
        c.refused,
        store.outbox_depth().unwrap()
    );
    out
}

fn code(spec: &str) -> String {
    let claims = |event_id, ticket_id| TicketClaims {
        event_id,
        ticket_id,
        type_id: 1,
        valid_from: None,
        valid_until: None,
    };
    match spec.split_once(':') {
        Some(("signed", n)) => signed(n.parse().unwrap()),
        Some(("forged", n)) => EventSigner::from_secret(EVENT, 1, [99; 32])
            .issue(&claims(EVENT, n.parse().unwrap()))
            .unwrap(),
        Some(("other-event", n)) => EventSigner::from_secret(OTHER_EVENT, 1, [7; 32])
            .issue(&claims(OTHER_EVENT, n.parse().unwrap()))
            .unwrap(),
        _ => match spec {
            "garbage" => "\u{0}\u{1}PK\u{3}\u{4}\u{7f}\u{fffd}binary".into(),
            "long" => "A".repeat(10 * 1024),
            "empty" => String::new(),
            literal => literal.into(),
        },
    }
}

#[test]
fn admitted_then_already_used() {
    check(
        "+0 signed:100
         +60 signed:100
         +0 EXT-200
         +120 EXT-200",
        expect![[r#"
              +0 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
             +60 Gerbang A entry signed:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
              +0 Gerbang A entry EXT-200: admitted (#200 Siti Nurhaliza VIP) Welcome.
            +120 Gerbang A entry EXT-200: already_used (#200 Siti Nurhaliza VIP) Already used at Gerbang A, 19:00.
            counters: issued=3 admitted=2 exits=0 inside=2 refused=2; outbox=4
        "#]],
    );
}

/// Admitted by name: decided like a scan of the ticket and logged as `GBM:7:N`; the same text
/// read by a scanner is refused as forged (anyone could print it), also right after the real
/// admission (the duplicate window tells them apart).
#[test]
fn admissions_by_name() {
    check(
        "+0 name:100
         +1 GBM:7:100
         +2 name:100
         +60 signed:100
         +61 name:100
         +70 name:200
         +80 name:4242
         +85 name-other-event:100
         +90 GBM:7:300
         gate B exit
         +100 name:100",
        expect![[r#"
              +0 Gerbang A entry name:100: admitted (#100 Budi Santoso Reguler) Welcome.
              +1 Gerbang A entry GBM:7:100: forged () Forged ticket: this is the text of an admission by name, which is made from the gate's search, never scanned or typed.
              +2 Gerbang A entry name:100: admitted [duplicate] (#100 Budi Santoso Reguler) Welcome.
             +60 Gerbang A entry signed:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
             +61 Gerbang A entry name:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
             +70 Gerbang A entry name:200: admitted (#200 Siti Nurhaliza VIP) Welcome.
             +80 Gerbang A entry name:4242: unknown_ticket () No ticket 4242 is known for Seminar Nasional.
             +85 Gerbang A entry name-other-event:100: wrong_event () This ticket is for another event (event 8); this gate checks Seminar Nasional.
             +90 Gerbang A entry GBM:7:300: forged () Forged ticket: this is the text of an admission by name, which is made from the gate's search, never scanned or typed.
            +100 Gerbang B exit  name:100: exit_recorded (#100 Budi Santoso Reguler) Exit recorded.
            counters: issued=3 admitted=2 exits=1 inside=1 refused=6; outbox=9
        "#]],
    );
    let store = test_store();
    store.admit_by_name(EVENT, 100, EVENING).unwrap();
    let logged = store.recent_scans(1).unwrap();
    assert_eq!(logged[0].code, "GBM:7:100");
}

#[test]
fn camera_duplicates_within_the_window_are_one_scan() {
    // The window (3 s) slides with each sighting: a code held up for 5 s is one scan. Four
    // seconds after the last sighting it is a new scan; at another gate it is never a
    // duplicate, however soon.
    check(
        "+0 signed:100
         +1 signed:100
         +3 signed:100
         +5 signed:100
         +9 signed:100
         gate B entry
         +9 signed:100
         gate A exit
         +10 signed:100",
        expect![[r#"
              +0 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
              +1 Gerbang A entry signed:100: admitted [duplicate] (#100 Budi Santoso Reguler) Welcome.
              +3 Gerbang A entry signed:100: admitted [duplicate] (#100 Budi Santoso Reguler) Welcome.
              +5 Gerbang A entry signed:100: admitted [duplicate] (#100 Budi Santoso Reguler) Welcome.
              +9 Gerbang A entry signed:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
              +9 Gerbang B entry signed:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
             +10 Gerbang A exit  signed:100: exit_recorded (#100 Budi Santoso Reguler) Exit recorded.
            counters: issued=3 admitted=1 exits=1 inside=0 refused=2; outbox=4
        "#]],
    );
}

#[test]
fn a_zero_window_records_every_sighting() {
    check(
        "window 0
         +0 signed:100
         +0 signed:100",
        expect![[r#"
              +0 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
              +0 Gerbang A entry signed:100: already_used (#100 Budi Santoso Reguler) Already used at Gerbang A, 19:00.
            counters: issued=3 admitted=1 exits=0 inside=1 refused=1; outbox=2
        "#]],
    );
}

#[test]
fn exit_and_reentry_move_the_counters() {
    check(
        "+0 signed:100
         +0 EXT-200
         gate B exit
         +600 signed:100
         +700 signed:101
         gate A entry
         +1200 signed:100",
        expect![[r#"
              +0 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
              +0 Gerbang A entry EXT-200: admitted (#200 Siti Nurhaliza VIP) Welcome.
            +600 Gerbang B exit  signed:100: exit_recorded (#100 Budi Santoso Reguler) Exit recorded.
            +700 Gerbang B exit  signed:101: not_inside (#101 José Martínez Reguler) This ticket is not inside; no exit recorded.
            +1200 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
            counters: issued=3 admitted=3 exits=1 inside=2 refused=1; outbox=5
        "#]],
    );
}

#[test]
fn refusals() {
    check(
        "+0 EXT-201
         +0 NOPE-1
         +0 KONSER-300
         +0 other-event:300
         +0 forged:100
         +0 GB:AB
         allow 2
         +0 signed:101",
        expect![[r#"
              +0 Gerbang A entry EXT-201: revoked (#201 Agus Salim Reguler) This ticket was cancelled or re-issued.
              +0 Gerbang A entry NOPE-1: unknown_ticket () No ticket with code "NOPE-1" is known for Seminar Nasional.
              +0 Gerbang A entry KONSER-300: wrong_event () This ticket is for another event (event 8); this gate checks Seminar Nasional.
              +0 Gerbang A entry other-event:300: wrong_event () This ticket is for another event (event 8); this gate checks Seminar Nasional.
              +0 Gerbang A entry forged:100: forged () Forged ticket: the signature does not match: the code was altered or forged.
              +0 Gerbang A entry GB:AB: malformed () Unreadable ticket: the code is damaged: base45 group at position 0 encodes a value larger than its bytes can hold.
              +0 Gerbang A entry signed:101: type_not_allowed (#101 José Martínez Reguler) Reguler tickets are not admitted at Gerbang A.
            counters: issued=3 admitted=0 exits=0 inside=0 refused=7; outbox=7
        "#]],
    );
}

#[test]
fn a_signed_ticket_sold_after_the_last_sync_is_admitted() {
    // Ticket 150 is not in the cache: its signature is enough. It has no holder name to show.
    check(
        "+0 signed:150
         +60 signed:150",
        expect![[r#"
              +0 Gerbang A entry signed:150: admitted (#150 Reguler) Welcome.
             +60 Gerbang A entry signed:150: already_used (#150 Reguler) Already used at Gerbang A, 19:00.
            counters: issued=3 admitted=1 exits=0 inside=1 refused=1; outbox=2
        "#]],
    );
}

#[test]
fn a_retired_key_no_longer_admits() {
    check(
        "+0 signed:100
         retire
         gate B entry
         +0 signed:101",
        expect![[r#"
              +0 Gerbang A entry signed:100: admitted (#100 Budi Santoso Reguler) Welcome.
              +0 Gerbang B entry signed:101: forged () Forged ticket: signed with key 1 of event 7, which this gate does not know.
            counters: issued=3 admitted=1 exits=0 inside=1 refused=1; outbox=2
        "#]],
    );
}

#[test]
fn garbage_is_refused_and_recorded() {
    check(
        "+0 garbage
         +10 long
         +20 empty",
        expect![[r#"
              +0 Gerbang A entry garbage: malformed () Unreadable ticket: the code contains a control character at position 0.
             +10 Gerbang A entry long: malformed () Unreadable ticket: the code is 10240 bytes long; no ticket is longer than 512.
             +20 Gerbang A entry empty: malformed () Unreadable ticket: the code is empty.
            counters: issued=3 admitted=0 exits=0 inside=0 refused=3; outbox=3
        "#]],
    );
}

#[test]
fn the_log_keeps_at_most_512_characters_of_a_scan() {
    let store = test_store();
    let long = "é".repeat(10 * 1024);
    store.record_scan(&long, EVENING).unwrap();
    let logged = store.recent_scans(1).unwrap().remove(0);
    assert_eq!(logged.code.chars().count(), 512);
    assert!(long.starts_with(&logged.code));
}

#[test]
fn a_revoked_ticket_not_in_the_cache_is_refused() {
    let store = test_store();
    store.revoke_ticket(EVENT, 150).unwrap();
    let outcome = store.record_scan(&signed(150), EVENING).unwrap();
    assert_eq!(outcome.verdict.kind.as_str(), "revoked");
}

#[test]
fn a_gate_that_is_not_set_up_refuses_to_scan() {
    let store = Store::open_in_memory().unwrap();
    let err = store.record_scan("EXT-200", EVENING).unwrap_err();
    expect![[r#"the gate is not set up: no event is chosen; choose the event this gate checks"#]]
        .assert_eq(&err.to_string());
    store.upsert_event(&crate::event()).unwrap();
    store.set_active_event(EVENT).unwrap();
    let err = store.record_scan("EXT-200", EVENING).unwrap_err();
    expect![[r#"the gate is not set up: the gate has no name and direction yet; set them first"#]]
        .assert_eq(&err.to_string());
    assert!(matches!(
        store.set_active_event(99),
        Err(Error::UnknownEvent(99))
    ));
}

#[test]
fn the_scan_log_holds_what_was_decided() {
    let store = test_store();
    let outcome = store.record_scan(" EXT-200\n", EVENING).unwrap();
    let logged = store.scan(outcome.scan_id).unwrap().unwrap();
    assert_eq!(logged.scan_id, outcome.scan_id);
    expect![[r#"
        ScanRecord {
            scan_id: 00000000-0000-0000-0000-000000000000,
            event_id: 7,
            ticket_id: Some(
                200,
            ),
            code: "EXT-200",
            gate: "Gerbang A",
            direction: Entry,
            at: Millis(
                1795262400000,
            ),
            kind: Admitted,
            reason: "Welcome.",
            holder: Some(
                "Siti Nurhaliza",
            ),
            seq: None,
            official: None,
            conflict: false,
            origin: Local,
        }
    "#]]
    .assert_debug_eq(&ScanRecord {
        scan_id: uuid::Uuid::nil(),
        ..logged
    });
}

#[test]
fn counters_per_gate() {
    let store = test_store();
    run(
        &store,
        "+0 signed:100
         +0 NOPE
         gate B entry
         +0 signed:101
         +0 EXT-200
         gate B exit
         +60 signed:101",
    );
    let show = |gate| {
        let c = store.counters(EVENT, gate).unwrap();
        format!(
            "{gate:?}: issued={} admitted={} exits={} inside={} refused={}",
            c.issued, c.admitted, c.exits, c.inside_now, c.refused
        )
    };
    expect![[r#"
        None: issued=3 admitted=3 exits=1 inside=2 refused=1
        Some("Gerbang A"): issued=3 admitted=1 exits=0 inside=2 refused=1
        Some("Gerbang B"): issued=3 admitted=2 exits=1 inside=2 refused=0"#]]
    .assert_eq(
        &[None, Some("Gerbang A"), Some("Gerbang B")]
            .map(show)
            .join("\n"),
    );
}

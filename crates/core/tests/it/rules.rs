//! The check-in rules as a table: every verdict, entry/exit/re-entry, and the boundaries of
//! time windows, entry limits and capacity. One line of expectation per case.

use expect_test::{expect, Expect};
use gerbang_core::{
    decide, Code, Context, Direction, EventRules, GateRules, Keyring, Millis, Movement, Scan,
    TicketClaims, TicketRecord, VerdictKind,
};

use crate::{claims, event, public_keys, rotated_signer, signer, EVENING, EVENT};

/// One scan to decide, starting from a plain evening entry of signed ticket 100 that the cache
/// knows ("Budi Santoso", Reguler), with nobody inside and nothing in its history.
#[derive(Clone)]
struct Case {
    text: String,
    event: EventRules,
    gate: GateRules,
    ticket: Option<TicketRecord>,
    history: Vec<Movement>,
    inside_now: u32,
    now: Millis,
}

impl Case {
    fn new() -> Case {
        Case {
            text: signer().issue(&claims(100)).unwrap(),
            event: event(),
            gate: GateRules {
                gate: "Gerbang A".into(),
                direction: Direction::Entry,
                allowed_types: vec![],
            },
            ticket: Some(record(100)),
            history: vec![],
            inside_now: 0,
            now: EVENING,
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Case)) -> Case {
        f(&mut self);
        self
    }

    fn signed(self, claims: &TicketClaims) -> Case {
        let text = signer().issue(claims).unwrap();
        self.with(|c| c.text = text)
    }

    fn exit(self) -> Case {
        self.with(|c| c.gate.direction = Direction::Exit)
    }

    fn moved(self, direction: Direction, minutes_ago: i64, gate: &str) -> Case {
        self.with(|c| {
            c.history.push(Movement {
                at: c.now.plus(-minutes_ago * Millis::MINUTE),
                gate: gate.into(),
                direction,
            });
        })
    }
}

fn record(ticket_id: u32) -> TicketRecord {
    TicketRecord {
        event_id: EVENT,
        ticket_id,
        type_id: 1,
        holder: "Budi Santoso".into(),
        barcode: None,
        valid_from: None,
        valid_until: None,
        revoked: false,
    }
}

fn opaque(barcode: &str) -> Case {
    let barcode = barcode.to_owned();
    Case::new().with(|c| {
        c.text = barcode.clone();
        c.ticket = Some(TicketRecord {
            barcode: Some(barcode),
            ticket_id: 200,
            holder: "Siti Rahayu".into(),
            ..record(200)
        });
    })
}

/// Decides every case and renders one line each: `name: kind (holder, type) reason [previous]`.
fn check(cases: Vec<(&str, Case)>, expect: &Expect) {
    let keys: Keyring = {
        let mut ring = Keyring::new();
        for key in public_keys() {
            ring.insert(key).unwrap();
        }
        ring
    };
    let mut out = String::new();
    for (name, case) in cases {
        let code = Code::parse(&case.text);
        let verdict = decide(
            &Scan {
                code: &code,
                now: case.now,
            },
            &Context {
                event: &case.event,
                gate: &case.gate,
                keys: &keys,
                ticket: case.ticket.as_ref(),
                history: &case.history,
                inside_now: case.inside_now,
            },
        );
        let who = [verdict.holder.as_deref(), verdict.ticket_type.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        let previous = verdict
            .previous
            .map(|m| format!(" [{} {} at {}]", m.direction.as_str(), m.gate, m.at.0))
            .unwrap_or_default();
        // The reason must always say something; an empty reason is a bug on screen.
        assert!(!verdict.reason.is_empty(), "{name}: empty reason");
        out += &format!(
            "{name}: {} ({who}) {}{previous}\n",
            verdict.kind.as_str(),
            verdict.reason
        );
    }
    expect.assert_eq(&out);
}

/// A ticket admitted by its holder's name: the cached record decides, the history still counts,
/// and nothing is admitted that the cache does not know for this event.
#[test]
fn admissions_by_name() {
    let by_name =
        |ticket_id: u32| Case::new().with(|c| c.text = Code::manual_text(EVENT, ticket_id));
    check(
        vec![
            ("known", by_name(100)),
            (
                "already inside",
                by_name(100).moved(Direction::Entry, 30, "Gerbang B"),
            ),
            ("not cached", by_name(100).with(|c| c.ticket = None)),
            ("another ticket cached", by_name(101)),
            (
                "another event",
                Case::new().with(|c| c.text = Code::manual_text(EVENT + 1, 100)),
            ),
            (
                "revoked",
                by_name(100).with(|c| c.ticket.as_mut().unwrap().revoked = true),
            ),
        ],
        &expect![[r#"
            known: admitted (Budi Santoso, Reguler) Welcome.
            already inside: already_used (Budi Santoso, Reguler) Already used at Gerbang B, 18:30. [entry Gerbang B at 1795260600000]
            not cached: unknown_ticket () No ticket 100 is known for Seminar Nasional.
            another ticket cached: unknown_ticket () No ticket 101 is known for Seminar Nasional.
            another event: wrong_event () This ticket is for another event (event 8); this gate checks Seminar Nasional.
            revoked: revoked (Budi Santoso, Reguler) This ticket was cancelled or re-issued.
        "#]],
    );
}

#[test]
fn every_verdict_kind() {
    let forged = {
        // Signed by a key that claims to be key 1 of the event but is not.
        let impostor = gerbang_core::EventSigner::from_secret(EVENT, 1, [99; 32]);
        impostor.issue(&claims(100)).unwrap()
    };
    check(
        vec![
            ("admitted", Case::new()),
            (
                "exit recorded",
                Case::new().moved(Direction::Entry, 30, "Gerbang B").exit(),
            ),
            (
                "already used",
                Case::new().moved(Direction::Entry, 5, "Gerbang B"),
            ),
            ("unknown opaque", opaque("X-1").with(|c| c.ticket = None)),
            ("malformed", Case::new().with(|c| c.text = "GB:AB".into())),
            ("forged signature", Case::new().with(|c| c.text = forged)),
            (
                "forged by unknown key",
                Case::new().with(|c| {
                    c.text = gerbang_core::EventSigner::from_secret(EVENT, 9, [1; 32])
                        .issue(&claims(100))
                        .unwrap();
                }),
            ),
            (
                "revoked",
                Case::new().with(|c| c.ticket.as_mut().unwrap().revoked = true),
            ),
            ("wrong event (signed)", Case::new().with(|c| c.event.id = 8)),
            (
                "wrong event (opaque)",
                opaque("X-1").with(|c| c.ticket.as_mut().unwrap().event_id = 8),
            ),
            (
                "type not allowed",
                Case::new().with(|c| c.gate.allowed_types = vec![2]),
            ),
            (
                "not yet valid",
                Case::new().with(|c| c.now = EVENING.plus(-2 * Millis::HOUR)),
            ),
            (
                "expired",
                Case::new().with(|c| c.now = EVENING.plus(4 * Millis::HOUR)),
            ),
            (
                "entries exhausted",
                Case::new()
                    .with(|c| c.event.max_entries_total = Some(1))
                    .moved(Direction::Entry, 50, "Gerbang A")
                    .moved(Direction::Exit, 40, "Gerbang C"),
            ),
            ("hall full", Case::new().with(|c| c.inside_now = 1_000)),
            ("not inside", Case::new().exit()),
        ],
        &expect![[r#"
            admitted: admitted (Budi Santoso, Reguler) Welcome.
            exit recorded: exit_recorded (Budi Santoso, Reguler) Exit recorded.
            already used: already_used (Budi Santoso, Reguler) Already used at Gerbang B, 18:55. [entry Gerbang B at 1795262100000]
            unknown opaque: unknown_ticket () No ticket with code "X-1" is known for Seminar Nasional.
            malformed: malformed () Unreadable ticket: the code is damaged: base45 group at position 0 encodes a value larger than its bytes can hold.
            forged signature: forged () Forged ticket: the signature does not match: the code was altered or forged.
            forged by unknown key: forged () Forged ticket: signed with key 9 of event 7, which this gate does not know.
            revoked: revoked (Budi Santoso, Reguler) This ticket was cancelled or re-issued.
            wrong event (signed): wrong_event () This ticket is for another event (event 7); this gate checks Seminar Nasional.
            wrong event (opaque): wrong_event () This ticket is for another event (event 8); this gate checks Seminar Nasional.
            type not allowed: type_not_allowed (Budi Santoso, Reguler) Reguler tickets are not admitted at Gerbang A.
            not yet valid: not_yet_valid (Budi Santoso, Reguler) The doors open at 18:00.
            expired: expired (Budi Santoso, Reguler) The doors closed at 22:00.
            entries exhausted: entries_exhausted (Budi Santoso, Reguler) All 1 entries of this ticket are used.
            hall full: hall_full (Budi Santoso, Reguler) The hall is full (1000 inside).
            not inside: not_inside (Budi Santoso, Reguler) This ticket is not inside; no exit recorded.
        "#]],
    );
}

#[test]
fn entry_exit_and_reentry() {
    let no_reentry = |c: &mut Case| c.event.reentry = false;
    check(
        vec![
            (
                "re-entry after exit",
                Case::new().moved(Direction::Entry, 60, "Gerbang A").moved(
                    Direction::Exit,
                    30,
                    "Gerbang C",
                ),
            ),
            (
                "no re-entry policy",
                Case::new()
                    .with(no_reentry)
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 30, "Gerbang C"),
            ),
            (
                "inside again reports the latest entry",
                Case::new()
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 30, "Gerbang C")
                    .moved(Direction::Entry, 10, "Gerbang B"),
            ),
            (
                "exit after re-entry",
                Case::new()
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 30, "Gerbang C")
                    .moved(Direction::Entry, 10, "Gerbang B")
                    .exit(),
            ),
            (
                "second exit",
                Case::new()
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 30, "Gerbang C")
                    .exit(),
            ),
            (
                "exit ignores doors and types",
                Case::new()
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .with(|c| {
                        c.now = EVENING.plus(5 * Millis::HOUR);
                        c.gate.allowed_types = vec![2];
                    })
                    .exit(),
            ),
            (
                "a revoked ticket inside can still leave",
                Case::new()
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .with(|c| c.ticket.as_mut().unwrap().revoked = true)
                    .exit(),
            ),
            (
                "signed, sold after last sync",
                Case::new().with(|c| c.ticket = None),
            ),
            ("opaque in cache", opaque("LOKET-000123")),
            (
                "vip at vip gate",
                Case::new()
                    .signed(&TicketClaims {
                        type_id: 2,
                        ..claims(100)
                    })
                    .with(|c| c.gate.allowed_types = vec![2]),
            ),
            (
                "ticket from a rotated key",
                Case::new().with(|c| c.text = rotated_signer().issue(&claims(100)).unwrap()),
            ),
            (
                "caps lock scanner",
                Case::new().with(|c| c.text = c.text.to_lowercase()),
            ),
        ],
        &expect![[r#"
            re-entry after exit: admitted (Budi Santoso, Reguler) Welcome.
            no re-entry policy: already_used (Budi Santoso, Reguler) Already used at Gerbang A, 18:00. [entry Gerbang A at 1795258800000]
            inside again reports the latest entry: already_used (Budi Santoso, Reguler) Already used at Gerbang B, 18:50. [entry Gerbang B at 1795261800000]
            exit after re-entry: exit_recorded (Budi Santoso, Reguler) Exit recorded.
            second exit: not_inside (Budi Santoso, Reguler) This ticket is not inside; no exit recorded.
            exit ignores doors and types: exit_recorded (Budi Santoso, Reguler) Exit recorded.
            a revoked ticket inside can still leave: exit_recorded (Budi Santoso, Reguler) Exit recorded.
            signed, sold after last sync: admitted (Reguler) Welcome.
            opaque in cache: admitted (Siti Rahayu, Reguler) Welcome.
            vip at vip gate: admitted (Budi Santoso, VIP) Welcome.
            ticket from a rotated key: admitted (Budi Santoso, Reguler) Welcome.
            caps lock scanner: admitted (Budi Santoso, Reguler) Welcome.
        "#]],
    );
}

#[test]
fn boundaries_of_windows_limits_and_capacity() {
    let window = TicketClaims {
        valid_from: Some(EVENING),
        valid_until: Some(EVENING.plus(Millis::HOUR)),
        ..claims(100)
    };
    let at = |ms: i64| move |c: &mut Case| c.now = EVENING.plus(ms);
    let per_day = |c: &mut Case| c.event.max_entries_per_day = Some(2);
    check(
        vec![
            (
                "1 ms before valid_from",
                Case::new().signed(&window).with(at(-1)),
            ),
            ("at valid_from", Case::new().signed(&window).with(at(0))),
            (
                "1 ms before valid_until",
                Case::new().signed(&window).with(at(Millis::HOUR - 1)),
            ),
            (
                "at valid_until",
                Case::new().signed(&window).with(at(Millis::HOUR)),
            ),
            ("at doors open", Case::new().with(at(-Millis::HOUR))),
            (
                "1 ms before doors open",
                Case::new().with(at(-Millis::HOUR - 1)),
            ),
            (
                "1 ms before doors close",
                Case::new().with(at(3 * Millis::HOUR - 1)),
            ),
            ("at doors close", Case::new().with(at(3 * Millis::HOUR))),
            (
                "opaque ticket's own window",
                opaque("X-1").with(|c| c.ticket.as_mut().unwrap().valid_until = Some(EVENING)),
            ),
            (
                "one below capacity",
                Case::new().with(|c| c.inside_now = 999),
            ),
            ("at capacity", Case::new().with(|c| c.inside_now = 1_000)),
            (
                "no capacity set",
                Case::new().with(|c| {
                    c.event.capacity = None;
                    c.inside_now = 1_000_000;
                }),
            ),
            (
                "second entry of the day, limit 2",
                Case::new()
                    .with(per_day)
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 50, "Gerbang A"),
            ),
            (
                "third entry of the day, limit 2",
                Case::new()
                    .with(per_day)
                    .moved(Direction::Entry, 60, "Gerbang A")
                    .moved(Direction::Exit, 50, "Gerbang A")
                    .moved(Direction::Entry, 40, "Gerbang A")
                    .moved(Direction::Exit, 30, "Gerbang A"),
            ),
            (
                // 19:00 local minus 20 hours is yesterday 23:00: yesterday's entries don't count.
                "entries of yesterday do not count today",
                Case::new()
                    .with(per_day)
                    .with(|c| c.event.doors_open = None)
                    .moved(Direction::Entry, 20 * 60, "Gerbang A")
                    .moved(Direction::Exit, 20 * 60 - 1, "Gerbang A")
                    .moved(Direction::Entry, 20 * 60 - 2, "Gerbang A")
                    .moved(Direction::Exit, 20 * 60 - 3, "Gerbang A"),
            ),
            (
                // Refusals are decided before capacity: an already-used ticket says so even
                // when the hall is full, which is what the operator needs to know.
                "already used beats hall full",
                Case::new()
                    .with(|c| c.inside_now = 1_000)
                    .moved(Direction::Entry, 5, "Gerbang B"),
            ),
        ],
        &expect![[r#"
            1 ms before valid_from: not_yet_valid (Budi Santoso, Reguler) The ticket is valid from 19:00.
            at valid_from: admitted (Budi Santoso, Reguler) Welcome.
            1 ms before valid_until: admitted (Budi Santoso, Reguler) Welcome.
            at valid_until: expired (Budi Santoso, Reguler) The ticket expired at 20:00.
            at doors open: admitted (Budi Santoso, Reguler) Welcome.
            1 ms before doors open: not_yet_valid (Budi Santoso, Reguler) The doors open at 18:00.
            1 ms before doors close: admitted (Budi Santoso, Reguler) Welcome.
            at doors close: expired (Budi Santoso, Reguler) The doors closed at 22:00.
            opaque ticket's own window: expired (Siti Rahayu, Reguler) The ticket expired at 19:00.
            one below capacity: admitted (Budi Santoso, Reguler) Welcome.
            at capacity: hall_full (Budi Santoso, Reguler) The hall is full (1000 inside).
            no capacity set: admitted (Budi Santoso, Reguler) Welcome.
            second entry of the day, limit 2: admitted (Budi Santoso, Reguler) Welcome.
            third entry of the day, limit 2: entries_exhausted (Budi Santoso, Reguler) All 2 entries for today are used.
            entries of yesterday do not count today: admitted (Budi Santoso, Reguler) Welcome.
            already used beats hall full: already_used (Budi Santoso, Reguler) Already used at Gerbang B, 18:55. [entry Gerbang B at 1795262100000]
        "#]],
    );
}

#[test]
fn verdict_kinds_have_stable_names() {
    // The names are part of the protocol and the SQLite schema: they may only be added to.
    for kind in VerdictKind::ALL {
        assert_eq!(VerdictKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.as_str())
        );
    }
}

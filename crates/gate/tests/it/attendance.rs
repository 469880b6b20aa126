//! The attendance log: filters, pages, CSV export, and the dashboard's figures.

use expect_test::expect;
use gerbang_core::protocol::{Conflict, LogBody, LogEntry, ScanRecord};
use gerbang_core::{Direction, Millis, Verdict, VerdictKind};
use gerbang_gate::{LogFilter, LogRow, Store};
use uuid::Uuid;

use crate::{gate, signed, test_store, EVENING, EVENT};

/// One line per row: minutes after EVENING, gate, verdict, holder, type.
fn show(rows: &[LogRow]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "+{} {} {} {} {}{}\n",
                (r.at.0 - EVENING.0) / Millis::MINUTE,
                r.gate,
                r.verdict.as_str(),
                r.holder.as_deref().unwrap_or("-"),
                r.ticket_type.as_deref().unwrap_or("-"),
                if r.conflict { " CONFLICT" } else { "" },
            )
        })
        .collect()
}

fn filter() -> LogFilter {
    LogFilter {
        event_id: EVENT,
        ..LogFilter::default()
    }
}

/// Scans at "Gerbang A" a minute apart: ticket 100 (admitted), EXT-200 (admitted), 100 again
/// (already used), an unknown code, and "=cmd|' /C calc'!A0" (an unknown code that a
/// spreadsheet would run); then an exit of 100 at "Gerbang B"; and a remote conflict.
fn busy_store() -> Store {
    let store = test_store();
    let minute = |n: i64| EVENING.plus(n * Millis::MINUTE);
    store.record_scan(&signed(100), minute(0)).unwrap();
    store.record_scan("EXT-200", minute(1)).unwrap();
    store.record_scan(&signed(100), minute(2)).unwrap();
    store.record_scan("NOPE-1", minute(3)).unwrap();
    store.record_scan("=cmd|' /C calc'!A0", minute(4)).unwrap();
    store
        .set_gate_rules(&gate("Gerbang B", Direction::Exit))
        .unwrap();
    store.record_scan(&signed(100), minute(5)).unwrap();
    // Another gate admitted ticket 101 while cut off; the relay flagged it.
    let conflict = LogBody::Scan {
        scan: ScanRecord {
            scan_id: Uuid::now_v7(),
            event_id: EVENT,
            code: signed(101),
            ticket_id: Some(101),
            gate: "Gerbang C".into(),
            direction: Direction::Entry,
            at: minute(6),
            local: VerdictKind::Admitted,
        },
        official: Verdict {
            kind: VerdictKind::AlreadyUsed,
            ticket_id: Some(101),
            holder: Some("José Martínez".into()),
            ticket_type: Some("Reguler".into()),
            reason: "Already used.".into(),
            previous: None,
        },
        conflict: Some(Conflict {
            first_scan_id: Uuid::now_v7(),
            first_gate: "Gerbang D".into(),
            first_at: minute(5),
        }),
    };
    store
        .apply_entries(&[LogEntry {
            seq: 1,
            at: minute(6),
            body: conflict,
        }])
        .unwrap();
    store
}

#[test]
fn the_log_lists_every_scan_newest_first_with_holder_and_type() {
    let store = busy_store();
    let rows = store.attendance(&filter(), 0, 100).unwrap();
    expect![[r#"
        +6 Gerbang C already_used José Martínez Reguler CONFLICT
        +5 Gerbang B exit_recorded Budi Santoso Reguler
        +4 Gerbang A unknown_ticket - -
        +3 Gerbang A unknown_ticket - -
        +2 Gerbang A already_used Budi Santoso Reguler
        +1 Gerbang A admitted Siti Nurhaliza VIP
        +0 Gerbang A admitted Budi Santoso Reguler
    "#]]
    .assert_eq(&show(&rows));
    assert_eq!(store.attendance_count(&filter()).unwrap(), 7);
}

#[test]
fn filters_narrow_the_log_and_count_agrees_with_the_rows() {
    let store = busy_store();
    let check = |f: LogFilter, expected: expect_test::Expect| {
        let rows = store.attendance(&f, 0, 100).unwrap();
        assert_eq!(store.attendance_count(&f).unwrap(), rows.len() as u64);
        expected.assert_eq(&show(&rows));
    };
    check(
        LogFilter {
            gate: Some("Gerbang B".into()),
            ..filter()
        },
        expect![[r#"
            +5 Gerbang B exit_recorded Budi Santoso Reguler
        "#]],
    );
    check(
        LogFilter {
            verdicts: vec![VerdictKind::Admitted, VerdictKind::AlreadyUsed],
            ..filter()
        },
        expect![[r#"
            +6 Gerbang C already_used José Martínez Reguler CONFLICT
            +2 Gerbang A already_used Budi Santoso Reguler
            +1 Gerbang A admitted Siti Nurhaliza VIP
            +0 Gerbang A admitted Budi Santoso Reguler
        "#]],
    );
    check(
        LogFilter {
            from: Some(EVENING.plus(Millis::MINUTE)),
            to: Some(EVENING.plus(3 * Millis::MINUTE)),
            ..filter()
        },
        expect![[r#"
            +2 Gerbang A already_used Budi Santoso Reguler
            +1 Gerbang A admitted Siti Nurhaliza VIP
        "#]],
    );
    check(
        LogFilter {
            direction: Some(Direction::Exit),
            ..filter()
        },
        expect![[r#"
            +5 Gerbang B exit_recorded Budi Santoso Reguler
        "#]],
    );
    check(
        LogFilter {
            conflicts_only: true,
            ..filter()
        },
        expect![[r#"
            +6 Gerbang C already_used José Martínez Reguler CONFLICT
        "#]],
    );
    // One attendee's history.
    check(
        LogFilter {
            ticket_id: Some(100),
            ..filter()
        },
        expect![[r#"
            +5 Gerbang B exit_recorded Budi Santoso Reguler
            +2 Gerbang A already_used Budi Santoso Reguler
            +0 Gerbang A admitted Budi Santoso Reguler
        "#]],
    );
    // Text finds a name (any case), a code, or a ticket number; LIKE wildcards are literal.
    check(
        LogFilter {
            text: Some("siti".into()),
            ..filter()
        },
        expect![[r#"
            +1 Gerbang A admitted Siti Nurhaliza VIP
        "#]],
    );
    check(
        LogFilter {
            text: Some("NOPE".into()),
            ..filter()
        },
        expect![[r#"
            +3 Gerbang A unknown_ticket - -
        "#]],
    );
    check(
        LogFilter {
            text: Some("#101".into()),
            ..filter()
        },
        expect![[r#"
            +6 Gerbang C already_used José Martínez Reguler CONFLICT
        "#]],
    );
    check(
        LogFilter {
            text: Some("%".into()),
            ..filter()
        },
        expect![""],
    );
    check(
        LogFilter {
            event_id: EVENT + 100,
            ..filter()
        },
        expect![""],
    );
}

#[test]
fn pages_cover_the_log_without_gaps_or_repeats() {
    let store = busy_store();
    let all = store.attendance(&filter(), 0, 100).unwrap();
    let mut paged = Vec::new();
    for offset in (0..8).step_by(3) {
        paged.extend(store.attendance(&filter(), offset, 3).unwrap());
    }
    assert_eq!(paged, all);
    assert!(store.attendance(&filter(), 7, 3).unwrap().is_empty());
}

#[test]
fn csv_export_is_oldest_first_in_local_time_and_defuses_formulas() {
    let store = busy_store();
    let mut out = Vec::new();
    let mut progress = Vec::new();
    let rows = store
        .export_attendance_csv(&filter(), &mut out, |done, total| {
            progress.push((done, total));
        })
        .unwrap();
    assert_eq!(rows, 7);
    assert_eq!(progress.last(), Some(&(7, 7)));
    let text = String::from_utf8(out).unwrap();
    // Scan ids and codes vary from run to run: show the columns that do not.
    let shown: String = text
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            format!("{}\n", cells[..9].join(","))
        })
        .collect();
    expect![[r#"
        time,gate,direction,verdict,gate_verdict,conflict,ticket_id,holder,ticket_type
        2026-11-21T19:00:00+07:00,Gerbang A,entry,admitted,admitted,,100,Budi Santoso,Reguler
        2026-11-21T19:01:00+07:00,Gerbang A,entry,admitted,admitted,,200,Siti Nurhaliza,VIP
        2026-11-21T19:02:00+07:00,Gerbang A,entry,already_used,already_used,,100,Budi Santoso,Reguler
        2026-11-21T19:03:00+07:00,Gerbang A,entry,unknown_ticket,unknown_ticket,,,,
        2026-11-21T19:04:00+07:00,Gerbang A,entry,unknown_ticket,unknown_ticket,,,,
        2026-11-21T19:05:00+07:00,Gerbang B,exit,exit_recorded,exit_recorded,,100,Budi Santoso,Reguler
        2026-11-21T19:06:00+07:00,Gerbang C,entry,already_used,admitted,yes,101,José Martínez,Reguler
    "#]]
    .assert_eq(&shown);
    assert!(text.contains("\r\n"), "RFC 4180 lines end with CRLF");
    assert!(
        text.contains(",'=cmd|' /C calc'!A0,"),
        "a formula is written as text: {text}"
    );
    // A real CSV reader gets the same rows back.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), 7);
}

#[test]
fn an_empty_export_has_the_header_and_reports_zero() {
    let store = test_store();
    let mut out = Vec::new();
    let mut last = None;
    let rows = store
        .export_attendance_csv(&filter(), &mut out, |done, total| {
            last = Some((done, total));
        })
        .unwrap();
    assert_eq!((rows, last), (0, Some((0, 0))));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "time,gate,direction,verdict,gate_verdict,conflict,ticket_id,holder,ticket_type,code,reason,relay_seq,scan_id\r\n"
    );
}

#[test]
fn arrivals_are_admissions_per_gate_per_bucket() {
    let store = busy_store();
    let buckets = store
        .arrivals(
            EVENT,
            EVENING.plus(-Millis::HOUR),
            EVENING.plus(Millis::HOUR),
            5 * Millis::MINUTE,
        )
        .unwrap();
    let shown: Vec<(i64, &str, u64)> = buckets
        .iter()
        .map(|b| {
            (
                (b.start.0 - EVENING.0) / Millis::MINUTE,
                b.gate.as_str(),
                b.admitted,
            )
        })
        .collect();
    // EVENING is on a 5-minute boundary; the conflict at +6 counts by the relay's verdict.
    assert_eq!(shown, vec![(0, "Gerbang A", 2)]);
    // Nothing at or after `until` (a gate whose clock runs ahead stays off the chart).
    let before = store.arrivals(
        EVENT,
        EVENING.plus(-Millis::HOUR),
        EVENING,
        5 * Millis::MINUTE,
    );
    assert_eq!(before.unwrap(), vec![]);
    assert!(store
        .arrivals(EVENT, EVENING, EVENING.plus(Millis::HOUR), 0)
        .is_err());
}

#[test]
fn gate_activity_counts_by_effective_verdict_and_the_last_minute() {
    let store = busy_store();
    let activity = store
        .gate_activity(EVENT, EVENING.plus(5 * Millis::MINUTE + 30_000))
        .unwrap();
    let shown: Vec<(&str, u64, u64, u64, u64)> = activity
        .iter()
        .map(|g| {
            (
                g.gate.as_str(),
                g.admitted,
                g.exits,
                g.refused,
                g.last_minute,
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("Gerbang A", 2, 0, 3, 0),
            ("Gerbang B", 0, 1, 0, 1),
            ("Gerbang C", 0, 0, 1, 0),
        ]
    );
}

#[test]
fn the_name_search_says_who_it_is_and_where_they_are() {
    let store = busy_store();
    let budi = store.find_attendees(EVENT, "budi", 10).unwrap();
    assert_eq!(budi.len(), 1);
    assert_eq!(budi[0].ticket.ticket_id, 100);
    assert_eq!(budi[0].ticket_type.as_deref(), Some("Reguler"));
    let last = budi[0].last_movement.as_ref().unwrap();
    assert_eq!(
        (last.gate.as_str(), last.direction),
        ("Gerbang B", Direction::Exit)
    );
    let siti = store.find_attendees(EVENT, "Siti", 10).unwrap();
    assert_eq!(siti[0].ticket_type.as_deref(), Some("VIP"));
    assert_eq!(
        siti[0].last_movement.as_ref().map(|m| m.direction),
        Some(Direction::Entry)
    );
    // José's only scan lost to another gate's admission: by the relay's verdict it moved
    // nobody.
    let jose = store.find_attendees(EVENT, "jose", 10).unwrap();
    assert_eq!(jose[0].last_movement, None);
    assert!(store
        .find_attendees(EVENT, "nobody", 10)
        .unwrap()
        .is_empty());
}

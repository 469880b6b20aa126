//! The attendance log: filters, keyset paging (exact rows), refusals, and the CSV export.

use gerbang_core::protocol::{LogBody, Role};
use gerbang_core::{Direction, TicketRecord, VerdictKind};
use reqwest::StatusCode;
use serde_json::json;

use crate::{fixed_clock, scan_of, ticket_code, upload, Http, TestRelay, EVENT, NOW};

/// A relay (clock pinned at NOW) with these scans logged, seq 15 to 21:
///
/// | seq | gate | ticket | direction | at | official |
/// | --- | --- | --- | --- | --- | --- |
/// | 15 | A | 1 | entry | -50 s | admitted |
/// | 16 | A | 2 | entry | -40 s | admitted |
/// | 17 | B | 1 | entry | -30 s | already_used, conflict |
/// | 18 | B | 2 | exit | -20 s | exit_recorded |
/// | 19 | A | unknown code | entry | -10 s | unknown_ticket |
/// | 20 | B | 11 (`=HYPERLINK…`) | entry | -5 s | admitted |
/// | 21 | A | 12 (`Tan, "Budi"`) | entry | -1 s | admitted |
async fn logged() -> (TestRelay, Http, String) {
    let relay = TestRelay::start_at(fixed_clock).await;
    for (ticket_id, holder) in [
        (11, "=HYPERLINK(\"http://x\",\"klik\")"),
        (12, "Tan, \"Budi\""),
    ] {
        relay
            .admin
            .writer()
            .append(LogBody::TicketUpsert {
                ticket: TicketRecord {
                    event_id: EVENT,
                    ticket_id,
                    type_id: 1,
                    holder: holder.into(),
                    barcode: None,
                    valid_from: None,
                    valid_until: None,
                    revoked: false,
                },
            })
            .await
            .unwrap();
    }
    let mut a = relay.client("Gerbang A", Role::Gate).await;
    let mut b = relay.client("Gerbang B", Role::Gate).await;
    let at = |s: i64| NOW - s * 1_000;
    let mut verdicts = upload(
        &mut a,
        vec![
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, at(50)),
            scan_of(&ticket_code(2), "Gerbang A", Direction::Entry, at(40)),
        ],
    )
    .await;
    verdicts.extend(
        upload(
            &mut b,
            vec![
                scan_of(&ticket_code(1), "Gerbang B", Direction::Entry, at(30)),
                scan_of(&ticket_code(2), "Gerbang B", Direction::Exit, at(20)),
            ],
        )
        .await,
    );
    verdicts.extend(
        upload(
            &mut a,
            vec![scan_of(
                "TIDAK-DIKENAL",
                "Gerbang A",
                Direction::Entry,
                at(10),
            )],
        )
        .await,
    );
    verdicts.extend(
        upload(
            &mut b,
            vec![scan_of(
                &ticket_code(11),
                "Gerbang B",
                Direction::Entry,
                at(5),
            )],
        )
        .await,
    );
    verdicts.extend(
        upload(
            &mut a,
            vec![scan_of(
                &ticket_code(12),
                "Gerbang A",
                Direction::Entry,
                at(1),
            )],
        )
        .await,
    );
    use VerdictKind::*;
    assert_eq!(
        verdicts,
        [
            Admitted,
            Admitted,
            AlreadyUsed,
            ExitRecorded,
            UnknownTicket,
            Admitted,
            Admitted
        ]
    );
    assert_eq!(relay.admin.reader().head().unwrap(), 21);
    let http = Http::new(&relay);
    let (_, supervisor) = relay.token("Koordinator", Role::Supervisor);
    (relay, http, supervisor)
}

/// The seqs of a page and its `next_before_seq`.
async fn seqs(http: &Http, token: &str, query: &str) -> (Vec<u64>, Option<u64>) {
    let (status, page) = http
        .call(
            "GET",
            &format!("/events/1/attendance?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    let seqs = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    (seqs, page["next_before_seq"].as_u64())
}

#[tokio::test]
async fn filters_and_pages_return_exactly_the_matching_rows() {
    let (relay, http, token) = logged().await;
    let code2 = ticket_code(2);
    let encoded: String = form_urlencoded::byte_serialize(code2.as_bytes()).collect();
    let from = NOW - 40_000;
    let to = NOW - 10_000;
    let cases: Vec<(String, Vec<u64>, Option<u64>)> = vec![
        ("".into(), vec![21, 20, 19, 18, 17, 16, 15], None),
        ("limit=3".into(), vec![21, 20, 19], Some(19)),
        ("limit=3&before_seq=19".into(), vec![18, 17, 16], Some(16)),
        ("limit=3&before_seq=16".into(), vec![15], None),
        ("gate=Gerbang%20B".into(), vec![20, 18, 17], None),
        (
            "gate=Gerbang%20A&gate=Gerbang%20B&limit=2".into(),
            vec![21, 20],
            Some(20),
        ),
        (
            "verdict=already_used,unknown_ticket".into(),
            vec![19, 17],
            None,
        ),
        (
            "verdict=exit_recorded&verdict=unknown_ticket".into(),
            vec![19, 18],
            None,
        ),
        ("direction=exit".into(), vec![18], None),
        (format!("from={from}&to={to}"), vec![18, 17, 16], None),
        // "Peserta 1" is also in "Peserta 10", who did not come.
        ("q=peserta%201".into(), vec![17, 15], None),
        ("q=2".into(), vec![18, 16], None),
        (format!("q={encoded}"), vec![18, 16], None),
        ("q=HYPERLINK".into(), vec![20], None),
        ("q=%25".into(), vec![], None),
        ("conflict=true".into(), vec![17], None),
        ("conflict=true&gate=Gerbang%20A".into(), vec![], None),
        (
            "conflict=false".into(),
            vec![21, 20, 19, 18, 17, 16, 15],
            None,
        ),
    ];
    for (query, rows, next) in cases {
        assert_eq!(seqs(&http, &token, &query).await, (rows, next), "{query}");
    }

    let (_, page) = http
        .call(
            "GET",
            "/events/1/attendance?conflict=true",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        page["rows"][0],
        json!({
            "seq": 17, "scanned_at": NOW - 30_000, "logged_at": NOW, "gate": "Gerbang B",
            "direction": "entry", "official": "already_used", "local": "admitted",
            "conflict": true, "ticket_id": 1, "holder": "Peserta 1", "ticket_type": "Reguler",
            "reason": page["rows"][0]["reason"].clone()
        })
    );
    assert!(page["rows"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("Gerbang A"));
    relay.stop().await;
}

#[tokio::test]
async fn bad_filters_are_refused_with_what_to_change() {
    let (relay, http, supervisor) = logged().await;
    let (_, gate) = relay.token("Gerbang C", Role::Gate);
    let cases: Vec<(&str, Option<&str>, u16, &str)> = vec![
        ("/events/1/attendance?verdict=bogus", None, 400, "unknown verdict \"bogus\"; verdicts are: admitted, exit_recorded, already_used, unknown_ticket, malformed, forged, revoked, wrong_event, type_not_allowed, not_yet_valid, expired, entries_exhausted, hall_full, not_inside"),
        ("/events/1/attendance?limit=0", None, 400, "limit must be between 1 and 1000"),
        ("/events/1/attendance?limit=1001", None, 400, "limit must be between 1 and 1000"),
        ("/events/1/attendance?from=10&to=10", None, 400, "from must be before to"),
        ("/events/1/attendance?from=soon", None, 400, "from must be a whole number, not \"soon\""),
        ("/events/1/attendance?direction=sideways", None, 400, "direction must be entry or exit, not \"sideways\""),
        ("/events/1/attendance?conflict=maybe", None, 400, "conflict must be true or false, not \"maybe\""),
        ("/events/1/attendance?before_seq=-1", None, 400, "before_seq must not be negative"),
        ("/events/1/attendance?gates=A", None, 400, "unknown query parameter \"gates\"; the attendance log takes gate, from, to, verdict, direction, q, conflict, before_seq and limit"),
        ("/events/1/attendance.csv?limit=5", None, 400, "the CSV export has every matching row; limit is for the JSON pages"),
        ("/events/9/attendance", None, 404, "there is no event 9"),
        ("/events/9/attendance.csv", None, 404, "there is no event 9"),
        ("/events/1/attendance", Some(gate.as_str()), 403, "gate devices cannot do this; it needs a supervisor or admin token"),
    ];
    for (path, token, status, message) in cases {
        let (got, answer) = http
            .call("GET", path, Some(token.unwrap_or(&supervisor)), None)
            .await;
        assert_eq!(
            (got.as_u16(), answer["message"].as_str()),
            (status, Some(message)),
            "{path}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_csv_export_is_quoted_inert_and_in_local_time() {
    let (relay, http, token) = logged().await;
    let (status, content_type, body) = http
        .get_bytes("/events/1/attendance.csv", Some(&token))
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    expect_test::expect![[r#"
        seq,scanned_at,logged_at,gate,direction,official,local,conflict,ticket_id,holder,ticket_type,reason
        21,2026-11-21T18:59:59.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang A,entry,admitted,admitted,false,12,"Tan, ""Budi""",Reguler,Welcome.
        20,2026-11-21T18:59:55.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang B,entry,admitted,admitted,false,11,"'=HYPERLINK(""http://x"",""klik"")",Reguler,Welcome.
        19,2026-11-21T18:59:50.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang A,entry,unknown_ticket,admitted,false,,,,"No ticket with code ""TIDAK-DIKENAL"" is known for Seminar Nasional."
        18,2026-11-21T18:59:40.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang B,exit,exit_recorded,exit_recorded,false,2,Peserta 2,Reguler,Exit recorded.
        17,2026-11-21T18:59:30.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang B,entry,already_used,admitted,true,1,Peserta 1,Reguler,"Already used at Gerbang A, 18:59."
        16,2026-11-21T18:59:20.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang A,entry,admitted,admitted,false,2,Peserta 2,Reguler,Welcome.
        15,2026-11-21T18:59:10.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang A,entry,admitted,admitted,false,1,Peserta 1,Reguler,Welcome.
    "#]].assert_eq(&lines(body));
    let (_, _, filtered) = http
        .get_bytes(
            "/events/1/attendance.csv?gate=Gerbang%20B&verdict=exit_recorded",
            Some(&token),
        )
        .await;
    expect_test::expect![[r#"
        seq,scanned_at,logged_at,gate,direction,official,local,conflict,ticket_id,holder,ticket_type,reason
        18,2026-11-21T18:59:40.000+07:00,2026-11-21T19:00:00.000+07:00,Gerbang B,exit,exit_recorded,exit_recorded,false,2,Peserta 2,Reguler,Exit recorded.
    "#]].assert_eq(&lines(filtered));
    relay.stop().await;
}

/// The CSV text with its CRLF line ends checked and shown as plain line breaks.
fn lines(body: Vec<u8>) -> String {
    let text = String::from_utf8(body).unwrap();
    assert!(text.ends_with("\r\n"));
    assert_eq!(
        text.matches("\r\n").count(),
        text.matches('\n').count(),
        "a line without CR"
    );
    text.replace("\r\n", "\n")
}

#[tokio::test]
async fn a_large_csv_export_is_complete_and_in_order() {
    // More rows than one page of the export (500), so the stream spans pages.
    let relay = TestRelay::start().await;
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let scans = (0..1_203)
        .map(|i| scan_of(&format!("KODE-{i}"), "Gerbang A", Direction::Entry, NOW))
        .collect();
    upload(&mut gate, scans).await;
    let http = Http::new(&relay);
    let (_, token) = relay.token("Koordinator", Role::Supervisor);
    let (status, _, body) = http
        .get_bytes("/events/1/attendance.csv", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    let seqs: Vec<u64> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let head = relay.admin.reader().head().unwrap();
    assert_eq!(seqs, (head - 1_202..=head).rev().collect::<Vec<_>>());
    relay.stop().await;
}

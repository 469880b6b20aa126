//! Importing a ticket list from CSV: [`parse_tickets_csv`].
//!
//! Pure: it reads the bytes it is given and returns either every ticket or every problem, never
//! a mix, so that the caller can load the result in one transaction and nothing is ever half
//! imported.
//!
//! # The file
//!
//! The first line names the columns, in any order and any letter case:
//!
//! | column | required | what |
//! | --- | --- | --- |
//! | `holder` | yes | the holder's name, at most [`MAX_HOLDER_CHARS`] characters |
//! | `type` | yes | a ticket type of the event, by name (any case) or by numeric id |
//! | `barcode` | no | the printed code of a ticket from another system, at most [`MAX_BARCODE_LEN`] bytes |
//! | `ticket_id` | no | the ticket's number; without the column, numbers are assigned in order |
//! | `valid_from`, `valid_until` | no | Unix seconds, or `YYYY-MM-DD HH:MM[:SS]` in the event's local time |
//!
//! Any other column is refused rather than ignored: a misspelt `valid_untill` silently dropped
//! would let tickets in after they expire.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use crate::rules::{EventRules, TicketRecord};
use crate::ticket::{Code, MAX_CODE_LEN};
use crate::time::Millis;

/// The longest holder name accepted, in characters.
pub const MAX_HOLDER_CHARS: usize = 200;
/// The longest barcode accepted, in bytes: the most a gate reads from a scanner
/// ([`MAX_CODE_LEN`]), so that every imported ticket can actually be scanned.
pub const MAX_BARCODE_LEN: usize = MAX_CODE_LEN;

/// One problem with one line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// What is wrong, in plain words.
    pub reason: String,
}

/// Every problem found in a file; when there is any, nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors {
    /// In file order; a line with several problems appears once per problem.
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<u64> = self.errors.iter().map(|e| e.line).collect();
        lines.dedup();
        let n = lines.len();
        let rows = if n == 1 { "line" } else { "lines" };
        write!(
            f,
            "{n} {rows} of the file could not be read, so nothing was imported; \
             correct the file and import it again:"
        )?;
        for e in &self.errors {
            write!(f, "\nline {}: {}", e.line, e.reason)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Holder,
    Type,
    Barcode,
    TicketId,
    ValidFrom,
    ValidUntil,
}

impl Column {
    const ALL: [(Column, &'static str); 6] = [
        (Column::Holder, "holder"),
        (Column::Type, "type"),
        (Column::Barcode, "barcode"),
        (Column::TicketId, "ticket_id"),
        (Column::ValidFrom, "valid_from"),
        (Column::ValidUntil, "valid_until"),
    ];

    fn named(name: &str) -> Option<Column> {
        Column::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(c, _)| *c)
    }
}

/// Where each known column is in a row.
#[derive(Debug, Default)]
struct Header {
    width: usize,
    at: HashMap<Column, usize>,
}

/// Parses a CSV ticket list for `event`. Tickets without a `ticket_id` column are numbered
/// from `first_free_ticket_id` in file order.
///
/// Returns every ticket, or, if any row is bad, every bad row with its line number and why.
pub fn parse_tickets_csv(
    reader: impl Read,
    event: &EventRules,
    first_free_ticket_id: u32,
) -> Result<Vec<TicketRecord>, ImportErrors> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut errors = Vec::new();
    let mut rows = csv.byte_records();

    let header = match rows.next() {
        None => {
            errors.push(RowError {
                line: 1,
                reason: "the file is empty; its first line must name the columns, \
                         for example: holder,type,barcode"
                    .into(),
            });
            return Err(ImportErrors { errors });
        }
        Some(Err(err)) => {
            errors.push(csv_error(&err, 1));
            return Err(ImportErrors { errors });
        }
        Some(Ok(record)) => parse_header(&record, &mut errors),
    };
    if !errors.is_empty() {
        return Err(ImportErrors { errors });
    }

    let mut tickets = Vec::new();
    let mut barcodes: HashMap<String, u64> = HashMap::new();
    let mut ticket_ids: HashMap<u32, u64> = HashMap::new();
    let mut next_id = Some(first_free_ticket_id);
    let mut last_line = 1;
    for row in rows {
        let record = match row {
            Ok(record) => record,
            Err(err) => {
                let stop = matches!(err.kind(), csv::ErrorKind::Io(_));
                errors.push(csv_error(&err, last_line + 1));
                if stop {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map_or(last_line + 1, |p| p.line());
        last_line = line;
        // Numbers are handed out per data row, good or bad, so that a row's number does not
        // depend on whether an earlier row had a typo.
        let assigned = next_id;
        next_id = next_id.and_then(|id| id.checked_add(1));

        let mut row = Row {
            line,
            errors: &mut errors,
        };
        if record.len() != header.width {
            let (n, w) = (record.len(), header.width);
            row.error(format!(
                "the row has {n} {}, the header names {w}; check for a missing or extra comma",
                if n == 1 { "field" } else { "fields" }
            ));
            continue;
        }
        let field = |row: &mut Row<'_>, column: Column| -> Option<String> {
            let at = *header.at.get(&column)?;
            match std::str::from_utf8(&record[at]) {
                Ok(text) => Some(text.trim().to_owned()),
                Err(_) => {
                    row.error(format!(
                        "the {} field is not UTF-8 text; save the file as CSV UTF-8",
                        Column::ALL[column as usize].1
                    ));
                    None
                }
            }
        };
        let before = row.errors.len();

        let holder = field(&mut row, Column::Holder).unwrap_or_default();
        if row.errors.len() == before {
            check_holder(&mut row, &holder);
        }
        let type_id = field(&mut row, Column::Type).and_then(|t| ticket_type(&mut row, &t, event));
        let barcode = field(&mut row, Column::Barcode)
            .filter(|b| !b.is_empty())
            .filter(|b| check_barcode(&mut row, b));
        let ticket_id = match header.at.contains_key(&Column::TicketId) {
            true => field(&mut row, Column::TicketId).and_then(|t| ticket_number(&mut row, &t)),
            false => {
                if assigned.is_none() {
                    row.error(format!(
                        "no ticket numbers are left after {}; give the file a ticket_id column",
                        u32::MAX
                    ));
                }
                assigned
            }
        };
        let tz = event.utc_offset_minutes;
        let time = |row: &mut Row<'_>, column: Column, name: &str| {
            field(row, column)
                .filter(|t| !t.is_empty())
                .and_then(|t| match parse_time(&t, tz) {
                    Ok(at) => Some(at),
                    Err(why) => {
                        row.error(format!("{name} {t:?} {why}"));
                        None
                    }
                })
        };
        let valid_from = time(&mut row, Column::ValidFrom, "valid_from");
        let valid_until = time(&mut row, Column::ValidUntil, "valid_until");
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if from >= until {
                row.error(
                    "valid_from is not before valid_until, so the ticket is never valid".into(),
                );
            }
        }

        if let Some(barcode) = &barcode {
            if let Some(first) = barcodes.get(barcode) {
                row.error(format!("barcode {barcode:?} is also on line {first}"));
            } else {
                barcodes.insert(barcode.clone(), line);
            }
        }
        if let Some(id) = ticket_id {
            if let Some(first) = ticket_ids.get(&id) {
                row.error(format!("ticket id {id} is also on line {first}"));
            } else {
                ticket_ids.insert(id, line);
            }
        }

        if row.errors.len() == before {
            if let (Some(type_id), Some(ticket_id)) = (type_id, ticket_id) {
                tickets.push(TicketRecord {
                    event_id: event.id,
                    ticket_id,
                    type_id,
                    holder,
                    barcode,
                    valid_from,
                    valid_until,
                    revoked: false,
                });
            }
        }
    }

    if errors.is_empty() {
        Ok(tickets)
    } else {
        Err(ImportErrors { errors })
    }
}

/// The errors of the row being read, with its line number.
struct Row<'a> {
    line: u64,
    errors: &'a mut Vec<RowError>,
}

impl Row<'_> {
    fn error(&mut self, reason: String) {
        self.errors.push(RowError {
            line: self.line,
            reason,
        });
    }
}

fn csv_error(err: &csv::Error, line: u64) -> RowError {
    let line = err.position().map_or(line, |p| p.line());
    RowError {
        line,
        reason: format!("the file could not be read: {err}"),
    }
}

fn parse_header(record: &csv::ByteRecord, errors: &mut Vec<RowError>) -> Header {
    let mut header = Header {
        width: record.len(),
        ..Header::default()
    };
    let mut error = |reason: String| errors.push(RowError { line: 1, reason });
    for (i, raw) in record.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            error(format!("column {} of the header is not UTF-8 text", i + 1));
            continue;
        };
        // A spreadsheet saving "CSV UTF-8" puts a byte-order mark before the first name.
        let name = name.trim_start_matches('\u{feff}').trim();
        match Column::named(name) {
            Some(column) if header.at.contains_key(&column) => {
                error(format!(
                    "the column {:?} is named twice",
                    Column::ALL[column as usize].1
                ));
            }
            Some(column) => {
                header.at.insert(column, i);
            }
            None => error(format!(
                "unknown column {name:?}; the columns are holder, type, barcode, ticket_id, \
                 valid_from and valid_until: rename or remove it"
            )),
        }
    }
    for required in [Column::Holder, Column::Type] {
        if !header.at.contains_key(&required) {
            let name = Column::ALL[required as usize].1;
            error(format!("the header has no {name:?} column; it is required"));
        }
    }
    header
}

fn check_holder(row: &mut Row<'_>, holder: &str) {
    let chars = holder.chars().count();
    if chars == 0 {
        row.error("the holder's name is missing".into());
    } else if chars > MAX_HOLDER_CHARS {
        row.error(format!(
            "the holder's name is {chars} characters long; at most {MAX_HOLDER_CHARS} are allowed"
        ));
    } else if holder.chars().any(char::is_control) {
        row.error("the holder's name contains a control character (a line break or tab?)".into());
    }
}

fn ticket_type(row: &mut Row<'_>, text: &str, event: &EventRules) -> Option<u16> {
    if text.is_empty() {
        row.error("the ticket type is missing".into());
        return None;
    }
    let by_name = event
        .ticket_types
        .iter()
        .find(|t| t.name.trim().to_lowercase() == text.to_lowercase());
    let by_id = || {
        let id: u16 = text.parse().ok()?;
        event.ticket_types.iter().find(|t| t.id == id)
    };
    match by_name.or_else(by_id) {
        Some(t) => Some(t.id),
        None => {
            let known: Vec<String> = event
                .ticket_types
                .iter()
                .map(|t| format!("{} ({})", t.name, t.id))
                .collect();
            let known = match known.is_empty() {
                true => "none".to_owned(),
                false => known.join(", "),
            };
            row.error(format!(
                "unknown ticket type {text:?}; the types of {} are: {known}",
                event.name
            ));
            None
        }
    }
}

/// Whether a barcode can be stored and later scanned as the very same opaque code.
fn check_barcode(row: &mut Row<'_>, barcode: &str) -> bool {
    if barcode.len() > MAX_BARCODE_LEN {
        row.error(format!(
            "the barcode is {} bytes long; a gate reads at most {MAX_BARCODE_LEN}",
            barcode.len()
        ));
        return false;
    }
    if barcode.starts_with(crate::ticket::PREFIX) {
        row.error(format!(
            "the barcode starts with {:?}, which gates read as a Gerbang signed code, \
             so this ticket could never be scanned",
            crate::ticket::PREFIX
        ));
        return false;
    }
    match Code::parse(barcode) {
        Ok(Code::Opaque(text)) if text == barcode => true,
        Ok(Code::Manual { .. }) => {
            row.error(
                "the barcode has the form of an admission by name (GBM:event:ticket), \
                 which gates refuse from a scanner, so this ticket could never be scanned"
                    .into(),
            );
            false
        }
        Ok(_) => {
            row.error(
                "the barcode reads as a Gerbang signed code (typed in lower case), \
                 so this ticket could never be scanned"
                    .into(),
            );
            false
        }
        Err(err) => {
            row.error(format!("the barcode cannot be scanned: {err}"));
            false
        }
    }
}

fn ticket_number(row: &mut Row<'_>, text: &str) -> Option<u32> {
    if text.is_empty() {
        row.error("the ticket id is missing; with a ticket_id column every row needs one".into());
        return None;
    }
    match text.parse::<u32>() {
        Ok(id) => Some(id),
        Err(_) => {
            row.error(format!(
                "ticket id {text:?} is not a whole number from 0 to {}",
                u32::MAX
            ));
            None
        }
    }
}

/// Unix seconds, or `YYYY-MM-DD HH:MM[:SS]` (a `T` may stand for the space) in the zone
/// `utc_offset_minutes` east of UTC. The error completes "valid_from "…" ".
fn parse_time(text: &str, utc_offset_minutes: i32) -> Result<Millis, String> {
    const FORMAT: &str = "write YYYY-MM-DD HH:MM in the event's local time, or Unix seconds";
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(secs) => Ok(Millis::from_secs(i64::from(secs))),
            Err(_) => Err(format!("is too large for Unix seconds; {FORMAT}")),
        };
    }
    let not_a_time = || format!("is not a date and time; {FORMAT}");
    let b = text.as_bytes();
    let shape_ok = (b.len() == 16 || b.len() == 19)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b' ' || b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && (b.len() == 16 || b[16] == b':');
    if !shape_ok {
        return Err(not_a_time());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = &text[range];
        match part.bytes().all(|b| b.is_ascii_digit()) {
            true => Ok(part.parse::<i64>().map_err(|_| not_a_time())?),
            false => Err(not_a_time()),
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute) = (number(11..13)?, number(14..16)?);
    let second = if b.len() == 19 { number(17..19)? } else { 0 };
    if !(1..=12).contains(&month) {
        return Err(format!("has month {month}, which does not exist"));
    }
    let days_in_month = match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days_in_month).contains(&day) {
        return Err(format!(
            "has day {day}, but that month has {days_in_month} days"
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("has a time of day that does not exist; {FORMAT}"));
    }
    let local = days_from_civil(year, month, day) * Millis::DAY
        + hour * Millis::HOUR
        + minute * Millis::MINUTE
        + second * Millis::SECOND;
    Ok(Millis(
        local - i64::from(utc_offset_minutes) * Millis::MINUTE,
    ))
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::rules::TicketType;

    fn event() -> EventRules {
        EventRules {
            id: 7,
            name: "Seminar Nasional".into(),
            doors_open: None,
            doors_close: None,
            capacity: None,
            reentry: true,
            max_entries_per_day: None,
            max_entries_total: None,
            utc_offset_minutes: 7 * 60,
            ticket_types: vec![
                TicketType {
                    id: 1,
                    name: "Reguler".into(),
                },
                TicketType {
                    id: 2,
                    name: "VIP".into(),
                },
            ],
        }
    }

    /// Parses `csv` for the test event (numbering from 100) and renders the tickets one per
    /// line, or the error report.
    fn check(csv: &str, expect: Expect) {
        let actual = match parse_tickets_csv(csv.as_bytes(), &event(), 100) {
            Ok(tickets) => tickets
                .iter()
                .map(|t| {
                    format!(
                        "#{} type {} {:?} barcode={:?} from={:?} until={:?}",
                        t.ticket_id,
                        t.type_id,
                        t.holder,
                        t.barcode,
                        t.valid_from.map(|m| m.0),
                        t.valid_until.map(|m| m.0)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(errors) => errors.to_string(),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn columns_in_any_order_and_case_with_numbering() {
        check(
            "Type,HOLDER,barcode\nreguler,Budi Santoso,ABC-1\nVIP,\"Siti, Nurhaliza\",\n2,Ani,ABC-2\n",
            expect![[r#"
                #100 type 1 "Budi Santoso" barcode=Some("ABC-1") from=None until=None
                #101 type 2 "Siti, Nurhaliza" barcode=None from=None until=None
                #102 type 2 "Ani" barcode=Some("ABC-2") from=None until=None"#]],
        );
    }

    #[test]
    fn explicit_ids_and_times_in_the_event_zone() {
        // 2026-11-21 19:00 in Jakarta (UTC+7) is 12:00 UTC: 1795262400 seconds.
        check(
            "\u{feff}holder,type,ticket_id,valid_from,valid_until\n\
             Budi,1,5,2026-11-21 19:00,1795266000\n\
             Ani,1,6,,2024-02-29T23:59:59\n",
            expect![[r#"
                #5 type 1 "Budi" barcode=None from=Some(1795262400000) until=Some(1795266000000)
                #6 type 1 "Ani" barcode=None from=None until=Some(1709225999000)"#]],
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let long = "x".repeat(201);
        let csv = format!(
            "holder,type,barcode,ticket_id,valid_from,valid_until\n\
             Budi,Reguler,A1,1,,\n\
             ,Reguler,A2,2,,\n\
             Ani,Gold,A3,3,,\n\
             Citra,VIP,A1,1,,\n\
             Dedi,VIP,A4,x4,2026-02-30 10:00,\n\
             Eko,VIP,A5,5,2026-11-21 19:00,2026-11-21 18:00\n\
             Fajar,VIP,A6\n\
             {long},VIP,GB:ABC,7,tomorrow,99999999999\n\
             Gita,1,,8,,\n"
        );
        check(
            &csv,
            expect![[r#"
                7 lines of the file could not be read, so nothing was imported; correct the file and import it again:
                line 3: the holder's name is missing
                line 4: unknown ticket type "Gold"; the types of Seminar Nasional are: Reguler (1), VIP (2)
                line 5: barcode "A1" is also on line 2
                line 5: ticket id 1 is also on line 2
                line 6: ticket id "x4" is not a whole number from 0 to 4294967295
                line 6: valid_from "2026-02-30 10:00" has day 30, but that month has 28 days
                line 7: valid_from is not before valid_until, so the ticket is never valid
                line 8: the row has 3 fields, the header names 6; check for a missing or extra comma
                line 9: the holder's name is 201 characters long; at most 200 are allowed
                line 9: the barcode starts with "GB:", which gates read as a Gerbang signed code, so this ticket could never be scanned
                line 9: valid_from "tomorrow" is not a date and time; write YYYY-MM-DD HH:MM in the event's local time, or Unix seconds
                line 9: valid_until "99999999999" is too large for Unix seconds; write YYYY-MM-DD HH:MM in the event's local time, or Unix seconds"#]],
        );
    }

    #[test]
    fn bad_headers() {
        check(
            "",
            expect![[r#"
            1 line of the file could not be read, so nothing was imported; correct the file and import it again:
            line 1: the file is empty; its first line must name the columns, for example: holder,type,barcode"#]],
        );
        check(
            "name,type,type,email\nBudi,1,1,b@example.com\n",
            expect![[r#"
                1 line of the file could not be read, so nothing was imported; correct the file and import it again:
                line 1: unknown column "name"; the columns are holder, type, barcode, ticket_id, valid_from and valid_until: rename or remove it
                line 1: the column "type" is named twice
                line 1: unknown column "email"; the columns are holder, type, barcode, ticket_id, valid_from and valid_until: rename or remove it
                line 1: the header has no "holder" column; it is required"#]],
        );
    }

    #[test]
    fn quoted_line_breaks_keep_line_numbers_and_bad_bytes_are_reported() {
        let mut csv = b"holder,type\n\"Budi\nSantoso\",1\nAni,1\n".to_vec();
        csv.extend_from_slice(b"\xff\xfe,1\n");
        let actual = parse_tickets_csv(&csv[..], &event(), 1).unwrap_err();
        expect![[r#"
            2 lines of the file could not be read, so nothing was imported; correct the file and import it again:
            line 2: the holder's name contains a control character (a line break or tab?)
            line 5: the holder field is not UTF-8 text; save the file as CSV UTF-8"#]]
        .assert_eq(&actual.to_string());
    }

    #[test]
    fn a_barcode_must_scan_as_itself() {
        let signed = crate::ticket::EventSigner::from_secret(7, 1, [1; 32])
            .issue(&crate::ticket::TicketClaims {
                event_id: 7,
                ticket_id: 1,
                type_id: 1,
                valid_from: None,
                valid_until: None,
            })
            .unwrap();
        let csv = format!(
            "holder,type,barcode\nA,1,gb:another-system\nB,1,{}\nC,1,GB:XYZ\nD,1,GBM:7:1\nE,1,GBM:R-17\n",
            signed.to_lowercase()
        );
        check(
            &csv,
            expect![[r#"
                3 lines of the file could not be read, so nothing was imported; correct the file and import it again:
                line 3: the barcode reads as a Gerbang signed code (typed in lower case), so this ticket could never be scanned
                line 4: the barcode starts with "GB:", which gates read as a Gerbang signed code, so this ticket could never be scanned
                line 5: the barcode has the form of an admission by name (GBM:event:ticket), which gates refuse from a scanner, so this ticket could never be scanned"#]],
        );
    }

    #[test]
    fn a_header_alone_is_an_empty_list() {
        check("holder,type\n", expect![[""]]);
    }

    #[test]
    fn numbering_runs_out() {
        let actual = parse_tickets_csv("holder,type\nA,1\nB,1\n".as_bytes(), &event(), u32::MAX);
        expect![[r#"
            1 line of the file could not be read, so nothing was imported; correct the file and import it again:
            line 3: no ticket numbers are left after 4294967295; give the file a ticket_id column"#]]
        .assert_eq(&actual.unwrap_err().to_string());
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(parse_time("1970-01-01 07:00", 420), Ok(Millis(0)));
    }
}

//! The attendance log as facilities staff read it: every scan this gate knows (its own and, once
//! synced, every other gate's), filtered, paged in SQL, exported as CSV; and the figures the
//! dashboard draws (arrivals over time, per-gate activity).
//!
//! Everything here reads the read connection, so a log query never delays a scan. A scan counts
//! by its *effective* verdict: the relay's official one once known, else the gate's own
//! (`coalesce(official, kind)`), as the counters do.

use std::io::Write;

use gerbang_core::{Direction, Millis, VerdictKind};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::scan::{parse_direction, Origin};
use super::Store;
use crate::error::{Error, Result};

/// Which scans to show. Every field narrows the selection; the default shows all of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogFilter {
    pub event_id: u32,
    /// One gate, by name.
    pub gate: Option<String>,
    /// Scans made at or after this instant (gate clock).
    pub from: Option<Millis>,
    /// Scans made before this instant.
    pub to: Option<Millis>,
    /// Effective verdicts to keep; empty keeps all.
    pub verdicts: Vec<VerdictKind>,
    pub direction: Option<Direction>,
    /// Only scans the relay flagged as conflicts.
    pub conflicts_only: bool,
    /// One ticket's history.
    pub ticket_id: Option<u32>,
    /// Words to find in the holder's name or the scanned code, or a ticket number.
    pub text: Option<String>,
}

/// One row of the attendance log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogRow {
    /// This gate's order of learning of the scan; with `at`, the row's place in the list.
    pub local_seq: u64,
    pub scan_id: Uuid,
    /// The relay's sequence number, once the relay has the scan.
    pub seq: Option<u64>,
    /// When the scan was made (the scanning gate's clock).
    pub at: Millis,
    pub gate: String,
    pub direction: Direction,
    /// The relay's verdict once known, else the scanning gate's.
    pub verdict: VerdictKind,
    /// What the scanning gate decided.
    pub local: VerdictKind,
    /// The relay's verdict, once known.
    pub official: Option<VerdictKind>,
    pub conflict: bool,
    pub ticket_id: Option<u32>,
    pub holder: Option<String>,
    /// The ticket type's name, when the ticket is in the cache.
    pub ticket_type: Option<String>,
    /// The scanned text.
    pub code: String,
    /// The scanning gate's reason, in plain English.
    pub reason: String,
    pub origin: Origin,
}

/// Admissions at one gate in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArrivalBucket {
    /// The bucket's start; buckets are aligned to the epoch.
    pub start: Millis,
    pub gate: String,
    pub admitted: u64,
}

/// What one gate has done, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GateActivity {
    pub gate: String,
    pub admitted: u64,
    pub exits: u64,
    pub refused: u64,
    /// Admissions and exits in the minute before `now`.
    pub last_minute: u64,
    /// The gate's latest scan.
    pub last_scan: Millis,
}

/// A ticket found by the name search, with where it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Attendee {
    pub ticket: gerbang_core::TicketRecord,
    /// The ticket type's name.
    pub ticket_type: Option<String>,
    /// The ticket's latest accepted movement (admission or exit), as this gate knows.
    pub last_movement: Option<gerbang_core::Movement>,
}

/// The most rows one page may hold.
pub const MAX_PAGE: usize = 1_000;

/// The columns [`row_from`] reads.
const ROW_COLUMNS: &str = "s.local_seq, s.scan_id, s.seq, s.at, s.gate, s.direction, \
     coalesce(s.official, s.kind), s.kind, s.official, s.conflict, s.ticket_id, s.holder, \
     tt.name, s.code, s.reason, s.origin";

/// The joins [`ROW_COLUMNS`] needs: the ticket type's name through the cached ticket.
const ROW_JOINS: &str =
    "LEFT JOIN tickets AS t ON t.event_id = s.event_id AND t.ticket_id = s.ticket_id \
     LEFT JOIN ticket_types AS tt ON tt.event_id = t.event_id AND tt.type_id = t.type_id";

fn verdict_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<VerdictKind>> {
    let Some(text) = row.get::<_, Option<String>>(i)? else {
        return Ok(None);
    };
    VerdictKind::parse(&text).map(Some).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown verdict kind {text:?}").into(),
        )
    })
}

fn required_verdict(row: &Row<'_>, i: usize) -> rusqlite::Result<VerdictKind> {
    verdict_at(row, i)?.ok_or(rusqlite::Error::InvalidColumnType(
        i,
        "verdict".into(),
        rusqlite::types::Type::Null,
    ))
}

fn row_from(row: &Row<'_>) -> rusqlite::Result<LogRow> {
    let direction: String = row.get(5)?;
    Ok(LogRow {
        local_seq: row.get(0)?,
        scan_id: row.get(1)?,
        seq: row.get(2)?,
        at: Millis(row.get(3)?),
        gate: row.get(4)?,
        direction: parse_direction(&direction, 5)?,
        verdict: required_verdict(row, 6)?,
        local: required_verdict(row, 7)?,
        official: verdict_at(row, 8)?,
        conflict: row.get(9)?,
        ticket_id: row.get(10)?,
        holder: row.get(11)?,
        ticket_type: row.get(12)?,
        code: row.get(13)?,
        reason: row.get(14)?,
        origin: match row.get::<_, String>(15)?.as_str() {
            "remote" => Origin::Remote,
            _ => Origin::Local,
        },
    })
}

/// A filter as SQL: the `WHERE` clause (on `scans AS s`) and its parameters.
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn of(filter: &LogFilter) -> Where {
        let mut w = Where {
            sql: "s.event_id = ?".to_owned(),
            params: vec![Value::Integer(filter.event_id.into())],
        };
        if let Some(gate) = &filter.gate {
            w.and("s.gate = ?", [Value::Text(gate.clone())]);
        }
        if let Some(from) = filter.from {
            w.and("s.at >= ?", [Value::Integer(from.0)]);
        }
        if let Some(to) = filter.to {
            w.and("s.at < ?", [Value::Integer(to.0)]);
        }
        if !filter.verdicts.is_empty() {
            let marks = vec!["?"; filter.verdicts.len()].join(", ");
            w.and(
                &format!("coalesce(s.official, s.kind) IN ({marks})"),
                filter
                    .verdicts
                    .iter()
                    .map(|v| Value::Text(v.as_str().to_owned())),
            );
        }
        if let Some(direction) = filter.direction {
            w.and("s.direction = ?", [Value::Text(direction.as_str().into())]);
        }
        if filter.conflicts_only {
            w.and("s.conflict = 1", []);
        }
        if let Some(ticket_id) = filter.ticket_id {
            w.and("s.ticket_id = ?", [Value::Integer(ticket_id.into())]);
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            // Case-insensitive substring of the name or the code (LIKE is case-insensitive for
            // ASCII, which names in a hall's ticket list mostly are); a number also finds its
            // ticket.
            let pattern = format!("%{}%", escape_like(text));
            let number = text.trim_start_matches('#').parse::<u32>().ok();
            match number {
                Some(n) => w.and(
                    "(s.holder LIKE ? ESCAPE '\\' OR s.code LIKE ? ESCAPE '\\' OR s.ticket_id = ?)",
                    [
                        Value::Text(pattern.clone()),
                        Value::Text(pattern),
                        Value::Integer(n.into()),
                    ],
                ),
                None => w.and(
                    "(s.holder LIKE ? ESCAPE '\\' OR s.code LIKE ? ESCAPE '\\')",
                    [Value::Text(pattern.clone()), Value::Text(pattern)],
                ),
            }
        }
        w
    }

    fn and(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.params.extend(params);
    }
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// One page of the attendance log, newest first: rows `offset..offset + limit` of the
    /// filtered log (`limit` at most [`MAX_PAGE`]). Offsets suit a scrolled list that jumps
    /// anywhere; the `scans_by_time` index keeps a deep page to a walk along the index.
    pub fn attendance(&self, filter: &LogFilter, offset: u64, limit: usize) -> Result<Vec<LogRow>> {
        let w = Where::of(filter);
        let limit = limit.min(MAX_PAGE) as i64;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM scans AS s {ROW_JOINS} WHERE {}
                 ORDER BY s.at DESC, s.local_seq DESC LIMIT {limit} OFFSET {offset}",
                w.sql
            ))?;
            let rows = stmt.query_map(params_from_iter(w.params.iter()), row_from)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// How many scans the filter selects.
    pub fn attendance_count(&self, filter: &LogFilter) -> Result<u64> {
        let w = Where::of(filter);
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT count(*) FROM scans AS s WHERE {}", w.sql))?
                .query_row(params_from_iter(w.params.iter()), |r| r.get(0))?)
        })
    }

    /// Writes the filtered log as CSV to `out`, oldest first, and returns the rows written.
    ///
    /// RFC 4180 (comma, CRLF, quotes doubled), UTF-8 with a header row; times in ISO 8601 in the
    /// event's time zone. A cell that a spreadsheet would run as a formula (starting with `=`,
    /// `+`, `-`, `@`, tab or carriage return) is prefixed with `'`: scanned codes and names come
    /// from outside. Rows are read a page at a time (keyset paging), so memory stays flat for
    /// any size; `progress(done, total)` is called after each page.
    pub fn export_attendance_csv(
        &self,
        filter: &LogFilter,
        out: impl Write,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let offset_minutes = self
            .event(filter.event_id)?
            .map_or(0, |e| e.utc_offset_minutes);
        let total = self.attendance_count(filter)?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        csv.write_record(CSV_HEADER).map_err(csv_error)?;
        let mut done = 0u64;
        let mut after: Option<(i64, u64)> = None;
        loop {
            let page = self.export_page(filter, after)?;
            let Some(last) = page.last() else { break };
            after = Some((last.at.0, last.local_seq));
            for row in &page {
                csv.write_record(csv_record(row, offset_minutes))
                    .map_err(csv_error)?;
            }
            done += page.len() as u64;
            progress(done, total.max(done));
        }
        csv.flush()?;
        if done == 0 {
            progress(0, 0);
        }
        Ok(done)
    }

    /// The page after `(at, local_seq)`, oldest first.
    fn export_page(&self, filter: &LogFilter, after: Option<(i64, u64)>) -> Result<Vec<LogRow>> {
        let mut w = Where::of(filter);
        if let Some((at, local_seq)) = after {
            w.and(
                "(s.at > ? OR (s.at = ? AND s.local_seq > ?))",
                [
                    Value::Integer(at),
                    Value::Integer(at),
                    Value::Integer(local_seq as i64),
                ],
            );
        }
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM scans AS s {ROW_JOINS} WHERE {}
                 ORDER BY s.at, s.local_seq LIMIT {MAX_PAGE}",
                w.sql
            ))?;
            let rows = stmt.query_map(params_from_iter(w.params.iter()), row_from)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Admissions per gate per `bucket_ms`, from `since` to before `until`, oldest first.
    /// Scans logged by other gates carry their own clocks: `until` keeps one far in the
    /// future out of a chart of the last hours.
    pub fn arrivals(
        &self,
        event_id: u32,
        since: Millis,
        until: Millis,
        bucket_ms: i64,
    ) -> Result<Vec<ArrivalBucket>> {
        if bucket_ms <= 0 {
            return Err(Error::Invalid(format!(
                "a time bucket must be longer than 0 ms, not {bucket_ms}"
            )));
        }
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT (s.at / ?3) * ?3 AS bucket, s.gate, count(*) FROM scans AS s
                 WHERE s.event_id = ?1 AND s.at >= ?2 AND s.at < ?4
                   AND coalesce(s.official, s.kind) = 'admitted'
                 GROUP BY bucket, s.gate ORDER BY bucket, s.gate",
            )?;
            let params = rusqlite::params![event_id, since.0, bucket_ms, until.0];
            let rows = stmt.query_map(params, |r| {
                Ok(ArrivalBucket {
                    start: Millis(r.get(0)?),
                    gate: r.get(1)?,
                    admitted: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// [`Store::search`], with each ticket's type name and latest movement: who is this, and
    /// are they inside?
    pub fn find_attendees(
        &self,
        event_id: u32,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Attendee>> {
        let tickets = self.search(event_id, query, limit)?;
        let types = self
            .event(event_id)?
            .map(|e| e.ticket_types)
            .unwrap_or_default();
        self.read(|conn| {
            let mut last = conn.prepare_cached(
                "SELECT at, gate, direction FROM scans
                 WHERE event_id = ?1 AND ticket_id = ?2
                   AND coalesce(official, kind) IN ('admitted', 'exit_recorded')
                 ORDER BY seq IS NULL, seq DESC, local_seq DESC LIMIT 1",
            )?;
            tickets
                .into_iter()
                .map(|ticket| {
                    let last_movement = last
                        .query_row(rusqlite::params![event_id, ticket.ticket_id], |r| {
                            let direction: String = r.get(2)?;
                            Ok(gerbang_core::Movement {
                                at: Millis(r.get(0)?),
                                gate: r.get(1)?,
                                direction: parse_direction(&direction, 2)?,
                            })
                        })
                        .optional()?;
                    let ticket_type = types
                        .iter()
                        .find(|t| t.id == ticket.type_id)
                        .map(|t| t.name.clone());
                    Ok(Attendee {
                        ticket,
                        ticket_type,
                        last_movement,
                    })
                })
                .collect()
        })
    }

    /// Every gate that has scanned for the event, busiest first.
    pub fn gate_activity(&self, event_id: u32, now: Millis) -> Result<Vec<GateActivity>> {
        self.read(|conn| gate_activity(conn, event_id, now))
    }
}

fn gate_activity(conn: &Connection, event_id: u32, now: Millis) -> Result<Vec<GateActivity>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.gate,
                sum(v = 'admitted'), sum(v = 'exit_recorded'),
                sum(v NOT IN ('admitted', 'exit_recorded')),
                sum(v IN ('admitted', 'exit_recorded') AND s.at >= ?2),
                max(s.at)
         FROM (SELECT gate, at, coalesce(official, kind) AS v FROM scans WHERE event_id = ?1) AS s
         GROUP BY s.gate
         ORDER BY 2 DESC, s.gate",
    )?;
    let rows = stmt.query_map(rusqlite::params![event_id, now.0 - Millis::MINUTE], |r| {
        Ok(GateActivity {
            gate: r.get(0)?,
            admitted: r.get(1)?,
            exits: r.get(2)?,
            refused: r.get(3)?,
            last_minute: r.get(4)?,
            last_scan: Millis(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The export's columns, in order.
pub const CSV_HEADER: [&str; 13] = [
    "time",
    "gate",
    "direction",
    "verdict",
    "gate_verdict",
    "conflict",
    "ticket_id",
    "holder",
    "ticket_type",
    "code",
    "reason",
    "relay_seq",
    "scan_id",
];

fn csv_record(row: &LogRow, offset_minutes: i32) -> [String; 13] {
    [
        row.at.local_iso8601(offset_minutes),
        safe_cell(&row.gate),
        row.direction.as_str().to_owned(),
        row.verdict.as_str().to_owned(),
        row.local.as_str().to_owned(),
        if row.conflict { "yes" } else { "" }.to_owned(),
        row.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
        safe_cell(row.holder.as_deref().unwrap_or("")),
        safe_cell(row.ticket_type.as_deref().unwrap_or("")),
        safe_cell(&row.code),
        safe_cell(&row.reason),
        row.seq.map(|s| s.to_string()).unwrap_or_default(),
        row.scan_id.to_string(),
    ]
}

/// A cell a spreadsheet will show as text, never run: see [`Store::export_attendance_csv`].
pub fn safe_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn csv_error(err: csv::Error) -> Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io(io),
        other => Error::Invalid(format!("could not write the CSV export: {other:?}")),
    }
}

//! The scan log as the sync engine and the UI read it: the outbox of scans not yet acknowledged
//! by the relay, acknowledgements, the relay cursor, and the recent scans.

use gerbang_core::{Direction, Millis, VerdictKind};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::remote::{read_cursor, write_cursor, Ack};
use super::scan::{parse_direction, Origin};
use super::Store;
use crate::error::Result;

/// One scan of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "LoggedScan"))]
pub struct ScanRecord {
    pub scan_id: Uuid,
    pub event_id: u32,
    /// The ticket, when the code identified one of the event.
    pub ticket_id: Option<u32>,
    /// The scanned text (trimmed, at most 512 characters).
    pub code: String,
    pub gate: String,
    pub direction: Direction,
    pub at: Millis,
    /// The verdict at the gate that scanned.
    pub kind: VerdictKind,
    pub reason: String,
    pub holder: Option<String>,
    /// The relay's sequence number, once acknowledged.
    pub seq: Option<u64>,
    /// The relay's verdict, once acknowledged.
    pub official: Option<VerdictKind>,
    /// Set by the relay when this scan admitted a ticket another gate had already admitted.
    pub conflict: bool,
    pub origin: Origin,
}

/// The columns [`scan_from_row`] reads, from `scans AS s`.
const SCAN_COLUMNS: &str = "s.scan_id, s.event_id, s.ticket_id, s.code, s.gate, s.direction, \
     s.at, s.kind, s.reason, s.holder, s.seq, s.official, s.conflict, s.origin";

fn scan_from_row(row: &Row<'_>) -> rusqlite::Result<ScanRecord> {
    scan_from_row_at(row, 0)
}

/// Reads a [`ScanRecord`] from [`SCAN_COLUMNS`] starting at column `at`.
fn scan_from_row_at(row: &Row<'_>, at: usize) -> rusqlite::Result<ScanRecord> {
    let kind = |i: usize| -> rusqlite::Result<Option<VerdictKind>> {
        let i = at + i;
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
    };
    let col = |i: usize| at + i;
    let direction: String = row.get(col(5))?;
    let origin = match row.get::<_, String>(col(13))?.as_str() {
        "remote" => Origin::Remote,
        _ => Origin::Local,
    };
    Ok(ScanRecord {
        scan_id: row.get(col(0))?,
        event_id: row.get(col(1))?,
        ticket_id: row.get(col(2))?,
        code: row.get(col(3))?,
        gate: row.get(col(4))?,
        direction: parse_direction(&direction, col(5))?,
        at: Millis(row.get(col(6))?),
        kind: kind(7)?.ok_or(rusqlite::Error::InvalidColumnType(
            col(7),
            "kind".into(),
            rusqlite::types::Type::Null,
        ))?,
        reason: row.get(col(8))?,
        holder: row.get(col(9))?,
        seq: row.get(col(10))?,
        official: kind(11)?,
        conflict: row.get(col(12))?,
        origin,
    })
}

impl Store {
    /// How many scans wait for the relay's acknowledgement.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT count(*) FROM outbox")?
                .query_row([], |row| row.get(0))?)
        })
    }

    /// The oldest `limit` scans waiting for the relay, oldest first.
    pub fn outbox_batch(&self, limit: usize) -> Result<Vec<ScanRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {SCAN_COLUMNS} FROM outbox AS o JOIN scans AS s ON s.local_seq = o.local_seq
                 ORDER BY o.local_seq LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], scan_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The scans waiting for the relay recorded after `after` (a `local_seq`; 0 for the
    /// oldest), oldest first, each with its `local_seq`: the sync engine keeps uploading from
    /// where it left off without re-reading what is already on its way.
    pub fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, ScanRecord)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT o.local_seq, {SCAN_COLUMNS} FROM outbox AS o
                 JOIN scans AS s ON s.local_seq = o.local_seq
                 WHERE o.local_seq > ?1 ORDER BY o.local_seq LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![after, limit], |row| {
                Ok((row.get(0)?, scan_from_row_at(row, 1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Records the relay's acknowledgement of one scan; see [`Store::ack_scans`].
    pub fn ack_scan(
        &self,
        scan_id: Uuid,
        seq: u64,
        official: VerdictKind,
        conflict: bool,
    ) -> Result<()> {
        self.ack_scans(&[Ack {
            scan_id,
            seq,
            official,
            conflict,
        }])
    }

    /// The last relay sequence number applied to this gate (0 before the first sync).
    pub fn cursor(&self) -> Result<u64> {
        self.read(read_cursor)
    }

    /// Moves the cursor, for a gate whose cache was filled another way (a snapshot). Log
    /// entries move it themselves ([`Store::apply_entries`]).
    pub fn set_cursor(&self, cursor: u64) -> Result<()> {
        write_cursor(&self.writer().conn, cursor)
    }

    /// The latest `limit` scans this gate knows, newest first.
    pub fn recent_scans(&self, limit: usize) -> Result<Vec<ScanRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {SCAN_COLUMNS} FROM scans AS s ORDER BY s.local_seq DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], scan_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One scan of the log.
    pub fn scan(&self, scan_id: Uuid) -> Result<Option<ScanRecord>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {SCAN_COLUMNS} FROM scans AS s WHERE s.scan_id = ?1"
                ))?
                .query_row([scan_id], scan_from_row)
                .optional()?)
        })
    }
}

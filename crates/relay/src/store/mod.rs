//! The relay's SQLite database: opening it, and the reads that serve clients.
//!
//! All writes go through the single writer thread ([`crate::writer`]); this module's [`Reader`]
//! answers catch-up, lookups and queries on its own connection, so reads never wait behind a
//! group commit (WAL lets them see the last committed state while the writer works).
//! `snapshot` reads one event's snapshot on a connection of its own.

mod queries;
mod schema;
pub(crate) mod snapshot;

pub use queries::{AttendanceFilter, AttendanceRow};

use std::path::Path;
use std::sync::Mutex;

use gerbang_core::protocol::{LogBody, LogEntry};
use gerbang_core::{EventRules, Millis};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};

/// Where the database lives: always a real file, so WAL and fsync mean what they say (tests
/// use a temporary directory).
#[derive(Debug, Clone)]
pub struct Location(pub std::path::PathBuf);

impl Location {
    pub fn file(path: impl AsRef<Path>) -> Location {
        Location(path.as_ref().to_owned())
    }
}

/// Opens a connection with the PRAGMAs every relay connection needs.
pub(crate) fn connect(location: &Location) -> Result<Connection> {
    let conn = Connection::open(&location.0)?;
    // WAL: readers see the last commit while the writer works. synchronous=FULL: a commit is
    // on disk when it returns, which is what "durable before acknowledged" rests on.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Opens the database and brings its schema up to date, in one transaction.
pub(crate) fn open_for_writing(location: &Location) -> Result<Connection> {
    let mut conn = connect(location)?;
    schema::migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Reads one stored log row back into the entry gates receive.
pub(crate) fn entry_from_row(seq: u64, at: i64, body: &str) -> Result<LogEntry> {
    let body: LogBody =
        serde_json::from_str(body).map_err(|e| Error::Corrupt(format!("log entry {seq}: {e}")))?;
    Ok(LogEntry {
        seq,
        at: Millis(at),
        body,
    })
}

/// The read side of the database.
#[derive(Debug)]
pub struct Reader {
    /// One connection, locked per query: queries are short, and a lock is cheaper than a pool
    /// at a gate hall's scale. Never held across an `.await`.
    conn: Mutex<Connection>,
}

impl Reader {
    pub(crate) fn open(location: &Location) -> Result<Reader> {
        Ok(Reader {
            conn: Mutex::new(connect(location)?),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn)
    }

    /// The highest sequence number in the log (0 when empty).
    pub fn head(&self) -> Result<u64> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT coalesce(max(seq), 0) FROM log", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Up to `limit` entries after `cursor`, in order.
    pub fn entries_after(&self, cursor: u64, limit: usize) -> Result<Vec<LogEntry>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, body FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![cursor as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (seq, at, body) = row?;
                entry_from_row(seq as u64, at, &body)
            })
            .collect()
        })
    }

    /// The next ticket number free in an event (1 for an event without tickets).
    pub fn next_ticket_id(&self, event_id: u32) -> Result<u32> {
        self.with(|c| {
            let max: Option<u32> = c.query_row(
                "SELECT max(ticket_id) FROM tickets WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )?;
            Ok(max.map_or(1, |m| m.saturating_add(1)))
        })
    }

    /// The lowest event id, the default event for gates on a fresh relay.
    pub fn first_event_id(&self) -> Result<Option<u32>> {
        self.with(|c| Ok(c.query_row("SELECT min(id) FROM events", [], |r| r.get(0))?))
    }

    pub fn event(&self, id: u32) -> Result<Option<EventRules>> {
        self.with(|c| {
            let json: Option<String> = c
                .query_row("SELECT rules FROM events WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            json.map(|j| {
                serde_json::from_str(&j).map_err(|e| Error::Corrupt(format!("event {id}: {e}")))
            })
            .transpose()
        })
    }
}

//! The gate's local store: one SQLite file holding everything a gate needs to decide scans
//! offline and to catch up with the relay later.
//!
//! # Layout
//! * [`schema`]: the migrations, and what each table is for.
//! * `setup`: events, ticket types, verifying keys and the gate's settings.
//! * `tickets`: the ticket cache: bulk loads, CSV import, revocation, search by name or barcode.
//! * `scan`: [`Store::record_scan`], the hot path, and the scan log.
//! * `outbox`: the queue of scans for the relay, the relay cursor, the recent scans.
//! * `remote`: what the relay sends: log entries applied with the cursor in one transaction,
//!   acknowledgements of this gate's scans, operator messages.
//! * `attendance`: the attendance log for people: filters, pages, CSV export, arrivals over
//!   time and per-gate activity for the dashboard.
//! * `snapshot`: a snapshot from the relay replacing the gate's copy of an event, in one
//!   transaction with the cursor, keeping the gate's own unsent scans.
//! * `counters`: issued, admitted, exits, inside now and refused, per event and per gate.
//! * `checkpoint`: the background thread that copies the WAL into the database file, so that
//!   no scan waits for a checkpoint.
//!
//! # Connections and locks
//!
//! A [`Store`] holds two connections to a file database. The *write* connection does every write
//! and the reads that decide a scan (so a decision and the row it writes see the same data, in one
//! transaction). The *read* connection serves searches, logs and counters; in WAL mode it reads
//! the last committed state without waiting for, or delaying, a scan being written. An in-memory
//! store has one connection for both, since a second connection would see another database.
//!
//! Each connection sits behind a `std::sync::Mutex`: a `rusqlite::Connection` may move between
//! threads but not be shared, and the lock makes [`Store`] `Send + Sync` so every method can take
//! `&self`. The locks are held only for the few microseconds of a statement or transaction and
//! never across an `.await`, so a blocking lock is right here (an async one would cost more and
//! buy nothing). No code holds both locks at once, so they cannot deadlock.
//!
//! # Durability
//!
//! WAL with `synchronous=NORMAL` ([`Durability::Normal`], the default): a committed scan
//! survives the gate's process being killed or crashing (tested by killing a scanning child
//! process). A power cut or an operating-system crash may lose the last moments of scans, those
//! committed since the last checkpoint flushed the log to disk (the checkpoint thread runs a
//! quarter second after the writer goes quiet, every two seconds under load), but never corrupts
//! the file. [`Durability::Full`] (`synchronous=FULL`) closes
//! that window by flushing to disk at every commit, at the cost of a disk flush per scan (a
//! millisecond or more on many laptops). Online, a scan lost this way is usually already at the
//! relay, since scans are uploaded as they happen; offline it is gone. Choose `Full` for a gate
//! that runs offline on unreliable power.

mod attendance;
mod checkpoint;
mod counters;
mod outbox;
mod remote;
mod scan;
pub mod schema;
mod setup;
mod snapshot;
mod tickets;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gerbang_core::{EventRules, GateRules, Keyring};
use rusqlite::Connection;

pub use attendance::{
    safe_cell, ArrivalBucket, Attendee, GateActivity, LogFilter, LogRow, CSV_HEADER, MAX_PAGE,
};
pub use counters::Counters;
pub use outbox::ScanRecord;
pub use remote::{Ack, Applied, StoredMessage};
pub use scan::{Origin, ScanOutcome};
pub use setup::Pairing;
pub use snapshot::SnapshotApplied;
pub use tickets::ImportReport;

use crate::error::{Error, Result};

/// How hard a commit tries to reach the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: safe against the process being killed; a power cut may lose the
    /// last moments of scans. Fast: a commit does not wait for the disk.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is flushed to disk before it returns.
    Full,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// The camera sees a held-up code many times a second; sightings of the same code at the same
/// gate less than this apart are one scan.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(3);

/// The write connection's page cache, in KiB (as `PRAGMA cache_size` takes it, negated).
pub(crate) const WRITER_CACHE_KIB: i64 = -32 * 1024;

/// The gate's local database. Cheap to share (`&Store` from many threads); see the module
/// documentation for its connections and locks.
#[derive(Debug)]
pub struct Store {
    /// The connection that writes, with the in-memory state derived from what it writes. One
    /// lock for both, so a cache is always rebuilt from, and invalidated with, the data it
    /// mirrors.
    /// Shared with the checkpoint thread, which uses the write connection to start the log
    /// over (see `checkpoint`).
    writer: Arc<Mutex<Writer>>,
    /// How many times this store's methods took the write lock: the checkpoint thread reads it,
    /// without locking, to tell whether anything may have been written since its last round.
    writes: Arc<AtomicU64>,
    /// The read connection of a file database (`None` in memory: reads use the writer).
    reader: Option<Mutex<Connection>>,
    /// Copies the WAL back into the database file off the scan path (file databases only).
    /// Dropped last: it stops and joins its thread.
    _checkpointer: Option<checkpoint::Checkpointer>,
}

/// The write side of the store.
#[derive(Debug)]
pub(crate) struct Writer {
    conn: Connection,
    /// What the scan path needs about the active event and this gate, built once from the
    /// database and dropped by every change to the event, its keys or the settings: the scan
    /// path must not re-read and re-validate keys on every scan.
    active: Option<Arc<Active>>,
    /// The last few scans, to recognise the camera seeing the same code again.
    recent: scan::RecentScans,
    /// Mirrors the `duplicate_window_ms` setting.
    duplicate_window: Duration,
}

/// The active event, this gate's rules and the event's keys, ready for [`gerbang_core::decide`].
#[derive(Debug)]
pub(crate) struct Active {
    event: EventRules,
    gate: GateRules,
    keys: Keyring,
}

impl Writer {
    /// The active event and gate, from the cache or (after a change) the database.
    fn active(&mut self) -> Result<Arc<Active>> {
        if let Some(active) = &self.active {
            return Ok(Arc::clone(active));
        }
        let active = Arc::new(setup::load_active(&self.conn)?);
        self.active = Some(Arc::clone(&active));
        Ok(active)
    }

    /// Drops what is cached about the active event and gate; call after changing either.
    fn invalidate(&mut self) {
        self.active = None;
    }
}

impl Store {
    /// Opens (creating if needed) the gate database at `path`, bringing its schema up to date,
    /// with [`Durability::Normal`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, Durability::Normal)
    }

    /// Opens the gate database at `path` with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Store> {
        let path = path.as_ref();
        let mut conn = Connection::open(path)?;
        // WAL is a property of the file, set before anything else; it lets the read connection
        // read while the writer writes.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(format!(
                "the database at {} refused write-ahead logging (journal mode {mode:?}); \
                 keep it on a local disk, not a network share",
                path.display()
            )));
        }
        configure(&conn, durability)?;
        // Checkpoints run on their own thread (see `checkpoint`); this threshold, about 40 MB
        // of log, only matters if that thread falls behind.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        // 32 MiB of page cache (the default is 2 MiB) keeps the b-tree pages a scan walks
        // through in memory even with a million tickets, instead of reading them from the OS.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        schema::migrations().to_latest(&mut conn)?;

        let reader = Connection::open(path)?;
        configure(&reader, durability)?;
        // The read connection must never write: that would take the write lock behind the
        // writer's back.
        reader.pragma_update(None, "query_only", "ON")?;
        Store::new(conn, Some(reader), Some((path, durability)))
    }

    /// A fresh database in memory, for tests and trials. Nothing survives the [`Store`].
    pub fn open_in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn, Durability::Normal)?;
        schema::migrations().to_latest(&mut conn)?;
        Store::new(conn, None, None)
    }

    /// Assembles a store; with `checkpoints`, starts the checkpoint thread on that file.
    fn new(
        conn: Connection,
        reader: Option<Connection>,
        checkpoints: Option<(&Path, Durability)>,
    ) -> Result<Store> {
        let duplicate_window = setup::load_duplicate_window(&conn)?;
        let writer = Arc::new(Mutex::new(Writer {
            conn,
            active: None,
            recent: scan::RecentScans::default(),
            duplicate_window,
        }));
        let writes = Arc::new(AtomicU64::new(0));
        let checkpointer = match checkpoints {
            Some((path, durability)) => Some(checkpoint::Checkpointer::start(
                path,
                durability,
                Arc::clone(&writer),
                Arc::clone(&writes),
            )?),
            None => None,
        };
        Ok(Store {
            writer,
            writes,
            reader: reader.map(Mutex::new),
            _checkpointer: checkpointer,
        })
    }

    /// The write side, locked.
    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.writer.lock().unwrap_or_else(|poisoned| {
            // A panic while writing unwound through its `Transaction`, which rolled back; the
            // data is consistent, but the caches may not be, so rebuild them.
            let mut writer = poisoned.into_inner();
            writer.invalidate();
            writer.recent = scan::RecentScans::default();
            self.writer.clear_poison();
            writer
        })
    }

    /// Runs `f` on the read connection (or the only connection of an in-memory store).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match &self.reader {
            Some(reader) => {
                // A panic in a read leaves nothing half done: any read transaction ended with
                // its statement.
                let conn = reader.lock().unwrap_or_else(PoisonError::into_inner);
                f(&conn)
            }
            None => f(&self.writer().conn),
        }
    }
}

/// The PRAGMAs every connection needs; they are per connection, not stored in the file.
fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_millis(5_000))?;
    // A bulk load grows the log to the size of what it loaded; when the log starts over, give
    // the disk space back down to this.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(())
}

#[cfg(test)]
impl Store {
    /// Runs SQL on the write connection, for tests that need to break things.
    pub(crate) fn execute_batch_for_test(&self, sql: &str) {
        self.writer().conn.execute_batch(sql).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store>();
    }

    #[test]
    fn file_connections_have_their_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(dir.path().join("gate.db"), Durability::Full).unwrap();
        let pragmas = |conn: &Connection| -> Result<String> {
            let get = |name: &str| -> Result<String> {
                Ok(conn.query_row(&format!("PRAGMA {name}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                        .map(|v| format!("{name}={v:?}"))
                })?)
            };
            let names = [
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
            ];
            Ok(names
                .map(get)
                .into_iter()
                .collect::<Result<Vec<_>>>()?
                .join(" "))
        };
        let writer = pragmas(&store.writer().conn).unwrap();
        let reader = store.read(pragmas).unwrap();
        let expected = "journal_mode=Text(\"wal\") synchronous=Integer(2) foreign_keys=Integer(1) busy_timeout=Integer(5000)";
        assert_eq!(writer, expected);
        assert_eq!(reader, expected);
    }
}

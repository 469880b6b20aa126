//! Checkpoints in the background, so that no scan waits for one.
//!
//! In WAL mode every commit appends to the `-wal` file, and a *checkpoint* copies those pages
//! back into the database file and flushes it to disk. Left to SQLite, the commit that crosses
//! the `wal_autocheckpoint` threshold runs the checkpoint itself: one scan in every hundred or so
//! would wait milliseconds for it (measured with `examples/scan_latency.rs` on a million
//! tickets: p99 of `record_scan` 4.3 ms with checkpoints on the scan path, under 0.5 ms
//! without). Instead a thread with its own connection runs `PASSIVE` checkpoints, which never
//! take a lock the writer or readers wait for. The writer keeps a high `wal_autocheckpoint` only
//! as a safety net, should this thread fall behind.
//!
//! When to checkpoint: a checkpoint flushes the log to disk, and on some disks a write to a
//! file that is being flushed waits for the flush (tens of milliseconds on the test machine).
//! So the thread checkpoints when the writer has been quiet for a round ([`ROUND`]), which at a
//! gate is nearly always, and while scans keep coming without a pause, every
//! [`MAX_DEFERRED_ROUNDS`] rounds regardless, so the log cannot grow without bound.
//!
//! Once a checkpoint has copied the whole log, the next write starts the log over and flushes
//! the new log header to disk (SQLite must, or a power cut could corrupt the file). At a real
//! gate, where scans are seconds apart, that next write would be nearly every scan, each paying
//! a disk flush. So after a complete checkpoint this thread makes that write itself (it records
//! the checkpoint's time in `settings`), and the scans that follow append to the log without
//! any flush. It makes it *on the store's write connection*, under its lock: after a commit by
//! any other connection, SQLite makes the write connection drop its whole page cache at its
//! next transaction, and the next scan would read its b-tree pages afresh. A bulk ticket load
//! does the same on its way out ([`checkpoint`], [`restart_log`]).
//!
//! Under continuous back-to-back writes (a benchmark, never a gate) the log never empties, and
//! the writer's `wal_autocheckpoint` safety net makes one write in about 1,500 wait for a
//! checkpoint and a log restart (25 ms on the test machine's slow disk flushes).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::setup::key;
use super::{configure, Durability, Writer};
use crate::error::Result;

/// How often the thread looks for new commits.
pub(crate) const ROUND: Duration = Duration::from_millis(250);
/// How many rounds in a row with new commits a checkpoint waits for a quiet round: two
/// seconds of continuous scanning, a few thousand pages of log at most.
pub(crate) const MAX_DEFERRED_ROUNDS: u32 = 8;

/// The background checkpoint thread. Dropping it stops the thread and waits for it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    /// Dropped to tell the thread to stop (the thread sees the channel disconnect).
    stop: Option<mpsc::Sender<()>>,
    /// Joined on drop, so the thread never outlives the [`super::Store`].
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on the database at `path`. `writer` is the store's write side, used
    /// only to start the log over; `writes` counts the store's write-lock acquisitions.
    pub(crate) fn start(
        path: &Path,
        durability: Durability,
        writer: Arc<Mutex<Writer>>,
        writes: Arc<AtomicU64>,
    ) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        configure(&conn, durability)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("gerbang-checkpoint".into())
            .spawn(move || {
                let mut rounds = Rounds::default();
                loop {
                    match stopped.recv_timeout(ROUND) {
                        // A busy or failed checkpoint is retried at a later round; nothing is
                        // lost meanwhile, the pages stay in the log.
                        Err(RecvTimeoutError::Timeout) => {
                            if let Ok(true) = rounds.round(&conn, writes.load(Ordering::Relaxed)) {
                                // A panic elsewhere while writing rolled its transaction back;
                                // this write is its own transaction.
                                let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
                                let _ = restart_log(&mut w.conn);
                            }
                        }
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the thread remembers between rounds.
#[derive(Debug, Default)]
struct Rounds {
    /// The store's write count at the last round. Not `PRAGMA data_version`: that would also
    /// count the thread's own log restarts, and each restart would call for another round.
    seen: Option<u64>,
    /// Something may have been written since the last checkpoint.
    pending: bool,
    /// Rounds in a row that found new writes and put the checkpoint off.
    deferred: u32,
}

impl Rounds {
    /// One round, given the store's write count; returns whether it checkpointed the whole log
    /// (so the log should now be started over).
    fn round(&mut self, conn: &Connection, writes: u64) -> rusqlite::Result<bool> {
        if self.seen != Some(writes) {
            self.seen = Some(writes);
            self.pending = true;
            if self.deferred < MAX_DEFERRED_ROUNDS {
                self.deferred += 1;
                return Ok(false);
            }
        }
        if !self.pending {
            return Ok(false);
        }
        let complete = checkpoint(conn)?;
        self.pending = false;
        self.deferred = 0;
        Ok(complete)
    }
}

/// A `PASSIVE` checkpoint: copies what it can of the log back into the database file without
/// waiting for anyone. Returns whether it copied the whole log.
pub(crate) fn checkpoint(conn: &Connection) -> rusqlite::Result<bool> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    Ok(busy == 0 && log > 0 && copied == log)
}

/// After a complete checkpoint: the small write that starts the log over, taking the disk
/// flush that comes with it. Run it on the connection whose page cache should stay warm.
pub(crate) fn restart_log(conn: &mut Connection) -> rusqlite::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A write that changes a value: one that rewrote the same bytes would write nothing.
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key::LAST_CHECKPOINT_MS, &now.to_string()],
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;

    fn last_checkpoint(conn: &Connection) -> Option<String> {
        conn.query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [key::LAST_CHECKPOINT_MS],
            |row| row.get(0),
        )
        .optional()
        .unwrap()
    }

    #[test]
    fn checkpoints_wait_for_a_quiet_round() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate.db");
        // Plain connections, not a `Store`, so no other checkpoint thread is at work.
        let mut writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        super::super::schema::migrations()
            .to_latest(&mut writer)
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        let mut rounds = Rounds::default();
        let mut writes = 0;
        let mut write = |n: u32| {
            writer
                .execute("UPDATE sync_state SET cursor = ?1", [n])
                .unwrap();
            writes += 1;
            writes
        };

        // The store keeps writing: the checkpoint is put off, up to a limit.
        for n in 0..MAX_DEFERRED_ROUNDS {
            let w = write(n);
            assert!(!rounds.round(&conn, w).unwrap(), "round {n}");
        }
        let w = write(100);
        assert!(rounds.round(&conn, w).unwrap(), "no longer put off");

        // A write, then a quiet round: checkpoint. Then nothing more to do.
        let w = write(101);
        assert!(!rounds.round(&conn, w).unwrap());
        assert!(rounds.round(&conn, w).unwrap());
        assert!(!rounds.round(&conn, w).unwrap());
    }

    #[test]
    fn restarting_the_log_records_when() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path().join("gate.db")).unwrap();
        store.set_cursor(7).unwrap();
        let mut w = store.writer();
        // Complete unless the store's own thread is checkpointing at this very moment.
        checkpoint(&w.conn).unwrap();
        restart_log(&mut w.conn).unwrap();
        assert!(last_checkpoint(&w.conn).is_some());
    }
}

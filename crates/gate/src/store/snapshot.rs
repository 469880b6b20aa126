//! Replacing the gate's copy of an event with a snapshot from the relay
//! ([`Store::apply_snapshot`]), in one transaction with the cursor: a snapshot cut off or
//! refused half way leaves the gate exactly as it was.
//!
//! What a snapshot replaces and what it keeps:
//! * events and keys: every one in the snapshot is stored (events are never deleted: later log
//!   entries may still name one);
//! * the event's tickets: replaced by the snapshot's, all of them, loaded in bulk (the name
//!   index rebuilt once, as [`Store::load_tickets`] does for a large load);
//! * the event's scans: the snapshot's are recorded as if they had come in log entries; this
//!   gate's own scans stay, and those the snapshot holds are settled by it (out of the outbox);
//!   those it does not hold stay in the outbox and are uploaded on the next connection;
//! * counters: recounted from the result.
//!
//! **A relay that was reset.** When the gate's cursor is ahead of the snapshot, the relay's
//! log is not the one the gate followed (its database was replaced or restored from a backup),
//! and every `seq` the gate holds belongs to a log that is gone. The gate then forgets the
//! other gates' scans and the messages it had from the relay, and puts its own scans back in
//! the outbox: uploads are idempotent by scan id, so the relay logs those it lost, and answers
//! the others with their stored acks. Nothing the gate scanned is lost.

use std::io::BufRead;

use gerbang_core::protocol::LogBody;
use gerbang_core::snapshot::{SnapshotHeader, SnapshotItem, SnapshotReader};
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::remote::{insert_message, insert_remote_scan, read_cursor, settle, write_cursor, Ack};
use super::{checkpoint, counters, setup, tickets, Store};
use crate::error::{Error, Result};

/// Items applied between two progress reports.
const PROGRESS_EVERY: u64 = 1_000;

/// What [`Store::apply_snapshot`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotApplied {
    pub event_id: u32,
    /// The cursor now: the snapshot's `seq`.
    pub cursor: u64,
    pub tickets: u64,
    /// Scans of the event in the snapshot.
    pub scans: u64,
    /// This gate's scans still waiting for the relay afterwards.
    pub outbox: u64,
    /// The gate's cursor was ahead of the snapshot: the relay's log was reset (see the module
    /// documentation).
    pub relay_reset: bool,
}

impl Store {
    /// Applies a snapshot (the decompressed text, `gerbang_core::snapshot`'s format) in one
    /// transaction with the cursor; see the module documentation for what it replaces.
    ///
    /// `progress(done, total)` is called every thousand items and at the end; returning false
    /// stops the work ([`Error::Cancelled`]) and nothing is kept. Holds the write lock
    /// throughout, so scans wait: about a second per 100,000 tickets.
    pub fn apply_snapshot(
        &self,
        snapshot: impl BufRead,
        mut progress: impl FnMut(u64, u64) -> bool,
    ) -> Result<SnapshotApplied> {
        let mut reader = SnapshotReader::new(snapshot)?;
        let mut w = self.writer();
        // A large page cache for the load only, as `tickets::load` has; restored whatever the
        // outcome.
        let cache_kib: i64 = w
            .conn
            .query_row("PRAGMA cache_size", [], |row| row.get(0))?;
        w.conn
            .pragma_update(None, "cache_size", tickets::BULK_CACHE_KIB)?;
        let applied = apply(&mut w.conn, &mut reader, &mut progress);
        w.conn.pragma_update(None, "cache_size", cache_kib)?;
        // Events, keys and tickets may all have changed.
        w.invalidate();
        let applied = applied?;
        if applied.tickets >= tickets::BULK_REINDEX_MIN as u64 {
            // As after a large ticket load: start the grown log over now, not in a scan.
            if let Ok(true) = checkpoint::checkpoint(&w.conn) {
                let _ = checkpoint::restart_log(&mut w.conn);
            }
        }
        Ok(applied)
    }
}

fn apply<R: BufRead>(
    conn: &mut Connection,
    reader: &mut SnapshotReader<R>,
    progress: &mut impl FnMut(u64, u64) -> bool,
) -> Result<SnapshotApplied> {
    let header: SnapshotHeader = reader.header().clone();
    let event_id = header.event_id;
    let total = header.counts.total();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let relay_reset = read_cursor(&tx)? > header.seq;
    if relay_reset {
        forget_relay_history(&tx)?;
    }

    let cached: u64 = tx.query_row(
        "SELECT count(*) FROM tickets WHERE event_id = ?1",
        [event_id],
        |row| row.get(0),
    )?;
    // Per-row index upkeep costs more than the load itself for many tickets (see
    // `tickets::load`); rebuild the name index once instead.
    let bulk = header.counts.tickets.max(cached) >= tickets::BULK_REINDEX_MIN as u64;
    let triggers = if bulk {
        Some(tickets::drop_fts_triggers(&tx)?)
    } else {
        None
    };
    tx.execute("DELETE FROM tickets WHERE event_id = ?1", [event_id])?;

    let mut applied = SnapshotApplied {
        event_id,
        cursor: header.seq,
        tickets: 0,
        scans: 0,
        outbox: 0,
        relay_reset,
    };
    let mut done = 0;
    while let Some(item) = reader.next_item()? {
        match item {
            SnapshotItem::Event { event } => setup::put_event(&tx, &event)?,
            SnapshotItem::Key { key, retired } => {
                setup::put_key(&tx, key)?;
                if retired {
                    setup::retire_key(&tx, key.event_id, key.key_id)?;
                }
            }
            SnapshotItem::Ticket { ticket } => {
                tickets::upsert(&tx, &ticket)?;
                applied.tickets += 1;
            }
            SnapshotItem::Entry { entry } => match &entry.body {
                LogBody::Scan {
                    scan,
                    official,
                    conflict,
                } => {
                    let ack = Ack {
                        scan_id: scan.scan_id,
                        seq: entry.seq,
                        official: official.kind,
                        conflict: conflict.is_some(),
                    };
                    // This gate's own scan: settled. Anyone else's: recorded.
                    if !settle(&tx, &ack)? {
                        insert_remote_scan(&tx, entry.seq, scan, official, conflict.is_some())?;
                    }
                    applied.scans += 1;
                }
                LogBody::Message { message } => insert_message(&tx, entry.seq, message)?,
                // The reader lets only scans and messages through.
                other => {
                    return Err(Error::Invalid(format!(
                        "a snapshot cannot hold a {:?} entry",
                        other.kind()
                    )))
                }
            },
            SnapshotItem::Header(_) | SnapshotItem::End { .. } => {}
        }
        done += 1;
        if done % PROGRESS_EVERY == 0 && !progress(done, total) {
            return Err(Error::Cancelled);
        }
    }
    if !progress(done, total) {
        return Err(Error::Cancelled);
    }

    if let Some(triggers) = triggers {
        tickets::rebuild_fts(&tx, triggers)?;
    }
    counters::recount_issued(&tx, event_id)?;
    counters::recount_scans(&tx, (!relay_reset).then_some(event_id))?;
    write_cursor(&tx, header.seq)?;
    applied.outbox = tx.query_row("SELECT count(*) FROM outbox", [], |row| row.get(0))?;
    tx.commit()?;
    Ok(applied)
}

/// Forgets what came from a relay log that is gone, keeping every scan made here: other gates'
/// scans and the relay's messages are dropped, this gate's scans lose their `seq` and official
/// verdict and go back in the outbox, to be logged again (idempotently by scan id).
fn forget_relay_history(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM scans WHERE origin = 'remote';
         INSERT OR IGNORE INTO outbox (local_seq)
             SELECT local_seq FROM scans WHERE origin = 'local' AND seq IS NOT NULL;
         UPDATE scans SET seq = NULL, official = NULL, conflict = 0
             WHERE origin = 'local' AND seq IS NOT NULL;
         DELETE FROM messages;",
    )?;
    Ok(())
}

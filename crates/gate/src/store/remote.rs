//! What the relay tells the gate: log entries (other gates' scans, ticket and key changes,
//! event updates, operator messages) applied to the cache with the cursor that follows them,
//! and acknowledgements of the gate's own scans.
//!
//! Both go through [`settle`] for a scan the gate already has, so a scan whose ack was lost
//! with a dropped link and which then comes back in the catch-up stream ends up exactly as if
//! the ack had arrived: one row, the relay's `seq` and verdict, out of the outbox, counted once.

use gerbang_core::protocol::{LogBody, LogEntry, OperatorMessage};
use gerbang_core::{Millis, VerdictKind};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{counters, setup, tickets, Origin, ScanRecord, Store};
use crate::error::{Error, Result};

/// The relay's answer to one uploaded scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub scan_id: Uuid,
    pub seq: u64,
    pub official: VerdictKind,
    pub conflict: bool,
}

/// What [`Store::apply_entries`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The cursor after the batch: the last `seq` applied.
    pub cursor: u64,
    /// Entries applied (entries at or below the old cursor are skipped, not counted).
    pub entries: usize,
    /// Scans made at other gates, new to this gate, in log order.
    pub remote_scans: Vec<ScanRecord>,
    /// This gate's own scans whose verdict the batch settled (an ack that was lost).
    pub own_scans: usize,
}

/// An operator message as the gate keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredMessage {
    pub seq: u64,
    pub message: OperatorMessage,
}

impl Store {
    /// Applies log entries from the relay, in order, and moves the cursor to the last one, all
    /// in one transaction: after a crash the cache is either before the batch or after it, and
    /// the next catch-up starts from the right place. Entries at or below the cursor were
    /// applied before (a catch-up overlapping a live batch) and are skipped.
    ///
    /// An entry that cannot be applied (a ticket of an event the gate has never heard of, a
    /// key that is not an Ed25519 point) fails the whole batch with an error naming its `seq`:
    /// the cache never skips an entry silently.
    pub fn apply_entries(&self, entries: &[LogEntry]) -> Result<Applied> {
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut cursor = read_cursor(&tx)?;
        let mut applied = Applied {
            cursor,
            ..Applied::default()
        };
        let mut touched_events = Vec::new();
        let mut setup_changed = false;
        for entry in entries {
            if entry.seq <= cursor {
                continue;
            }
            let in_entry = |e: Error| match e {
                Error::Sqlite(_) => e,
                other => Error::Invalid(format!(
                    "log entry {} ({}): {other}",
                    entry.seq,
                    entry.body.kind()
                )),
            };
            match &entry.body {
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
                    if settle(&tx, &ack).map_err(in_entry)? {
                        applied.own_scans += 1;
                    } else {
                        insert_remote_scan(&tx, entry.seq, scan, official, conflict.is_some())
                            .map_err(in_entry)?;
                        counters::count_scan(&tx, scan.event_id, official.kind)?;
                        applied.remote_scans.push(ScanRecord {
                            scan_id: scan.scan_id,
                            event_id: scan.event_id,
                            ticket_id: scan.ticket_id,
                            code: scan.code.clone(),
                            gate: scan.gate.clone(),
                            direction: scan.direction,
                            at: scan.at,
                            kind: scan.local,
                            reason: official.reason.clone(),
                            holder: official.holder.clone(),
                            seq: Some(entry.seq),
                            official: Some(official.kind),
                            conflict: conflict.is_some(),
                            origin: Origin::Remote,
                        });
                    }
                }
                LogBody::TicketUpsert { ticket } => {
                    if setup::load_event(&tx, ticket.event_id)?.is_none() {
                        return Err(in_entry(Error::UnknownEvent(ticket.event_id)));
                    }
                    tickets::upsert(&tx, ticket).map_err(in_entry)?;
                    touched_events.push(ticket.event_id);
                }
                LogBody::TicketRevoked {
                    event_id,
                    ticket_id,
                } => {
                    if setup::load_event(&tx, *event_id)?.is_none() {
                        return Err(in_entry(Error::UnknownEvent(*event_id)));
                    }
                    tickets::revoke(&tx, *event_id, *ticket_id)?;
                    touched_events.push(*event_id);
                }
                LogBody::KeyAdded { key } => {
                    setup::put_key(&tx, *key).map_err(in_entry)?;
                    setup_changed = true;
                }
                LogBody::KeyRetired { event_id, key_id } => {
                    setup::retire_key(&tx, *event_id, *key_id)?;
                    setup_changed = true;
                }
                LogBody::EventUpdated { event } => {
                    setup::put_event(&tx, event)?;
                    setup_changed = true;
                }
                LogBody::Message { message } => insert_message(&tx, entry.seq, message)?,
            }
            cursor = entry.seq;
            applied.entries += 1;
        }
        touched_events.sort_unstable();
        touched_events.dedup();
        for event_id in touched_events {
            counters::recount_issued(&tx, event_id)?;
        }
        write_cursor(&tx, cursor)?;
        tx.commit()?;
        if setup_changed {
            w.invalidate();
        }
        applied.cursor = cursor;
        Ok(applied)
    }

    /// Records the relay's acknowledgements of this gate's scans, in one transaction: each
    /// scan gets its `seq`, the official verdict and the conflict flag, leaves the outbox, and
    /// is counted by the official verdict from now on. Acknowledging a scan twice is harmless.
    pub fn ack_scans(&self, acks: &[Ack]) -> Result<()> {
        let mut w = self.writer();
        let tx = w.conn.transaction()?;
        for ack in acks {
            if !settle(&tx, ack)? {
                return Err(Error::UnknownScan(ack.scan_id));
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Operator messages received, newest first.
    pub fn messages(&self, limit: usize) -> Result<Vec<StoredMessage>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, message_id, sender, recipient, text, at FROM messages
                 ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |row| {
                Ok(StoredMessage {
                    seq: row.get(0)?,
                    message: OperatorMessage {
                        message_id: row.get(1)?,
                        from: row.get(2)?,
                        to: row.get(3)?,
                        text: row.get(4)?,
                        at: Millis(row.get(5)?),
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// Records a scan made at another gate, as the relay logged it, without counting it (the
/// caller counts: one at a time for entries, all at once for a snapshot).
pub(crate) fn insert_remote_scan(
    conn: &Connection,
    seq: u64,
    scan: &gerbang_core::protocol::ScanRecord,
    official: &gerbang_core::Verdict,
    conflict: bool,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO scans (scan_id, event_id, ticket_id, code, gate, direction, at, kind,
                            reason, holder, seq, official, conflict, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'remote')",
    )?
    .execute(params![
        scan.scan_id,
        scan.event_id,
        scan.ticket_id,
        scan.code,
        scan.gate,
        scan.direction.as_str(),
        scan.at.0,
        scan.local.as_str(),
        official.reason,
        official.holder,
        seq,
        official.kind.as_str(),
        conflict,
    ])
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => Error::Invalid(format!(
            "the scan's event {} is not known here",
            scan.event_id
        )),
        _ => e.into(),
    })?;
    Ok(())
}

/// Keeps an operator message (once per message id).
pub(crate) fn insert_message(conn: &Connection, seq: u64, message: &OperatorMessage) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (message_id, seq, sender, recipient, text, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (message_id) DO NOTHING",
    )?
    .execute(params![
        message.message_id,
        seq,
        message.from,
        message.to,
        message.text,
        message.at.0,
    ])?;
    Ok(())
}

/// Gives a scan the gate already has the relay's verdict and takes it out of the outbox.
/// Returns false when the gate does not have the scan.
pub(crate) fn settle(conn: &Connection, ack: &Ack) -> Result<bool> {
    let found = conn
        .prepare_cached("SELECT event_id, kind, official FROM scans WHERE scan_id = ?1")?
        .query_row([ack.scan_id], |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    let Some((event_id, kind, official)) = found else {
        return Ok(false);
    };
    let counted = official.unwrap_or(kind);
    let counted = VerdictKind::parse(&counted)
        .ok_or_else(|| Error::Corrupt(format!("scan {}: verdict {counted:?}", ack.scan_id)))?;
    conn.prepare_cached(
        "UPDATE scans SET seq = ?2, official = ?3, conflict = ?4 WHERE scan_id = ?1",
    )?
    .execute(params![
        ack.scan_id,
        ack.seq,
        ack.official.as_str(),
        ack.conflict
    ])?;
    conn.prepare_cached(
        "DELETE FROM outbox WHERE local_seq = (SELECT local_seq FROM scans WHERE scan_id = ?1)",
    )?
    .execute([ack.scan_id])?;
    if counted != ack.official {
        counters::count_scans(conn, event_id, counted, -1)?;
        counters::count_scans(conn, event_id, ack.official, 1)?;
    }
    Ok(true)
}

pub(crate) fn read_cursor(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM sync_state WHERE id = 1")?
        .query_row([], |row| row.get(0))?)
}

/// Starts the cache over for another relay's log (see [`Store::set_pairing`]): drops what the
/// old relay's log brought and this gate's scans it acknowledged, keeps the scans still in the
/// outbox (with their events), and sets the cursor back to 0.
pub(crate) fn forget_relay_cache(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM messages;
         DELETE FROM scans WHERE local_seq NOT IN (SELECT local_seq FROM outbox);
         UPDATE scans SET seq = NULL, official = NULL, conflict = 0;
         DELETE FROM tickets;
         DELETE FROM ticket_types;
         DELETE FROM verifying_keys;
         DELETE FROM event_counters;
         DELETE FROM events WHERE event_id NOT IN (SELECT event_id FROM scans);
         DELETE FROM settings WHERE key = 'active_event'
             AND CAST(value AS INTEGER) NOT IN (SELECT event_id FROM events);
         UPDATE sync_state SET cursor = 0 WHERE id = 1;",
    )?;
    counters::recount_scans(conn, None)?;
    Ok(())
}

pub(crate) fn write_cursor(conn: &Connection, cursor: u64) -> Result<()> {
    conn.prepare_cached("UPDATE sync_state SET cursor = ?1 WHERE id = 1")?
        .execute([cursor])?;
    Ok(())
}

//! Reading a snapshot of one event out of the database (the format is
//! `gerbang_core::snapshot`'s): everything a device needs to decide that event's scans, as of
//! one log `seq`, read in one read transaction so that every part agrees with every other.
//!
//! The snapshot is written line by line into any [`Write`] (the HTTP layer compresses it and
//! sends it in chunks as it goes), so a million tickets never sit in memory. Stored JSON (event
//! rules, log entry bodies) is copied through as it is, without decoding it again: it is
//! exactly what the writer thread encoded.

use std::io::Write;

use gerbang_core::snapshot::{
    SnapshotCounts, SnapshotHeader, SnapshotItem, MAX_SNAPSHOT_MESSAGES, SNAPSHOT_FORMAT,
    SNAPSHOT_VERSION,
};
use gerbang_core::{EventKey, Millis, TicketRecord};
use rusqlite::{params, Connection, OptionalExtension};

use super::{connect, Location};
use crate::error::{Error, Result};

/// The latest operator messages, oldest first; `?1` is the snapshot's `seq`, `?2` the limit.
const MESSAGES: &str = "SELECT seq, at, body FROM (
        SELECT seq, at, body FROM log
        WHERE event_id IS NULL AND kind = 'message' AND seq <= ?1
        ORDER BY seq DESC LIMIT ?2)
    ORDER BY seq";

/// A snapshot whose read transaction is open and whose header is known; [`Snapshot::write`]
/// streams the rest.
pub(crate) struct Snapshot {
    /// Its own connection, in a read transaction from [`Snapshot::open`] to the end of
    /// [`Snapshot::write`]: in WAL mode it keeps seeing the database as it was at the header's
    /// `seq` while the writer goes on.
    conn: Connection,
    header: SnapshotHeader,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Starts a snapshot of `event_id`: opens a connection, begins the read transaction and
    /// counts what will follow. `None` when the relay has no such event.
    pub(crate) fn open(
        location: &Location,
        event_id: u32,
        now: Millis,
    ) -> Result<Option<Snapshot>> {
        let conn = connect(location)?;
        // A deferred transaction: its view of the database is fixed by its first read, the
        // head just below, and kept until COMMIT.
        conn.execute_batch("BEGIN")?;
        let seq: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM log", [], |r| r.get(0))?;
        let exists = conn
            .query_row("SELECT 1 FROM events WHERE id = ?1", [event_id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        let count = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<u64> {
            Ok(conn.query_row(sql, args, |r| r.get::<_, i64>(0))? as u64)
        };
        let messages = count(
            "SELECT count(*) FROM log WHERE event_id IS NULL AND kind = 'message' AND seq <= ?1",
            params![seq],
        )?;
        let counts = SnapshotCounts {
            events: count("SELECT count(*) FROM events", params![])?,
            keys: count("SELECT count(*) FROM event_keys", params![])?,
            tickets: count(
                "SELECT count(*) FROM tickets WHERE event_id = ?1",
                params![event_id],
            )?,
            entries: messages.min(MAX_SNAPSHOT_MESSAGES)
                + count(
                    "SELECT count(*) FROM log WHERE event_id = ?1 AND kind = 'scan' AND seq <= ?2",
                    params![event_id, seq],
                )?,
        };
        let header = SnapshotHeader {
            format: SNAPSHOT_FORMAT.to_owned(),
            version: SNAPSHOT_VERSION,
            event_id,
            seq: seq as u64,
            at: now,
            counts,
        };
        Ok(Some(Snapshot { conn, header }))
    }

    pub(crate) fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    /// Writes the whole snapshot to `out`, header to end line, and ends the read transaction.
    /// Returns the number of items written between the header and the end line.
    pub(crate) fn write(self, out: &mut impl Write) -> Result<u64> {
        let written = self.write_items(out);
        // Only read: nothing to keep or undo, but the transaction must end either way.
        let _ = self.conn.execute_batch("COMMIT");
        let items = written?;
        if items != self.header.counts.total() {
            // Cannot happen inside one read transaction; if it does, the stream must not end
            // as if it were whole.
            return Err(Error::Corrupt(format!(
                "the snapshot announced {} items but {items} were read",
                self.header.counts.total()
            )));
        }
        out.write_all(SnapshotItem::End { items }.to_line().as_bytes())?;
        Ok(items)
    }

    fn write_items(&self, out: &mut impl Write) -> Result<u64> {
        let conn = &self.conn;
        let SnapshotHeader { event_id, seq, .. } = self.header;
        let seq = seq as i64;
        out.write_all(
            SnapshotItem::Header(self.header.clone())
                .to_line()
                .as_bytes(),
        )?;
        let mut items = 0u64;

        // Events: the stored rules are the JSON the writer made from `EventRules`.
        let mut stmt = conn.prepare("SELECT rules FROM events ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let rules: String = row.get(0)?;
            out.write_all(b"{\"item\":\"event\",\"event\":")?;
            out.write_all(rules.as_bytes())?;
            out.write_all(b"}\n")?;
            items += 1;
        }

        // Keys: public halves only; the signing secret never leaves the relay.
        let mut stmt = conn.prepare(
            "SELECT event_id, key_id, public_key, retired FROM event_keys ORDER BY event_id, key_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (event_id, key_id): (u32, u8) = (row.get(0)?, row.get(1)?);
            let public: String = row.get(2)?;
            let key = EventKey {
                event_id,
                key_id,
                public_key: public.parse().map_err(|e| {
                    Error::Corrupt(format!("key {key_id} of event {event_id}: {e}"))
                })?,
            };
            let item = SnapshotItem::Key {
                key,
                retired: row.get(3)?,
            };
            serde_json::to_writer(&mut *out, &item).map_err(json_failed)?;
            out.write_all(b"\n")?;
            items += 1;
        }

        // Tickets, in ticket order (the primary key's).
        let mut stmt = conn.prepare(
            "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from, valid_until, revoked
             FROM tickets WHERE event_id = ?1 ORDER BY ticket_id",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(row) = rows.next()? {
            let item = SnapshotItem::Ticket {
                ticket: TicketRecord {
                    event_id: row.get(0)?,
                    ticket_id: row.get(1)?,
                    type_id: row.get(2)?,
                    holder: row.get(3)?,
                    barcode: row.get(4)?,
                    valid_from: row.get::<_, Option<i64>>(5)?.map(Millis),
                    valid_until: row.get::<_, Option<i64>>(6)?.map(Millis),
                    revoked: row.get(7)?,
                },
            };
            serde_json::to_writer(&mut *out, &item).map_err(json_failed)?;
            out.write_all(b"\n")?;
            items += 1;
        }

        // Log entries as catch-up sends them: the latest messages, then the event's scans.
        let mut messages = conn.prepare(MESSAGES)?;
        items += write_entries(
            out,
            messages.query(params![seq, MAX_SNAPSHOT_MESSAGES as i64])?,
        )?;
        let mut scans = conn.prepare(
            "SELECT seq, at, body FROM log
             WHERE event_id = ?1 AND kind = 'scan' AND seq <= ?2 ORDER BY seq",
        )?;
        items += write_entries(out, scans.query(params![event_id, seq])?)?;
        Ok(items)
    }
}

/// Writes `entry` lines from rows of `seq, at, body`; the body is the stored JSON of the
/// entry's `LogBody`, exactly what gates receive.
fn write_entries(out: &mut impl Write, mut rows: rusqlite::Rows<'_>) -> Result<u64> {
    let mut items = 0;
    let mut prefix = String::with_capacity(64);
    while let Some(row) = rows.next()? {
        let (seq, at): (i64, i64) = (row.get(0)?, row.get(1)?);
        let body = row
            .get_ref(2)?
            .as_str()
            .map_err(|e| Error::Corrupt(format!("log entry {seq}: {e}")))?;
        prefix.clear();
        use std::fmt::Write as _;
        let _ = write!(
            prefix,
            "{{\"item\":\"entry\",\"entry\":{{\"seq\":{seq},\"at\":{at},\"body\":"
        );
        out.write_all(prefix.as_bytes())?;
        out.write_all(body.as_bytes())?;
        out.write_all(b"}}\n")?;
        items += 1;
    }
    Ok(items)
}

fn json_failed(e: serde_json::Error) -> Error {
    // Writing to the output is the only way serialising these types fails.
    Error::Io(std::io::Error::other(e))
}

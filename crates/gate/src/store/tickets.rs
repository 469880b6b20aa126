//! The ticket cache: bulk loads, CSV import, revocation, and search by name or barcode.

use std::collections::HashSet;
use std::io::Read;

use gerbang_core::import::parse_tickets_csv;
use gerbang_core::{Millis, TicketRecord};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use super::{checkpoint, counters, setup, Store};
use crate::error::{Error, Result};

/// The columns [`ticket_from_row`] reads, from `tickets AS t`.
pub(crate) const TICKET_COLUMNS: &str =
    "t.event_id, t.ticket_id, t.type_id, t.holder, t.barcode, t.valid_from, t.valid_until, t.revoked";

pub(crate) fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        event_id: row.get(0)?,
        ticket_id: row.get(1)?,
        type_id: row.get(2)?,
        holder: row.get(3)?,
        barcode: row.get(4)?,
        valid_from: row.get::<_, Option<i64>>(5)?.map(Millis),
        valid_until: row.get::<_, Option<i64>>(6)?.map(Millis),
        revoked: row.get(7)?,
    })
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Tickets added or updated.
    pub imported: usize,
}

/// A load of at least this many tickets rebuilds the name index once at the end instead of
/// updating it row by row (see [`load`]).
pub(crate) const BULK_REINDEX_MIN: usize = 10_000;

impl Store {
    /// Adds or updates tickets of an event, all in one transaction: on any error nothing is
    /// loaded. Returns how many were loaded.
    ///
    /// Holds the write lock for the whole load, so scans wait behind it: a million tickets take
    /// seconds. Load large lists before the doors open.
    pub fn load_tickets(
        &self,
        event_id: u32,
        tickets: impl IntoIterator<Item = TicketRecord>,
    ) -> Result<usize> {
        let mut w = self.writer();
        load(&mut w.conn, event_id, tickets)
    }

    /// Reads a CSV ticket list (see [`gerbang_core::import`]) and loads it into an event.
    /// Tickets without a `ticket_id` column are numbered after the event's highest number. If
    /// any row is bad, the error lists every bad row and nothing is imported.
    pub fn import_csv(&self, event_id: u32, reader: impl Read) -> Result<ImportReport> {
        // Under the write lock from numbering to commit, so two imports cannot hand out the
        // same numbers.
        let mut w = self.writer();
        let event = setup::load_event(&w.conn, event_id)?.ok_or(Error::UnknownEvent(event_id))?;
        let highest: Option<u32> = w
            .conn
            .prepare_cached("SELECT max(ticket_id) FROM tickets WHERE event_id = ?1")?
            .query_row([event_id], |row| row.get(0))?;
        let first_free = match highest {
            None => 1,
            Some(highest) => highest.checked_add(1).ok_or(Error::Invalid(format!(
                "event {event_id} already has ticket number {}, so there are no numbers left \
                 to give new tickets",
                u32::MAX
            )))?,
        };
        let tickets = parse_tickets_csv(reader, &event, first_free)?;
        let imported = load(&mut w.conn, event_id, tickets)?;
        Ok(ImportReport { imported })
    }

    /// Marks a ticket revoked (cancelled or re-issued): it is refused from now on. A ticket
    /// the cache does not know (a signed ticket sold after the last sync) is recorded as a
    /// revoked placeholder, so the revocation still holds when the code is scanned.
    pub fn revoke_ticket(&self, event_id: u32, ticket_id: u32) -> Result<()> {
        let mut w = self.writer();
        if setup::load_event(&w.conn, event_id)?.is_none() {
            return Err(Error::UnknownEvent(event_id));
        }
        let tx = w.conn.transaction()?;
        revoke(&tx, event_id, ticket_id)?;
        tx.commit()?;
        Ok(())
    }

    /// One ticket from the cache.
    pub fn ticket(&self, event_id: u32, ticket_id: u32) -> Result<Option<TicketRecord>> {
        self.read(|conn| ticket_by_id(conn, event_id, ticket_id))
    }

    /// Finds tickets of an event for manual check-in: by ticket number (exact), by barcode
    /// (exact or prefix, case-sensitive), and by holder name (every word of the query a prefix
    /// of a word of the name, ignoring case and accents: "jose ma" finds "José Martínez").
    ///
    /// At most `limit` tickets: number and barcode matches first, then names alphabetically.
    /// When more names match than fit, which ones are returned is unspecified: type more.
    pub fn search(&self, event_id: u32, query: &str, limit: usize) -> Result<Vec<TicketRecord>> {
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut found = Vec::new();
            if let Ok(ticket_id) = query.parse::<u32>() {
                found.extend(ticket_by_id(conn, event_id, ticket_id)?);
            }
            // Every string starting with the query sorts between it and the query followed by
            // the highest code point. The `+` keeps the planner off the (event_id, ticket_id)
            // index, which would read every ticket of the event to find a few barcodes.
            let mut by_barcode = conn.prepare_cached(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets AS t
                 WHERE t.barcode >= ?1 AND t.barcode < ?1 || char(1114111) AND +t.event_id = ?2
                 ORDER BY t.barcode LIMIT ?3"
            ))?;
            for ticket in
                by_barcode.query_map(params![query, event_id, limit_sql], ticket_from_row)?
            {
                found.push(ticket?);
            }
            if let Some(fts_query) = name_query(query) {
                // CROSS JOIN makes the full-text index the outer loop: left to itself, the
                // planner may walk the event's tickets and run the full-text query once per
                // ticket, which on 60,000 tickets took minutes (regression test:
                // `a_large_load_rebuilds_the_name_index_and_keeps_it_live`).
                let mut by_name = conn.prepare_cached(&format!(
                    "SELECT {TICKET_COLUMNS}
                     FROM tickets_fts CROSS JOIN tickets AS t ON t.id = tickets_fts.rowid
                     WHERE tickets_fts MATCH ?1 AND t.event_id = ?2 LIMIT ?3"
                ))?;
                let mut names = by_name
                    .query_map(params![fts_query, event_id, limit_sql], ticket_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                names.sort_by_cached_key(|t| (t.holder.to_lowercase(), t.ticket_id));
                found.extend(names);
            }
            let mut seen = HashSet::new();
            found.retain(|t| seen.insert(t.ticket_id));
            found.truncate(limit);
            Ok(found)
        })
    }
}

/// An FTS5 query matching names with a word starting with each word of `query`, or `None` if
/// the query has no letters or digits. Each word becomes a quoted prefix phrase, so nothing the
/// operator types is read as FTS5 syntax.
fn name_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

pub(crate) fn ticket_by_id(
    conn: &Connection,
    event_id: u32,
    ticket_id: u32,
) -> Result<Option<TicketRecord>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets AS t WHERE t.event_id = ?1 AND t.ticket_id = ?2"
        ))?
        .query_row(params![event_id, ticket_id], ticket_from_row)
        .optional()?)
}

/// The ticket with this barcode, preferring `event_id` but looking in every event, so that a
/// ticket for another event can be told apart from an unknown one.
pub(crate) fn ticket_by_barcode(
    conn: &Connection,
    barcode: &str,
    event_id: u32,
) -> Result<Option<TicketRecord>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets AS t WHERE t.barcode = ?1
             ORDER BY t.event_id <> ?2 LIMIT 1"
        ))?
        .query_row(params![barcode, event_id], ticket_from_row)
        .optional()?)
}

/// Marks a ticket revoked, or records a revoked placeholder for a ticket the cache does not
/// know; see [`Store::revoke_ticket`]. Call in a transaction.
pub(crate) fn revoke(conn: &Connection, event_id: u32, ticket_id: u32) -> Result<()> {
    let revoked = conn
        .prepare_cached(
            "UPDATE tickets SET revoked = 1
             WHERE event_id = ?1 AND ticket_id = ?2 AND revoked = 0",
        )?
        .execute(params![event_id, ticket_id])?;
    if revoked == 1 {
        counters::count_revocation(conn, event_id)?;
    } else {
        conn.prepare_cached(
            "INSERT INTO tickets (event_id, ticket_id, type_id, holder, revoked)
             VALUES (?1, ?2, 0, '', 1)
             ON CONFLICT (event_id, ticket_id) DO NOTHING",
        )?
        .execute(params![event_id, ticket_id])?;
    }
    Ok(())
}

const UPSERT_TICKET: &str =
    "INSERT INTO tickets (event_id, ticket_id, type_id, holder, barcode, valid_from,
                          valid_until, revoked)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (event_id, ticket_id) DO UPDATE SET
         type_id = excluded.type_id, holder = excluded.holder,
         barcode = excluded.barcode, valid_from = excluded.valid_from,
         valid_until = excluded.valid_until, revoked = excluded.revoked";

/// Adds or updates one ticket, leaving the issued count to the caller
/// ([`counters::recount_issued`] once the transaction's changes are in).
pub(crate) fn upsert(conn: &Connection, t: &TicketRecord) -> Result<()> {
    let result = conn.prepare_cached(UPSERT_TICKET)?.execute(params![
        t.event_id,
        t.ticket_id,
        t.type_id,
        t.holder,
        t.barcode,
        t.valid_from.map(|m| m.0),
        t.valid_until.map(|m| m.0),
        t.revoked,
    ]);
    match result {
        Ok(_) => Ok(()),
        // The only uniqueness an upsert can break is the barcode's.
        Err(err) if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
            Err(Error::DuplicateBarcode {
                event_id: t.event_id,
                ticket_id: t.ticket_id,
                barcode: t.barcode.clone().unwrap_or_default(),
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// Loads tickets in one transaction; see [`Store::load_tickets`].
///
/// For a large load the per-row full-text triggers cost more than the load itself (measured:
/// about 14 µs of a ticket's 16 µs), so a load that is or turns out large stops the name index
/// from following row by row and rebuilds it once at the end, inside the same transaction (the
/// triggers are recreated from the stored schema, so there is one definition of them: the
/// migration's). A rebuild re-reads every ticket (about 1.5 µs each), so "large" grows with the
/// cache: at least [`BULK_REINDEX_MIN`] and an eighth of the tickets already there.
pub(crate) fn load(
    conn: &mut Connection,
    event_id: u32,
    tickets: impl IntoIterator<Item = TicketRecord>,
) -> Result<usize> {
    if setup::load_event(conn, event_id)?.is_none() {
        return Err(Error::UnknownEvent(event_id));
    }
    // A large page cache for the load only: the transaction's changed pages stay in memory
    // instead of spilling to the WAL and being read back. Restored whatever the outcome.
    let cache_kib: i64 = conn.query_row("PRAGMA cache_size", [], |row| row.get(0))?;
    conn.pragma_update(None, "cache_size", BULK_CACHE_KIB)?;
    let loaded = load_in_transaction(conn, event_id, tickets);
    conn.pragma_update(None, "cache_size", cache_kib)?;
    let loaded = loaded?;
    if loaded >= BULK_REINDEX_MIN {
        // The load's commit checkpointed its large log; start the log over now rather than in
        // the next scan. A failure here costs the next scan a disk flush, not the load.
        if let Ok(true) = checkpoint::checkpoint(conn) {
            let _ = checkpoint::restart_log(conn);
        }
    }
    Ok(loaded)
}

/// The page cache during a load, in KiB (negated, as `PRAGMA cache_size` takes it): enough for
/// a million tickets with their indexes.
pub(crate) const BULK_CACHE_KIB: i64 = -512 * 1024;

fn load_in_transaction(
    conn: &mut Connection,
    event_id: u32,
    tickets: impl IntoIterator<Item = TicketRecord>,
) -> Result<usize> {
    let tx = conn.transaction()?;
    let cached: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM tickets", [], |r| r.get(0))?;
    let large = BULK_REINDEX_MIN.max(usize::try_from(cached / 8).unwrap_or(usize::MAX));
    let tickets = tickets.into_iter();
    let mut loaded = 0;
    let mut triggers: Option<Vec<String>> = None;
    if tickets.size_hint().0 >= large {
        triggers = Some(drop_fts_triggers(&tx)?);
    }
    for t in tickets {
        if t.event_id != event_id {
            return Err(Error::TicketOfOtherEvent {
                ticket_id: t.ticket_id,
                expected: event_id,
                found: t.event_id,
            });
        }
        if loaded == large && triggers.is_none() {
            triggers = Some(drop_fts_triggers(&tx)?);
        }
        upsert(&tx, &t)?;
        loaded += 1;
    }
    if let Some(triggers) = triggers {
        rebuild_fts(&tx, triggers)?;
    }
    counters::recount_issued(&tx, event_id)?;
    tx.commit()?;
    Ok(loaded)
}

/// Rebuilds the name index from the tickets and puts back the triggers that keep it in step
/// (as [`drop_fts_triggers`] returned them).
pub(crate) fn rebuild_fts(conn: &Connection, triggers: Vec<String>) -> Result<()> {
    conn.execute(
        "INSERT INTO tickets_fts (tickets_fts) VALUES ('rebuild')",
        [],
    )?;
    for sql in triggers {
        conn.execute_batch(&sql)?;
    }
    Ok(())
}

/// Drops the triggers that keep `tickets_fts` in step with `tickets`, returning the SQL that
/// recreates them.
pub(crate) fn drop_fts_triggers(conn: &Connection) -> Result<Vec<String>> {
    let triggers: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'trigger' AND tbl_name = 'tickets' AND name LIKE 'tickets_fts_%'",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
    }
    Ok(triggers.into_iter().map(|(_, sql)| sql).collect())
}

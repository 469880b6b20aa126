//! Counters for the scan screen and the dashboard.
//!
//! Per event, `event_counters` is updated in the same transaction as every scan and ticket
//! change, so the event's figures cost one row read. Per gate, they are counted from the scan log through the
//! `scans_by_gate` index.

use gerbang_core::VerdictKind;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::Result;

/// What a gate shows about an event, as this gate knows it (its own scans and those it has
/// received from the relay). A scan counts by the relay's verdict once known, else by the
/// gate's own, so gates that have synced the same log show the same figures as the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Counters {
    /// Tickets in the cache that are not revoked. Signed tickets sold after the last sync are
    /// not in the cache, so this can be lower than the tickets sold.
    pub issued: u64,
    /// Admissions.
    pub admitted: u64,
    /// Recorded exits.
    pub exits: u64,
    /// People inside the hall now, for the whole event (never per gate).
    pub inside_now: u64,
    /// Scans refused (every verdict but admitted and exit recorded).
    pub refused: u64,
}

impl Store {
    /// The event's counters, or with `gate`, the admissions, exits and refusals at that gate
    /// (`issued` and `inside_now` stay the event's).
    pub fn counters(&self, event_id: u32, gate: Option<&str>) -> Result<Counters> {
        self.read(|conn| {
            let mut counters = event_counters(conn, event_id)?;
            if let Some(gate) = gate {
                let mut by_kind = conn.prepare_cached(
                    "SELECT coalesce(official, kind), count(*) FROM scans
                     WHERE event_id = ?1 AND gate = ?2 GROUP BY 1",
                )?;
                let rows = by_kind.query_map(params![event_id, gate], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
                })?;
                (counters.admitted, counters.exits, counters.refused) = (0, 0, 0);
                for row in rows {
                    let (kind, n) = row?;
                    match VerdictKind::parse(&kind) {
                        Some(VerdictKind::Admitted) => counters.admitted += n,
                        Some(VerdictKind::ExitRecorded) => counters.exits += n,
                        _ => counters.refused += n,
                    }
                }
            }
            Ok(counters)
        })
    }
}

/// People inside now, as this gate knows it.
pub(crate) fn inside_now(conn: &Connection, event_id: u32) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT inside_now FROM event_counters WHERE event_id = ?1")?
        .query_row([event_id], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Counts one scan; call in the transaction that records it.
pub(crate) fn count_scan(conn: &Connection, event_id: u32, kind: VerdictKind) -> Result<()> {
    count_scans(conn, event_id, kind, 1)
}

/// Counts `times` scans of a kind (negative to take them back, when the relay's verdict
/// replaces the gate's own); call in the transaction that records the change.
pub(crate) fn count_scans(
    conn: &Connection,
    event_id: u32,
    kind: VerdictKind,
    times: i64,
) -> Result<()> {
    let (admitted, exits, inside, refused) = match kind {
        VerdictKind::Admitted => (times, 0, times, 0),
        VerdictKind::ExitRecorded => (0, times, -times, 0),
        _ => (0, 0, 0, times),
    };
    conn.prepare_cached(
        "INSERT INTO event_counters (event_id, admitted, exits, inside_now, refused)
         VALUES (?1, ?2, ?3, max(0, ?4), ?5)
         ON CONFLICT (event_id) DO UPDATE SET
             admitted = admitted + excluded.admitted,
             exits = exits + excluded.exits,
             inside_now = max(0, inside_now + ?4),
             refused = refused + excluded.refused",
    )?
    .execute(params![event_id, admitted, exits, inside, refused])?;
    Ok(())
}

fn event_counters(conn: &Connection, event_id: u32) -> Result<Counters> {
    Ok(conn
        .prepare_cached(
            "SELECT issued, admitted, exits, inside_now, refused FROM event_counters
             WHERE event_id = ?1",
        )?
        .query_row([event_id], |row| {
            Ok(Counters {
                issued: row.get(0)?,
                admitted: row.get(1)?,
                exits: row.get(2)?,
                inside_now: row.get(3)?,
                refused: row.get(4)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Recounts the event's tickets that are not revoked; call at the end of a load, in its
/// transaction. A count over the `(event_id, ticket_id)` index less the few tickets in the
/// partial index of revoked ones: tens of milliseconds for a million tickets.
pub(crate) fn recount_issued(conn: &Connection, event_id: u32) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO event_counters (event_id, issued)
         VALUES (?1, (SELECT count(*) FROM tickets WHERE event_id = ?1)
                     - (SELECT count(*) FROM tickets WHERE event_id = ?1 AND revoked = 1))
         ON CONFLICT (event_id) DO UPDATE SET issued = excluded.issued",
    )?
    .execute([event_id])?;
    Ok(())
}

/// Counts one ticket less as issued (it was just revoked).
pub(crate) fn count_revocation(conn: &Connection, event_id: u32) -> Result<()> {
    conn.prepare_cached(
        "UPDATE event_counters SET issued = max(0, issued - 1) WHERE event_id = ?1",
    )?
    .execute([event_id])?;
    Ok(())
}

/// Recounts admissions, exits, people inside and refusals from the scan log, for one event or
/// (with `None`) every event; call in the transaction that changed the scans wholesale (a
/// snapshot). A scan counts by the relay's verdict once known, else by the gate's own, as the
/// incremental counts do; inside now is admissions less exits, never below 0.
pub(crate) fn recount_scans(conn: &Connection, event_id: Option<u32>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO event_counters (event_id, admitted, exits, inside_now, refused)
         SELECT e.event_id, coalesce(s.admitted, 0), coalesce(s.exits, 0),
                max(0, coalesce(s.admitted, 0) - coalesce(s.exits, 0)), coalesce(s.refused, 0)
         FROM events AS e
         LEFT JOIN (
             SELECT event_id,
                    sum(k = 'admitted') AS admitted,
                    sum(k = 'exit_recorded') AS exits,
                    sum(k NOT IN ('admitted', 'exit_recorded')) AS refused
             FROM (SELECT event_id, coalesce(official, kind) AS k FROM scans
                   WHERE ?1 IS NULL OR event_id = ?1)
             GROUP BY event_id
         ) AS s ON s.event_id = e.event_id
         WHERE ?1 IS NULL OR e.event_id = ?1
         ON CONFLICT (event_id) DO UPDATE SET
             admitted = excluded.admitted, exits = excluded.exits,
             inside_now = excluded.inside_now, refused = excluded.refused",
    )?
    .execute([event_id])?;
    Ok(())
}

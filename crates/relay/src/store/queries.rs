//! The reads behind the HTTP API: events, gates, tickets, signing keys and the attendance log.
//! Every list is paged by a key (never by an offset), so a page costs the same wherever it is.

use gerbang_core::{Code, EventRules, EventSigner, Millis, TicketRecord, VerdictKind};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::Reader;
use crate::error::{Error, Result};

/// What the attendance log is filtered by; every field narrows it (all must hold).
#[derive(Debug, Clone, Default)]
pub struct AttendanceFilter {
    pub event_id: u32,
    /// Gate names; empty for every gate.
    pub gates: Vec<String>,
    /// Scans made at or after this instant (the gate's clock).
    pub from: Option<Millis>,
    /// Scans made before this instant.
    pub to: Option<Millis>,
    /// Official verdicts; empty for every verdict.
    pub verdicts: Vec<VerdictKind>,
    pub direction: Option<gerbang_core::Direction>,
    /// Text search: a substring of the holder's name (ASCII case-insensitive), a ticket
    /// number, or a ticket's full code or barcode.
    pub q: Option<String>,
    /// Only scans flagged as conflicts.
    pub conflict_only: bool,
}

/// One scan in the attendance log.
#[derive(Debug, Clone, Serialize)]
pub struct AttendanceRow {
    pub seq: u64,
    /// When the gate made the scan (its clock).
    pub scanned_at: Millis,
    /// When the relay logged it (relay clock).
    pub logged_at: Millis,
    pub gate: String,
    pub direction: String,
    pub official: String,
    /// What the gate decided on its own.
    pub local: String,
    pub conflict: bool,
    pub ticket_id: Option<u32>,
    pub holder: Option<String>,
    pub ticket_type: Option<String>,
    /// The official verdict's reason, in plain English.
    pub reason: String,
}

impl Reader {
    /// Every event, by id.
    pub fn events(&self) -> Result<Vec<EventRules>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT id, rules FROM events ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|row| {
                let (id, json) = row?;
                serde_json::from_str(&json).map_err(|e| Error::Corrupt(format!("event {id}: {e}")))
            })
            .collect()
        })
    }

    /// Every configured gate with the ticket types it admits (empty: all), by name.
    pub fn gates(&self) -> Result<Vec<(String, Vec<u16>)>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT name, allowed_types FROM gates ORDER BY name")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|row| {
                let (name, json) = row?;
                let types = serde_json::from_str(&json)
                    .map_err(|e| Error::Corrupt(format!("gate {name}: {e}")))?;
                Ok((name, types))
            })
            .collect()
        })
    }

    /// The newest signing key of an event whose secret the relay holds.
    pub fn signer(&self, event_id: u32) -> Result<Option<EventSigner>> {
        self.with(|c| {
            let row: Option<(u8, Vec<u8>)> = c
                .query_row(
                    "SELECT key_id, secret FROM event_keys
                     WHERE event_id = ?1 AND retired = 0 AND secret IS NOT NULL
                     ORDER BY key_id DESC LIMIT 1",
                    [event_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(key_id, secret)| {
                let secret: [u8; 32] = secret.try_into().map_err(|_| {
                    Error::Corrupt(format!("the secret of key {key_id} of event {event_id}"))
                })?;
                Ok(EventSigner::from_secret(event_id, key_id, secret))
            })
            .transpose()
        })
    }

    /// The lowest key id an event has not used (keys are never deleted, only retired).
    pub fn next_key_id(&self, event_id: u32) -> Result<Option<u8>> {
        self.with(|c| {
            let max: Option<u32> = c.query_row(
                "SELECT max(key_id) FROM event_keys WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )?;
            Ok(match max {
                None => Some(1),
                Some(m) => u8::try_from(m + 1).ok(),
            })
        })
    }

    /// Up to `limit` tickets of an event with numbers above `after`, in number order.
    pub fn tickets(&self, event_id: u32, after: u32, limit: usize) -> Result<Vec<TicketRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from, valid_until,
                        revoked
                 FROM tickets WHERE event_id = ?1 AND ticket_id > ?2
                 ORDER BY ticket_id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![event_id, after, limit as i64], ticket_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// How many tickets of an event still valid have no barcode: they print only with a
    /// signing key.
    pub fn unsigned_tickets(&self, event_id: u32) -> Result<u64> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM tickets
                 WHERE event_id = ?1 AND barcode IS NULL AND revoked = 0",
                [event_id],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    pub fn ticket(&self, event_id: u32, ticket_id: u32) -> Result<Option<TicketRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from, valid_until,
                        revoked
                 FROM tickets WHERE event_id = ?1 AND ticket_id = ?2",
            )?
            .query_row(params![event_id, ticket_id], ticket_row)
            .optional()?)
        })
    }

    /// Up to `limit` scans matching `filter` with `seq` below `before_seq`, newest first.
    pub fn attendance(
        &self,
        filter: &AttendanceFilter,
        types: &[gerbang_core::TicketType],
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AttendanceRow>> {
        let mut sql = String::from(
            "SELECT l.seq, l.scanned_at, l.at, l.gate, l.direction, l.official, l.conflict,
                    l.ticket_id, l.body, t.holder, t.type_id
             FROM log l LEFT JOIN tickets t ON t.event_id = l.event_id AND t.ticket_id = l.ticket_id
             WHERE l.kind = 'scan' AND l.event_id = ?1",
        );
        let mut args: Vec<Value> = vec![Value::from(filter.event_id)];
        let mut arg = |sql: &mut String, value: Value| {
            args.push(value);
            sql.push_str(&format!("?{}", args.len()));
        };
        if let Some(before) = before_seq {
            sql.push_str(" AND l.seq < ");
            arg(&mut sql, Value::from(before as i64));
        }
        if !filter.gates.is_empty() {
            sql.push_str(" AND l.gate IN (");
            for (i, gate) in filter.gates.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                arg(&mut sql, Value::from(gate.clone()));
            }
            sql.push(')');
        }
        if let Some(from) = filter.from {
            sql.push_str(" AND l.scanned_at >= ");
            arg(&mut sql, Value::from(from.0));
        }
        if let Some(to) = filter.to {
            sql.push_str(" AND l.scanned_at < ");
            arg(&mut sql, Value::from(to.0));
        }
        if !filter.verdicts.is_empty() {
            sql.push_str(" AND l.official IN (");
            for (i, kind) in filter.verdicts.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                arg(&mut sql, Value::from(kind.as_str().to_owned()));
            }
            sql.push(')');
        }
        if let Some(direction) = filter.direction {
            sql.push_str(" AND l.direction = ");
            arg(&mut sql, Value::from(direction.as_str().to_owned()));
        }
        if filter.conflict_only {
            // Written out, not bound, so the planner can use the partial index of conflicts.
            sql.push_str(" AND l.conflict = 1");
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            sql.push_str(
                " AND (l.ticket_id IN (SELECT ticket_id FROM tickets WHERE event_id = ?1
                                        AND holder LIKE ",
            );
            arg(&mut sql, Value::from(pattern));
            sql.push_str(" ESCAPE '\\') OR l.ticket_id IN (SELECT ticket_id FROM tickets WHERE event_id = ?1 AND barcode = ");
            arg(&mut sql, Value::from(q.to_owned()));
            sql.push(')');
            let number = q.trim_start_matches('#').parse::<u32>().ok();
            let signed = match Code::parse(q) {
                Ok(Code::Signed(code)) if code.claims.event_id == filter.event_id => {
                    Some(code.claims.ticket_id)
                }
                _ => None,
            };
            for ticket_id in [number, signed].into_iter().flatten() {
                sql.push_str(" OR l.ticket_id = ");
                arg(&mut sql, Value::from(ticket_id));
            }
            sql.push(')');
        }
        sql.push_str(" ORDER BY l.seq DESC LIMIT ");
        arg(&mut sql, Value::from(limit as i64));

        self.with(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, Option<u32>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<u16>>(10)?,
                ))
            })?;
            rows.map(|row| {
                let (
                    seq,
                    scanned_at,
                    at,
                    gate,
                    direction,
                    official,
                    conflict,
                    ticket_id,
                    body,
                    holder,
                    type_id,
                ) = row?;
                let entry = super::entry_from_row(seq as u64, at, &body)?;
                let gerbang_core::protocol::LogBody::Scan {
                    scan,
                    official: verdict,
                    ..
                } = entry.body
                else {
                    return Err(Error::Corrupt(format!(
                        "log entry {seq} is indexed as a scan but is not one"
                    )));
                };
                let type_name = type_id
                    .and_then(|id| types.iter().find(|t| t.id == id).map(|t| t.name.clone()));
                Ok(AttendanceRow {
                    seq: seq as u64,
                    scanned_at: Millis(scanned_at.unwrap_or(scan.at.0)),
                    logged_at: Millis(at),
                    gate: gate.unwrap_or(scan.gate),
                    direction: direction.unwrap_or_else(|| scan.direction.as_str().to_owned()),
                    official: official.unwrap_or_else(|| verdict.kind.as_str().to_owned()),
                    local: scan.local.as_str().to_owned(),
                    conflict,
                    ticket_id,
                    // The name as the verdict showed it at the gate; else the ticket's now.
                    holder: verdict.holder.or(holder),
                    ticket_type: verdict.ticket_type.or(type_name),
                    reason: verdict.reason,
                })
            })
            .collect()
        })
    }
}

fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        event_id: r.get(0)?,
        ticket_id: r.get(1)?,
        type_id: r.get(2)?,
        holder: r.get(3)?,
        barcode: r.get(4)?,
        valid_from: r.get::<_, Option<i64>>(5)?.map(Millis),
        valid_until: r.get::<_, Option<i64>>(6)?.map(Millis),
        revoked: r.get(7)?,
    })
}

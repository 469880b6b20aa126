//! Recording a scan: [`Store::record_scan`], the gate's hot path.

use std::collections::VecDeque;
use std::time::Duration;

use gerbang_core::{
    decide, Code, CodeError, Context, Direction, Millis, Movement, Scan, TicketRecord, Verdict,
};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{counters, tickets, Store};
use crate::error::Result;

/// The most of a scanned text the log keeps. Longer input is refused by [`Code::parse`] anyway;
/// the log keeps enough of it to see what was scanned.
pub const MAX_STORED_CODE_CHARS: usize = 512;

/// What happened to a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanOutcome {
    /// The scan's id in the log (and at the relay). For a duplicate, the first sighting's.
    pub scan_id: Uuid,
    pub verdict: Verdict,
    /// True when this was the camera seeing the code of the previous scan again: nothing was
    /// recorded, and `verdict` is the earlier one.
    pub duplicate: bool,
    /// When the scan was recorded.
    pub at: Millis,
}

/// Where a logged scan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Origin {
    /// At this gate.
    Local,
    /// At another gate, received from the relay.
    Remote,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Remote => "remote",
        }
    }
}

impl Store {
    /// Decides a scanned text at this gate, for the active event, and records it.
    ///
    /// The scan row, its outbox row and the event's counters are written in one transaction:
    /// after a crash either all of them are there or none is. Input that is not a ticket at all
    /// (empty, too long, control characters) is refused *and recorded* as `malformed`, so the log
    /// shows the attempt; the stored code is cut to `MAX_STORED_CODE_CHARS` (512).
    ///
    /// The same text seen again at the same gate (same event, same direction) within the
    /// duplicate window of the last sighting returns the first outcome with `duplicate: true`
    /// and writes nothing. The window slides with each sighting, so a code held in front of the
    /// camera stays one scan. Recent scans are remembered in memory only: after a restart the
    /// next sighting is a new scan.
    ///
    /// Errors only when the gate is not set up (no active event or gate rules) or the database
    /// fails; a refused ticket is a verdict, not an error.
    ///
    /// The text of an admission by name (`GBM:…`) is refused here as forged: anyone could
    /// print it; [`Store::admit_by_name`] makes it.
    pub fn record_scan(&self, text: &str, now: Millis) -> Result<ScanOutcome> {
        self.record(text, false, now)
    }

    /// Admits ticket `ticket_id` of `event_id` by its holder's name (or lets it out, at
    /// an exit gate), for a person whose code cannot be shown: staff pick them from the search
    /// and check them. Decided and recorded exactly like a scan of the ticket, with the text
    /// [`Code::manual_text`] as its code, so the log shows how it was admitted; the relay
    /// decides it again from its own copy of the ticket.
    ///
    /// `event_id` is the event the ticket was found in: a ticket of an event other than the
    /// active one (the event changed while the search was on screen) is refused as such.
    pub fn admit_by_name(&self, event_id: u32, ticket_id: u32, now: Millis) -> Result<ScanOutcome> {
        self.record(&Code::manual_text(event_id, ticket_id), true, now)
    }

    /// Decides and records `text` for the active event: made by [`Store::admit_by_name`] when
    /// `by_name`, else scanned or typed (and then never an admission by name). `by_name` also
    /// keeps the two apart in the duplicate window.
    fn record(&self, text: &str, by_name: bool, now: Millis) -> Result<ScanOutcome> {
        let mut w = self.writer();
        let w = &mut *w;
        let active = w.active()?;
        let (event, gate) = (&active.event, &active.gate);

        let key = ScanKey {
            event_id: event.id,
            gate: gate.gate.clone(),
            direction: gate.direction,
            code: stored_code(text),
            by_name,
        };
        if let Some(outcome) = w.recent.sighting(&key, now, w.duplicate_window) {
            return Ok(outcome);
        }

        let code = if by_name {
            Code::parse(text)
        } else {
            Code::parse_scanned(text)
        };
        // IMMEDIATE: take the write lock before reading, so that no other process's scan can
        // slip between what this decision reads and what it writes.
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = find_ticket(&tx, &code, event.id)?;
        let ticket_id = match (&code, &ticket) {
            (Ok(Code::Signed(signed)), _) if signed.claims.event_id == event.id => {
                Some(signed.claims.ticket_id)
            }
            (_, Some(t)) if t.event_id == event.id => Some(t.ticket_id),
            _ => None,
        };
        let history = match ticket_id {
            Some(ticket_id) => movements(&tx, event.id, ticket_id)?,
            None => Vec::new(),
        };
        let verdict = decide(
            &Scan { code: &code, now },
            &Context {
                event,
                gate,
                keys: &active.keys,
                ticket: ticket.as_ref(),
                history: &history,
                inside_now: counters::inside_now(&tx, event.id)?,
            },
        );

        let scan_id = Uuid::now_v7();
        tx.prepare_cached(
            "INSERT INTO scans (scan_id, event_id, ticket_id, code, gate, direction, at, kind,
                                reason, holder, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'local')",
        )?
        .execute(params![
            scan_id,
            event.id,
            verdict.ticket_id,
            key.code,
            gate.gate,
            gate.direction.as_str(),
            now.0,
            verdict.kind.as_str(),
            verdict.reason,
            verdict.holder,
        ])?;
        tx.prepare_cached("INSERT INTO outbox (local_seq) VALUES (?1)")?
            .execute([tx.last_insert_rowid()])?;
        counters::count_scan(&tx, event.id, verdict.kind)?;
        tx.commit()?;

        let outcome = ScanOutcome {
            scan_id,
            verdict,
            duplicate: false,
            at: now,
        };
        w.recent.remember(key, outcome.clone(), now);
        Ok(outcome)
    }
}

/// The scanned text as the log keeps it: trimmed (a keyboard-wedge scanner ends it with a line
/// break) and cut to [`MAX_STORED_CODE_CHARS`].
fn stored_code(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_STORED_CODE_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// The cache's record of the scanned ticket: by number for a signed code or an admission by
/// name of this event, by barcode (in any event) for an opaque one.
fn find_ticket(
    conn: &Connection,
    code: &Result<Code, CodeError>,
    event_id: u32,
) -> Result<Option<TicketRecord>> {
    match code {
        Ok(Code::Signed(signed)) if signed.claims.event_id == event_id => {
            tickets::ticket_by_id(conn, event_id, signed.claims.ticket_id)
        }
        Ok(Code::Manual {
            event_id: of,
            ticket_id,
        }) if *of == event_id => tickets::ticket_by_id(conn, event_id, *ticket_id),
        Ok(Code::Opaque(text)) => tickets::ticket_by_barcode(conn, text, event_id),
        _ => Ok(None),
    }
}

/// A ticket's accepted movements, oldest first: in the relay's order where known, then this
/// gate's own order for what the relay has not yet numbered. A scan counts as accepted by the
/// relay's verdict once known (the second of two offline admissions is not a movement).
fn movements(conn: &Connection, event_id: u32, ticket_id: u32) -> Result<Vec<Movement>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, gate, direction FROM scans
         WHERE event_id = ?1 AND ticket_id = ?2
           AND coalesce(official, kind) IN ('admitted', 'exit_recorded')
         ORDER BY seq IS NULL, seq, local_seq",
    )?;
    let rows = stmt.query_map(params![event_id, ticket_id], |row| {
        let direction: String = row.get(2)?;
        Ok(Movement {
            at: Millis(row.get(0)?),
            gate: row.get(1)?,
            direction: parse_direction(&direction, 2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn parse_direction(text: &str, column: usize) -> rusqlite::Result<Direction> {
    match text {
        "entry" => Ok(Direction::Entry),
        "exit" => Ok(Direction::Exit),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown direction {other:?}").into(),
        )),
    }
}

/// What makes two sightings the same scan.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScanKey {
    event_id: u32,
    gate: String,
    direction: Direction,
    code: String,
    /// Made by [`Store::admit_by_name`], not scanned.
    by_name: bool,
}

/// The last few scans, for [`Store::record_scan`]'s duplicate rule. A camera re-reads the code
/// in front of it, so a handful of entries is plenty; it is kept small so a lookup is a short
/// linear scan.
#[derive(Debug, Default)]
pub(crate) struct RecentScans {
    entries: VecDeque<Recent>,
}

#[derive(Debug)]
struct Recent {
    key: ScanKey,
    last_seen: Millis,
    outcome: ScanOutcome,
}

impl RecentScans {
    const CAPACITY: usize = 32;

    /// If `key` was seen less than `window` ago, counts this sighting (sliding the window) and
    /// returns the recorded outcome as a duplicate.
    fn sighting(&mut self, key: &ScanKey, now: Millis, window: Duration) -> Option<ScanOutcome> {
        let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let entry = self.entries.iter_mut().find(|e| e.key == *key)?;
        // A clock stepped back counts as "just now" rather than as a new scan.
        if now.0.saturating_sub(entry.last_seen.0) >= window {
            return None;
        }
        entry.last_seen = entry.last_seen.max(now);
        Some(ScanOutcome {
            duplicate: true,
            ..entry.outcome.clone()
        })
    }

    fn remember(&mut self, key: ScanKey, outcome: ScanOutcome, now: Millis) {
        self.entries.retain(|e| e.key != key);
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Recent {
            key,
            last_seen: now,
            outcome,
        });
    }
}

#[cfg(test)]
mod tests {
    use gerbang_core::{EventRules, GateRules, TicketType, VerdictKind};

    use super::*;

    fn store_with_one_ticket() -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .upsert_event(&EventRules {
                id: 1,
                name: "Test".into(),
                doors_open: None,
                doors_close: None,
                capacity: None,
                reentry: true,
                max_entries_per_day: None,
                max_entries_total: None,
                utc_offset_minutes: 0,
                ticket_types: vec![TicketType {
                    id: 1,
                    name: "Reguler".into(),
                }],
            })
            .unwrap();
        store.set_active_event(1).unwrap();
        store
            .set_gate_rules(&GateRules {
                gate: "A".into(),
                direction: Direction::Entry,
                allowed_types: vec![],
            })
            .unwrap();
        store
            .load_tickets(
                1,
                [TicketRecord {
                    event_id: 1,
                    ticket_id: 1,
                    type_id: 1,
                    holder: "Budi".into(),
                    barcode: Some("EXT-1".into()),
                    valid_from: None,
                    valid_until: None,
                    revoked: false,
                }],
            )
            .unwrap();
        store
    }

    #[test]
    fn a_scan_whose_transaction_fails_leaves_nothing_behind() {
        let store = store_with_one_ticket();
        // The outbox insert, the second write of the transaction, fails.
        store.execute_batch_for_test(
            "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox
             BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;",
        );
        let err = store.record_scan("EXT-1", Millis(0)).unwrap_err();
        assert!(err.to_string().contains("simulated failure"), "{err}");
        assert!(store.recent_scans(10).unwrap().is_empty());
        assert_eq!(store.outbox_depth().unwrap(), 0);
        assert_eq!(store.counters(1, None).unwrap().admitted, 0);

        // Nor is the failed scan remembered: the next sighting is a first scan, admitted.
        store.execute_batch_for_test("DROP TRIGGER fail_outbox");
        let outcome = store.record_scan("EXT-1", Millis(1)).unwrap();
        assert_eq!(outcome.verdict.kind, VerdictKind::Admitted);
        assert!(!outcome.duplicate);
        assert_eq!(store.outbox_depth().unwrap(), 1);
    }

    #[test]
    fn the_stored_code_is_trimmed_and_cut_on_a_character_boundary() {
        assert_eq!(stored_code(" EXT-1\r\n"), "EXT-1");
        let long = "ä".repeat(600);
        assert_eq!(stored_code(&long).chars().count(), MAX_STORED_CODE_CHARS);
    }
}

//! What the gate is set up to check: events and their ticket types, verifying keys, and the
//! gate's own settings.

use std::time::Duration;

use gerbang_core::{
    Direction, EventKey, EventRules, GateRules, Keyring, Millis, PublicKey, TicketType,
};
use rusqlite::{params, Connection, OptionalExtension};

use super::{Active, Store, DEFAULT_DUPLICATE_WINDOW};
use crate::camera::CameraChoice;
use crate::error::{Error, Result};

/// The keys of the `settings` table.
pub(crate) mod key {
    pub const GATE_NAME: &str = "gate_name";
    pub const DIRECTION: &str = "direction";
    /// A JSON array of ticket type ids; empty means all.
    pub const ALLOWED_TYPES: &str = "allowed_types";
    pub const ACTIVE_EVENT: &str = "active_event";
    pub const DUPLICATE_WINDOW_MS: &str = "duplicate_window_ms";
    /// The device token from pairing with a relay (filled in by the pairing work).
    pub const DEVICE_TOKEN: &str = "device_token";
    /// The relay this gate is paired with (`ws://host:port`).
    pub const RELAY: &str = "relay";
    /// The relay certificate's SHA-256 fingerprint, pinned at pairing (`wss://` only).
    pub const RELAY_FINGERPRINT: &str = "relay_fingerprint";
    /// The name the relay knows this device by.
    pub const DEVICE_NAME: &str = "device_name";
    /// Which relay the cache follows (see [`super::relay_identity`]); kept when a pairing is
    /// forgotten, so pairing with another relay later is noticed.
    pub const RELAY_IDENTITY: &str = "relay_identity";
    /// When the checkpoint thread last copied the whole log back (Unix ms), for diagnostics;
    /// writing it is what starts the log over off the scan path (see `checkpoint`).
    pub const LAST_CHECKPOINT_MS: &str = "last_checkpoint_ms";
    /// The camera the operator chose: a JSON `CameraChoice` (`{"index": 0, "name": "…"}`).
    pub const CAMERA: &str = "camera";
}

impl Store {
    /// Adds or replaces an event and its ticket types (types no longer listed are removed).
    pub fn upsert_event(&self, event: &EventRules) -> Result<()> {
        let mut w = self.writer();
        let tx = w.conn.transaction()?;
        put_event(&tx, event)?;
        tx.commit()?;
        w.invalidate();
        Ok(())
    }

    /// The event with this id, if the gate knows it.
    pub fn event(&self, event_id: u32) -> Result<Option<EventRules>> {
        self.read(|conn| load_event(conn, event_id))
    }

    /// Trusts a verifying key (or replaces the key with its id). Adding a retired key again
    /// brings it back.
    pub fn add_key(&self, key: EventKey) -> Result<()> {
        let mut w = self.writer();
        put_key(&w.conn, key)?;
        w.invalidate();
        Ok(())
    }

    /// Stops trusting a key (after a rotation): codes it signed are refused as forged from now
    /// on. Retiring a key the gate does not have is not an error.
    pub fn retire_key(&self, event_id: u32, key_id: u8) -> Result<()> {
        let mut w = self.writer();
        retire_key(&w.conn, event_id, key_id)?;
        w.invalidate();
        Ok(())
    }

    /// The keys the gate trusts for an event (retired keys left out).
    pub fn keyring(&self, event_id: u32) -> Result<Keyring> {
        self.read(|conn| load_keyring(conn, event_id))
    }

    /// The gate's name, direction and admitted types, once set.
    pub fn gate_rules(&self) -> Result<Option<GateRules>> {
        self.read(load_gate_rules)
    }

    pub fn set_gate_rules(&self, rules: &GateRules) -> Result<()> {
        let allowed = serde_json::to_string(&rules.allowed_types)
            .map_err(|e| Error::Corrupt(format!("allowed types: {e}")))?;
        let mut w = self.writer();
        let tx = w.conn.transaction()?;
        put(&tx, key::GATE_NAME, &rules.gate)?;
        put(&tx, key::DIRECTION, rules.direction.as_str())?;
        put(&tx, key::ALLOWED_TYPES, &allowed)?;
        tx.commit()?;
        w.invalidate();
        Ok(())
    }

    /// The event this gate checks, once chosen.
    pub fn active_event(&self) -> Result<Option<u32>> {
        self.read(load_active_event)
    }

    /// Chooses the event this gate checks; it must be known (see [`Store::upsert_event`]).
    pub fn set_active_event(&self, event_id: u32) -> Result<()> {
        let mut w = self.writer();
        if load_event(&w.conn, event_id)?.is_none() {
            return Err(Error::UnknownEvent(event_id));
        }
        put(&w.conn, key::ACTIVE_EVENT, &event_id.to_string())?;
        w.invalidate();
        Ok(())
    }

    /// How far apart two sightings of the same code at this gate must be to count as two scans.
    pub fn duplicate_window(&self) -> Duration {
        self.writer().duplicate_window
    }

    /// Sets the duplicate window (zero turns camera de-duplication off). Kept across restarts.
    pub fn set_duplicate_window(&self, window: Duration) -> Result<()> {
        let mut w = self.writer();
        put(
            &w.conn,
            key::DUPLICATE_WINDOW_MS,
            &window.as_millis().to_string(),
        )?;
        w.duplicate_window = window;
        Ok(())
    }

    /// The camera the operator chose, if any (none: the first camera the system lists).
    pub fn camera(&self) -> Result<Option<CameraChoice>> {
        self.read(|conn| {
            get(conn, key::CAMERA)?
                .map(|json| {
                    serde_json::from_str(&json)
                        .map_err(|e| Error::Corrupt(format!("camera choice {json:?}: {e}")))
                })
                .transpose()
        })
    }

    /// Remembers the operator's camera (or, with `None`, forgets it). Kept across restarts.
    pub fn set_camera(&self, choice: Option<&CameraChoice>) -> Result<()> {
        let w = self.writer();
        match choice {
            Some(choice) => {
                let json = serde_json::to_string(choice)
                    .map_err(|e| Error::Corrupt(format!("camera choice: {e}")))?;
                put(&w.conn, key::CAMERA, &json)
            }
            None => {
                w.conn
                    .execute("DELETE FROM settings WHERE key = ?1", [key::CAMERA])?;
                Ok(())
            }
        }
    }

    /// The token this gate authenticates to its relay with, once paired.
    pub fn device_token(&self) -> Result<Option<String>> {
        self.read(|conn| get(conn, key::DEVICE_TOKEN))
    }

    /// Stores (or, with `None`, forgets) the device token.
    pub fn set_device_token(&self, token: Option<&str>) -> Result<()> {
        let w = self.writer();
        match token {
            Some(token) => put(&w.conn, key::DEVICE_TOKEN, token),
            None => {
                w.conn
                    .execute("DELETE FROM settings WHERE key = ?1", [key::DEVICE_TOKEN])?;
                Ok(())
            }
        }
    }
}

/// Adds or replaces an event and its ticket types; call in a transaction, then drop the
/// writer's cache of the active event.
pub(crate) fn put_event(conn: &Connection, event: &EventRules) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (event_id, name, doors_open, doors_close, capacity, reentry,
                             max_entries_per_day, max_entries_total, utc_offset_minutes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO UPDATE SET
             name = excluded.name, doors_open = excluded.doors_open,
             doors_close = excluded.doors_close, capacity = excluded.capacity,
             reentry = excluded.reentry, max_entries_per_day = excluded.max_entries_per_day,
             max_entries_total = excluded.max_entries_total,
             utc_offset_minutes = excluded.utc_offset_minutes",
    )?
    .execute(params![
        event.id,
        event.name,
        event.doors_open.map(|m| m.0),
        event.doors_close.map(|m| m.0),
        event.capacity,
        event.reentry,
        event.max_entries_per_day,
        event.max_entries_total,
        event.utc_offset_minutes,
    ])?;
    conn.prepare_cached("DELETE FROM ticket_types WHERE event_id = ?1")?
        .execute([event.id])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO ticket_types (event_id, type_id, name) VALUES (?1, ?2, ?3)",
    )?;
    for t in &event.ticket_types {
        insert.execute(params![event.id, t.id, t.name])?;
    }
    Ok(())
}

/// Trusts a verifying key, refusing bytes that are not an Ed25519 point.
pub(crate) fn put_key(conn: &Connection, key: EventKey) -> Result<()> {
    // Refuse a bad key now, not at the first scan.
    Keyring::new().insert(key).map_err(Error::InvalidKey)?;
    conn.prepare_cached(
        "INSERT INTO verifying_keys (event_id, key_id, public_key, retired)
         VALUES (?1, ?2, ?3, 0)
         ON CONFLICT (event_id, key_id) DO UPDATE SET
             public_key = excluded.public_key, retired = 0",
    )?
    .execute(params![
        key.event_id,
        key.key_id,
        key.public_key.to_string()
    ])?;
    Ok(())
}

pub(crate) fn retire_key(conn: &Connection, event_id: u32, key_id: u8) -> Result<()> {
    conn.prepare_cached(
        "UPDATE verifying_keys SET retired = 1 WHERE event_id = ?1 AND key_id = ?2",
    )?
    .execute(params![event_id, key_id])?;
    Ok(())
}

/// What a gate keeps from pairing with a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// `ws://host:port` or `wss://host:port`.
    pub relay: String,
    pub token: String,
    /// The relay certificate's SHA-256 fingerprint (lowercase hex), for `wss://`.
    pub fingerprint: Option<String>,
    pub device_name: String,
}

impl Store {
    /// The relay this gate is paired with, if any.
    pub fn pairing(&self) -> Result<Option<Pairing>> {
        self.read(|conn| {
            let (Some(relay), Some(token)) =
                (get(conn, key::RELAY)?, get(conn, key::DEVICE_TOKEN)?)
            else {
                return Ok(None);
            };
            Ok(Some(Pairing {
                relay,
                token,
                fingerprint: get(conn, key::RELAY_FINGERPRINT)?,
                device_name: get(conn, key::DEVICE_NAME)?.unwrap_or_default(),
            }))
        })
    }

    /// Stores a pairing (replacing any earlier one), or with `None` forgets it. Forgetting
    /// keeps the cache and the outbox: unsent scans go to the next relay the gate pairs with.
    ///
    /// Pairing with a *different* relay (another certificate, or for plain `ws://` another
    /// address) starts the cache over in the same transaction: that relay's log is not the one
    /// the cache followed, so what the old one brought (events, keys, tickets, other gates'
    /// scans, messages, and this gate's scans it acknowledged, which are in its log) is
    /// dropped and the cursor goes back to 0. Scans the old relay never acknowledged stay in
    /// the outbox and go to the new one. The same relay at a new address (a hosted relay
    /// whose port moved) keeps everything.
    pub fn set_pairing(&self, pairing: Option<&Pairing>) -> Result<()> {
        let mut w = self.writer();
        let tx = w.conn.transaction()?;
        if let Some(p) = pairing {
            let followed = match get(&tx, key::RELAY_IDENTITY)? {
                Some(identity) => Some(identity),
                // Stores paired before the identity was kept: the stored pairing says.
                None => get(&tx, key::RELAY)?.map(|relay| {
                    relay_identity(
                        &relay,
                        get(&tx, key::RELAY_FINGERPRINT).ok().flatten().as_deref(),
                    )
                }),
            };
            let identity = relay_identity(&p.relay, p.fingerprint.as_deref());
            if followed.is_some_and(|followed| followed != identity) {
                super::remote::forget_relay_cache(&tx)?;
            }
            put(&tx, key::RELAY_IDENTITY, &identity)?;
        }
        tx.execute(
            "DELETE FROM settings WHERE key IN (?1, ?2, ?3, ?4)",
            [
                key::RELAY,
                key::DEVICE_TOKEN,
                key::RELAY_FINGERPRINT,
                key::DEVICE_NAME,
            ],
        )?;
        if let Some(p) = pairing {
            put(&tx, key::RELAY, &p.relay)?;
            put(&tx, key::DEVICE_TOKEN, &p.token)?;
            put(&tx, key::DEVICE_NAME, &p.device_name)?;
            if let Some(fp) = &p.fingerprint {
                put(&tx, key::RELAY_FINGERPRINT, fp)?;
            }
        }
        tx.commit()?;
        w.invalidate();
        Ok(())
    }
}

/// Who a relay is: its certificate's fingerprint when it has one (a hosted relay keeps its
/// certificate when its port moves), else its address.
pub(crate) fn relay_identity(relay: &str, fingerprint: Option<&str>) -> String {
    match fingerprint {
        Some(fp) => format!("fingerprint:{}", fp.to_ascii_lowercase()),
        None => format!("address:{relay}"),
    }
}

impl Store {
    /// A setting of the app that runs this gate (language, sounds, ...), under its own
    /// namespace (`app.<name>`), so it can never collide with the gate's own settings. The
    /// store keeps the text and does not interpret it.
    pub fn app_setting(&self, name: &str) -> Result<Option<String>> {
        self.read(|conn| get(conn, &format!("app.{name}")))
    }

    /// Stores an app setting (see [`Store::app_setting`]); `None` removes it.
    pub fn set_app_setting(&self, name: &str, value: Option<&str>) -> Result<()> {
        let w = self.writer();
        let key = format!("app.{name}");
        match value {
            Some(value) => put(&w.conn, &key, value),
            None => {
                w.conn
                    .execute("DELETE FROM settings WHERE key = ?1", [key])?;
                Ok(())
            }
        }
    }
}

fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

fn put(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

pub(crate) fn load_event(conn: &Connection, event_id: u32) -> Result<Option<EventRules>> {
    let event = conn
        .prepare_cached(
            "SELECT name, doors_open, doors_close, capacity, reentry, max_entries_per_day,
                    max_entries_total, utc_offset_minutes
             FROM events WHERE event_id = ?1",
        )?
        .query_row([event_id], |row| {
            Ok(EventRules {
                id: event_id,
                name: row.get(0)?,
                doors_open: row.get::<_, Option<i64>>(1)?.map(Millis),
                doors_close: row.get::<_, Option<i64>>(2)?.map(Millis),
                capacity: row.get(3)?,
                reentry: row.get(4)?,
                max_entries_per_day: row.get(5)?,
                max_entries_total: row.get(6)?,
                utc_offset_minutes: row.get(7)?,
                ticket_types: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut event) = event else {
        return Ok(None);
    };
    let mut types = conn.prepare_cached(
        "SELECT type_id, name FROM ticket_types WHERE event_id = ?1 ORDER BY type_id",
    )?;
    event.ticket_types = types
        .query_map([event_id], |row| {
            Ok(TicketType {
                id: row.get(0)?,
                name: row.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(event))
}

pub(crate) fn load_keyring(conn: &Connection, event_id: u32) -> Result<Keyring> {
    let mut keyring = Keyring::new();
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, public_key FROM verifying_keys WHERE event_id = ?1 AND retired = 0",
    )?;
    let rows = stmt.query_map([event_id], |row| {
        Ok((row.get::<_, u8>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (key_id, hex) = row?;
        let public_key: PublicKey = hex
            .parse()
            .map_err(|e| Error::Corrupt(format!("key {key_id} of event {event_id}: {e}")))?;
        keyring
            .insert(EventKey {
                event_id,
                key_id,
                public_key,
            })
            .map_err(Error::Corrupt)?;
    }
    Ok(keyring)
}

fn load_gate_rules(conn: &Connection) -> Result<Option<GateRules>> {
    let Some(gate) = get(conn, key::GATE_NAME)? else {
        return Ok(None);
    };
    let direction = match get(conn, key::DIRECTION)?.as_deref() {
        Some("exit") => Direction::Exit,
        Some("entry") | None => Direction::Entry,
        Some(other) => return Err(Error::Corrupt(format!("gate direction {other:?}"))),
    };
    let allowed_types = match get(conn, key::ALLOWED_TYPES)? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| Error::Corrupt(format!("allowed types {json:?}: {e}")))?,
        None => Vec::new(),
    };
    Ok(Some(GateRules {
        gate,
        direction,
        allowed_types,
    }))
}

fn load_active_event(conn: &Connection) -> Result<Option<u32>> {
    get(conn, key::ACTIVE_EVENT)?
        .map(|id| {
            id.parse()
                .map_err(|_| Error::Corrupt(format!("active event {id:?}")))
        })
        .transpose()
}

pub(crate) fn load_duplicate_window(conn: &Connection) -> Result<Duration> {
    match get(conn, key::DUPLICATE_WINDOW_MS)? {
        Some(ms) => ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| Error::Corrupt(format!("duplicate window {ms:?}"))),
        None => Ok(DEFAULT_DUPLICATE_WINDOW),
    }
}

/// Everything the scan path needs, from the database.
pub(crate) fn load_active(conn: &Connection) -> Result<Active> {
    let event_id = load_active_event(conn)?.ok_or(Error::NotConfigured(
        "no event is chosen; choose the event this gate checks",
    ))?;
    let event = load_event(conn, event_id)?.ok_or(Error::UnknownEvent(event_id))?;
    let gate = load_gate_rules(conn)?.ok_or(Error::NotConfigured(
        "the gate has no name and direction yet; set them first",
    ))?;
    let keys = load_keyring(conn, event_id)?;
    Ok(Active { event, gate, keys })
}

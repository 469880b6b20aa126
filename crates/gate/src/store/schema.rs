//! The gate database's schema, as an append-only list of migrations.
//!
//! Never edit a migration that has shipped: add a new one at the end. Each is named after the
//! moment it was written (UTC), so two branches adding one do not collide silently.
//! `rusqlite_migration` applies every pending migration in one transaction and records the
//! schema version in `PRAGMA user_version`.
//!
//! # Tables
//!
//! * `events`: the events this gate knows, one row per [`EventRules`](gerbang_core::EventRules).
//! * `ticket_types`: each event's ticket types (regular, VIP, ...).
//! * `tickets`: the ticket cache. `id` is a stable row id for the full-text index (an implicit
//!   rowid may change on `VACUUM`); `(event_id, ticket_id)` is the ticket's identity; a barcode
//!   is unique per event. The `(barcode, event_id)` index also finds a barcode in *any* event, so
//!   a ticket for another event is reported as such rather than as unknown.
//! * `tickets_fts`: an FTS5 index of holder names over `tickets` (external content, kept in sync
//!   by triggers), case- and accent-insensitive (`unicode61 remove_diacritics 2`).
//! * `verifying_keys`: each event's Ed25519 public keys, by key id; retired keys stay, flagged,
//!   so a rotation is visible in the data.
//! * `scans`: the gate's scan log, its own scans and (later) other gates' scans from the relay.
//!   `local_seq` is the order this gate learned of each scan; `seq` the relay's order once known.
//! * `outbox`: this gate's scans not yet acknowledged by the relay, by `local_seq`, so in the
//!   order recorded.
//! * `sync_state`: one row, the relay cursor (last relay sequence number applied).
//! * `messages`: operator messages received from the relay's log, by their log `seq`.
//! * `settings`: key/value gate settings (gate name, direction, allowed types, active event,
//!   duplicate window, device token).
//! * `event_counters`: per event, tickets issued, accepted and refused scans and people inside,
//!   updated in the same transaction as each scan or ticket change: the gate's own view, which
//!   keeps counting offline.

use rusqlite_migration::{Migrations, M};

/// The first schema.
const M_2026_11_21_2345_INITIAL: &str = r#"
CREATE TABLE events (
    event_id            INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    doors_open          INTEGER,
    doors_close         INTEGER,
    capacity            INTEGER,
    reentry             INTEGER NOT NULL,
    max_entries_per_day INTEGER,
    max_entries_total   INTEGER,
    utc_offset_minutes  INTEGER NOT NULL
) STRICT;

CREATE TABLE ticket_types (
    event_id INTEGER NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    type_id  INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    PRIMARY KEY (event_id, type_id)
) STRICT, WITHOUT ROWID;

-- type_id has no foreign key: a signed ticket's type is in its code, and a ticket may arrive
-- before an edit of its event's types does.
CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events (event_id),
    ticket_id   INTEGER NOT NULL,
    type_id     INTEGER NOT NULL,
    holder      TEXT    NOT NULL,
    barcode     TEXT,
    valid_from  INTEGER,
    valid_until INTEGER,
    revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    UNIQUE (event_id, ticket_id)
) STRICT;

CREATE UNIQUE INDEX tickets_by_barcode ON tickets (barcode, event_id) WHERE barcode IS NOT NULL;
CREATE INDEX tickets_revoked ON tickets (event_id) WHERE revoked = 1;

CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    holder,
    content = 'tickets',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, holder) VALUES (new.id, new.holder);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, holder) VALUES ('delete', old.id, old.holder);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF holder ON tickets
WHEN old.holder IS NOT new.holder BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, holder) VALUES ('delete', old.id, old.holder);
    INSERT INTO tickets_fts (rowid, holder) VALUES (new.id, new.holder);
END;

CREATE TABLE verifying_keys (
    event_id   INTEGER NOT NULL,
    key_id     INTEGER NOT NULL,
    public_key TEXT    NOT NULL CHECK (length(public_key) = 64),
    retired    INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
    PRIMARY KEY (event_id, key_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE scans (
    local_seq INTEGER PRIMARY KEY,
    scan_id   BLOB    NOT NULL UNIQUE CHECK (length(scan_id) = 16),
    event_id  INTEGER NOT NULL REFERENCES events (event_id),
    ticket_id INTEGER,
    code      TEXT    NOT NULL,
    gate      TEXT    NOT NULL,
    direction TEXT    NOT NULL CHECK (direction IN ('entry', 'exit')),
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    holder    TEXT,
    seq       INTEGER,
    official  TEXT,
    conflict  INTEGER NOT NULL DEFAULT 0 CHECK (conflict IN (0, 1)),
    origin    TEXT    NOT NULL CHECK (origin IN ('local', 'remote'))
) STRICT;

CREATE INDEX scans_by_ticket ON scans (event_id, ticket_id);
CREATE INDEX scans_by_gate ON scans (event_id, gate, kind);
CREATE UNIQUE INDEX scans_by_seq ON scans (seq) WHERE seq IS NOT NULL;

-- A scan waiting for the relay, by its place in the log: the outbox's order is the order the
-- scans were recorded, and one small b-tree (no index on a scan id) keeps each scan's commit
-- to as few pages as possible.
CREATE TABLE outbox (
    local_seq INTEGER PRIMARY KEY REFERENCES scans (local_seq)
) STRICT;

CREATE TABLE sync_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL
) STRICT;
INSERT INTO sync_state (id, cursor) VALUES (1, 0);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- issued is recounted at the end of every ticket load and adjusted by each revocation, so
-- the dashboard never counts a million tickets.
CREATE TABLE event_counters (
    event_id   INTEGER PRIMARY KEY REFERENCES events (event_id),
    issued     INTEGER NOT NULL DEFAULT 0,
    admitted   INTEGER NOT NULL DEFAULT 0,
    exits      INTEGER NOT NULL DEFAULT 0,
    inside_now INTEGER NOT NULL DEFAULT 0,
    refused    INTEGER NOT NULL DEFAULT 0
) STRICT;
"#;

/// Operator messages from the relay's log ("open lane 3"), for the messages screen.
const M_2026_11_22_0200_MESSAGES: &str = r#"
CREATE TABLE messages (
    message_id BLOB    PRIMARY KEY CHECK (length(message_id) = 16),
    seq        INTEGER NOT NULL UNIQUE,
    sender     TEXT    NOT NULL,
    recipient  TEXT,
    text       TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
"#;

/// The attendance log is listed by time, per event: newest first on screen, oldest first in an
/// export; `local_seq` breaks ties so paging is stable.
const M_2026_11_30_2000_SCANS_BY_TIME: &str = r#"
CREATE INDEX scans_by_time ON scans (event_id, at, local_seq);
"#;

/// Every migration, oldest first. Append only.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(M_2026_11_21_2345_INITIAL),
        M::up(M_2026_11_22_0200_MESSAGES),
        M::up(M_2026_11_30_2000_SCANS_BY_TIME),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}

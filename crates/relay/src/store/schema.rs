//! The relay's SQLite schema. Migrations are append-only: never edit one that has shipped,
//! add a new one.

use rusqlite_migration::{Migrations, M};

/// 2026-11-21: the event log and what it is decided against.
const INITIAL: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    -- gerbang_core::EventRules as JSON: read whole, rarely written.
    rules TEXT NOT NULL
);
CREATE TABLE event_keys (
    event_id INTEGER NOT NULL REFERENCES events(id),
    key_id INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    -- The signing secret; only the relay has it. NULL for keys imported without one.
    secret BLOB,
    retired INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, key_id)
);
CREATE TABLE tickets (
    event_id INTEGER NOT NULL REFERENCES events(id),
    ticket_id INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    holder TEXT NOT NULL,
    barcode TEXT,
    valid_from INTEGER,
    valid_until INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, ticket_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX tickets_by_barcode ON tickets(event_id, barcode) WHERE barcode IS NOT NULL;
CREATE TABLE gates (
    name TEXT PRIMARY KEY,
    -- JSON array of ticket type ids admitted here; empty admits all.
    allowed_types TEXT NOT NULL DEFAULT '[]'
);
-- The system of record: append-only, one row per entry, seq is the global order.
CREATE TABLE log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    -- gerbang_core::protocol::LogBody as JSON, exactly what gates receive.
    body TEXT NOT NULL,
    -- For scans: indexed copies of what queries and the official decision need.
    scan_id TEXT UNIQUE,
    event_id INTEGER,
    ticket_id INTEGER,
    gate TEXT,
    direction TEXT,
    scanned_at INTEGER,
    official TEXT,
    conflict INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX log_by_ticket ON log(event_id, ticket_id, seq) WHERE ticket_id IS NOT NULL;
CREATE INDEX log_by_event_kind ON log(event_id, kind, seq);
-- Paired devices. Tokens are random and only their SHA-256 is kept.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('gate', 'supervisor', 'admin')),
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
-- One-time pairing codes, also kept only as hashes.
CREATE TABLE pairing_codes (
    code_hash BLOB PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('gate', 'supervisor', 'admin')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
";

/// 2026-11-24: indexes for the attendance log's filters, newest first. Each serves one filter
/// with the keyset paging order (`seq` descending) after its equality, so a page reads only
/// its own rows; the event's scans without a filter use `log_by_event_kind`.
const ATTENDANCE_INDEXES: &str = "
CREATE INDEX log_scans_by_gate ON log(event_id, gate, seq) WHERE kind = 'scan';
CREATE INDEX log_scans_by_verdict ON log(event_id, official, seq) WHERE kind = 'scan';
CREATE INDEX log_scans_by_time ON log(event_id, scanned_at) WHERE kind = 'scan';
CREATE INDEX log_conflicts ON log(event_id, seq) WHERE conflict = 1;
";

/// 2026-12-01: an opaque code (an imported barcode) is looked up by its barcode alone, in the
/// event being checked first and then in any (a ticket of another event is refused as such).
/// The unique index began with the event, so it could not serve that lookup and every opaque
/// scan read the whole ticket table: 52,000 imported tickets made a load test's scans
/// quadratic. The same uniqueness, barcode first.
const BARCODE_FIRST: &str = "
DROP INDEX tickets_by_barcode;
CREATE UNIQUE INDEX tickets_by_barcode ON tickets(barcode, event_id) WHERE barcode IS NOT NULL;
";

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(INITIAL),
        M::up(ATTENDANCE_INDEXES),
        M::up(BARCODE_FIRST),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    /// The writer's lookup of an opaque code reads the barcode index, not the ticket table.
    #[test]
    fn opaque_codes_are_looked_up_by_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT ticket_id FROM tickets \
                 WHERE barcode = ?1 ORDER BY event_id = ?2 DESC LIMIT 1",
            )
            .unwrap()
            .query_map(rusqlite::params!["GRB-1", 7], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.starts_with("SEARCH tickets")
                && step.contains("INDEX tickets_by_barcode (barcode=?)")),
            "{plan:?}"
        );
    }
}

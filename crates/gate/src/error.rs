//! The gate's error type.

use gerbang_core::import::ImportErrors;

/// Everything that can go wrong in the gate, each with a message that says what happened and
/// what to do. A scan that is refused is not an error: it is a [`gerbang_core::Verdict`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the gate's database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the gate's database could not be brought up to date: {0}; is it from a newer Gerbang?"
    )]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the gate is not set up: {0}")]
    NotConfigured(&'static str),
    #[error("event {0} is not known to this gate; sync with the relay first")]
    UnknownEvent(u32),
    #[error("scan {0} is not in this gate's log")]
    UnknownScan(uuid::Uuid),
    #[error("ticket {ticket_id} belongs to event {found}, but was loaded into event {expected}")]
    TicketOfOtherEvent {
        ticket_id: u32,
        expected: u32,
        found: u32,
    },
    #[error("barcode {barcode:?} of ticket {ticket_id} is already the barcode of another ticket of event {event_id}; nothing was loaded")]
    DuplicateBarcode {
        event_id: u32,
        ticket_id: u32,
        barcode: String,
    },
    #[error("{0}")]
    InvalidKey(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Import(#[from] ImportErrors),
    #[error("the relay's snapshot is not valid: {0}")]
    Snapshot(#[from] gerbang_core::snapshot::SnapshotError),
    #[error("stopped before the end; nothing of it was kept")]
    Cancelled,
    #[error("the gate could not start a background thread or read a file: {0}")]
    Io(#[from] std::io::Error),
    #[error("a stored value could not be read back ({0}); the gate's database may be damaged")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

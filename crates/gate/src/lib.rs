//! gerbang-gate: everything a gate does without a window.
//!
//! # Layout
//! * [`store`]: the gate's SQLite file: events, keys and settings, the ticket cache with its
//!   name search, the scan log, the outbox for the relay, the relay cursor and the counters.
//!   [`Store::record_scan`] is the hot path: text in, [`gerbang_core::Verdict`] out, recorded
//!   with its outbox row in one transaction.
//! * [`sync`]: the sync engine (catch-up, outbox upload, heartbeats, reconnects, snapshots)
//!   and pairing.
//! * [`station`]: what a gate app holds: the store and a link to a relay that can be started,
//!   replaced or stopped, behind one status watch and one event stream.
//! * [`camera`]: webcam capture on its own threads: the newest frame decoded, each code passed
//!   on once per sighting, preview frames for the UI, a status that says what is wrong.
//! * [`decode`]: QR codes in a camera frame or an image file.
//! * [`serial`]: USB barcode scanners in serial (CDC/ACM) mode.
//! * [`wedge`]: USB barcode scanners in keyboard mode, told apart from typing.
//! * [`error`]: [`Error`], what can go wrong, each with what to do about it.
//!
//! # Invariants
//! Never depends on Tauri: the app shell calls into this crate, not the other way round.
//! The rules themselves live in `gerbang-core`; this crate gathers what they need and records
//! what they decide.

pub mod camera;
pub mod decode;
pub mod error;
pub mod serial;
pub mod station;
pub mod store;
pub mod sync;
pub mod wedge;

pub use error::{Error, Result};
pub use station::Station;
pub use store::{
    Ack, Applied, ArrivalBucket, Attendee, Counters, Durability, GateActivity, ImportReport,
    LogFilter, LogRow, Origin, Pairing, ScanOutcome, ScanRecord, SnapshotApplied, Store,
    StoredMessage, DEFAULT_DUPLICATE_WINDOW,
};

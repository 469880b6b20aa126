//! gerbang-gate: everything a gate does without a window.
//!
//! # Layout
//! * [`store`]: the gate's SQLite file: events, keys and settings, the ticket cache with its
//!   name search, the scan log, the outbox for the relay, the relay cursor and the counters.
//!   [`Store::record_scan`] is the hot path: text in, [`gerbang_core::Verdict`] out, recorded
//!   with its outbox row in one transaction.
//! * [`error`]: [`Error`], what can go wrong, each with what to do about it.
//!
//! # Invariants
//! Never depends on Tauri: the app shell calls into this crate, not the other way round.
//! The rules themselves live in `gerbang-core`; this crate gathers what they need and records
//! what they decide.

pub mod decode;
pub mod error;
pub mod store;
pub mod sync;
pub mod wedge;

pub use error::{Error, Result};
pub use store::{
    Ack, Applied, Counters, Durability, ImportReport, Origin, Pairing, ScanOutcome, ScanRecord,
    SnapshotApplied, Store, StoredMessage, DEFAULT_DUPLICATE_WINDOW,
};

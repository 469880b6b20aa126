//! gerbang-core: what Gerbang knows without touching the world.
//!
//! # Layout
//! * [`ticket`]: ticket codes. Parsing scanned text into a signed or opaque [`Code`], verifying
//!   signatures against an event's [`Keyring`], and issuing codes with an [`EventSigner`] (which
//!   only the relay holds).
//! * [`base45`]: RFC 9285 text encoding, so a signed code fits QR alphanumeric mode.
//! * [`rules`]: [`decide`], the check-in rules, shared by gates and the relay.
//! * [`protocol`]: the JSON messages between gates and the relay.
//! * [`snapshot`]: the snapshot format (JSON lines) a relay serves a device that is new or far
//!   behind, and its checking reader.
//! * [`pairing`]: the pairing text (`gerbang://pair?relay=...&code=...`) a relay shows gates.
//! * [`import`]: the CSV ticket list, parsed and checked row by row (pure: any `Read`).
//! * [`qr`]: rendering a code as a QR image (PNG, SVG) for printing and tests.
//! * [`time`]: [`Millis`], the one representation of time.
//!
//! # Invariants
//! No I/O, no clocks, no randomness, no threads: every input is an argument. That is what lets
//! the relay reuse [`decide`] for the official verdict and lets tests be plain tables.

pub mod base45;
pub mod import;
pub mod pairing;
pub mod protocol;
pub mod qr;
pub mod rules;
pub mod snapshot;
pub mod ticket;
pub mod time;

pub use rules::{
    decide, Context, Direction, EventRules, GateRules, Movement, Scan, TicketRecord, TicketType,
    Verdict, VerdictKind,
};
pub use ticket::{
    Code, CodeError, EventKey, EventSigner, Keyring, PublicKey, SignedCode, TicketClaims,
};
pub use time::Millis;

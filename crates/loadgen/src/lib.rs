//! gerbang-loadgen: puts load on a Gerbang relay over real sockets and measures it. It is a
//! client like any gate: TCP (no Nagle), TLS with the relay's certificate pinned, the WebSocket
//! protocol of `docs/PROTOCOL.md`, and the HTTP API to set up an event, its tickets and its
//! devices. The relay is started in this process, started as the real `gerbang-relay` binary
//! in a child process, or given by address and admin token.
//!
//! # Layout
//! * [`target`]: where the relay is ([`Target`]) and setting up a load on it over HTTP: an
//!   event of its own, tickets with their codes, paired gate devices ([`Setup`]).
//! * [`gate`]: one gate's WebSocket: connect, `hello`, read through `caught_up`; and the cheap
//!   reading of frames a load generator needs (which `seq`s an `entries` frame carries).
//! * [`pin`]: the TLS verifier that accepts exactly the relay's certificate.
//! * [`ingest`]: durable ingest, pipelined uploads from several gates against one scan at a
//!   time from one gate.
//! * [`fanout`]: the time from one gate sending a scan to every other gate receiving it.
//! * [`idle`]: the relay's resident memory per idle connection.
//! * [`process`]: the relay process's memory and CPU time (its writer thread's too), from
//!   `/proc`.
//! * [`percentiles`]: the summary of a set of durations.
//!
//! The binary (`src/bin/gerbang-loadgen.rs`) parses flags and prints; every measurement is a
//! function here, so tests run them with tiny numbers.

pub mod fanout;
pub mod gate;
pub mod idle;
pub mod ingest;
pub mod percentiles;
pub mod process;
pub mod target;

pub use target::{Setup, Target};

/// What can go wrong while putting load on a relay. Each message says what happened; most
/// mean the relay refused or broke the link, which is itself a result worth reading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting a relay, or an HTTP call to set one up, failed.
    #[error("setting up the relay failed: {0}")]
    Setup(String),
    /// A gate could not connect or was refused.
    #[error("a gate could not connect: {0}")]
    Connect(String),
    /// The relay said or did something the protocol does not allow at that point.
    #[error("the relay broke the protocol: {0}")]
    Protocol(String),
    /// Reading the relay process's memory or CPU time failed.
    #[error("could not read the relay process's figures: {0}")]
    Memory(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Raises this process's limit of open files to its hard maximum (the relay's and a load
/// generator's connections are files), and returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft),
    }
}

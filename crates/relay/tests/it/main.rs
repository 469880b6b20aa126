//! The relay over real sockets: an in-process server on 127.0.0.1:0 and real WebSocket clients,
//! plain and over TLS.

mod api;
mod attendance;
mod harness;
mod http;
mod hub;
mod kill;
mod metrics;
mod snapshot;
mod stats;
mod tickets;
mod tls;

pub use harness::*;

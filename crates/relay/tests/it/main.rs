//! The relay over real sockets: an in-process server on 127.0.0.1:0 and real WebSocket clients,
//! plain and over TLS.

mod harness;
mod http;
mod hub;
mod kill;
mod snapshot;
mod tls;

pub use harness::*;

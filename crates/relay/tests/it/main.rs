//! The relay over real sockets: an in-process server on 127.0.0.1:0 and real WebSocket clients.

mod api;
mod attendance;
mod harness;
mod http;
mod hub;
mod kill;
mod metrics;
mod stats;
mod tickets;

pub use harness::*;

//! End-to-end: a real relay, gates with their own SQLite files and sync engines, fault proxies
//! between them (plain, and TLS with the relay's certificate pinned), and the real binaries
//! where a process must die. Each scenario asserts exact outcomes; every wait is on a
//! condition, with a deadline.

mod chaos;
mod crashes;
mod devices;
mod gates;
mod loadgen;
mod secure;

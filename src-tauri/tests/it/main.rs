//! gerbang-app's integration tests, in one binary (see STYLE.md).
//!
//! Besides what they check, their presence makes `cargo test --workspace` build the real
//! `gerbang` binary with the same features as the rest of the test build, so scripts/test.sh's
//! smoke test runs that binary instead of compiling the app a second time.

mod config;

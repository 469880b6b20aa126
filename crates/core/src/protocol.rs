//! The wire protocol (being written).

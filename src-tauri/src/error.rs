//! The error every command returns to the UI.
//!
//! It crosses IPC as `{ "kind": "...", "message": "..." }`: the UI branches on `kind`, a stable
//! machine-readable name, and shows `message` to the operator, so it never matches on strings.

use serde::Serialize;
use std::fmt;

/// What went wrong, in terms the UI can act on. Names are stable: add, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The UI sent something the command cannot accept; the message says what.
    InvalidInput,
    /// Something is not there (a ticket, a gate, a file).
    NotFound,
    /// A bug or an environment failure the operator cannot fix from the UI.
    Internal,
}

/// A failed command, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpcError {
    /// The machine-readable kind.
    pub kind: ErrorKind,
    /// A sentence for the operator: what happened and what to do.
    pub message: String,
}

impl IpcError {
    /// An error of the given kind with the given message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for IpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_ipc_as_kind_and_message() {
        let err = IpcError::new(ErrorKind::NotFound, "No ticket has that code.");
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!({ "kind": "not_found", "message": "No ticket has that code." })
        );
    }
}

//! The error every command returns to the UI.
//!
//! It crosses IPC as `{ "kind": "...", "message": "..." }`: the UI branches on `kind`, a stable
//! machine-readable name, and shows `message` to the operator, so it never matches on strings.

use serde::Serialize;
use std::fmt;
use ts_rs::TS;

/// What went wrong, in terms the UI can act on. Names are stable: add, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The UI sent something the command cannot accept; the message says what.
    InvalidInput,
    /// Something is not there (a ticket, a gate, a file).
    NotFound,
    /// The gate cannot do this yet (no event synced, no relay hosted here).
    NotReady,
    /// The relay refused (a pairing code used or expired, a revoked device).
    Refused,
    /// The relay could not be reached.
    Unreachable,
    /// A bug or an environment failure the operator cannot fix from the UI.
    Internal,
}

/// A failed command, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
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

impl From<gerbang_gate::Error> for IpcError {
    fn from(err: gerbang_gate::Error) -> Self {
        use gerbang_gate::Error as E;
        let kind = match &err {
            E::NotConfigured(_) | E::UnknownEvent(_) => ErrorKind::NotReady,
            E::UnknownScan(_) => ErrorKind::NotFound,
            E::Invalid(_) | E::InvalidKey(_) | E::Import(_) => ErrorKind::InvalidInput,
            _ => ErrorKind::Internal,
        };
        IpcError::new(kind, err.to_string())
    }
}

impl From<gerbang_relay::Error> for IpcError {
    fn from(err: gerbang_relay::Error) -> Self {
        let kind = match &err {
            gerbang_relay::Error::Invalid(_) => ErrorKind::InvalidInput,
            _ => ErrorKind::Internal,
        };
        IpcError::new(kind, err.to_string())
    }
}

impl From<gerbang_gate::station::StationPairError> for IpcError {
    fn from(err: gerbang_gate::station::StationPairError) -> Self {
        use gerbang_gate::station::StationPairError as S;
        use gerbang_gate::sync::pairing::PairError as P;
        let kind = match &err {
            S::Text(_) => ErrorKind::InvalidInput,
            S::Pair(P::Refused(_)) => ErrorKind::Refused,
            S::Pair(P::Unreachable { .. }) => ErrorKind::Unreachable,
            S::Pair(_) => ErrorKind::Internal,
        };
        IpcError::new(kind, err.to_string())
    }
}

impl From<gerbang_gate::sync::SendError> for IpcError {
    fn from(err: gerbang_gate::sync::SendError) -> Self {
        use gerbang_gate::sync::SendError as S;
        let kind = match err {
            S::Empty | S::TooLong => ErrorKind::InvalidInput,
            S::Full | S::Stopped => ErrorKind::NotReady,
        };
        IpcError::new(kind, err.to_string())
    }
}

impl From<anyhow::Error> for IpcError {
    fn from(err: anyhow::Error) -> Self {
        // `{:#}`: the whole chain of causes on one line.
        IpcError::new(ErrorKind::Internal, format!("{err:#}"))
    }
}

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

    #[test]
    fn a_gate_that_knows_no_event_is_not_ready_rather_than_broken() {
        let err: IpcError = gerbang_gate::Error::NotConfigured("no active event").into();
        assert_eq!(err.kind, ErrorKind::NotReady);
        assert!(err.message.contains("no active event"), "{}", err.message);
    }
}

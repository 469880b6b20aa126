//! The relay's error type.

/// Everything that can go wrong inside the relay, each with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the relay database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the relay database schema could not be brought up to date: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("a stored log entry could not be read back ({0}); the database may be damaged")]
    Corrupt(String),
    #[error("the relay is shutting down")]
    ShuttingDown,
    #[error("{0}")]
    Invalid(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

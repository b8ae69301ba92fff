//! The application's error kinds. The server maps each kind to an HTTP status in one place.

use tb_cloud::CloudError;
use tb_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed or names something impossible.
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The object is in a state that forbids the request (in use, not empty, ...).
    #[error("{0}")]
    Conflict(String),
    /// The request is valid but nothing satisfies it (e.g. no placement within an RTT bound);
    /// the message explains why.
    #[error("{0}")]
    Unsatisfiable(String),
    /// Another writer changed the object between our read and our write, repeatedly.
    /// Something this server needs is missing (e.g. the agent binary): not the caller's fault.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0} was modified concurrently; retry the request")]
    ConcurrentUpdate(String),
    #[error("cloud call failed: {0}")]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document could not be decoded: a bug or a foreign writer.
    #[error("stored object {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

impl CoreError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        CoreError::InvalidInput(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        CoreError::NotFound(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        CoreError::Conflict(msg.into())
    }
}

impl From<tb_model::NameError> for CoreError {
    fn from(e: tb_model::NameError) -> Self {
        CoreError::InvalidInput(e.to_string())
    }
}

use thiserror::Error;
use vigil_model::ErrorKind;

/// Failures of a metric store.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt data in {location}: {reason}")]
    Corrupt { location: String, reason: String },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl StorageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StorageError::InvalidInput(_) => ErrorKind::InvalidInput,
            StorageError::LimitExceeded(_) => ErrorKind::LimitExceeded,
            StorageError::Unavailable(_) => ErrorKind::Unavailable,
            StorageError::Corrupt { .. } => ErrorKind::Corrupt,
            StorageError::Io { .. } | StorageError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

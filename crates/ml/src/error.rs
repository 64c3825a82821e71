//! The ML crate's errors.

use vigil_model::ErrorKind;

/// What went wrong in ML monitoring.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// An invalid `ml:` config setting.
    #[error("{field}: {reason}")]
    Config { field: String, reason: String },
    /// An event refused by the store (the codec already checked its shape).
    #[error("field {field:?}: {reason}")]
    Event { field: String, reason: String },
    /// A store limit was reached.
    #[error("{what} limit of {limit} reached{detail}")]
    Limit {
        what: &'static str,
        limit: usize,
        detail: String,
    },
    /// An unknown model.
    #[error("unknown model {0:?}")]
    UnknownModel(String),
    /// A reference dataset that cannot be used.
    #[error("reference: {0}")]
    Reference(String),
    /// Reading or writing the ML data directory failed.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// A dataset file (CSV, Parquet) that cannot be read.
    #[error(transparent)]
    Table(#[from] crate::TableError),
    /// The ML data directory holds damaged data.
    #[error("{path}: {reason}")]
    Corrupt { path: String, reason: String },
}

impl MlError {
    /// The kind the http crate maps to a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MlError::Config { .. } | MlError::Event { .. } | MlError::Reference(_) => {
                ErrorKind::InvalidInput
            }
            MlError::Limit { .. } => ErrorKind::LimitExceeded,
            MlError::UnknownModel(_) => ErrorKind::NotFound,
            MlError::Io { .. } => ErrorKind::Unavailable,
            MlError::Corrupt { .. } => ErrorKind::Corrupt,
            MlError::Table(e) => e.kind(),
        }
    }

    pub(crate) fn event(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MlError::Event {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

use thiserror::Error;
use vigil_model::ErrorKind;

/// Failures parsing or evaluating PromQL.
#[derive(Debug, Error)]
pub enum PromqlError {
    /// The text is not valid PromQL.
    #[error("{0}")]
    Parse(String),
    /// Valid PromQL, but not what the caller asked for (e.g. not a series selector).
    #[error("{0}")]
    Invalid(String),
}

impl PromqlError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

use thiserror::Error;
use vigil_model::ErrorKind;

/// Errors raised while reading or parsing a promqltest script. A parse error is a runner bug or a
/// broken script, never an unsupported feature: those become `unsupported` cases instead.
#[derive(Debug, Error)]
pub enum PromqlTestError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
}

impl PromqlTestError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PromqlTestError::Io { .. } => ErrorKind::Unavailable,
            PromqlTestError::Parse { .. } => ErrorKind::InvalidInput,
        }
    }

    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        PromqlTestError::Parse {
            line,
            message: message.into(),
        }
    }
}

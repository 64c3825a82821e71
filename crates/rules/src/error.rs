use std::fmt;

use thiserror::Error;
use vigil_model::ErrorKind;

/// One problem in a rule file, located as `file:line` (the line is absent only when the file
/// could not be read or its YAML gave no position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    pub file: String,
    pub line: Option<usize>,
    /// What was wrong, worded as `promtool check rules` words it
    /// (`group "g", rule 1, "x": could not parse expression: …`).
    pub message: String,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleFileError {}

/// Failures of the rules crate's operations other than rule-file validation.
#[derive(Debug, Error)]
pub enum RulesError {
    /// A query parameter of the rules API was invalid (`invalid parameter "type": …`).
    #[error("invalid parameter {param:?}: {reason}")]
    InvalidParam { param: String, reason: String },
    /// A rule-file glob pattern was malformed.
    #[error("invalid rule file pattern {pattern:?}: {reason}")]
    Pattern { pattern: String, reason: String },
}

impl RulesError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RulesError::InvalidParam { .. } | RulesError::Pattern { .. } => ErrorKind::InvalidInput,
        }
    }
}

use thiserror::Error;
use vigil_model::ErrorKind;

/// A template that does not parse, or that fails while it runs. The message is Go's, as
/// Prometheus or Alertmanager would report it (`template: NAME:LINE:COL: executing "NAME" at
/// <humanize "x">: error calling humanize: …`); rule expansions carry Prometheus's
/// `error executing template NAME: ` prefix, so that a caller writing
/// `<error expanding template: {err}>` reproduces Prometheus's value exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// The text is not a valid template (syntax, unknown function, duplicate definition).
    #[error("{message}")]
    Parse {
        /// The template (rule template name or file) the text belongs to.
        template: String,
        message: String,
    },
    /// The template parsed but failed while executing.
    #[error("{message}")]
    Execute { template: String, message: String },
}

impl TemplateError {
    /// Every template failure is the user's input: a bad template or data it cannot handle.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }

    /// The message without any wrapping, as Go's `err.Error()`.
    pub fn message(&self) -> &str {
        match self {
            TemplateError::Parse { message, .. } | TemplateError::Execute { message, .. } => {
                message
            }
        }
    }

    /// The name of the template the error is about.
    pub fn template(&self) -> &str {
        match self {
            TemplateError::Parse { template, .. } | TemplateError::Execute { template, .. } => {
                template
            }
        }
    }

    pub(crate) fn with_prefix(self, prefix: &str) -> TemplateError {
        match self {
            TemplateError::Parse { template, message } => TemplateError::Parse {
                template,
                message: format!("{prefix}{message}"),
            },
            TemplateError::Execute { template, message } => TemplateError::Execute {
                template,
                message: format!("{prefix}{message}"),
            },
        }
    }
}

//! Alertmanager notification templates: the default definitions plus the user's template
//! files, executed against [`NotificationData`] as text or as HTML.

use std::sync::Arc;

use crate::access::Flavor;
use crate::am::{am_funcs, NotificationData};
use crate::engine::{Library, ENTRY};
use crate::error::TemplateError;
use crate::funcs::FuncTable;

/// Vigil's text for Alertmanager's default template names (`__subject`, `slack.default.title`,
/// `email.default.html`, …).
pub const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");

/// Default templates plus the user's template files (texts already read by the caller, with
/// their paths for errors).
#[derive(Clone)]
pub struct NotificationTemplates {
    lib: Library,
    table: Arc<FuncTable>,
}

impl std::fmt::Debug for NotificationTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationTemplates")
            .field("templates", &self.lib.names().collect::<Vec<_>>())
            .finish()
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

impl NotificationTemplates {
    /// Parses the defaults, then each `(path, text)` in order, as Alertmanager's
    /// `FromGlobs` does: each file is a template named after its base name, its
    /// `{{define}}`s override earlier ones of the same name (an empty body never does).
    ///
    /// # Errors
    /// The first file that does not parse, with Go's message
    /// (`template: my.tmpl:3: unexpected "}" in operand`); the error's template is the path.
    pub fn new(user_files: &[(String, String)]) -> Result<Self, TemplateError> {
        let table = Arc::new(am_funcs());
        let mut lib = Library::default();
        lib.parse(DEFAULT_TEMPLATES, "", "", "", &table)?;
        for (path, text) in user_files {
            let name = base_name(path);
            lib.parse(text, name, name, name, &table)
                .map_err(|e| match e {
                    TemplateError::Parse { message, .. } => TemplateError::Parse {
                        template: path.clone(),
                        message,
                    },
                    other => other,
                })?;
        }
        Ok(NotificationTemplates { lib, table })
    }

    /// Whether a template of this name is defined (by the defaults or a user file).
    pub fn has_template(&self, name: &str) -> bool {
        self.lib.contains(name)
    }

    /// Names of all defined templates.
    pub fn template_names(&self) -> Vec<String> {
        self.lib.names().map(str::to_owned).collect()
    }

    fn execute(
        &self,
        text: &str,
        data: &NotificationData,
        html: bool,
    ) -> Result<String, TemplateError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let mut lib = self.lib.clone();
        lib.parse(text, "", ENTRY, "", &self.table)?;
        lib.execute(
            ENTRY,
            "",
            &data.to_value(),
            &self.table,
            Flavor::Alertmanager,
            html,
        )
    }

    /// Executes `text` (e.g. `{{ template "slack.default.title" . }}`) with `data`, as
    /// Alertmanager's `ExecuteTextString`. An empty text gives an empty string.
    ///
    /// # Errors
    /// Go's parse or execution error for the text.
    pub fn execute_text(
        &self,
        text: &str,
        data: &NotificationData,
    ) -> Result<String, TemplateError> {
        self.execute(text, data, false)
    }

    /// As Alertmanager's `html/template` use (email bodies): values HTML-escaped by context
    /// (text, attributes, URLs), `safeHtml` output left as is.
    ///
    /// # Errors
    /// Go's parse, escaping or execution error for the text.
    pub fn execute_html(
        &self,
        text: &str,
        data: &NotificationData,
    ) -> Result<String, TemplateError> {
        self.execute(text, data, true)
    }
}

//! Prometheus rule templates: the expansion of an alerting rule's labels and annotations
//! (`rules/alerting.go` and `template/template.go`, v2.42).
//!
//! The text is prefixed with Prometheus's variable definitions, so `$labels`, `$value` & co.
//! exist and error columns on line 1 count them, as Prometheus's do. Options are
//! `missingkey=zero`, so a missing label prints as an empty string.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc};

use crate::access::Flavor;
use crate::engine::Library;
use crate::error::TemplateError;
use crate::funcs::FuncTable;
use crate::prom::{prom_funcs, PromContext, QueryFn, QuerySample, TemplateQuery};
use crate::value::{make_struct, str_value, string_map, Value, T_PROM_DATA};

/// Data for one expansion of a rule's label or annotation, as Prometheus passes it.
#[derive(Debug, Clone, Copy)]
pub struct RuleTemplateData<'a> {
    /// `$labels` / `.Labels`: the alert's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// `$externalLabels` / `.ExternalLabels`.
    pub external_labels: &'a BTreeMap<String, String>,
    /// `$externalURL` / `.ExternalURL`.
    pub external_url: &'a str,
    /// `$value` / `.Value`: the sample value of the alert.
    pub value: f64,
}

/// The variable definitions Prometheus puts before every rule template.
const DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

type QueryRequest = (String, mpsc::Sender<Result<Vec<QuerySample>, String>>);

/// Expands `text` the way Prometheus's rules do (template name `__alert_<name>` or
/// `__rec_<name>` chosen by the caller as `name`). `at_ms` is the evaluation time given to
/// `query`; without a `query` service, calling `query` fails as it does in Prometheus without
/// a query function. Parses `text` on every call; callers expanding one text repeatedly keep a
/// [`RuleTemplate`] instead.
///
/// # Errors
/// Prometheus's message (`error executing template NAME: template: NAME:1:120: executing
/// "NAME" at <humanize "x">: error calling humanize: …`); the caller writes
/// `<error expanding template: {err}>` into the value, as Prometheus does.
pub fn expand_rule_template(
    name: &str,
    text: &str,
    data: &RuleTemplateData<'_>,
    at_ms: i64,
    query: Option<&dyn TemplateQuery>,
) -> Result<String, TemplateError> {
    RuleTemplate::parse(name, text)?.expand(data, at_ms, query)
}

/// A rule template parsed once, to be expanded for every alert of every evaluation: parsing
/// does not depend on the data, the external URL or the query service.
#[derive(Clone)]
pub struct RuleTemplate {
    name: String,
    lib: Library,
}

impl std::fmt::Debug for RuleTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleTemplate")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RuleTemplate {
    /// Parses `text` as template `name` (see [`expand_rule_template`]).
    ///
    /// # Errors
    /// Go's parse error with Prometheus's `error parsing template NAME: ` prefix.
    pub fn parse(name: &str, text: &str) -> Result<Self, TemplateError> {
        let mut lib = Library::default();
        lib.parse(&format!("{DEFS}{text}"), name, name, name, &names_table())
            .map_err(|e| e.with_prefix(&format!("error parsing template {name}: ")))?;
        Ok(RuleTemplate {
            name: name.to_owned(),
            lib,
        })
    }

    /// Expands the template with `data` (see [`expand_rule_template`]).
    ///
    /// # Errors
    /// Go's execution error with Prometheus's `error executing template NAME: ` prefix.
    pub fn expand(
        &self,
        data: &RuleTemplateData<'_>,
        at_ms: i64,
        query: Option<&dyn TemplateQuery>,
    ) -> Result<String, TemplateError> {
        let name = self.name.as_str();
        let (req_tx, req_rx) = mpsc::channel::<QueryRequest>();
        let query_fn: Option<QueryFn> = query.map(|_| {
            let tx = std::sync::Mutex::new(req_tx);
            let f: QueryFn = Arc::new(move |expr: &str| {
                let (reply_tx, reply_rx) = mpsc::channel();
                let sent = tx
                    .lock()
                    .map_err(|_| "query service unavailable".to_owned())?
                    .send((expr.to_owned(), reply_tx));
                sent.map_err(|_| "query service unavailable".to_owned())?;
                reply_rx
                    .recv()
                    .map_err(|_| "query service unavailable".to_owned())?
            });
            f
        });
        let table = Arc::new(prom_funcs(PromContext {
            external_url: data.external_url.to_owned(),
            query: query_fn,
        }));
        let dot = rule_data_value(data);
        let run = |table: Arc<FuncTable>| {
            self.lib
                .execute(name, name, &dot, &table, Flavor::Prometheus, false)
                .map_err(|e| e.with_prefix(&format!("error executing template {name}: ")))
        };
        match query {
            Some(q) if self.lib.uses_query => std::thread::scope(|scope| {
                // Template functions must be 'static, the query service is borrowed: a scoped
                // thread serves the borrowed service to the functions over a channel, until the
                // last sender (inside `table`) is dropped at the end of the run.
                scope.spawn(move || {
                    while let Ok((expr, reply)) = req_rx.recv() {
                        let _ = reply.send(q.query(&expr, at_ms));
                    }
                });
                run(table)
            }),
            _ => {
                drop(req_rx);
                run(table)
            }
        }
    }
}

/// The function table parsing checks names against; the lowering pass reads only which
/// functions exist, never their context.
fn names_table() -> FuncTable {
    prom_funcs(PromContext {
        external_url: String::new(),
        query: None,
    })
}

/// Parse-only check, for `vigil check rules` (promtool reports template parse errors,
/// including calls of unknown functions).
///
/// # Errors
/// Go's parse error, unwrapped (`template: __alert_X:1: function "nope" not defined`), as
/// promtool prints it after `annotation "summary": `.
pub fn check_rule_template(name: &str, text: &str) -> Result<(), TemplateError> {
    Library::default().parse(&format!("{DEFS}{text}"), name, name, name, &names_table())
}

fn rule_data_value(d: &RuleTemplateData<'_>) -> Value {
    make_struct(
        T_PROM_DATA,
        vec![
            ("Labels", string_map(d.labels)),
            ("ExternalLabels", string_map(d.external_labels)),
            ("ExternalURL", str_value(d.external_url)),
            ("Value", Value::Float(d.value)),
        ],
    )
}

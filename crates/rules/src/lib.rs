//! Prometheus rule files and their evaluation.
//!
//! Owns: rule files in Prometheus's format (parsed raw, then validated into [`GroupSpec`]s with
//! `file:line` errors), rule groups and their evaluation with Prometheus's semantics (recording
//! rules, the alert state machine, `ALERTS`/`ALERTS_FOR_STATE`, staleness markers, `for` state
//! restore), the [`RuleManager`] that schedules groups and keeps state across reloads, the
//! read-only views behind `/api/v1/rules` and `/api/v1/alerts`, the alerts handed to an
//! [`AlertSink`], and promtool's `check rules` and `test rules` ([`check_rule_files`],
//! [`run_rule_tests`]).
//!
//! Does not own: storage (only `vigil_storage` traits: a group reads through the PromQL engine
//! and appends its output with [`vigil_storage::MetricAppend`]), templates (`vigil-template`),
//! timers and threads (the server calls [`RuleManager::evaluate_due`]), HTTP, or delivering
//! alerts (the sink's job).
//!
//! Shape: time is always passed in as milliseconds, never read from a clock, so the same code
//! serves the server (wall clock), the manager tests (a manual clock) and promtool-style unit
//! tests (evaluation stepped over a fixed grid, as promtool does).

mod alerting;
mod api;
mod check;
mod error;
mod file;
mod group;
mod manager;
mod metrics;
mod notify;
mod query;
mod text;
mod unittest;

pub use alerting::{Alert, AlertState, RESOLVED_RETENTION_MS};
pub use api::{
    AlertDiscovery, AlertView, AlertingRuleView, RecordingRuleView, RuleDiscovery, RuleGroupView,
    RuleView, RulesFilter,
};
pub use check::check_rule_files;
pub use error::{RuleFileError, RulesError};
pub use file::{
    duplicate_rules, load_file, load_files, parse_rule_file, resolve_rule_files, GroupSpec,
    RuleKind, RuleSpec,
};
pub use group::{
    EvalEnv, Group, GroupEvalReport, RuleHealth, DEFAULT_FOR_GRACE_PERIOD_MS,
    DEFAULT_OUTAGE_TOLERANCE_MS, DEFAULT_RESEND_DELAY_MS,
};
pub use manager::{ManagerOptions, RuleGlobals, RuleManager};
pub use metrics::RuleMetrics;
pub use notify::{AlertSink, CollectingSink, OutgoingAlert};
pub use query::EngineTemplateQuery;
pub use unittest::run_rule_tests;

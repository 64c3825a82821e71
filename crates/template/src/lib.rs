//! Go's `text/template` language for Vigil, with the functions and data Prometheus gives
//! alerting-rule templates and those Alertmanager gives notification templates.
//!
//! Owns: expanding rule labels/annotations ([`expand_rule_template`], [`RuleTemplate`],
//! [`check_rule_template`]) and notification texts ([`NotificationTemplates`], with
//! Alertmanager's default template names), byte-for-byte as Prometheus 2.42 and Alertmanager
//! 0.25 do, errors included. Does not own: where templates come from (rule files, receiver
//! configs), running queries (the caller passes a [`TemplateQuery`]), or sending anything.
//!
//! # Shape: the `gotmpl` engine plus a lowering pass
//!
//! Parsing, control flow (`if`/`range`/`with`/`define`/`template`/`block`, `break`,
//! whitespace trimming, variables) and HTML contextual escaping are the `gotmpl` crate's, a
//! port of Go's `text/template` and `html/template`. It has no reflection, so it cannot call
//! methods, keeps no static types, prints floats the Rust way and reports no positions at run
//! time. Rather than fork it, every parsed tree goes through a *lowering pass*
//! (`lower.rs`) that rewrites it into calls of three hidden functions (`access.rs`):
//!
//! - field chains (`.Alerts.Firing`, `$labels.job`, `(.CommonLabels.Remove
//!   .GroupLabels.Names).Values`) become `__field` calls that apply Go's rules: methods first
//!   (Alertmanager's `Alerts.Firing/Resolved`, `KV.SortedPairs/Names/Values/Remove`,
//!   `Pairs.Names/Values`, and `time.Time`'s `Format/Unix/UnixMilli/String/…`), then struct
//!   fields, then map keys with `missingkey=zero`;
//! - function calls become `__call` with the call site, so failures read as Go's
//!   (`template: NAME:1:120: executing "NAME" at <humanize "x">: error calling humanize: …`),
//!   and unknown functions are rejected at parse time as Go does;
//! - each printing action ends in `__print`, which formats the value as Go's `fmt` does
//!   (`1e+21`, `+Inf`), as do our `print`/`printf`/`println` (`gofmt.rs`).
//!
//! Go's static types are kept as data (`value.rs`): structs (`Alert`, `time.Time`, a query
//! `sample`) are maps with one hidden type key, which only our field access and printing read.
//!
//! The default notification templates (`default.tmpl`) are Vigil's own text with Alertmanager
//! 0.25's names and output; `email.default.html` is a simpler page of our own.
//!
//! # Proof
//! `tests/alertmanager_peer.rs` and `tests/prometheus_peer.rs` render corpora through the real
//! `amtool template render` (0.25) and `promtool test rules` (2.42) and require identical
//! output, errors included; they print `skipped:` when the tools are missing (or fail with
//! `VIGIL_REQUIRE_PEERS=1`).
//!
//! # Known differences from Go
//! - A literal argument of the wrong type reads `wrong type for value; expected string; got
//!   int` at the command, where Go says `expected string; found 1` at the literal.
//! - Syntax errors carry Go's `template: NAME:LINE:` prefix but the engine's wording for some
//!   messages (`empty command` where Go says `missing value for if`).
//! - Errors raised inside the engine's remaining builtins (`and`, `or`, `not`, `call`, `html`,
//!   `js`, `urlquery`) have no position: `template: NAME: <message>`.
//! - Types are inferred from data: an empty list cannot tell `Pairs` from `[]string` in a type
//!   error, a map whose values are all strings counts as `map[string]string` (missing key →
//!   `""`), and `.Alerts.Firing` keeps `Firing`/`Resolved` (Go's `[]Alert` has none).
//! - Regular expressions are Rust's `regex` (RE2 syntax, like Go's); error texts are mapped to
//!   Go's codes for the common cases only. `strconv.ParseFloat` rejects hexadecimal floats.
//! - `title` follows `cases.Title`'s word breaks for ASCII; other scripts are approximated.
//! - Times are always UTC; nested pointers print as a fixed address where Go prints a real one.

mod access;
mod am;
mod engine;
mod error;
mod funcs;
mod gofmt;
mod gotime;
mod lower;
mod notify;
mod prom;
mod rule;
mod scope;
mod value;

pub use am::{AlertData, NotificationData};
pub use error::TemplateError;
pub use notify::{NotificationTemplates, DEFAULT_TEMPLATES};
pub use prom::{
    humanize, humanize1024, humanize_duration, humanize_percentage, humanize_timestamp,
    QuerySample, TemplateQuery,
};
pub use rule::{check_rule_template, expand_rule_template, RuleTemplate, RuleTemplateData};

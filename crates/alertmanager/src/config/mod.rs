//! Alertmanager's configuration file, unchanged: parsed raw ([`raw`]), then validated into a
//! ready-to-use [`Config`] (routing tree built, matchers compiled, receivers with their defaults
//! and inherited global settings, time intervals loaded with their zones).
//!
//! Two entry points: [`parse`] for a standalone `alertmanager.yml`, and [`from_value`] for the
//! `alertmanager:` section of Vigil's own file, which the server has already parsed as YAML.
//! Both report errors as `line N: reason` through [`ConfigError`]; `from_value` looks lines up
//! in the whole file, so the caller only adds the file name.
//!
//! Validation follows Alertmanager 0.25 (`config/config.go`, `config/notifiers.go`, and
//! `prometheus/common` 0.38 for `http_config`), including its wording. Known differences:
//! receivers with integrations other than webhook, email, PagerDuty and Slack are refused (see
//! [`receivers`]); quoted scalars where yaml.v2 wants a boolean or number are accepted; regular
//! expressions are checked with Rust's `regex` (see [`crate::matcher`]).

mod http;
mod lenient;
pub(crate) mod raw;
pub mod receivers;
mod validate;
pub(crate) mod values;

use std::collections::BTreeMap;

use vigil_model::YamlPositions;

pub use http::{
    http_config as validate_http_config, Authorization, BasicAuth, HttpConfig, OAuth2, Secret,
    TlsConfig, TlsVersion,
};
pub use raw::{RawAuthorization, RawBasicAuth, RawHttpConfig, RawOAuth2, RawTlsConfig};
pub use receivers::{
    EmailConfig, HostPort, PagerdutyConfig, PagerdutyImage, PagerdutyLink, Receiver, SlackAction,
    SlackConfig, SlackConfirmationField, SlackField, WebhookConfig,
};

use crate::error::ConfigError;
use crate::inhibit::InhibitRule;
use crate::route::{RouteOpts, RoutingTree};
use crate::timeinterval::TimeInterval;
use vigil_model::Timestamp;

/// `global:` after defaults.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update (default 5m).
    pub resolve_timeout_ms: u64,
    pub http_config: HttpConfig,
    pub smtp_from: String,
    /// Default `localhost`.
    pub smtp_hello: String,
    pub smtp_smarthost: Option<HostPort>,
    pub smtp_auth_username: String,
    pub smtp_auth_password: Option<Secret>,
    pub smtp_auth_password_file: Option<String>,
    pub smtp_auth_secret: Option<Secret>,
    pub smtp_auth_identity: String,
    /// Default true.
    pub smtp_require_tls: bool,
    pub slack_api_url: Option<Secret>,
    pub slack_api_url_file: Option<String>,
    /// Default `https://events.pagerduty.com/v2/enqueue`.
    pub pagerduty_url: String,
    /// Settings of integrations Vigil does not send through, kept as written.
    pub other: BTreeMap<String, String>,
    /// Their credentials.
    pub other_secrets: BTreeMap<String, Secret>,
}

/// A validated Alertmanager configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub global: GlobalConfig,
    pub route: RoutingTree,
    pub inhibit_rules: Vec<InhibitRule>,
    pub receivers: Vec<Receiver>,
    /// Template globs as written (relative ones are relative to the config file).
    pub templates: Vec<String>,
    /// `time_intervals` and `mute_time_intervals` together, by name.
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    original: String,
}

impl Config {
    /// The receiver with this name.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// The configuration as YAML with credentials replaced by `<secret>`, for
    /// `alertmanagerStatus.config.original`. amtool parses this text (`amtool config routes`
    /// without `--config.file`), so it stays a valid Alertmanager document.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Whether any interval of any of `names` contains `at` (Alertmanager's `inTimeIntervals`).
    /// Names were checked at load, so an unknown name cannot occur for this config's routes.
    pub fn in_time_intervals(&self, names: &[String], at: Timestamp) -> bool {
        names.iter().any(|n| {
            self.time_intervals
                .get(n)
                .is_some_and(|tis| tis.iter().any(|ti| ti.contains(at)))
        })
    }

    /// Whether a route's notifications are muted at `at`: inside one of its
    /// `mute_time_intervals`, or outside all of its `active_time_intervals` when it has any.
    pub fn route_muted_at(&self, opts: &RouteOpts, at: Timestamp) -> bool {
        if self.in_time_intervals(&opts.mute_time_intervals, at) {
            return true;
        }
        !opts.active_time_intervals.is_empty()
            && !self.in_time_intervals(&opts.active_time_intervals, at)
    }
}

/// Parses and validates a standalone Alertmanager file.
///
/// # Errors
/// YAML syntax, unknown fields, wrong types and Alertmanager's semantic rules, as
/// `line N: reason`.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let value: serde_yaml_ng::Value = if text.trim().is_empty() {
        serde_yaml_ng::Value::Null
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError {
            path: String::new(),
            line: e.location().map(|l| l.line()),
            reason: strip_location(&e.to_string()),
        })?
    };
    from_value(value, &YamlPositions::new(text), "")
}

/// Validates an Alertmanager document that is part of a larger YAML file: `value` is the
/// section (`alertmanager:` of Vigil's config), `positions` indexes the whole file, and
/// `prefix` is the section's path in it (`alertmanager`), used only to find lines.
///
/// # Errors
/// As [`parse`]; [`ConfigError::path`] is relative to the section.
pub fn from_value(
    value: serde_yaml_ng::Value,
    positions: &YamlPositions,
    prefix: &str,
) -> Result<Config, ConfigError> {
    let locate = |mut e: ConfigError| {
        let full = match (prefix.is_empty(), e.path.is_empty()) {
            (true, _) => e.path.clone(),
            (false, true) => prefix.to_owned(),
            (false, false) if e.path.starts_with('[') => format!("{prefix}{}", e.path),
            (false, false) => format!("{prefix}.{}", e.path),
        };
        if e.line.is_none() && !full.is_empty() {
            e.line = positions.line_of(&full);
        }
        e
    };
    let mut value = value;
    // yaml.v2 applies `<<: *anchor` merge keys while decoding; serde_yaml_ng leaves them.
    value
        .apply_merge()
        .map_err(|e| locate(ConfigError::new("", e.to_string())))?;
    let original = validate::masked_yaml(&value);
    let raw: raw::RawConfig = if value.is_null() {
        raw::RawConfig::default()
    } else {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            locate(ConfigError::new(
                path,
                strip_location(&e.into_inner().to_string()),
            ))
        })?
    };
    validate::validate(raw, original).map_err(locate)
}

/// serde_yaml_ng appends " at line N column M"; the line goes in front instead.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_owned(),
        None => msg.to_owned(),
    }
}

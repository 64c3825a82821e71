//! The configuration file: read raw, then validated into [`Settings`] ready to wire.
//!
//! One YAML file whose sections reuse the incumbents' formats (`global`, `scrape_configs` as in
//! `prometheus.yml`, `alertmanager` as Alertmanager's own file) next to Vigil's own (`server`,
//! `storage`, `limits`, `query`). No file is needed to start: every field has a default. Errors
//! come out as `file:line: reason`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vigil_codec::DecodeLimits;
use vigil_http::QueryLimits;
use vigil_model::SeriesLimits;
use vigil_scrape::config::{GlobalConfig, RawScrapeConfig, ScrapeConfig, ScrapeSettings};
use vigil_scrape::{ByteSize, PromDuration};

use vigil_model::YamlPositions;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub query: QuerySection,
    /// Alertmanager's configuration file, unchanged; validated by `vigil_alertmanager`.
    #[serde(default)]
    pub alertmanager: Option<serde_yaml_ng::Value>,
    /// Prometheus's `alerting:`: `alert_relabel_configs` and external `alertmanagers`.
    #[serde(default)]
    pub alerting: Option<crate::upstream::RawAlerting>,
    /// ML monitoring (`vigil_ml::config`): defaults for every model, per-model monitors,
    /// limits.
    #[serde(default)]
    pub ml: Option<vigil_ml::RawMlConfig>,
    /// Prometheus sections Vigil reads later in its roadmap; accepted (so a `prometheus.yml`
    /// loads unchanged) and reported as not yet in effect.
    #[serde(default)]
    pub rule_files: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub remote_write: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub remote_read: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub tracing: Option<serde_yaml_ng::Value>,
}

/// Listen addresses. An empty string disables a listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<String>,
    pub otlp_grpc_listen: Option<String>,
    pub otlp_http_listen: Option<String>,
}

/// The embedded TSDB.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Drop data older than this (default 15d).
    pub retention_time: Option<PromDuration>,
    /// Drop the oldest blocks while the store is larger than this (default: no limit).
    pub retention_size: Option<ByteSize>,
    /// How far behind the newest sample a sample may be and still be accepted (default 1h).
    pub out_of_order_window: Option<PromDuration>,
    /// `always` (fsync before acknowledging, with group commit), `never`, or a duration such as
    /// `1s` (write before acknowledging — survives a process kill — and fsync at that interval).
    pub wal_fsync: Option<String>,
    /// Refuse new series beyond this many in the head (0 = unlimited).
    pub max_series: Option<u64>,
    /// Prometheus's own spelling, `storage.tsdb.out_of_order_time_window`, accepted too.
    pub tsdb: Option<PromTsdbSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromTsdbSection {
    pub out_of_order_time_window: Option<PromDuration>,
}

/// Ingest limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_body_size: Option<ByteSize>,
    pub max_decompressed_body_size: Option<ByteSize>,
    pub max_labels_per_series: Option<usize>,
    pub max_label_name_length: Option<usize>,
    pub max_label_value_length: Option<usize>,
}

/// PromQL evaluation limits (Prometheus's `--query.*` flags).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySection {
    /// Most samples one query may load (default 50000000); over → 422.
    pub max_samples: Option<usize>,
    /// Longest a query may run, time in the queue included (default 2m); over → 503.
    pub timeout: Option<PromDuration>,
    /// Queries evaluated at once (default 20); more wait in a queue.
    pub max_concurrency: Option<usize>,
    /// How far back an instant selector looks for a sample (default 5m).
    pub lookback_delta: Option<PromDuration>,
}

/// How the WAL reaches disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    Interval(Duration),
    Never,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Option<String>,
    pub otlp_grpc_listen: Option<String>,
    pub otlp_http_listen: Option<String>,
    pub retention_time: Duration,
    pub retention_size: u64,
    pub ooo_window: Duration,
    pub wal_fsync: FsyncPolicy,
    pub max_series: u64,
    pub decode_limits: DecodeLimits,
    pub series_limits: SeriesLimits,
    pub query_limits: QueryLimits,
    pub scrape: ScrapeSettings,
    /// The embedded Alertmanager's configuration: the `alertmanager:` section, or
    /// [`crate::alerting::default_config`] without one.
    pub alertmanager: vigil_alertmanager::Config,
    /// Whether the file has an `alertmanager:` section.
    pub alertmanager_section: bool,
    /// The `alerting:` section: external Alertmanagers and the alert relabelling.
    pub alerting: crate::upstream::AlertingSettings,
    /// `rule_files`, globs resolved relative to the config file (the files are read and
    /// validated by the rule manager, and by `vigil check config`).
    pub rule_files: Vec<PathBuf>,
    /// The file's YAML with secrets masked, for `/api/v1/status/config`; empty without a file.
    pub config_yaml: String,
    /// Sections accepted but not yet in effect, to be logged at start.
    pub ignored_sections: Vec<&'static str>,
    /// The `ml:` section, validated; defaults without one.
    pub ml: vigil_ml::MlConfig,
}

/// A configuration error with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9900";
pub const DEFAULT_OTLP_GRPC: &str = "127.0.0.1:4317";
pub const DEFAULT_OTLP_HTTP: &str = "127.0.0.1:4318";

/// Loads and validates a config file; `None` gives the defaults.
///
/// # Errors
/// Unreadable file, YAML syntax or type errors, and semantic errors, each as `file:line: reason`.
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    let Some(path) = path else {
        return validate(
            RawConfig::default(),
            "<defaults>",
            &YamlPositions::default(),
        );
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        reason: format!("cannot read: {e}"),
    })?;
    parse(&text, &file)
}

/// Parses and validates config text; `file` names it in errors.
///
/// # Errors
/// As [`load`].
pub fn parse(text: &str, file: &str) -> Result<Settings, ConfigError> {
    let raw: RawConfig = if text.trim().is_empty() {
        RawConfig::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            line: e.location().map(|l| l.line()),
            reason: strip_location(&e.to_string()),
        })?
    };
    let mut settings = validate(raw, file, &YamlPositions::new(text))?;
    let am_original = settings
        .alertmanager_section
        .then(|| settings.alertmanager.original().to_owned());
    settings.config_yaml = masked_yaml(text, am_original.as_deref());
    Ok(settings)
}

/// Keys whose values are credentials, as Prometheus's `Secret` fields are: shown as
/// `<secret>` by `/api/v1/status/config`.
const SECRET_KEYS: [&str; 7] = [
    "password",
    "credentials",
    "bearer_token",
    "client_secret",
    "key",
    "secrets",
    "proxy_connect_header",
];

fn mask_all(v: &mut serde_yaml_ng::Value) {
    use serde_yaml_ng::Value;
    match v {
        Value::Sequence(s) => s.iter_mut().for_each(mask_all),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| mask_all(v)),
        Value::Tagged(t) => mask_all(&mut t.value),
        Value::Null => {}
        other => *other = Value::String("<secret>".to_owned()),
    }
}

fn mask_secrets(v: &mut serde_yaml_ng::Value) {
    use serde_yaml_ng::Value;
    match v {
        Value::Sequence(s) => s.iter_mut().for_each(mask_secrets),
        Value::Mapping(m) => {
            for (k, v) in m.iter_mut() {
                if k.as_str().is_some_and(|k| SECRET_KEYS.contains(&k)) {
                    mask_all(v);
                } else {
                    mask_secrets(v);
                }
            }
        }
        Value::Tagged(t) => mask_secrets(&mut t.value),
        _ => {}
    }
}

/// The config text re-serialised with secrets masked (comments and layout are not kept, as
/// Prometheus also serves its parsed config rather than the file). The `alertmanager` section
/// is replaced by `alertmanager`, the section as Alertmanager's own status shows it (its
/// credentials, such as `slack_api_url` or `routing_key`, masked by Alertmanager's rules).
fn masked_yaml(text: &str, alertmanager: Option<&str>) -> String {
    let Ok(mut v) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
        return String::new();
    };
    if v.is_null() {
        return String::new();
    }
    mask_secrets(&mut v);
    if let (Some(section), serde_yaml_ng::Value::Mapping(m)) = (alertmanager, &mut v) {
        let masked = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(section)
            .unwrap_or(serde_yaml_ng::Value::Null);
        m.insert(serde_yaml_ng::Value::from("alertmanager"), masked);
    }
    serde_yaml_ng::to_string(&v).unwrap_or_default()
}

/// serde_yaml_ng appends " at line N column M"; the line goes in front instead.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_owned(),
        None => msg.to_owned(),
    }
}

/// `storage.out_of_order_window` when the file sets none: the metric store's own default.
fn default_ooo_window() -> Duration {
    Duration::from_millis(
        u64::try_from(vigil_tsdb::TsdbOptions::default().ooo_window_ms).unwrap_or(0),
    )
}

fn validate(raw: RawConfig, file: &str, pos: &YamlPositions) -> Result<Settings, ConfigError> {
    let err = |path: &str, reason: String| ConfigError {
        file: file.to_owned(),
        line: pos.line_of(path),
        reason: if path.is_empty() {
            reason
        } else {
            format!("{path}: {reason}")
        },
    };
    let raw_scrape = RawScrapeConfig {
        global: raw.global,
        scrape_configs: raw.scrape_configs,
    };
    // Relative paths (file_sd files, credential files) are relative to the config file, as in
    // Prometheus.
    let base = Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    let mut scrape = match base {
        Some(dir) => vigil_scrape::config::validate_in_dir(&raw_scrape, dir),
        None => vigil_scrape::config::validate(&raw_scrape),
    }
    .map_err(|e| err(&e.path, e.reason.clone()))?;

    let wal_fsync = match raw.storage.wal_fsync.as_deref() {
        None | Some("always") => FsyncPolicy::Always,
        Some("never") => FsyncPolicy::Never,
        Some(s) => match PromDuration::parse(s) {
            Ok(d) if !d.is_zero() => FsyncPolicy::Interval(d.as_std()),
            _ => {
                return Err(err(
                    "storage.wal_fsync",
                    format!(
                        "invalid value {s:?}: expected always, never, or a duration such as 1s"
                    ),
                ))
            }
        },
    };
    let ooo = raw
        .storage
        .out_of_order_window
        .or(raw.storage.tsdb.and_then(|t| t.out_of_order_time_window))
        .map_or_else(default_ooo_window, PromDuration::as_std);
    let retention_time = raw
        .storage
        .retention_time
        .map_or(Duration::from_secs(15 * 86400), PromDuration::as_std);
    if retention_time.is_zero() {
        return Err(err(
            "storage.retention_time",
            "must be greater than 0".into(),
        ));
    }

    let d = DecodeLimits::default();
    let decode_limits = DecodeLimits {
        max_body_bytes: raw.limits.max_body_size.map_or(d.max_body_bytes, |b| b.0),
        max_decompressed_bytes: raw
            .limits
            .max_decompressed_body_size
            .map_or(d.max_decompressed_bytes, |b| b.0),
    };
    if decode_limits.max_body_bytes == 0 || decode_limits.max_decompressed_bytes == 0 {
        return Err(err(
            "limits",
            "body size limits must be greater than 0".into(),
        ));
    }
    // Every input has a limit: a scrape without `body_size_limit` gets the push-body limit.
    for pool in &mut scrape.pools {
        if pool.body_size_limit == 0 {
            pool.body_size_limit = decode_limits.max_decompressed_bytes;
        }
    }
    let s = SeriesLimits::default();
    let series_limits = SeriesLimits {
        max_labels: raw.limits.max_labels_per_series.unwrap_or(s.max_labels),
        max_label_name_len: raw
            .limits
            .max_label_name_length
            .unwrap_or(s.max_label_name_len),
        max_label_value_len: raw
            .limits
            .max_label_value_length
            .unwrap_or(s.max_label_value_len),
    };

    let query_limits = query_limits(&raw.query).map_err(|(path, reason)| err(path, reason))?;
    let alertmanager_section = raw.alertmanager.is_some();
    let alertmanager = crate::alerting::config_section(raw.alertmanager, pos, base).map_err(
        |(path, line, reason)| ConfigError {
            file: file.to_owned(),
            line: line.or_else(|| pos.line_of(&path)),
            reason: format!("{path}: {reason}"),
        },
    )?;

    let rule_files =
        rule_files(raw.rule_files, base).map_err(|(path, reason)| err(&path, reason))?;

    let alerting = crate::upstream::validate(raw.alerting, base)
        .map_err(|(path, reason)| err(&path, reason))?;

    let ml = raw.ml.unwrap_or_default().validate().map_err(|e| match e {
        vigil_ml::MlError::Config { field, reason } => err(&field, reason),
        other => err("ml", other.to_string()),
    })?;

    let mut ignored_sections = Vec::new();
    for (present, name) in [
        (raw.remote_write.is_some(), "remote_write"),
        (raw.remote_read.is_some(), "remote_read"),
        (raw.tracing.is_some(), "tracing"),
    ] {
        if present {
            ignored_sections.push(name);
        }
    }
    for (field, v) in [
        ("server.listen", &raw.server.listen),
        ("server.otlp_grpc_listen", &raw.server.otlp_grpc_listen),
        ("server.otlp_http_listen", &raw.server.otlp_http_listen),
    ] {
        if let Some(a) = v {
            if !a.is_empty() && a.parse::<std::net::SocketAddr>().is_err() {
                return Err(err(
                    field,
                    format!("invalid address {a:?}: expected host:port such as 127.0.0.1:9900"),
                ));
            }
        }
    }
    Ok(Settings {
        listen: Some(
            raw.server
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
        ),
        otlp_grpc_listen: Some(
            raw.server
                .otlp_grpc_listen
                .unwrap_or_else(|| DEFAULT_OTLP_GRPC.to_owned()),
        ),
        otlp_http_listen: Some(
            raw.server
                .otlp_http_listen
                .unwrap_or_else(|| DEFAULT_OTLP_HTTP.to_owned()),
        ),
        retention_time,
        retention_size: raw.storage.retention_size.map_or(0, |b| b.0),
        ooo_window: ooo,
        wal_fsync,
        max_series: raw.storage.max_series.unwrap_or(0),
        decode_limits,
        series_limits,
        query_limits,
        scrape,
        alertmanager,
        alertmanager_section,
        alerting,
        rule_files,
        config_yaml: String::new(),
        ignored_sections,
        ml,
    })
}

/// `rule_files`: a list of file names or globs (relative to the config file), resolved to the
/// files that exist now, as Prometheus does at every (re)load.
fn rule_files(
    value: Option<serde_yaml_ng::Value>,
    base: Option<&Path>,
) -> Result<Vec<PathBuf>, (String, String)> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let patterns: Vec<String> = match value {
        serde_yaml_ng::Value::Null => Vec::new(),
        serde_yaml_ng::Value::Sequence(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                serde_yaml_ng::Value::String(s) => Ok(s),
                _ => Err((
                    format!("rule_files[{i}]"),
                    "expected a file name or glob".to_owned(),
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err((
                "rule_files".to_owned(),
                "expected a list of file names or globs".to_owned(),
            ))
        }
    };
    vigil_rules::resolve_rule_files(&patterns, base)
        .map_err(|e| ("rule_files".to_owned(), e.to_string()))
}

fn query_limits(q: &QuerySection) -> Result<QueryLimits, (&'static str, String)> {
    let d = QueryLimits::default();
    let limits = QueryLimits {
        max_samples: q.max_samples.unwrap_or(d.max_samples),
        timeout: q.timeout.map_or(d.timeout, PromDuration::as_std),
        max_concurrency: q.max_concurrency.unwrap_or(d.max_concurrency),
        lookback_delta: q
            .lookback_delta
            .map_or(d.lookback_delta, PromDuration::as_std),
    };
    let positive = [
        ("query.max_samples", limits.max_samples == 0),
        ("query.timeout", limits.timeout.is_zero()),
        ("query.max_concurrency", limits.max_concurrency == 0),
        ("query.lookback_delta", limits.lookback_delta.is_zero()),
    ];
    for (path, zero) in positive {
        if zero {
            return Err((path, "must be greater than 0".to_owned()));
        }
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_defaults() {
        let s = parse("", "vigil.yml").expect("defaults");
        assert_eq!(s.listen.as_deref(), Some(DEFAULT_LISTEN));
        assert_eq!(s.ooo_window, Duration::from_secs(3600));
        assert_eq!(s.wal_fsync, FsyncPolicy::Always);
    }

    #[test]
    fn syntax_error_has_line() {
        let e = parse("global:\n  scrape_interval: [\n", "p.yml").expect_err("bad yaml");
        assert!(e.to_string().starts_with("p.yml:"), "{e}");
        assert!(e.line.is_some());
    }

    #[test]
    fn unknown_field_has_line() {
        let e =
            parse("storage:\n  retention_time: 1d\n  bogus: 1\n", "p.yml").expect_err("unknown");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.reason.contains("bogus"), "{e}");
    }

    #[test]
    fn ml_section_is_validated_with_lines() {
        let s = parse(
            "ml:\n  defaults:\n    window: 30m\n  models:\n    fraud:\n      threshold: 0.2\n",
            "p.yml",
        )
        .expect("valid");
        assert_eq!(s.ml.defaults.window_ms, 1_800_000);
        assert_eq!(s.ml.model("fraud").threshold, Some(0.2));
        let e = parse("ml:\n  models:\n    fraud:\n      window: 5x\n", "p.yml")
            .expect_err("bad window");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.reason.starts_with("ml.models.fraud.window: "), "{e}");
    }

    #[test]
    fn semantic_error_has_line() {
        let e = parse(
            "storage:\n  retention_time: 1d\n  wal_fsync: sometimes\n",
            "p.yml",
        )
        .expect_err("bad fsync");
        assert_eq!(e.to_string(), "p.yml:3: storage.wal_fsync: invalid value \"sometimes\": expected always, never, or a duration such as 1s");
    }

    #[test]
    fn query_limits_default_and_validate() {
        let s = parse("", "vigil.yml").expect("defaults");
        assert_eq!(s.query_limits, QueryLimits::default());
        let s = parse(
            "query:\n  timeout: 10s\n  max_concurrency: 2\n  max_samples: 1000\n  lookback_delta: 1m\n",
            "v.yml",
        )
        .expect("valid");
        assert_eq!(s.query_limits.timeout, Duration::from_secs(10));
        assert_eq!(s.query_limits.max_concurrency, 2);
        assert_eq!(s.query_limits.max_samples, 1000);
        assert_eq!(s.query_limits.lookback_delta, Duration::from_secs(60));
        let e = parse("query:\n  max_concurrency: 0\n", "v.yml").expect_err("zero");
        assert_eq!(
            e.to_string(),
            "v.yml:2: query.max_concurrency: must be greater than 0"
        );
        let e = parse("query:\n  timeout: soon\n", "v.yml").expect_err("bad duration");
        assert!(e.to_string().starts_with("v.yml:2:"), "{e}");
    }

    #[test]
    fn config_yaml_masks_secrets() {
        let text = "global:\n  external_labels:\n    dc: eu\nscrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: hunter2\n  - job_name: b\n    authorization:\n      credentials: tok\n";
        let s = parse(text, "v.yml").expect("valid");
        assert!(s.config_yaml.contains("username: u"), "{}", s.config_yaml);
        assert!(s.config_yaml.contains("dc: eu"), "{}", s.config_yaml);
        assert!(!s.config_yaml.contains("hunter2"), "{}", s.config_yaml);
        assert!(!s.config_yaml.contains("tok"), "{}", s.config_yaml);
        assert!(
            s.config_yaml.contains("password: <secret>"),
            "{}",
            s.config_yaml
        );
    }

    #[test]
    fn alertmanager_section_defaults_validates_and_locates_errors() {
        let s = parse("", "v.yml").expect("defaults");
        assert!(!s.alertmanager_section);
        assert_eq!(
            s.alertmanager.original(),
            crate::alerting::default_config()
                .expect("default")
                .original()
        );

        let text = "global:\n  scrape_interval: 15s\nalertmanager:\n  route:\n    receiver: team\n  receivers:\n    - name: team\n      slack_configs:\n        - channel: '#a'\n          api_url: https://hooks.slack.example/x\n";
        let s = parse(text, "v.yml").expect("valid");
        assert!(s.alertmanager_section);
        let names: Vec<&str> = s
            .alertmanager
            .receivers
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["team"]);
        // `/api/v1/status/config` shows the section as Alertmanager masks it.
        assert!(s.config_yaml.contains("channel: '#a'"), "{}", s.config_yaml);
        assert!(
            !s.config_yaml.contains("hooks.slack.example"),
            "{}",
            s.config_yaml
        );

        let e = parse(
            "global:\n  scrape_interval: 15s\nalertmanager:\n  route:\n    receiver: nobody\n  receivers:\n    - name: team\n",
            "v.yml",
        )
        .expect_err("undefined receiver");
        assert_eq!(
            e.to_string(),
            "v.yml:5: alertmanager.route.receiver: undefined receiver \"nobody\" used in route"
        );
        let e = parse(
            "alertmanager:\n  route:\n    receiver: team\n    group_wiat: 1m\n  receivers:\n    - name: team\n",
            "v.yml",
        )
        .expect_err("typo");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.reason.contains("group_wiat"), "{e}");
        let e = parse(
            "alertmanager:\n  route:\n    receiver: team\n  receivers:\n    - name: team\n  templates: ['[bad']\n",
            "v.yml",
        )
        .expect_err("bad glob");
        assert!(
            e.to_string()
                .starts_with("v.yml:6: alertmanager.templates[0]: "),
            "{e}"
        );
    }

    #[test]
    fn example_alerting_config_is_valid() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/vigil-alerting.yml"
        );
        let s = load(Some(Path::new(path))).expect("example is valid");
        assert!(s.alertmanager_section);
        assert_eq!(s.alertmanager.receivers.len(), 2);
    }

    #[test]
    fn prometheus_yml_loads_unchanged() {
        let text = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nrule_files:\n  - rules.yml\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['localhost:9093']\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n";
        let s = parse(text, "prometheus.yml").expect("loads");
        assert!(s.ignored_sections.is_empty(), "{:?}", s.ignored_sections);
        let t = s.alerting.targets.first().expect("one alertmanager");
        assert_eq!(t.alerts_url(), "http://localhost:9093/api/v2/alerts");
        assert_eq!(t.timeout, Duration::from_secs(10));
    }

    #[test]
    fn alerting_section_validates_relabels_and_locates_errors() {
        let text = "alerting:
  alert_relabel_configs:
    - target_label: team
      replacement: ml
  alertmanagers:
    - scheme: https
      path_prefix: /am
      timeout: 3s
      basic_auth:
        username: u
        password: p
      tls_config:
        insecure_skip_verify: true
      static_configs:
        - targets: ['a:9093', 'b:9093']
      relabel_configs:
        - source_labels: [__address__]
          regex: 'b:.*'
          action: drop
";
        let s = parse(text, "v.yml").expect("valid");
        assert_eq!(s.alerting.alert_relabel.len(), 1);
        assert_eq!(s.alerting.targets.len(), 1);
        let t = &s.alerting.targets[0];
        assert_eq!(t.alerts_url(), "https://a:9093/am/api/v2/alerts");
        assert_eq!(t.timeout, Duration::from_secs(3));
        assert!(t.http_config.tls_config.insecure_skip_verify);
        let ba = t.http_config.basic_auth.as_ref().expect("basic auth");
        assert_eq!(ba.username, "u");
        assert!(!s.config_yaml.contains(": p\n"), "{}", s.config_yaml);

        let e = parse(
            "alerting:\n  alertmanagers:\n    - api_version: v1\n      static_configs:\n        - targets: ['a:9093']\n",
            "v.yml",
        )
        .expect_err("v1");
        assert!(
            e.to_string()
                .starts_with("v.yml:3: alerting.alertmanagers[0].api_version: v1 is not supported"),
            "{e}"
        );
        let e = parse(
            "alerting:\n  alert_relabel_configs:\n    - action: keep\n      regex: '('\n",
            "v.yml",
        )
        .expect_err("bad regex");
        assert!(
            e.to_string()
                .starts_with("v.yml:4: alerting.alert_relabel_configs[0].regex: "),
            "{e}"
        );
        let e = parse(
            "alerting:\n  alertmanagers:\n    - bearer_token: x\n      authorization:\n        credentials: y\n",
            "v.yml",
        )
        .expect_err("two auths");
        assert!(
            e.to_string()
                .starts_with("v.yml:3: alerting.alertmanagers[0]: "),
            "{e}"
        );
    }
}

//! Raw config → [`ScrapeSettings`], with Prometheus's defaults and rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use vigil_model::{is_valid_label_name, Labels};

use super::{GlobalConfig, RawScrapeConfig, ScrapeConfig, StaticConfig};
use crate::target::TargetGroup;
use crate::{ConfigError, PromDuration, RelabelRule};

/// The Accept header Prometheus 2.42 sends when `scrape_protocols` is not configured.
pub const DEFAULT_ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const DEFAULT_SCRAPE_INTERVAL: PromDuration = PromDuration::from_secs(60);
const DEFAULT_SCRAPE_TIMEOUT: PromDuration = PromDuration::from_secs(10);
const DEFAULT_EVALUATION_INTERVAL: PromDuration = PromDuration::from_secs(60);
const DEFAULT_FILE_SD_REFRESH: PromDuration = PromDuration::from_secs(300);

/// Everything the scrape manager needs, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScrapeSettings {
    pub global: GlobalSettings,
    /// One per `scrape_configs` entry, in file order; job names are unique.
    pub pools: Vec<ScrapePoolSettings>,
}

/// `global:` with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSettings {
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    pub evaluation_interval: PromDuration,
    pub rule_query_offset: PromDuration,
    pub query_log_file: Option<PathBuf>,
    /// Attached by remote write, federation and alerting, never to stored series.
    pub external_labels: Labels,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        GlobalSettings {
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
            rule_query_offset: PromDuration::ZERO,
            query_log_file: None,
            external_labels: Labels::empty(),
        }
    }
}

/// A credential given inline or by file. Files are read at each scrape, so that rotated
/// secrets are picked up, as Prometheus does.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Inline(String),
    File(PathBuf),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("Secret(<inline>)"),
            Secret::File(p) => write!(f, "Secret(file {})", p.display()),
        }
    }
}

/// `basic_auth` ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: Secret,
    pub password: Option<Secret>,
}

/// `authorization` (or the legacy `bearer_token`) ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The scheme, e.g. `Bearer`.
    pub kind: String,
    pub credentials: Option<Secret>,
}

/// `tls_config` ready to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// Replaces the system roots when set, as in Prometheus.
    pub ca: Option<Secret>,
    pub cert: Option<Secret>,
    pub key: Option<Secret>,
    pub insecure_skip_verify: bool,
    /// `"TLS12"` / `"TLS13"`.
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

/// The HTTP client of one scrape pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls: TlsSettings,
    pub follow_redirects: bool,
    pub enable_http2: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            basic_auth: None,
            authorization: None,
            tls: TlsSettings::default(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

/// One `file_sd_configs` entry with absolute glob patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSdSettings {
    pub files: Vec<String>,
    pub refresh_interval: PromDuration,
}

/// One scrape pool (`scrape_configs` entry), validated, with global defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapePoolSettings {
    pub job_name: String,
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    pub metrics_path: String,
    pub scheme: String,
    pub params: BTreeMap<String, Vec<String>>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub enable_compression: bool,
    pub accept_header: String,
    pub http: HttpSettings,
    pub static_configs: Vec<TargetGroup>,
    pub file_sd_configs: Vec<FileSdSettings>,
    pub relabel_configs: Vec<RelabelRule>,
    pub metric_relabel_configs: Vec<RelabelRule>,
    /// Bytes; 0 = unlimited.
    pub body_size_limit: u64,
    /// 0 = unlimited, for every limit below.
    pub sample_limit: usize,
    pub target_limit: usize,
    pub label_limit: usize,
    pub label_name_length_limit: usize,
    pub label_value_length_limit: usize,
    pub keep_dropped_targets: usize,
}

impl ScrapePoolSettings {
    /// Settings for a pool with Prometheus's defaults and no targets; for tests and
    /// programmatic use.
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapePoolSettings {
            job_name: job_name.into(),
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            metrics_path: "/metrics".to_owned(),
            scheme: "http".to_owned(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            enable_compression: true,
            accept_header: DEFAULT_ACCEPT_HEADER.to_owned(),
            http: HttpSettings::default(),
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            body_size_limit: 0,
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            keep_dropped_targets: 0,
        }
    }
}

/// Validates with relative file paths resolved against the current directory.
///
/// # Errors
/// The first problem found, with its path in the config.
pub fn validate(raw: &RawScrapeConfig) -> Result<ScrapeSettings, ConfigError> {
    validate_in_dir(raw, Path::new(""))
}

/// Validates with relative file paths (file_sd globs, password and certificate files)
/// resolved against `dir`, normally the directory of the config file, as Prometheus does.
///
/// # Errors
/// The first problem found, with its path in the config.
pub fn validate_in_dir(raw: &RawScrapeConfig, dir: &Path) -> Result<ScrapeSettings, ConfigError> {
    let global = validate_global(&raw.global, dir).map_err(|e| e.within("global"))?;
    let mut names = BTreeSet::new();
    let mut pools = Vec::with_capacity(raw.scrape_configs.len());
    for (i, sc) in raw.scrape_configs.iter().enumerate() {
        let at = format!("scrape_configs[{i}]");
        let pool = validate_pool(sc, &raw.global, &global, dir).map_err(|e| e.within(&at))?;
        if !names.insert(pool.job_name.clone()) {
            return Err(ConfigError::new(
                format!("{at}.job_name"),
                format!(
                    "found multiple scrape configs with job name {:?}",
                    pool.job_name
                ),
            ));
        }
        pools.push(pool);
    }
    Ok(ScrapeSettings { global, pools })
}

fn join(dir: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() || dir.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

fn unsupported(field: &str) -> ConfigError {
    ConfigError::new(field, format!("{field} is not supported by Vigil"))
}

fn check_label_map(m: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for name in m.keys() {
        if !is_valid_label_name(name) {
            return Err(ConfigError::new(
                name.clone(),
                format!("{name:?} is not a valid label name"),
            ));
        }
    }
    Ok(())
}

fn to_usize(v: Option<u64>, inherited: Option<u64>) -> usize {
    let v = v.filter(|v| *v > 0).or(inherited).unwrap_or(0);
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn check_histogram_options(
    convert_nhcb: Option<bool>,
    native: Option<bool>,
    name_scheme: Option<&str>,
    failure_log: Option<&str>,
) -> Result<(), ConfigError> {
    if convert_nhcb == Some(true) {
        return Err(ConfigError::new(
            "convert_classic_histograms_to_nhcb",
            "native histograms are not supported by Vigil; set convert_classic_histograms_to_nhcb to false",
        ));
    }
    if native == Some(true) {
        return Err(ConfigError::new(
            "scrape_native_histograms",
            "native histograms are not supported by Vigil; set scrape_native_histograms to false",
        ));
    }
    if let Some(s) = name_scheme {
        if !s.is_empty() && s != "legacy" {
            return Err(ConfigError::new(
                "metric_name_validation_scheme",
                format!("metric_name_validation_scheme {s:?} is not supported by Vigil; only \"legacy\" names are"),
            ));
        }
    }
    if failure_log.is_some() {
        return Err(unsupported("scrape_failure_log_file"));
    }
    Ok(())
}

fn validate_global(g: &GlobalConfig, dir: &Path) -> Result<GlobalSettings, ConfigError> {
    let mut external = BTreeMap::new();
    if let Some(m) = &g.external_labels {
        check_label_map(m).map_err(|e| e.within("external_labels"))?;
        external = m.clone();
    }
    let external_labels = Labels::from_pairs(external)
        .map_err(|e| ConfigError::new("external_labels", e.to_string()))?;
    check_histogram_options(
        g.convert_classic_histograms_to_nhcb,
        g.scrape_native_histograms,
        g.metric_name_validation_scheme.as_deref(),
        g.scrape_failure_log_file.as_deref(),
    )?;
    if let Some(p) = &g.scrape_protocols {
        accept_header(p).map_err(|e| e.within("scrape_protocols"))?;
    }
    let scrape_interval = g
        .scrape_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
    let scrape_timeout = match g.scrape_timeout.filter(|d| !d.is_zero()) {
        Some(t) if t > scrape_interval => {
            return Err(ConfigError::new(
                "scrape_timeout",
                format!("global scrape timeout {t} greater than scrape interval {scrape_interval}"),
            ))
        }
        Some(t) => t,
        None => DEFAULT_SCRAPE_TIMEOUT.min(scrape_interval),
    };
    Ok(GlobalSettings {
        scrape_interval,
        scrape_timeout,
        evaluation_interval: g
            .evaluation_interval
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_EVALUATION_INTERVAL),
        rule_query_offset: g.rule_query_offset.unwrap_or(PromDuration::ZERO),
        query_log_file: g.query_log_file.as_deref().map(|p| join(dir, p)),
        external_labels,
    })
}

/// Builds the Accept header from `scrape_protocols` the way Prometheus 2.49+ does.
fn accept_header(protocols: &[String]) -> Result<String, ConfigError> {
    if protocols.is_empty() {
        return Err(ConfigError::new("", "scrape_protocols cannot be empty"));
    }
    let mut weight = 5usize;
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    let mut seen = BTreeSet::new();
    for (i, p) in protocols.iter().enumerate() {
        let header = match p.as_str() {
            "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
            "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
            "PrometheusText0.0.4" => "text/plain;version=0.0.4",
            "PrometheusProto" | "PrometheusText1.0.0" => {
                return Err(ConfigError::new(
                    format!("[{i}]"),
                    format!("scrape protocol {p:?} is not supported by Vigil (supported: OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText0.0.4)"),
                ))
            }
            _ => {
                return Err(ConfigError::new(
                    format!("[{i}]"),
                    format!("unknown scrape protocol {p:?}, supported: OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText0.0.4"),
                ))
            }
        };
        if !seen.insert(p.to_ascii_lowercase()) {
            return Err(ConfigError::new(
                format!("[{i}]"),
                format!("duplicated protocol in scrape_protocols: {p:?}"),
            ));
        }
        parts.push(format!("{header};q=0.{weight}"));
        weight = weight.saturating_sub(1);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    Ok(parts.join(","))
}

fn file_sd_name_pattern() -> &'static Regex {
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$")
            .expect("constant file_sd pattern compiles")
    })
}

fn exclusive(a: bool, b: bool, path: &str, msg: &str) -> Result<(), ConfigError> {
    if a && b {
        Err(ConfigError::new(path, msg))
    } else {
        Ok(())
    }
}

fn has<S: AsRef<str>>(o: &Option<S>) -> bool {
    o.as_ref().is_some_and(|s| !s.as_ref().is_empty())
}

fn secret<S: AsRef<str>>(inline: &Option<S>, file: &Option<String>, dir: &Path) -> Option<Secret> {
    match (inline, file) {
        (Some(s), _) if !s.as_ref().is_empty() => Some(Secret::Inline(s.as_ref().to_owned())),
        (_, Some(f)) if !f.is_empty() => Some(Secret::File(join(dir, f))),
        _ => None,
    }
}

fn validate_http(sc: &ScrapeConfig, dir: &Path) -> Result<HttpSettings, ConfigError> {
    exclusive(
        has(&sc.bearer_token),
        has(&sc.bearer_token_file),
        "bearer_token",
        "at most one of bearer_token & bearer_token_file must be configured",
    )?;
    let bearer = has(&sc.bearer_token) || has(&sc.bearer_token_file);
    exclusive(
        sc.basic_auth.is_some(),
        bearer,
        "basic_auth",
        "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
    )?;
    let basic_auth = match &sc.basic_auth {
        None => None,
        Some(b) => {
            exclusive(
                has(&b.username),
                has(&b.username_file),
                "basic_auth",
                "at most one of basic_auth username & username_file must be configured",
            )?;
            exclusive(
                has(&b.password),
                has(&b.password_file),
                "basic_auth",
                "at most one of basic_auth password & password_file must be configured",
            )?;
            Some(BasicAuth {
                username: secret(&b.username, &b.username_file, dir)
                    .unwrap_or(Secret::Inline(String::new())),
                password: secret(&b.password, &b.password_file, dir),
            })
        }
    };
    let mut authorization = match &sc.authorization {
        None => None,
        Some(a) => {
            exclusive(
                true,
                bearer,
                "authorization",
                "authorization is not compatible with bearer_token & bearer_token_file",
            )?;
            exclusive(
                has(&a.credentials),
                has(&a.credentials_file),
                "authorization",
                "at most one of authorization credentials & credentials_file must be configured",
            )?;
            let kind = a
                .kind
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("Bearer")
                .to_owned();
            if kind.eq_ignore_ascii_case("basic") {
                return Err(ConfigError::new(
                    "authorization.type",
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
                ));
            }
            exclusive(
                true,
                sc.basic_auth.is_some(),
                "authorization",
                "at most one of basic_auth, oauth2 & authorization must be configured",
            )?;
            Some(Authorization {
                kind,
                credentials: secret(&a.credentials, &a.credentials_file, dir),
            })
        }
    };
    if bearer {
        authorization = Some(Authorization {
            kind: "Bearer".to_owned(),
            credentials: secret(&sc.bearer_token, &sc.bearer_token_file, dir),
        });
    }
    let tls = match &sc.tls_config {
        None => TlsSettings::default(),
        Some(t) => {
            if t.server_name.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(ConfigError::new(
                    "tls_config.server_name",
                    "tls_config.server_name is not supported by Vigil",
                ));
            }
            exclusive(
                has(&t.ca),
                has(&t.ca_file),
                "tls_config",
                "at most one of ca and ca_file must be configured",
            )?;
            exclusive(
                has(&t.cert),
                has(&t.cert_file),
                "tls_config",
                "at most one of cert and cert_file must be configured",
            )?;
            exclusive(
                has(&t.key),
                has(&t.key_file),
                "tls_config",
                "at most one of key and key_file must be configured",
            )?;
            let cert = secret(&t.cert, &t.cert_file, dir);
            let key = secret(&t.key, &t.key_file, dir);
            if cert.is_some() != key.is_some() {
                return Err(ConfigError::new(
                    "tls_config",
                    "a client certificate needs a key and a key needs a certificate: set both cert (or cert_file) and key (or key_file)",
                ));
            }
            for (field, v) in [
                ("min_version", &t.min_version),
                ("max_version", &t.max_version),
            ] {
                if let Some(v) = v {
                    if !matches!(v.as_str(), "TLS12" | "TLS13") {
                        return Err(ConfigError::new(
                            format!("tls_config.{field}"),
                            format!("unknown TLS version {v:?}, supported: TLS12, TLS13"),
                        ));
                    }
                }
            }
            TlsSettings {
                ca: secret(&t.ca, &t.ca_file, dir),
                cert,
                key,
                insecure_skip_verify: t.insecure_skip_verify.unwrap_or(false),
                min_version: t.min_version.clone(),
                max_version: t.max_version.clone(),
            }
        }
    };
    Ok(HttpSettings {
        basic_auth,
        authorization,
        tls,
        follow_redirects: sc.follow_redirects.unwrap_or(true),
        enable_http2: sc.enable_http2.unwrap_or(true),
    })
}

fn static_group(
    sg: &StaticConfig,
    check_addresses: bool,
    source: String,
) -> Result<TargetGroup, ConfigError> {
    let labels = sg.labels.clone().unwrap_or_default();
    check_label_map(&labels).map_err(|e| e.within("labels"))?;
    for (k, t) in sg.targets.iter().enumerate() {
        if check_addresses && t.contains('/') {
            return Err(ConfigError::new(
                format!("targets[{k}]"),
                format!("{t:?} is not a valid hostname"),
            ));
        }
    }
    Ok(TargetGroup::from_addresses(&sg.targets, labels, source))
}

fn validate_pool(
    sc: &ScrapeConfig,
    raw_global: &GlobalConfig,
    global: &GlobalSettings,
    dir: &Path,
) -> Result<ScrapePoolSettings, ConfigError> {
    let job_name = sc.job_name.clone().unwrap_or_default();
    if job_name.is_empty() {
        return Err(ConfigError::new("job_name", "job_name is empty"));
    }
    if let Some(field) = sc.unsupported_fields().first() {
        let mut e = unsupported(field);
        if field.ends_with("_sd_configs") {
            e.reason
                .push_str(" (Vigil discovers targets with static_configs and file_sd_configs)");
        }
        return Err(e);
    }
    check_histogram_options(
        sc.convert_classic_histograms_to_nhcb,
        sc.scrape_native_histograms,
        sc.metric_name_validation_scheme.as_deref(),
        sc.scrape_failure_log_file.as_deref(),
    )?;
    if let Some(p) = &sc.scrape_fallback_protocol {
        if p != "PrometheusText0.0.4" {
            return Err(ConfigError::new(
                "scrape_fallback_protocol",
                format!("scrape_fallback_protocol {p:?} is not supported by Vigil; bodies without a known Content-Type are read as PrometheusText0.0.4"),
            ));
        }
    }

    let scrape_interval = sc
        .scrape_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(global.scrape_interval);
    let scrape_timeout = match sc.scrape_timeout.filter(|d| !d.is_zero()) {
        Some(t) if t > scrape_interval => {
            return Err(ConfigError::new(
                "scrape_timeout",
                format!("scrape timeout {t} greater than scrape interval {scrape_interval} for scrape config with job name {job_name:?}"),
            ))
        }
        Some(t) => t,
        None => global.scrape_timeout.min(scrape_interval),
    };
    let scheme = sc.scheme.clone().unwrap_or_else(|| "http".to_owned());
    if scheme != "http" && scheme != "https" {
        return Err(ConfigError::new(
            "scheme",
            format!("invalid scheme {scheme:?}, expected http or https"),
        ));
    }
    let metrics_path = sc
        .metrics_path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/metrics".to_owned());
    let protocols = sc
        .scrape_protocols
        .as_ref()
        .or(raw_global.scrape_protocols.as_ref());
    let accept_header = match protocols {
        Some(p) => accept_header(p).map_err(|e| e.within("scrape_protocols"))?,
        None => DEFAULT_ACCEPT_HEADER.to_owned(),
    };
    if let Some(params) = &sc.params {
        for (name, values) in params {
            if values.is_empty() {
                continue;
            }
            if name.is_empty() {
                return Err(ConfigError::new("params", "parameter name is empty"));
            }
        }
    }
    let http = validate_http(sc, dir)?;

    let relabel_configs = rules(sc.relabel_configs.as_deref(), "relabel_configs")?;
    let metric_relabel_configs = rules(
        sc.metric_relabel_configs.as_deref(),
        "metric_relabel_configs",
    )?;

    let mut static_configs = Vec::new();
    for (j, sg) in sc.static_configs.iter().flatten().enumerate() {
        let at = format!("static_configs[{j}]");
        static_configs.push(
            static_group(sg, relabel_configs.is_empty(), j.to_string())
                .map_err(|e| e.within(&at))?,
        );
    }
    let mut file_sd_configs = Vec::new();
    for (j, f) in sc.file_sd_configs.iter().flatten().enumerate() {
        let at = format!("file_sd_configs[{j}]");
        if f.files.is_empty() {
            return Err(ConfigError::new(
                format!("{at}.files"),
                "file service discovery config must contain at least one path name",
            ));
        }
        let mut files = Vec::with_capacity(f.files.len());
        for (k, name) in f.files.iter().enumerate() {
            if !file_sd_name_pattern().is_match(name) {
                return Err(ConfigError::new(
                    format!("{at}.files[{k}]"),
                    format!("path name {name:?} is not valid for file discovery (it must end in .json, .yml or .yaml and may contain one * in its last part)"),
                ));
            }
            files.push(join(dir, name).to_string_lossy().into_owned());
        }
        file_sd_configs.push(FileSdSettings {
            files,
            refresh_interval: f
                .refresh_interval
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_FILE_SD_REFRESH),
        });
    }

    Ok(ScrapePoolSettings {
        job_name,
        scrape_interval,
        scrape_timeout,
        metrics_path,
        scheme,
        params: sc.params.clone().unwrap_or_default(),
        honor_labels: sc.honor_labels.unwrap_or(false),
        honor_timestamps: sc.honor_timestamps.unwrap_or(true),
        track_timestamps_staleness: sc.track_timestamps_staleness.unwrap_or(false),
        enable_compression: sc.enable_compression.unwrap_or(true),
        accept_header,
        http,
        static_configs,
        file_sd_configs,
        relabel_configs,
        metric_relabel_configs,
        body_size_limit: sc
            .body_size_limit
            .filter(|b| b.0 > 0)
            .or(raw_global.body_size_limit)
            .map_or(0, |b| b.0),
        sample_limit: to_usize(sc.sample_limit, raw_global.sample_limit),
        target_limit: to_usize(sc.target_limit, raw_global.target_limit),
        label_limit: to_usize(sc.label_limit, raw_global.label_limit),
        label_name_length_limit: to_usize(
            sc.label_name_length_limit,
            raw_global.label_name_length_limit,
        ),
        label_value_length_limit: to_usize(
            sc.label_value_length_limit,
            raw_global.label_value_length_limit,
        ),
        keep_dropped_targets: to_usize(sc.keep_dropped_targets, raw_global.keep_dropped_targets),
    })
}

fn rules(
    raw: Option<&[crate::RelabelConfig]>,
    field: &str,
) -> Result<Vec<RelabelRule>, ConfigError> {
    raw.unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(k, r)| r.validate().map_err(|e| e.within(&format!("{field}[{k}]"))))
        .collect()
}

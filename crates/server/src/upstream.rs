//! Prometheus's `alerting:` section: `alert_relabel_configs` and the external
//! `alertmanagers` rule alerts are sent to, besides the embedded Alertmanager.
//!
//! The section is read raw ([`RawAlerting`]), validated into [`AlertingSettings`] (targets
//! already relabelled by each Alertmanager config's `relabel_configs`, as Prometheus does with
//! the labels `__address__`, `__scheme__` and `__alerts_path__`), and applied to one
//! [`Notifier`] at start and on every reload. Only `static_configs` discover Alertmanagers and
//! only API v2 is spoken, as Alertmanager 0.25+ requires.
//!
//! `alert_relabel_configs` apply to every alert the rules send, to the embedded Alertmanager as
//! well as upstream: in Prometheus they apply to all Alertmanagers, and the embedded one is one
//! of them.

use std::path::Path;
use std::time::Duration;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use vigil_alertmanager::config::{
    validate_http_config, RawAuthorization, RawBasicAuth, RawHttpConfig, RawTlsConfig,
};
use vigil_alertmanager::upstream::{
    AlertRelabel, BuiltTargets, UpstreamAlert, UpstreamOptions, UpstreamSender, UpstreamTarget,
};
use vigil_model::{Labels, LabelsBuilder};
use vigil_scrape::{PromDuration, RelabelConfig, RelabelRule};

/// `alerting:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    #[serde(default)]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub alertmanagers: Vec<RawAlertmanager>,
}

/// One entry of `alerting.alertmanagers`. The HTTP client fields (`prometheus/common`'s
/// `HTTPClientConfig`, inlined) are Alertmanager's `http_config` types, read and validated by
/// `vigil-alertmanager`, which builds the client from them; `oauth2` is not among them, since
/// that client does not support it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    #[serde(default)]
    pub static_configs: Vec<RawStaticConfig>,
    pub scheme: Option<String>,
    pub path_prefix: Option<String>,
    pub api_version: Option<String>,
    pub timeout: Option<PromDuration>,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    pub proxy_url: Option<String>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The validated section; the default sends nowhere and relabels nothing.
#[derive(Debug, Clone, Default)]
pub struct AlertingSettings {
    pub alert_relabel: Vec<RelabelRule>,
    pub targets: Vec<UpstreamTarget>,
}

/// A problem at a config path (`alerting.alertmanagers[0].api_version`).
type PathError = (String, String);

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn relabel_rules(raw: &[RelabelConfig], path: &str) -> Result<Vec<RelabelRule>, PathError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            r.validate()
                .map_err(|e| (format!("{path}[{i}].{}", e.path), e.reason))
        })
        .collect()
}

/// Validates `alerting:`; `base` is the config file's directory.
///
/// # Errors
/// The first problem, with its path.
pub fn validate(
    raw: Option<RawAlerting>,
    base: Option<&Path>,
) -> Result<AlertingSettings, PathError> {
    let Some(raw) = raw else {
        return Ok(AlertingSettings::default());
    };
    let alert_relabel =
        relabel_rules(&raw.alert_relabel_configs, "alerting.alert_relabel_configs")?;
    let mut targets = Vec::new();
    for (i, am) in raw.alertmanagers.into_iter().enumerate() {
        let path = format!("alerting.alertmanagers[{i}]");
        targets.extend(alertmanager(am, &path, base)?);
    }
    Ok(AlertingSettings {
        alert_relabel,
        targets,
    })
}

fn alertmanager(
    am: RawAlertmanager,
    path: &str,
    base: Option<&Path>,
) -> Result<Vec<UpstreamTarget>, PathError> {
    let err = |field: &str, reason: String| (format!("{path}.{field}"), reason);
    match am.api_version.as_deref() {
        None | Some("" | "v2") => {}
        Some("v1") => {
            return Err(err(
                "api_version",
                "v1 is not supported (Alertmanager 0.25+ serves only API v2); use v2".into(),
            ))
        }
        Some(v) => return Err(err("api_version", format!("unknown API version {v:?}"))),
    }
    let scheme = non_empty(am.scheme).unwrap_or_else(|| "http".to_owned());
    if scheme != "http" && scheme != "https" {
        return Err(err(
            "scheme",
            format!("unsupported scheme {scheme:?}: expected http or https"),
        ));
    }
    let timeout = am
        .timeout
        .map_or(Duration::from_secs(10), PromDuration::as_std);
    if timeout.is_zero() {
        return Err(err("timeout", "must be greater than 0".into()));
    }
    let raw_http = RawHttpConfig {
        basic_auth: am.basic_auth,
        authorization: am.authorization,
        oauth2: None,
        bearer_token: am.bearer_token,
        bearer_token_file: am.bearer_token_file,
        proxy_url: am.proxy_url,
        tls_config: am.tls_config,
        follow_redirects: am.follow_redirects,
        enable_http2: am.enable_http2,
    };
    let mut http_config = validate_http_config(raw_http, path).map_err(|e| (e.path, e.reason))?;
    // Files named in the section are relative to the config file, as in Prometheus.
    if let Some(dir) = base {
        http_config.set_directory(dir);
    }
    let rules = relabel_rules(&am.relabel_configs, &format!("{path}.relabel_configs"))?;
    let path_prefix = am.path_prefix.unwrap_or_default();
    let alerts_path = UpstreamTarget::new(&scheme, "", &path_prefix)
        .alerts_url()
        .trim_start_matches(&format!("{scheme}://"))
        .to_owned();
    let mut out = Vec::new();
    for (j, sc) in am.static_configs.iter().enumerate() {
        for (k, addr) in sc.targets.iter().enumerate() {
            if addr.is_empty() || addr.contains('/') {
                return Err(err(
                    &format!("static_configs[{j}].targets[{k}]"),
                    format!("invalid target {addr:?}: expected host:port"),
                ));
            }
            let mut b = LabelsBuilder::new();
            for (n, v) in &sc.labels {
                b.set(n, v);
            }
            b.set("__address__", addr);
            b.set("__scheme__", &scheme);
            b.set("__alerts_path__", &alerts_path);
            let Some(l) = vigil_scrape::relabel::process(&b.build(), &rules) else {
                continue;
            };
            let Some(host) = l.get("__address__").filter(|a| !a.is_empty()) else {
                continue;
            };
            let scheme = l.get("__scheme__").unwrap_or(&scheme).to_owned();
            // The prefix is whatever `__alerts_path__` leaves before `/api/v2/alerts`.
            let prefix = l
                .get("__alerts_path__")
                .map_or(path_prefix.as_str(), |p| {
                    p.strip_suffix("/api/v2/alerts").unwrap_or(p)
                })
                .to_owned();
            out.push(UpstreamTarget {
                scheme,
                host: host.to_owned(),
                path_prefix: prefix,
                http_config: http_config.clone(),
                timeout,
            });
        }
    }
    Ok(out)
}

/// The sender to external Alertmanagers and the alert relabelling in force.
pub struct Notifier {
    sender: UpstreamSender,
    relabel: RwLock<Vec<RelabelRule>>,
}

impl Notifier {
    /// A notifier with no targets; its metrics go into `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let sender = UpstreamSender::new(UpstreamOptions::default());
        sender.register_metrics(registry);
        Notifier {
            sender,
            relabel: RwLock::new(Vec::new()),
        }
    }

    /// Puts a (re)loaded section in force.
    ///
    /// # Errors
    /// A target whose HTTP client cannot be built; the previous targets stay.
    pub fn apply(&self, s: &AlertingSettings) -> Result<(), String> {
        let built = Self::prepare(s)?;
        self.install(built, s);
        Ok(())
    }

    /// The part of [`Notifier::apply`] that can fail, changing nothing: the targets' HTTP
    /// clients built.
    ///
    /// # Errors
    /// A target whose HTTP client cannot be built.
    pub fn prepare(s: &AlertingSettings) -> Result<BuiltTargets, String> {
        UpstreamSender::build_targets(&s.targets).map_err(|e| e.to_string())
    }

    /// The rest of [`Notifier::apply`]: the targets [`Notifier::prepare`] built and the
    /// section's relabelling in force.
    pub fn install(&self, built: BuiltTargets, s: &AlertingSettings) {
        self.sender.install_targets(built);
        *self.relabel.write() = s.alert_relabel.clone();
        tracing::info!(
            alertmanagers = s.targets.len(),
            "external alertmanagers configured"
        );
    }

    /// `alert_relabel_configs` applied to one alert's labels; `None` drops it.
    pub fn relabel(&self, labels: Labels) -> Option<Labels> {
        let rules = self.relabel.read();
        if rules.is_empty() {
            return Some(labels);
        }
        vigil_scrape::relabel::process(&labels, &rules).filter(|l| !l.is_empty())
    }

    /// Whether any external Alertmanager is configured.
    pub fn has_targets(&self) -> bool {
        self.sender.has_targets()
    }

    /// Queues already relabelled alerts for every external Alertmanager.
    pub fn send(&self, alerts: Vec<UpstreamAlert>) {
        if self.has_targets() {
            self.sender.send(alerts);
        }
    }

    pub fn start(&self, rt: &tokio::runtime::Handle) {
        // Relabelling is done once, by the rules' sink, for both destinations.
        self.sender.set_relabel(None::<AlertRelabel>);
        self.sender.start(rt);
    }

    pub async fn stop(&self) {
        self.sender.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str, base: Option<&Path>) -> Result<AlertingSettings, PathError> {
        let raw: RawAlerting = serde_yaml_ng::from_str(yaml).expect("yaml");
        validate(Some(raw), base)
    }

    #[test]
    fn http_client_files_are_relative_to_the_config_file() {
        let s = settings(
            "alertmanagers:\n  - static_configs: [{targets: ['am:9093']}]\n    basic_auth: {username: u, password_file: pw}\n    tls_config: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem}\n",
            Some(Path::new("/conf")),
        )
        .expect("valid");
        let h = &s.targets[0].http_config;
        let b = h.basic_auth.as_ref().expect("basic_auth");
        assert_eq!(b.username, "u");
        assert_eq!(b.password_file.as_deref(), Some("/conf/pw"));
        assert_eq!(h.tls_config.ca_file.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(h.tls_config.cert_file.as_deref(), Some("/conf/c.pem"));
        assert_eq!(h.tls_config.key_file.as_deref(), Some("/conf/k.pem"));
    }

    #[test]
    fn bearer_token_becomes_authorization() {
        let s = settings(
            "alertmanagers:\n  - static_configs: [{targets: ['am:9093']}]\n    bearer_token_file: token\n",
            Some(Path::new("/conf")),
        )
        .expect("valid");
        let a = s.targets[0]
            .http_config
            .authorization
            .as_ref()
            .expect("authorization");
        assert_eq!(a.kind, "Bearer");
        assert_eq!(a.credentials_file.as_deref(), Some("/conf/token"));
    }

    /// The checks and wording of `prometheus/common`'s `HTTPClientConfig.Validate`, at the
    /// Alertmanager entry's path.
    #[test]
    fn http_client_conflicts_read_as_prometheus() {
        let cases = [
            (
                "bearer_token: a\n    bearer_token_file: b",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
            (
                "bearer_token: a\n    basic_auth: {username: u}",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ),
            (
                "authorization: {credentials: a}\n    basic_auth: {username: u}",
                "at most one of basic_auth, oauth2 & authorization must be configured",
            ),
            (
                "authorization: {type: Basic, credentials: a}",
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ),
        ];
        for (fields, want) in cases {
            let yaml = format!("alertmanagers:\n  - {fields}\n");
            let (path, reason) = settings(&yaml, None).expect_err(fields);
            assert_eq!(path, "alerting.alertmanagers[0]", "{fields}");
            assert_eq!(reason, want, "{fields}");
        }
        let e = serde_yaml_ng::from_str::<RawAlerting>("alertmanagers:\n  - oauth2: {}\n")
            .expect_err("oauth2 is refused while reading");
        assert!(e.to_string().contains("unknown field `oauth2`"), "{e}");
    }
}

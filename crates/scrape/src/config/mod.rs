//! The scrape sections of `prometheus.yml`, raw (as written) and validated (ready to run).
//!
//! Raw types mirror Prometheus's YAML field for field and reject unknown fields. Prometheus
//! settings that Vigil does not implement (other service discoveries, OAuth2, proxies …) are
//! still recognised, so that [`validate`] can say "not supported by Vigil" with the field's path
//! instead of a bare "unknown field". Settings that only tune features Vigil lacks and change
//! nothing about what is scraped (native-histogram bucket limits …) are accepted and ignored.
//!
//! [`validate`] applies Prometheus's defaults and rules and yields [`ScrapeSettings`]: compiled
//! relabel rules, resolved intervals and limits, absolute file paths, the Accept header. Every
//! error carries a YAML-ish path (`scrape_configs[2].relabel_configs[0].regex`).

mod http;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use http::{AuthorizationConfig, BasicAuthConfig, SecretString, TlsConfig};
pub use validate::{
    validate, validate_in_dir, Authorization, BasicAuth, FileSdSettings, GlobalSettings,
    HttpSettings, ScrapePoolSettings, ScrapeSettings, Secret, TlsSettings, DEFAULT_ACCEPT_HEADER,
};

use crate::{ByteSize, PromDuration, RelabelConfig};

/// The parts of a Prometheus config file this crate reads: `global` and `scrape_configs`.
///
/// Unknown top-level keys are not rejected here: the file has other sections (`rule_files`,
/// `alerting`, Vigil's own) that the server reads and checks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RawScrapeConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub global: GlobalConfig,
    #[serde(default, deserialize_with = "null_default")]
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// `global:` of `prometheus.yml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default 1m.
    pub scrape_interval: Option<PromDuration>,
    /// Default 10s (or the interval, when that is shorter).
    pub scrape_timeout: Option<PromDuration>,
    pub scrape_protocols: Option<Vec<String>>,
    /// Default 1m; used by the rule evaluator, not by scraping.
    pub evaluation_interval: Option<PromDuration>,
    /// Used by the rule evaluator.
    pub rule_query_offset: Option<PromDuration>,
    /// Used by the query engine.
    pub query_log_file: Option<String>,
    #[serde(default, deserialize_with = "lenient_string::map_option")]
    pub external_labels: Option<BTreeMap<String, String>>,
    pub body_size_limit: Option<ByteSize>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,
    /// Only `legacy` is supported.
    pub metric_name_validation_scheme: Option<String>,
    /// Accepted and ignored: Vigil only handles legacy names, which need no escaping.
    pub metric_name_escaping_scheme: Option<String>,
    /// Not supported.
    pub scrape_failure_log_file: Option<String>,
    /// Accepted: Vigil always stores classic histograms.
    pub always_scrape_classic_histograms: Option<bool>,
    /// Only `false` is supported.
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Only `false` is supported.
    pub scrape_native_histograms: Option<bool>,
}

/// One entry of `static_configs:` (a Prometheus target group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "lenient_string::map_option")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// One entry of `file_sd_configs:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub files: Vec<String>,
    /// Default 5m.
    pub refresh_interval: Option<PromDuration>,
}

/// One entry of `scrape_configs:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: Option<String>,
    /// Default false.
    pub honor_labels: Option<bool>,
    /// Default true.
    pub honor_timestamps: Option<bool>,
    /// Default false.
    pub track_timestamps_staleness: Option<bool>,
    pub params: Option<BTreeMap<String, Vec<String>>>,
    pub scrape_interval: Option<PromDuration>,
    pub scrape_timeout: Option<PromDuration>,
    pub scrape_protocols: Option<Vec<String>>,
    /// Only `PrometheusText0.0.4` (what Vigil falls back to anyway) is supported.
    pub scrape_fallback_protocol: Option<String>,
    /// Accepted: Vigil always stores classic histograms.
    pub scrape_classic_histograms: Option<bool>,
    /// Accepted: Vigil always stores classic histograms.
    pub always_scrape_classic_histograms: Option<bool>,
    /// Only `false` is supported.
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Only `false` is supported.
    pub scrape_native_histograms: Option<bool>,
    /// Default `/metrics`.
    pub metrics_path: Option<String>,
    /// Default `http`.
    pub scheme: Option<String>,
    /// Default true: ask for gzip.
    pub enable_compression: Option<bool>,
    pub body_size_limit: Option<ByteSize>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    /// Accepted and ignored: no native histograms are ingested.
    pub native_histogram_bucket_limit: Option<u64>,
    /// Accepted and ignored: no native histograms are ingested.
    pub native_histogram_min_bucket_factor: Option<f64>,
    pub keep_dropped_targets: Option<u64>,
    /// Only `legacy` is supported.
    pub metric_name_validation_scheme: Option<String>,
    /// Accepted and ignored.
    pub metric_name_escaping_scheme: Option<String>,
    /// Not supported.
    pub scrape_failure_log_file: Option<String>,

    // HTTP client settings, inlined as in Prometheus's HTTPClientConfig.
    pub basic_auth: Option<BasicAuthConfig>,
    pub authorization: Option<AuthorizationConfig>,
    /// Deprecated in Prometheus 2.x, removed in 3.0; converted to `authorization`.
    pub bearer_token: Option<SecretString>,
    /// Deprecated in Prometheus 2.x, removed in 3.0; converted to `authorization`.
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<TlsConfig>,
    /// Default true.
    pub follow_redirects: Option<bool>,
    /// Default true.
    pub enable_http2: Option<bool>,

    pub static_configs: Option<Vec<StaticConfig>>,
    pub file_sd_configs: Option<Vec<FileSdConfig>>,
    pub relabel_configs: Option<Vec<RelabelConfig>>,
    pub metric_relabel_configs: Option<Vec<RelabelConfig>>,

    // Prometheus settings Vigil recognises but does not implement; `validate` rejects them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_from_environment: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_connect_header: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitalocean_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerswarm_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eureka_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hetzner_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ionos_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuma_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lightsail_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linode_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marathon_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nerve_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nomad_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovhcloud_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puppetdb_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverset_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stackit_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triton_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uyuni_sd_configs: Option<serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vultr_sd_configs: Option<serde_yaml_ng::Value>,
}

impl ScrapeConfig {
    /// The Prometheus settings present in this config that Vigil does not implement.
    pub fn unsupported_fields(&self) -> Vec<&'static str> {
        // Each field is named once, so a reported name cannot drift from its field.
        macro_rules! present {
            ($($field:ident),* $(,)?) => {
                [$((stringify!($field), self.$field.is_some())),*]
            };
        }
        present!(
            oauth2,
            proxy_url,
            no_proxy,
            proxy_from_environment,
            proxy_connect_header,
            http_headers,
            azure_sd_configs,
            consul_sd_configs,
            digitalocean_sd_configs,
            docker_sd_configs,
            dockerswarm_sd_configs,
            dns_sd_configs,
            ec2_sd_configs,
            eureka_sd_configs,
            gce_sd_configs,
            hetzner_sd_configs,
            http_sd_configs,
            ionos_sd_configs,
            kubernetes_sd_configs,
            kuma_sd_configs,
            lightsail_sd_configs,
            linode_sd_configs,
            marathon_sd_configs,
            nerve_sd_configs,
            nomad_sd_configs,
            openstack_sd_configs,
            ovhcloud_sd_configs,
            puppetdb_sd_configs,
            scaleway_sd_configs,
            serverset_sd_configs,
            stackit_sd_configs,
            triton_sd_configs,
            uyuni_sd_configs,
            vultr_sd_configs,
        )
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// Deserializes `null` as the type's default, as Go's YAML decoder does for absent sections.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Strings that YAML may have typed as numbers or booleans (`regex: 200`, `env: 1`): Go's YAML
/// decoder turns any scalar into a string, so Prometheus files rely on it.
pub(crate) mod lenient_string {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, Visitor};
    use serde::Deserialize;

    struct Scalar;

    impl<'de> Visitor<'de> for Scalar {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    /// One scalar as a string.
    pub struct LenientString(pub String);

    impl<'de> Deserialize<'de> for LenientString {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Scalar).map(LenientString)
        }
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<LenientString>::deserialize(d)?.map(|s| s.0))
    }

    pub fn map_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<BTreeMap<String, String>>, D::Error> {
        struct M;
        impl<'de> Visitor<'de> for M {
            type Value = Option<BTreeMap<String, String>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_map(M)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<LenientString, LenientString>()? {
                    if out.insert(k.0.clone(), v.0).is_some() {
                        return Err(de::Error::custom(format!("duplicate label name {:?}", k.0)));
                    }
                }
                Ok(Some(out))
            }
        }
        d.deserialize_option(M)
    }
}

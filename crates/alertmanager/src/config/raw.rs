//! Alertmanager's YAML as written, field for field (Alertmanager 0.25 with `prometheus/common`
//! 0.38's HTTP client settings). Unknown fields are errors, as with Go's `UnmarshalStrict`.
//! Everything is optional here; defaults and rules are applied by [`super::validate`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::lenient;

/// The whole document.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub global: Option<RawGlobal>,
    pub route: Option<RawRoute>,
    pub inhibit_rules: Option<Vec<RawInhibitRule>>,
    pub receivers: Option<Vec<RawReceiver>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub templates: Option<Vec<String>>,
    pub mute_time_intervals: Option<Vec<RawNamedTimeInterval>>,
    pub time_intervals: Option<Vec<RawNamedTimeInterval>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub resolve_timeout: Option<String>,
    pub http_config: Option<RawHttpConfig>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_from: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_hello: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_smarthost: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_auth_username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_auth_password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_auth_password_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_auth_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smtp_auth_identity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub smtp_require_tls: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub slack_api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub slack_api_url_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub pagerduty_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub opsgenie_api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub opsgenie_api_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub opsgenie_api_key_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub wechat_api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub wechat_api_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub wechat_api_corp_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub victorops_api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub victorops_api_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub victorops_api_key_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub telegram_api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub webex_api_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub receiver: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub group_by: Option<Vec<String>>,
    #[serde(default, rename = "match", deserialize_with = "lenient::opt_str_map")]
    pub match_eq: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub match_re: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub matchers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub mute_time_intervals: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub active_time_intervals: Option<Vec<String>>,
    #[serde(default, rename = "continue", deserialize_with = "lenient::opt_bool")]
    pub continue_: Option<bool>,
    pub routes: Option<Vec<RawRoute>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub group_wait: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub group_interval: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub repeat_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInhibitRule {
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub source_match: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub source_match_re: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub source_matchers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub target_match: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub target_match_re: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub target_matchers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub equal: Option<Vec<String>>,
}

/// An entry of `time_intervals:` or `mute_time_intervals:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNamedTimeInterval {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub name: Option<String>,
    pub time_intervals: Option<Vec<RawTimeInterval>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    pub times: Option<Vec<RawTimeRange>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub weekdays: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub days_of_month: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub months: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub years: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub location: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeRange {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub end_time: Option<String>,
}

/// A receiver. Integrations Vigil does not implement are kept as raw values so that validation
/// can name them; see [`super::validate`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReceiver {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub name: Option<String>,
    pub webhook_configs: Option<Vec<RawWebhookConfig>>,
    pub email_configs: Option<Vec<RawEmailConfig>>,
    pub pagerduty_configs: Option<Vec<RawPagerdutyConfig>>,
    pub slack_configs: Option<Vec<RawSlackConfig>>,
    pub discord_configs: Option<Value>,
    pub opsgenie_configs: Option<Value>,
    pub wechat_configs: Option<Value>,
    pub pushover_configs: Option<Value>,
    pub victorops_configs: Option<Value>,
    pub sns_configs: Option<Value>,
    pub telegram_configs: Option<Value>,
    pub webex_configs: Option<Value>,
}

/// `http_config:` (`prometheus/common` `HTTPClientConfig`, v0.38). Public, with its parts, for
/// configs that inline the same fields (Prometheus's `alerting.alertmanagers` entries); validate
/// with [`super::validate_http_config`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpConfig {
    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub oauth2: Option<RawOAuth2>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub bearer_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub bearer_token_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub proxy_url: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub follow_redirects: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_http2: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub password_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthorization {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_str")]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub credentials: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub credentials_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth2 {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub client_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub client_secret_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub token_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub endpoint_params: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub proxy_url: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTlsConfig {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub ca_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub cert_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub key_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub server_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub insecure_skip_verify: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub min_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub max_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhookConfig {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub send_resolved: Option<bool>,
    pub http_config: Option<RawHttpConfig>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub max_alerts: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmailConfig {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub send_resolved: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub to: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub hello: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub smarthost: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub auth_username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub auth_password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub auth_password_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub auth_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub auth_identity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub html: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub require_tls: Option<bool>,
    pub tls_config: Option<RawTlsConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPagerdutyImage {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub src: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub alt: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPagerdutyLink {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub href: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPagerdutyConfig {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub send_resolved: Option<bool>,
    pub http_config: Option<RawHttpConfig>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub service_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub service_key_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub routing_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub routing_key_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub client: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub client_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str_map")]
    pub details: Option<BTreeMap<String, String>>,
    pub images: Option<Vec<RawPagerdutyImage>>,
    pub links: Option<Vec<RawPagerdutyLink>>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub class: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub component: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlackField {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub value: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub short: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlackConfirm {
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub ok_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub dismiss_text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlackAction {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_str")]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub style: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub value: Option<String>,
    pub confirm: Option<RawSlackConfirm>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlackConfig {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub send_resolved: Option<bool>,
    pub http_config: Option<RawHttpConfig>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub api_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub api_url_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub color: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub title_link: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub pretext: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub text: Option<String>,
    pub fields: Option<Vec<RawSlackField>>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub short_fields: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub footer: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub fallback: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub callback_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub icon_emoji: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub icon_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub image_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_str")]
    pub thumb_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub link_names: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_str_vec")]
    pub mrkdwn_in: Option<Vec<String>>,
    pub actions: Option<Vec<RawSlackAction>>,
}

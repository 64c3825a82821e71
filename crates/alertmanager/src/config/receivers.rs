//! Receivers and their integrations, with Alertmanager 0.25's defaults (templates, whether
//! resolved alerts are sent) and the global settings they inherit applied.
//!
//! Vigil sends through `webhook_configs`, `email_configs`, `pagerduty_configs` and
//! `slack_configs`. A receiver that lists any other integration is refused with the field's
//! path, rather than accepted and silently never notified.

use std::collections::BTreeMap;

use super::http::{http_config, tls_config, HttpConfig, Secret, TlsConfig};
use super::raw::{
    RawEmailConfig, RawPagerdutyConfig, RawReceiver, RawSlackConfig, RawWebhookConfig,
};
use super::values::{parse_host_port, parse_http_url};
use super::GlobalConfig;
use crate::error::ConfigError;

/// A named receiver.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    pub name: String,
    pub webhook_configs: Vec<WebhookConfig>,
    pub email_configs: Vec<EmailConfig>,
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    pub slack_configs: Vec<SlackConfig>,
}

/// `webhook_configs:` entry. `send_resolved` defaults to true.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub send_resolved: bool,
    pub http_config: HttpConfig,
    pub url: String,
    /// 0 = no limit.
    pub max_alerts: u64,
}

/// A `host:port` pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPort {
    pub host: String,
    pub port: String,
}

/// `email_configs:` entry, global `smtp_*` settings filled in. `send_resolved` defaults to false.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub send_resolved: bool,
    pub to: String,
    pub from: String,
    pub hello: String,
    pub smarthost: HostPort,
    pub auth_username: String,
    pub auth_password: Option<Secret>,
    pub auth_password_file: Option<String>,
    pub auth_secret: Option<Secret>,
    pub auth_identity: String,
    /// Header names in canonical MIME form (`Subject`, `X-Custom`).
    pub headers: BTreeMap<String, String>,
    /// Template; default `{{ template "email.default.html" . }}`.
    pub html: String,
    pub text: String,
    pub require_tls: bool,
    pub tls_config: TlsConfig,
}

/// `images:` entry of a PagerDuty config.
#[derive(Debug, Clone, Default)]
pub struct PagerdutyImage {
    pub src: String,
    pub alt: String,
    pub href: String,
}

/// `links:` entry of a PagerDuty config.
#[derive(Debug, Clone, Default)]
pub struct PagerdutyLink {
    pub href: String,
    pub text: String,
}

/// `pagerduty_configs:` entry. `send_resolved` defaults to true.
#[derive(Debug, Clone)]
pub struct PagerdutyConfig {
    pub send_resolved: bool,
    pub http_config: HttpConfig,
    pub service_key: Option<Secret>,
    pub service_key_file: Option<String>,
    pub routing_key: Option<Secret>,
    pub routing_key_file: Option<String>,
    pub url: String,
    pub client: String,
    pub client_url: String,
    pub description: String,
    /// The four default details (`firing`, `resolved`, `num_firing`, `num_resolved`) are
    /// added unless overridden.
    pub details: BTreeMap<String, String>,
    pub images: Vec<PagerdutyImage>,
    pub links: Vec<PagerdutyLink>,
    /// Defaults to `client`.
    pub source: String,
    pub severity: String,
    pub class: String,
    pub component: String,
    pub group: String,
}

/// `fields:` entry of a Slack config.
#[derive(Debug, Clone, Default)]
pub struct SlackField {
    pub title: String,
    pub value: String,
    pub short: Option<bool>,
}

/// `confirm:` of a Slack action.
#[derive(Debug, Clone, Default)]
pub struct SlackConfirmationField {
    pub text: String,
    pub title: String,
    pub ok_text: String,
    pub dismiss_text: String,
}

/// `actions:` entry of a Slack config.
#[derive(Debug, Clone, Default)]
pub struct SlackAction {
    pub kind: String,
    pub text: String,
    pub url: String,
    pub style: String,
    pub name: String,
    pub value: String,
    pub confirm: Option<SlackConfirmationField>,
}

/// `slack_configs:` entry. `send_resolved` defaults to false.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    pub send_resolved: bool,
    pub http_config: HttpConfig,
    /// `api_url` or the global `slack_api_url`. `<secret>` (as the status API prints it) is
    /// accepted and kept, as Alertmanager does.
    pub api_url: Option<Secret>,
    pub api_url_file: Option<String>,
    pub channel: String,
    pub username: String,
    pub color: String,
    pub title: String,
    pub title_link: String,
    pub pretext: String,
    pub text: String,
    pub fields: Vec<SlackField>,
    pub short_fields: bool,
    pub footer: String,
    pub fallback: String,
    pub callback_id: String,
    pub icon_emoji: String,
    pub icon_url: String,
    pub image_url: String,
    pub thumb_url: String,
    pub link_names: bool,
    pub mrkdwn_in: Vec<String>,
    pub actions: Vec<SlackAction>,
}

fn tmpl(name: &str) -> String {
    format!("{{{{ template \"{name}\" . }}}}")
}

fn or_tmpl(v: Option<String>, name: &str) -> String {
    v.unwrap_or_else(|| tmpl(name))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// `textproto.CanonicalMIMEHeaderKey`: `x-custom-header` → `X-Custom-Header`; keys with
/// characters outside a header token are left alone.
fn canonical_header(k: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !k.bytes().all(token) {
        return k.to_owned();
    }
    let mut upper = true;
    k.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// The integrations Vigil does not send through, by field name.
fn unsupported(r: &RawReceiver) -> Option<&'static str> {
    let present = |v: &Option<serde_yaml_ng::Value>| {
        v.as_ref()
            .is_some_and(|v| !v.is_null() && v.as_sequence().is_none_or(|s| !s.is_empty()))
    };
    [
        ("discord_configs", &r.discord_configs),
        ("opsgenie_configs", &r.opsgenie_configs),
        ("wechat_configs", &r.wechat_configs),
        ("pushover_configs", &r.pushover_configs),
        ("victorops_configs", &r.victorops_configs),
        ("sns_configs", &r.sns_configs),
        ("telegram_configs", &r.telegram_configs),
        ("webex_configs", &r.webex_configs),
    ]
    .into_iter()
    .find(|(_, v)| present(v))
    .map(|(name, _)| name)
}

/// Validates one receiver at `path` (`receivers[3]`).
pub(crate) fn receiver(
    raw: RawReceiver,
    path: &str,
    global: &GlobalConfig,
) -> Result<Receiver, ConfigError> {
    let name = raw.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(ConfigError::new(path, "missing name in receiver"));
    }
    if let Some(field) = unsupported(&raw) {
        return Err(ConfigError::new(
            format!("{path}.{field}"),
            format!(
                "{field} in receiver {name:?} is not supported by Vigil (supported: \
                 email_configs, pagerduty_configs, slack_configs, webhook_configs)"
            ),
        ));
    }
    let mut out = Receiver {
        name,
        ..Receiver::default()
    };
    for (i, w) in raw
        .webhook_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        out.webhook_configs
            .push(webhook(w, &format!("{path}.webhook_configs[{i}]"), global)?);
    }
    for (i, e) in raw
        .email_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        out.email_configs
            .push(email(e, &format!("{path}.email_configs[{i}]"), global)?);
    }
    for (i, p) in raw
        .pagerduty_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        out.pagerduty_configs.push(pagerduty(
            p,
            &format!("{path}.pagerduty_configs[{i}]"),
            global,
        )?);
    }
    for (i, s) in raw
        .slack_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        out.slack_configs
            .push(slack(s, &format!("{path}.slack_configs[{i}]"), global)?);
    }
    Ok(out)
}

fn http_or_global(
    raw: Option<super::raw::RawHttpConfig>,
    path: &str,
    global: &GlobalConfig,
) -> Result<HttpConfig, ConfigError> {
    match raw {
        Some(h) => http_config(h, &format!("{path}.http_config")),
        None => Ok(global.http_config.clone()),
    }
}

fn webhook(
    w: RawWebhookConfig,
    path: &str,
    global: &GlobalConfig,
) -> Result<WebhookConfig, ConfigError> {
    let http_config = http_or_global(w.http_config, path, global)?;
    let Some(url) = w.url else {
        return Err(ConfigError::new(path, "missing URL in webhook config"));
    };
    parse_http_url(&url).map_err(|e| ConfigError::new(format!("{path}.url"), e))?;
    Ok(WebhookConfig {
        send_resolved: w.send_resolved.unwrap_or(true),
        http_config,
        url,
        max_alerts: w.max_alerts.unwrap_or(0),
    })
}

fn email(e: RawEmailConfig, path: &str, global: &GlobalConfig) -> Result<EmailConfig, ConfigError> {
    let to = e.to.unwrap_or_default();
    if to.is_empty() {
        return Err(ConfigError::new(path, "missing to address in email config"));
    }
    let mut headers = BTreeMap::new();
    for (k, v) in e.headers.unwrap_or_default() {
        let c = canonical_header(&k);
        if headers.insert(c.clone(), v).is_some() {
            return Err(ConfigError::new(
                format!("{path}.headers"),
                format!("duplicate header {c:?} in email config"),
            ));
        }
    }
    let smarthost = match non_empty(e.smarthost) {
        Some(s) => {
            let (host, port) = parse_host_port(&s)
                .map_err(|r| ConfigError::new(format!("{path}.smarthost"), r))?;
            HostPort { host, port }
        }
        None => match &global.smtp_smarthost {
            Some(h) => h.clone(),
            None => return Err(ConfigError::new(path, "no global SMTP smarthost set")),
        },
    };
    let from = match non_empty(e.from) {
        Some(f) => f,
        None if !global.smtp_from.is_empty() => global.smtp_from.clone(),
        None => return Err(ConfigError::new(path, "no global SMTP from set")),
    };
    let (auth_password, auth_password_file) = {
        let p = non_empty(e.auth_password);
        let f = non_empty(e.auth_password_file);
        if p.is_none() && f.is_none() {
            (
                global.smtp_auth_password.clone(),
                global.smtp_auth_password_file.clone(),
            )
        } else {
            (p.map(Secret::new), f)
        }
    };
    Ok(EmailConfig {
        send_resolved: e.send_resolved.unwrap_or(false),
        to,
        from,
        hello: non_empty(e.hello).unwrap_or_else(|| global.smtp_hello.clone()),
        smarthost,
        auth_username: non_empty(e.auth_username)
            .unwrap_or_else(|| global.smtp_auth_username.clone()),
        auth_password,
        auth_password_file,
        auth_secret: non_empty(e.auth_secret)
            .map(Secret::new)
            .or_else(|| global.smtp_auth_secret.clone()),
        auth_identity: non_empty(e.auth_identity)
            .unwrap_or_else(|| global.smtp_auth_identity.clone()),
        headers,
        html: or_tmpl(e.html, "email.default.html"),
        text: e.text.unwrap_or_default(),
        require_tls: e.require_tls.unwrap_or(global.smtp_require_tls),
        tls_config: tls_config(e.tls_config, &format!("{path}.tls_config"))?,
    })
}

fn pagerduty(
    p: RawPagerdutyConfig,
    path: &str,
    global: &GlobalConfig,
) -> Result<PagerdutyConfig, ConfigError> {
    let service_key = non_empty(p.service_key);
    let service_key_file = non_empty(p.service_key_file);
    let routing_key = non_empty(p.routing_key);
    let routing_key_file = non_empty(p.routing_key_file);
    if service_key.is_none()
        && service_key_file.is_none()
        && routing_key.is_none()
        && routing_key_file.is_none()
    {
        return Err(ConfigError::new(
            path,
            "missing service or routing key in PagerDuty config",
        ));
    }
    if routing_key.is_some() && routing_key_file.is_some() {
        return Err(ConfigError::new(
            path,
            "at most one of routing_key & routing_key_file must be configured",
        ));
    }
    if service_key.is_some() && service_key_file.is_some() {
        return Err(ConfigError::new(
            path,
            "at most one of service_key & service_key_file must be configured",
        ));
    }
    let http_config = http_or_global(p.http_config, path, global)?;
    let url = match p.url {
        Some(u) => {
            parse_http_url(&u).map_err(|e| ConfigError::new(format!("{path}.url"), e))?;
            u
        }
        None => global.pagerduty_url.clone(),
    };
    let client = or_tmpl(p.client, "pagerduty.default.client");
    let mut details = p.details.unwrap_or_default();
    let defaults = [
        (
            "firing",
            tmpl_with("pagerduty.default.instances", ".Alerts.Firing"),
        ),
        (
            "resolved",
            tmpl_with("pagerduty.default.instances", ".Alerts.Resolved"),
        ),
        ("num_firing", "{{ .Alerts.Firing | len }}".to_owned()),
        ("num_resolved", "{{ .Alerts.Resolved | len }}".to_owned()),
    ];
    for (k, v) in defaults {
        details.entry(k.to_owned()).or_insert(v);
    }
    let source = non_empty(p.source).unwrap_or_else(|| client.clone());
    Ok(PagerdutyConfig {
        send_resolved: p.send_resolved.unwrap_or(true),
        http_config,
        service_key: service_key.map(Secret::new),
        service_key_file,
        routing_key: routing_key.map(Secret::new),
        routing_key_file,
        url,
        client,
        client_url: or_tmpl(p.client_url, "pagerduty.default.clientURL"),
        // Alertmanager's default has no space before the closing braces here.
        description: p
            .description
            .unwrap_or_else(|| "{{ template \"pagerduty.default.description\" .}}".to_owned()),
        details,
        images: p
            .images
            .unwrap_or_default()
            .into_iter()
            .map(|i| PagerdutyImage {
                src: i.src.unwrap_or_default(),
                alt: i.alt.unwrap_or_default(),
                href: i.href.unwrap_or_default(),
            })
            .collect(),
        links: p
            .links
            .unwrap_or_default()
            .into_iter()
            .map(|l| PagerdutyLink {
                href: l.href.unwrap_or_default(),
                text: l.text.unwrap_or_default(),
            })
            .collect(),
        source,
        severity: p.severity.unwrap_or_default(),
        class: p.class.unwrap_or_default(),
        component: p.component.unwrap_or_default(),
        group: p.group.unwrap_or_default(),
    })
}

fn tmpl_with(name: &str, dot: &str) -> String {
    format!("{{{{ template \"{name}\" {dot} }}}}")
}

fn slack(s: RawSlackConfig, path: &str, global: &GlobalConfig) -> Result<SlackConfig, ConfigError> {
    let api_url = non_empty(s.api_url);
    let api_url_file = non_empty(s.api_url_file);
    if api_url.is_some() && api_url_file.is_some() {
        return Err(ConfigError::new(
            path,
            "at most one of api_url & api_url_file must be configured",
        ));
    }
    if let Some(u) = &api_url {
        if u != "<secret>" {
            parse_http_url(u).map_err(|e| ConfigError::new(format!("{path}.api_url"), e))?;
        }
    }
    let http_config = http_or_global(s.http_config, path, global)?;
    let (api_url, api_url_file) = if api_url.is_none() && api_url_file.is_none() {
        if global.slack_api_url.is_none() && global.slack_api_url_file.is_none() {
            return Err(ConfigError::new(
                path,
                "no global Slack API URL set either inline or in a file",
            ));
        }
        (
            global.slack_api_url.clone(),
            global.slack_api_url_file.clone(),
        )
    } else {
        (api_url.map(Secret::new), api_url_file)
    };
    let mut fields = Vec::new();
    for (i, f) in s.fields.unwrap_or_default().into_iter().enumerate() {
        let fpath = format!("{path}.fields[{i}]");
        let title = f.title.unwrap_or_default();
        let value = f.value.unwrap_or_default();
        if title.is_empty() {
            return Err(ConfigError::new(
                fpath,
                "missing title in Slack field configuration",
            ));
        }
        if value.is_empty() {
            return Err(ConfigError::new(
                fpath,
                "missing value in Slack field configuration",
            ));
        }
        fields.push(SlackField {
            title,
            value,
            short: f.short,
        });
    }
    let mut actions = Vec::new();
    for (i, a) in s.actions.unwrap_or_default().into_iter().enumerate() {
        let apath = format!("{path}.actions[{i}]");
        let kind = a.type_.unwrap_or_default();
        let text = a.text.unwrap_or_default();
        if kind.is_empty() {
            return Err(ConfigError::new(
                apath,
                "missing type in Slack action configuration",
            ));
        }
        if text.is_empty() {
            return Err(ConfigError::new(
                apath,
                "missing text in Slack action configuration",
            ));
        }
        let confirm = match a.confirm {
            None => None,
            Some(c) => {
                let text = c.text.unwrap_or_default();
                if text.is_empty() {
                    return Err(ConfigError::new(
                        format!("{apath}.confirm"),
                        "missing text in Slack confirmation configuration",
                    ));
                }
                Some(SlackConfirmationField {
                    text,
                    title: c.title.unwrap_or_default(),
                    ok_text: c.ok_text.unwrap_or_default(),
                    dismiss_text: c.dismiss_text.unwrap_or_default(),
                })
            }
        };
        let url = a.url.unwrap_or_default();
        let name = a.name.unwrap_or_default();
        // A URL button clears the message-action fields; otherwise a name is required.
        let action = if !url.is_empty() {
            SlackAction {
                kind,
                text,
                url,
                style: a.style.unwrap_or_default(),
                ..SlackAction::default()
            }
        } else if !name.is_empty() {
            SlackAction {
                kind,
                text,
                url: String::new(),
                style: a.style.unwrap_or_default(),
                name,
                value: a.value.unwrap_or_default(),
                confirm,
            }
        } else {
            return Err(ConfigError::new(
                apath,
                "missing name or url in Slack action configuration",
            ));
        };
        actions.push(action);
    }
    Ok(SlackConfig {
        send_resolved: s.send_resolved.unwrap_or(false),
        http_config,
        api_url,
        api_url_file,
        channel: s.channel.unwrap_or_default(),
        username: or_tmpl(s.username, "slack.default.username"),
        color: s.color.unwrap_or_else(|| {
            "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}".to_owned()
        }),
        title: or_tmpl(s.title, "slack.default.title"),
        title_link: or_tmpl(s.title_link, "slack.default.titlelink"),
        pretext: or_tmpl(s.pretext, "slack.default.pretext"),
        text: or_tmpl(s.text, "slack.default.text"),
        fields,
        short_fields: s.short_fields.unwrap_or(false),
        footer: or_tmpl(s.footer, "slack.default.footer"),
        fallback: or_tmpl(s.fallback, "slack.default.fallback"),
        callback_id: or_tmpl(s.callback_id, "slack.default.callbackid"),
        icon_emoji: or_tmpl(s.icon_emoji, "slack.default.iconemoji"),
        icon_url: or_tmpl(s.icon_url, "slack.default.iconurl"),
        image_url: s.image_url.unwrap_or_default(),
        thumb_url: s.thumb_url.unwrap_or_default(),
        link_names: s.link_names.unwrap_or(false),
        mrkdwn_in: s.mrkdwn_in.unwrap_or_default(),
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_headers() {
        assert_eq!(canonical_header("x-custom-header"), "X-Custom-Header");
        assert_eq!(canonical_header("SUBJECT"), "Subject");
        assert_eq!(canonical_header("bad key"), "bad key");
    }
}

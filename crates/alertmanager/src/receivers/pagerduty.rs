//! `pagerduty_configs`: PagerDuty Events API v2 (`notify/pagerduty/pagerduty.go`, v0.25).
//!
//! One event per notification: `trigger` while any alert fires, `resolve` once all resolved;
//! `dedup_key` is the SHA-256 (hex) of the group key, so every notification of a group updates
//! the same incident. Summary (the `description` template, cut to 1024 characters), source,
//! severity (default `error`), class, component, group, client, client URL, images and links
//! (those with an empty `src`/`href` after rendering left out) and the `details` map (custom
//! details) are rendered from templates. As in 0.25, `payload.timestamp` is not sent. An event
//! larger than 512 000 bytes has its custom details replaced by a note. 2xx is success, 5xx and
//! 429 are retried, anything else is not.
//!
//! Not supported: the Events API v1 (`service_key` without `routing_key`), refused when the
//! integration is built.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::warn;

use super::http::{self, read_secret_file, Failure, HttpClient};
use super::{is_resolved, notification_data, truncate_runes, BuildOptions, NotifyCtx, Render};
use crate::alert::Alert;
use crate::config::PagerdutyConfig;

const MAX_EVENT_SIZE: usize = 512_000;
const MAX_SUMMARY_RUNES: usize = 1024;

#[derive(Debug, Serialize)]
pub(crate) struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dedup_key: String,
    pub event_action: &'static str,
    pub payload: Payload,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Payload {
    pub summary: String,
    pub source: String,
    pub severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timestamp: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_details: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Image {
    pub src: String,
    pub alt: String,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Link {
    pub href: String,
    pub text: String,
}

/// Alertmanager's `Key.Hash`: the SHA-256 of the group key, lower-case hex.
pub(crate) fn dedup_key(group_key: &str) -> String {
    let digest = Sha256::digest(group_key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
pub(crate) struct Pagerduty {
    conf: PagerdutyConfig,
    client: HttpClient,
}

impl Pagerduty {
    pub fn new(c: &PagerdutyConfig, opts: &BuildOptions) -> Result<Self, String> {
        if c.routing_key.is_none() && c.routing_key_file.is_none() {
            return Err(
                "the PagerDuty Events API v1 (service_key) is not supported by Vigil; use routing_key"
                    .to_owned(),
            );
        }
        Ok(Pagerduty {
            conf: c.clone(),
            client: http::build(&c.http_config, Some(opts.request_timeout))?,
        })
    }

    fn routing_key(&self) -> Result<String, Failure> {
        match (&self.conf.routing_key, &self.conf.routing_key_file) {
            (Some(k), _) => Ok(k.expose().to_owned()),
            (None, Some(f)) => read_secret_file(f).map_err(|e| {
                Failure::permanent(format!("failed to read routing key from file: {e}"))
            }),
            (None, None) => Err(Failure::permanent("routing key cannot be empty")),
        }
    }

    /// The event for `alerts`.
    pub fn message(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<Message, Failure> {
        let c = &self.conf;
        let data = notification_data(ctx, alerts);
        let action = if alerts.iter().all(is_resolved) {
            "resolve"
        } else {
            "trigger"
        };
        let mut details = BTreeMap::new();
        for (k, v) in &c.details {
            let d = ctx.templates.execute_text(v, &data).map_err(|e| {
                Failure::permanent(format!("{k:?}: failed to template {v:?}: {}", e.message()))
            })?;
            details.insert(k.clone(), d);
        }
        let key = self.routing_key()?;
        let mut r = Render::new(&ctx.templates, &data);
        let (summary, truncated) = truncate_runes(r.text(&c.description), MAX_SUMMARY_RUNES);
        if truncated {
            warn!(key = %ctx.group_key, max_runes = MAX_SUMMARY_RUNES, "truncated pagerduty summary");
        }
        let severity = if c.severity.is_empty() {
            "error"
        } else {
            c.severity.as_str()
        };
        let mut msg = Message {
            client: r.text(&c.client),
            client_url: r.text(&c.client_url),
            routing_key: r.text(&key),
            event_action: action,
            dedup_key: dedup_key(&ctx.group_key),
            images: Vec::new(),
            links: Vec::new(),
            payload: Payload {
                summary,
                source: r.text(&c.source),
                severity: r.text(severity),
                timestamp: String::new(),
                custom_details: details,
                class: r.text(&c.class),
                component: r.text(&c.component),
                group: r.text(&c.group),
            },
        };
        for i in &c.images {
            let img = Image {
                src: r.text(&i.src),
                alt: r.text(&i.alt),
                href: r.text(&i.href),
            };
            if !img.src.is_empty() {
                msg.images.push(img);
            }
        }
        for l in &c.links {
            let link = Link {
                href: r.text(&l.href),
                text: r.text(&l.text),
            };
            if !link.href.is_empty() {
                msg.links.push(link);
            }
        }
        r.finish("PagerDuty v2 message")?;
        if msg.routing_key.is_empty() {
            return Err(Failure::permanent("routing key cannot be empty"));
        }
        Ok(msg)
    }

    fn encode(mut msg: Message) -> Result<Vec<u8>, Failure> {
        let enc = |m: &Message| {
            let mut b = serde_json::to_vec(m).map_err(|e| {
                Failure::permanent(format!("failed to encode PagerDuty message: {e}"))
            })?;
            b.push(b'\n');
            Ok::<_, Failure>(b)
        };
        let body = enc(&msg)?;
        if body.len() <= MAX_EVENT_SIZE {
            return Ok(body);
        }
        warn!(
            size = body.len(),
            limit = MAX_EVENT_SIZE,
            "pagerduty event too large; custom details removed"
        );
        msg.payload.custom_details = BTreeMap::from([(
            "error".to_owned(),
            "Custom details have been removed because the original event exceeds the maximum size of 512kB"
                .to_owned(),
        )]);
        enc(&msg)
    }

    pub async fn notify(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<(), Failure> {
        let body = Self::encode(self.message(ctx, alerts)?)?;
        let reply = self
            .client
            .post_json(&self.conf.url, body, false)
            .await
            .map_err(|f| Failure {
                retryable: f.retryable,
                reason: format!("failed to post message to PagerDuty: {}", f.reason),
            })?;
        reply.check(&error_details(reply.status.as_u16(), &reply.body))
    }
}

/// PagerDuty's 400 answers explain themselves (`{"message": …, "errors": [...]}`).
fn error_details(status: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    if status != 400 {
        return String::new();
    }
    match serde_json::from_str::<Answer>(body) {
        Ok(a) => format!("{}: {}", a.message, a.errors.join(",")),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_is_sha256_of_group_key() {
        // `printf '%s' '{}:{alertname="Down"}' | sha256sum`.
        assert_eq!(
            dedup_key("{}:{alertname=\"Down\"}"),
            "af94c9e8f6a3043625e36c6f472fe6be85ac23a9117184ee4cb7b4ad7401a47e"
        );
        assert_eq!(
            error_details(
                400,
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}"#
            ),
            "Event object is invalid: Length of 'routing_key' is incorrect"
        );
        assert_eq!(error_details(500, "x"), "");
    }
}

//! `webhook_configs`: Alertmanager's webhook payload, version 4 (`notify/webhook/webhook.go`):
//! the template data (receiver, status, alerts, group and common labels, common annotations,
//! external URL) plus `version`, `groupKey` and `truncatedAlerts`, POSTed as JSON. Times are
//! printed as Go prints a `time.Time` in JSON (RFC 3339, fraction trimmed), an open end as Go's
//! zero time. 2xx is success, 5xx (and 429) is retried, anything else is not.

use serde::Serialize;
use std::collections::BTreeMap;

use super::http::{self, Failure, HttpClient};
use super::{notification_data, BuildOptions, NotifyCtx};
use crate::alert::Alert;
use crate::config::WebhookConfig;
use crate::gotime::{format_go_json, ZERO_TIME};

/// The webhook payload (`webhook.Message`); field order as Go writes it.
#[derive(Debug, Serialize)]
pub(crate) struct Message<'a> {
    pub receiver: &'a str,
    pub status: &'a str,
    pub alerts: Vec<MessageAlert<'a>>,
    #[serde(rename = "groupLabels")]
    pub group_labels: &'a BTreeMap<String, String>,
    #[serde(rename = "commonLabels")]
    pub common_labels: &'a BTreeMap<String, String>,
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    pub version: &'static str,
    #[serde(rename = "groupKey")]
    pub group_key: &'a str,
    #[serde(rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
}

/// One alert of the payload (`template.Alert`).
#[derive(Debug, Serialize)]
pub(crate) struct MessageAlert<'a> {
    pub status: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    pub fingerprint: &'a str,
}

#[derive(Debug)]
pub(crate) struct Webhook {
    url: String,
    max_alerts: u64,
    client: HttpClient,
}

impl Webhook {
    pub fn new(c: &WebhookConfig, opts: &BuildOptions) -> Result<Self, String> {
        Ok(Webhook {
            url: c.url.clone(),
            max_alerts: c.max_alerts,
            client: http::build(&c.http_config, Some(opts.request_timeout))?,
        })
    }

    /// The payload's bytes for `alerts`, truncated to `max_alerts` (0: no limit) before the
    /// template data is computed, as Alertmanager does.
    pub fn payload(ctx: &NotifyCtx, alerts: &[Alert], max_alerts: u64) -> Result<Vec<u8>, String> {
        let (alerts, truncated) = match usize::try_from(max_alerts) {
            Ok(m) if m > 0 && alerts.len() > m => {
                (alerts.get(..m).unwrap_or(alerts), (alerts.len() - m) as u64)
            }
            _ => (alerts, 0),
        };
        let data = notification_data(ctx, alerts);
        let msg = Message {
            receiver: &data.receiver,
            status: &data.status,
            alerts: data
                .alerts
                .iter()
                .map(|a| MessageAlert {
                    status: &a.status,
                    labels: &a.labels,
                    annotations: &a.annotations,
                    starts_at: format_go_json(a.starts_at_ms),
                    ends_at: format_go_json(a.ends_at_ms.unwrap_or(ZERO_TIME)),
                    generator_url: &a.generator_url,
                    fingerprint: &a.fingerprint,
                })
                .collect(),
            group_labels: &data.group_labels,
            common_labels: &data.common_labels,
            common_annotations: &data.common_annotations,
            external_url: &data.external_url,
            version: "4",
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        let mut out = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        // Go's json.Encoder ends each value with a newline.
        out.push(b'\n');
        Ok(out)
    }

    pub async fn notify(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<(), Failure> {
        let body = Self::payload(ctx, alerts, self.max_alerts).map_err(Failure::permanent)?;
        let reply = self.client.post_json(&self.url, body, false).await?;
        let details = if reply.body.is_empty() {
            self.url.clone()
        } else {
            format!("{}: {}", self.url, reply.body)
        };
        reply.check(&details)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigil_model::Labels;
    use vigil_template::NotificationTemplates;

    use super::*;

    #[test]
    fn payload_is_version_4_with_go_times() {
        let ctx = NotifyCtx {
            receiver: "team.a".into(),
            group_key: "{}:{alertname=\"Down\"}".into(),
            group_labels: Labels::from_pairs([("alertname", "Down")]).expect("labels"),
            external_url: "http://vigil:9900".into(),
            templates: Arc::new(NotificationTemplates::new(&[]).expect("templates")),
        };
        let mk = |i: &str, end| {
            let mut a = Alert::new(
                Labels::from_pairs([("alertname", "Down"), ("instance", i)]).expect("l"),
                1_700_000_000_500,
                end,
                0,
            );
            a.annotations.insert("summary".into(), "down".into());
            a
        };
        let alerts = [mk("a", ZERO_TIME), mk("b", 1_700_000_100_000)];
        let body = Webhook::payload(&ctx, &alerts, 1).expect("payload");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["version"], "4");
        assert_eq!(v["receiver"], "team\\.a");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["truncatedAlerts"], 1);
        assert_eq!(v["groupKey"], "{}:{alertname=\"Down\"}");
        assert_eq!(v["alerts"][0]["startsAt"], "2023-11-14T22:13:20.5Z");
        assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(v["alerts"][0]["generatorURL"], "");
        assert_eq!(v["commonLabels"]["instance"], "a");
        assert_eq!(v["alerts"].as_array().map(Vec::len), Some(1));
        let all = Webhook::payload(&ctx, &alerts, 0).expect("payload");
        let v: serde_json::Value = serde_json::from_slice(&all).expect("json");
        assert_eq!(v["alerts"][1]["status"], "resolved");
        assert_eq!(v["alerts"][1]["endsAt"], "2023-11-14T22:15:00Z");
        assert_eq!(v["commonAnnotations"]["summary"], "down");
        assert!(v["commonLabels"].get("instance").is_none());
    }
}

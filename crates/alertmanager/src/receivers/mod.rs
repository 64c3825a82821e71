//! Receiver integrations: what one notification of an aggregation group looks like on the wire
//! for `webhook_configs`, `slack_configs`, `email_configs` and `pagerduty_configs`, as
//! Alertmanager 0.25 sends it (`notify/<integration>/`).
//!
//! Owns: building each integration from its validated config (HTTP clients, credentials),
//! rendering its templates against the notification's data, one delivery attempt, and the
//! classification of a failure as retryable (network, 5xx, 429) or not (other statuses,
//! template errors, bad addresses). Does not own: retries, dedup and the notification log (the
//! pipeline in [`crate::notify`]), or which alerts are in a notification (the dispatcher).
//!
//! The integrations are a closed set, so they are an enum rather than trait objects.

mod email;
pub(crate) mod http;
mod pagerduty;
mod slack;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vigil_model::Labels;
use vigil_template::{AlertData, NotificationData, NotificationTemplates, TemplateError};

use crate::alert::Alert;
use crate::config::Receiver;
use crate::error::Error;
use crate::gotime::is_zero;
use crate::nflog::NflogReceiver;

pub(crate) use http::Failure;

/// What every integration of one flush shares.
#[derive(Debug)]
pub(crate) struct NotifyCtx {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: Labels,
    pub external_url: String,
    pub templates: Arc<NotificationTemplates>,
}

/// Whether an alert of a flush is resolved. The dispatcher clears the end of every alert that
/// has not ended when it flushes (as Alertmanager does, so that an alert cannot resolve while
/// its notification is being sent), so a set end means resolved.
pub(crate) fn is_resolved(a: &Alert) -> bool {
    !is_zero(a.ends_at)
}

fn alert_data(a: &Alert) -> AlertData {
    let labels = a
        .labels()
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    let resolved = is_resolved(a);
    AlertData {
        status: if resolved { "resolved" } else { "firing" }.to_owned(),
        labels,
        annotations: a.annotations.clone(),
        starts_at_ms: a.starts_at,
        ends_at_ms: resolved.then_some(a.ends_at),
        generator_url: a.generator_url.clone(),
        fingerprint: a.fingerprint().to_string(),
    }
}

/// Alertmanager's template data for a notification (`template.Data`).
pub(crate) fn notification_data(ctx: &NotifyCtx, alerts: &[Alert]) -> NotificationData {
    let group_labels: BTreeMap<String, String> = ctx
        .group_labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    NotificationData::from_alerts(
        &ctx.receiver,
        group_labels,
        alerts.iter().map(alert_data).collect(),
        &ctx.external_url,
    )
}

/// Renders templates for one notification, keeping the first error and returning empty text
/// after it (Alertmanager's `TmplText`), so that a message is built in one pass and the error
/// checked once.
pub(crate) struct Render<'a> {
    templates: &'a NotificationTemplates,
    data: &'a NotificationData,
    error: Option<String>,
}

impl<'a> Render<'a> {
    pub fn new(templates: &'a NotificationTemplates, data: &'a NotificationData) -> Self {
        Render {
            templates,
            data,
            error: None,
        }
    }

    pub fn text(&mut self, text: &str) -> String {
        self.run(text, NotificationTemplates::execute_text)
    }

    pub fn html(&mut self, text: &str) -> String {
        self.run(text, NotificationTemplates::execute_html)
    }

    fn run(
        &mut self,
        text: &str,
        exec: impl FnOnce(
            &NotificationTemplates,
            &str,
            &NotificationData,
        ) -> Result<String, TemplateError>,
    ) -> String {
        if self.error.is_some() {
            return String::new();
        }
        exec(self.templates, text, self.data).unwrap_or_else(|e| {
            self.error = Some(e.message().to_owned());
            String::new()
        })
    }

    /// The first template error, as a permanent failure (templates do not heal by retrying).
    pub fn finish(self, what: &str) -> Result<(), Failure> {
        match self.error {
            None => Ok(()),
            Some(e) => Err(Failure::permanent(format!(
                "failed to template {what}: {e}"
            ))),
        }
    }
}

/// Alertmanager's `TruncateInRunes`: at most `n` characters, the last replaced by `…` when cut.
pub(crate) fn truncate_runes(s: String, n: usize) -> (String, bool) {
    if s.chars().count() <= n {
        return (s, false);
    }
    if n <= 3 {
        return (s.chars().take(n).collect(), true);
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    (out, true)
}

#[derive(Debug)]
enum Kind {
    Webhook(webhook::Webhook),
    Slack(slack::Slack),
    Email(email::Email),
    Pagerduty(pagerduty::Pagerduty),
}

/// One integration of a receiver (`webhook_configs[1]` of receiver `team-a`).
#[derive(Debug)]
pub(crate) struct Integration {
    /// `webhook`, `email`, `pagerduty` or `slack`.
    pub name: &'static str,
    pub send_resolved: bool,
    /// The notification log key of this integration.
    pub nflog_receiver: NflogReceiver,
    kind: Kind,
}

impl Integration {
    fn new(
        receiver: &str,
        name: &'static str,
        index: usize,
        send_resolved: bool,
        kind: Kind,
    ) -> Self {
        Integration {
            name,
            send_resolved,
            nflog_receiver: NflogReceiver {
                receiver: receiver.to_owned(),
                integration: name.to_owned(),
                index: u32::try_from(index).unwrap_or(u32::MAX),
            },
            kind,
        }
    }

    /// `webhook[0]`, as Alertmanager names integrations in logs.
    pub fn label(&self) -> String {
        format!("{}[{}]", self.name, self.nflog_receiver.index)
    }

    /// One delivery attempt of `alerts` (already filtered for `send_resolved`).
    pub async fn notify(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<(), Failure> {
        match &self.kind {
            Kind::Webhook(n) => n.notify(ctx, alerts).await,
            Kind::Slack(n) => n.notify(ctx, alerts).await,
            Kind::Email(n) => n.notify(ctx, alerts).await,
            Kind::Pagerduty(n) => n.notify(ctx, alerts).await,
        }
    }
}

/// Settings shared by every integration.
#[derive(Debug, Clone)]
pub(crate) struct BuildOptions {
    /// Bound on one HTTP request or SMTP session.
    pub request_timeout: Duration,
}

/// Builds every integration of a receiver.
///
/// # Errors
/// [`Error::Integration`] for the first integration that cannot be built (an unreadable CA
/// file, an unsupported option), naming the receiver and the integration.
pub(crate) fn build_receiver(
    r: &Receiver,
    opts: &BuildOptions,
) -> Result<Vec<Arc<Integration>>, Error> {
    let err = |integration: String, reason: String| Error::Integration {
        receiver: r.name.clone(),
        integration,
        reason,
    };
    let mut out = Vec::new();
    for (i, c) in r.webhook_configs.iter().enumerate() {
        let n = webhook::Webhook::new(c, opts).map_err(|e| err(format!("webhook[{i}]"), e))?;
        out.push(Integration::new(
            &r.name,
            "webhook",
            i,
            c.send_resolved,
            Kind::Webhook(n),
        ));
    }
    for (i, c) in r.email_configs.iter().enumerate() {
        let n = email::Email::new(c, opts).map_err(|e| err(format!("email[{i}]"), e))?;
        out.push(Integration::new(
            &r.name,
            "email",
            i,
            c.send_resolved,
            Kind::Email(n),
        ));
    }
    for (i, c) in r.pagerduty_configs.iter().enumerate() {
        let n =
            pagerduty::Pagerduty::new(c, opts).map_err(|e| err(format!("pagerduty[{i}]"), e))?;
        out.push(Integration::new(
            &r.name,
            "pagerduty",
            i,
            c.send_resolved,
            Kind::Pagerduty(n),
        ));
    }
    for (i, c) in r.slack_configs.iter().enumerate() {
        let n = slack::Slack::new(c, opts).map_err(|e| err(format!("slack[{i}]"), e))?;
        out.push(Integration::new(
            &r.name,
            "slack",
            i,
            c.send_resolved,
            Kind::Slack(n),
        ));
    }
    Ok(out.into_iter().map(Arc::new).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_alertmanager() {
        assert_eq!(truncate_runes("abc".into(), 3), ("abc".into(), false));
        assert_eq!(truncate_runes("abcdef".into(), 4), ("abc…".into(), true));
        assert_eq!(truncate_runes("äöüß".into(), 2), ("äö".into(), true));
    }
}

//! `slack_configs`: a Slack incoming-webhook message with one attachment
//! (`notify/slack/slack.go`). Every text field is a template rendered against the notification's
//! data (the defaults name Alertmanager's `slack.default.*` templates); the title is cut to 1024
//! characters; `mrkdwn_in` defaults to `fallback`, `pretext`, `text`; a field without `short`
//! takes `short_fields`. The API URL (inline or from `api_url_file`) is a secret and is kept out
//! of errors. 2xx is success, 5xx (and 429) is retried, anything else is not.

use serde::Serialize;
use tracing::warn;

use super::http::{self, read_secret_file, Failure, HttpClient};
use super::{notification_data, truncate_runes, BuildOptions, NotifyCtx, Render};
use crate::alert::Alert;
use crate::config::{Secret, SlackConfig};

/// Slack's limit on attachment titles.
const MAX_TITLE_RUNES: usize = 1024;

#[derive(Debug, Serialize)]
pub(crate) struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    #[serde(skip_serializing_if = "is_false")]
    pub link_names: bool,
    pub attachments: Vec<Attachment>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Serialize)]
pub(crate) struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    pub text: String,
    pub fallback: String,
    pub callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    pub footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub short: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Action {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<Confirm>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Confirm {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

#[derive(Debug)]
pub(crate) struct Slack {
    conf: SlackConfig,
    client: HttpClient,
}

impl Slack {
    pub fn new(c: &SlackConfig, opts: &BuildOptions) -> Result<Self, String> {
        Ok(Slack {
            conf: c.clone(),
            client: http::build(&c.http_config, Some(opts.request_timeout))?,
        })
    }

    /// The message for `alerts`.
    pub fn request(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<Request, Failure> {
        let c = &self.conf;
        let data = notification_data(ctx, alerts);
        let mut r = Render::new(&ctx.templates, &data);
        let (title, truncated) = truncate_runes(r.text(&c.title), MAX_TITLE_RUNES);
        if truncated {
            warn!(key = %ctx.group_key, max_runes = MAX_TITLE_RUNES, "truncated slack title");
        }
        let mrkdwn_in = if c.mrkdwn_in.is_empty() {
            vec![
                "fallback".to_owned(),
                "pretext".to_owned(),
                "text".to_owned(),
            ]
        } else {
            c.mrkdwn_in.clone()
        };
        let fields = c
            .fields
            .iter()
            .map(|f| Field {
                title: r.text(&f.title),
                value: r.text(&f.value),
                short: f.short.unwrap_or(c.short_fields),
            })
            .collect();
        let actions = c
            .actions
            .iter()
            .map(|a| Action {
                kind: r.text(&a.kind),
                text: r.text(&a.text),
                url: r.text(&a.url),
                style: r.text(&a.style),
                name: r.text(&a.name),
                value: r.text(&a.value),
                confirm: a.confirm.as_ref().map(|cf| Confirm {
                    title: r.text(&cf.title),
                    text: r.text(&cf.text),
                    ok_text: r.text(&cf.ok_text),
                    dismiss_text: r.text(&cf.dismiss_text),
                }),
            })
            .collect();
        let att = Attachment {
            title,
            title_link: r.text(&c.title_link),
            pretext: r.text(&c.pretext),
            text: r.text(&c.text),
            fallback: r.text(&c.fallback),
            callback_id: r.text(&c.callback_id),
            fields,
            actions,
            image_url: r.text(&c.image_url),
            thumb_url: r.text(&c.thumb_url),
            footer: r.text(&c.footer),
            color: r.text(&c.color),
            mrkdwn_in,
        };
        let req = Request {
            channel: r.text(&c.channel),
            username: r.text(&c.username),
            icon_emoji: r.text(&c.icon_emoji),
            icon_url: r.text(&c.icon_url),
            link_names: c.link_names,
            attachments: vec![att],
        };
        r.finish("Slack message")?;
        Ok(req)
    }

    fn api_url(&self) -> Result<String, Failure> {
        match (&self.conf.api_url, &self.conf.api_url_file) {
            (Some(u), _) => Ok(Secret::expose(u).to_owned()),
            (None, Some(f)) => read_secret_file(f).map_err(Failure::permanent),
            (None, None) => Err(Failure::permanent("no Slack API URL configured")),
        }
    }

    pub async fn notify(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<(), Failure> {
        let req = self.request(ctx, alerts)?;
        let mut body = serde_json::to_vec(&req).map_err(|e| Failure::permanent(e.to_string()))?;
        body.push(b'\n');
        let url = self.api_url()?;
        let reply = self.client.post_json(&url, body, true).await?;
        reply.check(&reply.body).map_err(|f| Failure {
            retryable: f.retryable,
            reason: format!("channel {:?}: {}", req.channel, f.reason),
        })
    }
}

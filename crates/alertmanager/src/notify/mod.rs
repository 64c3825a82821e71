//! The notification pipeline run at each flush of an aggregation group, in Alertmanager's
//! order (`notify/notify.go`, v0.25):
//!
//! 1. inhibition: alerts muted by an inhibit rule are left out (the marker records why);
//! 2. the route's `active_time_intervals`, then its `mute_time_intervals`: outside the former
//!    or inside the latter, nothing is sent;
//! 3. silences: silenced alerts are left out (the marker records the silences);
//! 4. for each integration of the route's receiver, concurrently: dedup against the
//!    notification log (`retry::needs_update`), delivery retried with exponential backoff
//!    until the group's next flush, and on success an entry in the log.
//!
//! A flush succeeds when every integration succeeded (or had nothing to send); only then does the
//! dispatcher drop the group's resolved alerts. A receiver that stays down therefore keeps them,
//! and the next flush finds the log unchanged and sends again: nothing is dropped.
//!
//! Muted alerts never reach the dedup stage, so the log is not touched while a group is fully
//! muted; when the silence ends, whatever changed since the last notification goes out.

pub(crate) mod retry;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tracing::{debug, error};
use vigil_model::{Labels, Timestamp};
use vigil_template::NotificationTemplates;

use crate::alert::Alert;
use crate::alertmanager::Core;
use crate::config::Config;
use crate::error::Error;
use crate::receivers::{build_receiver, BuildOptions, Integration, NotifyCtx};
use crate::route::RouteOpts;

/// Settings of the notifier ([`crate::Alertmanager::start_notifier`]).
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// The notification templates: Alertmanager's defaults plus the configuration's files
    /// ([`crate::load_templates`]).
    pub templates: Arc<NotificationTemplates>,
    /// `.ExternalURL` of templates and webhook payloads (Alertmanager's `--web.external-url`).
    pub external_url: String,
    /// The least time a flush's deliveries get before they are cut off: the group's
    /// `group_interval` or this, whichever is longer (Alertmanager: 10 s).
    pub min_notify_timeout: Duration,
    /// Bound on one HTTP request or SMTP session (default 30 s).
    pub request_timeout: Duration,
    /// How often empty aggregation groups are removed (Alertmanager: 30 s).
    pub cleanup_interval: Duration,
    /// How often the notification log is garbage-collected and written (Alertmanager: 15 m).
    pub maintenance_interval: Duration,
    /// How long the log writer waits after a change before writing, to batch a burst.
    pub nflog_write_delay: Duration,
}

impl NotifierOptions {
    /// The defaults, with these templates and external URL.
    pub fn new(templates: Arc<NotificationTemplates>, external_url: impl Into<String>) -> Self {
        NotifierOptions {
            templates,
            external_url: external_url.into(),
            min_notify_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            cleanup_interval: Duration::from_secs(30),
            maintenance_interval: Duration::from_secs(15 * 60),
            nflog_write_delay: Duration::from_millis(100),
        }
    }
}

/// Alertmanager's default templates plus the files the configuration's `templates:` globs
/// match (relative globs taken from `dir`, the configuration file's directory), parsed in glob
/// order as Alertmanager's `template.FromGlobs` does.
///
/// # Errors
/// [`Error::Template`] for a malformed glob, an unreadable file, or a file that does not parse
/// (with Go's message).
pub fn load_templates(
    config: &Config,
    dir: &std::path::Path,
) -> Result<Arc<NotificationTemplates>, Error> {
    let files = crate::check::template_files(config, dir).map_err(|(i, e)| Error::Template {
        file: config.templates.get(i).cloned().unwrap_or_default(),
        reason: e,
    })?;
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::Template {
            file: f.display().to_string(),
            reason: e.to_string(),
        })?;
        texts.push((f.display().to_string(), text));
    }
    NotificationTemplates::new(&texts)
        .map(Arc::new)
        .map_err(|e| Error::Template {
            file: e.template().to_owned(),
            reason: e.message().to_owned(),
        })
}

/// The last outcome of one integration, for operators (`GET`-able through the facade).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationStatus {
    pub receiver: String,
    /// `webhook`, `email`, `pagerduty` or `slack`.
    pub integration: String,
    pub index: u32,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    /// The error of the last attempt, when it failed.
    pub last_error: Option<String>,
}

/// What a flush needs to know about its aggregation group.
#[derive(Debug)]
pub(crate) struct GroupCtx {
    /// `{route key}:{group labels}`.
    pub group_key: String,
    pub group_labels: Labels,
    pub receiver: String,
    pub opts: RouteOpts,
}

/// The pipeline for one configuration: its integrations by receiver and its templates.
#[derive(Debug)]
pub(crate) struct Pipeline {
    config: Arc<Config>,
    receivers: HashMap<String, Vec<Arc<Integration>>>,
    templates: Arc<NotificationTemplates>,
    external_url: String,
}

impl Pipeline {
    /// Builds every receiver's integrations.
    ///
    /// # Errors
    /// [`Error::Integration`] for the first integration that cannot be built.
    pub fn build(config: Arc<Config>, opts: &NotifierOptions) -> Result<Pipeline, Error> {
        let build = BuildOptions {
            request_timeout: opts.request_timeout,
        };
        let mut receivers = HashMap::new();
        for r in &config.receivers {
            receivers.insert(r.name.clone(), build_receiver(r, &build)?);
        }
        Ok(Pipeline {
            config,
            receivers,
            templates: opts.templates.clone(),
            external_url: opts.external_url.clone(),
        })
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Runs the stages for one flush of `group`; `now` is the flush time, `deadline` the group's
    /// next flush. Returns whether the flush succeeded (see the module doc).
    pub async fn exec(
        &self,
        core: &Arc<Core>,
        group: &Arc<GroupCtx>,
        mut kept: Vec<Alert>,
        now: Timestamp,
        deadline: Instant,
    ) -> bool {
        let inhibitor = core.inhibitor();
        kept.retain(|a| !inhibitor.mutes(a.labels(), now, &core.marker));
        if kept.is_empty() {
            return true;
        }
        if self.config.route_muted_at(&group.opts, now) {
            debug!(group = %group.group_key, "notifications not sent: route muted by its time intervals");
            return true;
        }
        kept.retain(|a| !core.silences.mutes(a.labels(), &core.marker));
        if kept.is_empty() {
            return true;
        }
        let Some(integrations) = self.receivers.get(&group.receiver) else {
            error!(receiver = %group.receiver, "no stage for receiver");
            return false;
        };
        let alerts: Arc<[Alert]> = kept.into();
        let ctx = Arc::new(NotifyCtx {
            receiver: group.receiver.clone(),
            group_key: group.group_key.clone(),
            group_labels: group.group_labels.clone(),
            external_url: self.external_url.clone(),
            templates: self.templates.clone(),
        });
        let mut set = JoinSet::new();
        for i in integrations {
            set.spawn(retry::integration_stage(
                core.clone(),
                group.clone(),
                ctx.clone(),
                i.clone(),
                alerts.clone(),
                deadline,
            ));
        }
        let mut ok = true;
        while let Some(r) = set.join_next().await {
            ok &= r.unwrap_or(false);
        }
        ok
    }
}

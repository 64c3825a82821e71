//! [`Alertmanager`]: the stores, the muters and the configuration together, with one method
//! per API v2 operation. The HTTP layer decodes a request into the [`crate::api`] types, calls
//! the method, and encodes the answer; errors map to status codes through [`Error::kind`].
//!
//! Notification (dispatcher, pipeline, notification log, metrics) is started, reloaded and
//! stopped through the methods in [`notifier`].

mod notifier;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use vigil_model::{Clock, Labels, Timestamp};

use crate::alert::Alert;
use crate::api::{
    AlertGroup, AlertStatusBody, AlertmanagerConfigBody, AlertmanagerStatus, ClusterStatus,
    GettableAlert, GettableSilence, MatcherBody, PostableAlert, PostableSilence, ReceiverName,
    SilenceStatusBody, VersionInfo,
};
use crate::config::Config;
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::gotime::{is_zero, ZERO_TIME};
use crate::inhibit::Inhibitor;
use crate::marker::{AlertState, AlertStatus, Marker};
use crate::matcher::Matcher;
use crate::metrics::NotifierMetrics;
use crate::nflog::{NflogReceiver, NotificationLog};
use crate::notify::IntegrationStatus;
use crate::query::{
    alert_order, labels_cmp, match_filter_labels, parse_filter, silence_matches_filter,
    sort_silences, AlertsQuery,
};
use crate::route::RouteIndex;
use crate::silence::{silence_matcher, Silence, SilenceQuery, Silences, SilencesOptions};
use crate::store::AlertStore;

/// Options of [`Alertmanager::new`].
#[derive(Debug, Clone, Default)]
pub struct AlertmanagerOptions {
    /// Directory for `silences.json` (Vigil's `<data-dir>/alerts/`); `None`: memory only.
    pub data_dir: Option<PathBuf>,
    /// Silence retention after their end; 0 means the default, 120h.
    pub retention_ms: u64,
    /// What `GET /api/v2/status` reports as `versionInfo`.
    pub version: VersionInfo,
}

/// What the facade, the dispatcher and the pipeline share.
#[derive(Debug)]
pub(crate) struct Core {
    pub clock: Arc<dyn Clock>,
    pub config: RwLock<Arc<Config>>,
    pub inhibitor: RwLock<Arc<Inhibitor>>,
    pub alerts: AlertStore,
    pub marker: Marker,
    pub silences: Silences,
    pub metrics: NotifierMetrics,
    pub nflog: Arc<NotificationLog>,
    /// The last outcome of every integration that was tried, across reloads.
    pub integration_status: Mutex<BTreeMap<NflogReceiver, IntegrationStatus>>,
}

impl Core {
    pub fn inhibitor(&self) -> Arc<Inhibitor> {
        self.inhibitor.read().clone()
    }
}

/// The notifier core: alerts, marker, silences, inhibitor, configuration, and (once started)
/// the dispatcher that sends notifications.
#[derive(Debug)]
pub struct Alertmanager {
    core: Arc<Core>,
    started_at: Timestamp,
    version: VersionInfo,
    notifier: Mutex<Option<notifier::Running>>,
}

fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn required(field: &str) -> Error {
    Error::InvalidSilence(format!("{field} in body is required"))
}

impl Alertmanager {
    /// Starts with `config`, loading persisted silences.
    ///
    /// # Errors
    /// The silence file exists but cannot be read or is corrupt.
    pub fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        opts: AlertmanagerOptions,
    ) -> Result<Self, Error> {
        let retention_ms = if opts.retention_ms == 0 {
            crate::silence::DEFAULT_RETENTION_MS
        } else {
            opts.retention_ms
        };
        let silences = Silences::new(
            clock.clone(),
            SilencesOptions {
                retention_ms,
                dir: opts.data_dir,
            },
        )?;
        let inhibitor = Inhibitor::new(&config.inhibit_rules);
        let metrics = NotifierMetrics::default();
        let nflog = Arc::new(NotificationLog::open(
            clock.clone(),
            silences.path().and_then(|p| p.parent()),
            retention_ms,
            metrics.clone(),
        ));
        Ok(Alertmanager {
            started_at: clock.now_ms(),
            core: Arc::new(Core {
                clock,
                config: RwLock::new(Arc::new(config)),
                inhibitor: RwLock::new(Arc::new(inhibitor)),
                alerts: AlertStore::default(),
                marker: Marker::default(),
                silences,
                metrics,
                nflog,
                integration_status: Mutex::new(BTreeMap::new()),
            }),
            version: opts.version,
            notifier: Mutex::new(None),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.core.config.read().clone()
    }

    /// Switches to a new configuration (reload). The inhibitor is rebuilt for the new rules and
    /// re-fed with every stored alert, as Alertmanager's re-subscription does. When the notifier
    /// runs, its dispatcher is rebuilt for the new routes and receivers with the templates in
    /// force (alerts, silences and the notification log are kept); an integration that cannot
    /// be built is logged and the old dispatcher keeps running. Use
    /// [`Alertmanager::reload`] to also replace the templates and to get that error back.
    pub fn apply_config(&self, config: Config) {
        let config = self.swap_config(Arc::new(config));
        self.restart_dispatcher_logged(config);
    }

    fn swap_config(&self, config: Arc<Config>) -> Arc<Config> {
        let mut cfg = self.core.config.write();
        let ih = Inhibitor::new(&config.inhibit_rules);
        for a in self.core.alerts.list() {
            ih.observe(&a);
        }
        *self.core.inhibitor.write() = Arc::new(ih);
        *cfg = config.clone();
        config
    }

    pub fn alerts(&self) -> &AlertStore {
        &self.core.alerts
    }

    pub fn marker(&self) -> &Marker {
        &self.core.marker
    }

    pub fn silences(&self) -> &Silences {
        &self.core.silences
    }

    pub fn inhibitor(&self) -> Arc<Inhibitor> {
        self.core.inhibitor()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.core.clock
    }

    /// `POST /api/v2/alerts`: completes times as Alertmanager does (start defaults to now, or
    /// to the end when only that is given; a missing end is now + `resolve_timeout`), drops
    /// empty labels, stores every valid alert, and reports the invalid ones.
    ///
    /// # Errors
    /// [`Error::InvalidAlerts`] with every reason joined by `; ` when any alert was refused;
    /// the valid ones are stored regardless.
    pub fn post_alerts(&self, alerts: Vec<PostableAlert>) -> Result<(), Error> {
        let now = self.core.clock.now_ms();
        let resolve_timeout =
            i64::try_from(self.config().global.resolve_timeout_ms).unwrap_or(i64::MAX);
        let mut converted = Vec::with_capacity(alerts.len());
        let mut errors = Vec::new();
        for p in alerts {
            let Some(labels) = p.labels else {
                errors.push("labels in body is required".to_owned());
                continue;
            };
            let labels = match Labels::from_pairs(labels) {
                Ok(l) => l,
                Err(e) => {
                    errors.push(format!("invalid label set: {e}"));
                    continue;
                }
            };
            let mut ends_at = p.ends_at.unwrap_or(ZERO_TIME);
            let mut starts_at = p.starts_at.unwrap_or(ZERO_TIME);
            if is_zero(starts_at) {
                starts_at = if is_zero(ends_at) { now } else { ends_at };
            }
            let mut timeout = false;
            if is_zero(ends_at) {
                timeout = true;
                ends_at = now.saturating_add(resolve_timeout);
            }
            let mut a = Alert::new(labels, starts_at, ends_at, now);
            a.annotations = p.annotations.unwrap_or_default();
            a.generator_url = p.generator_url.unwrap_or_default();
            a.timeout = timeout;
            converted.push(a);
        }
        match self.insert_alerts(converted) {
            Ok(()) if errors.is_empty() => Ok(()),
            Ok(()) => Err(Error::InvalidAlerts(errors.join("; "))),
            Err(Error::InvalidAlerts(more)) => {
                errors.push(more);
                Err(Error::InvalidAlerts(errors.join("; ")))
            }
            Err(e) => Err(e),
        }
    }

    /// Validates and stores alerts whose times are already complete (the rule evaluator's
    /// path), feeding the inhibitor and the store's listeners.
    ///
    /// # Errors
    /// [`Error::InvalidAlerts`] for the refused ones; the valid ones are stored regardless.
    pub fn insert_alerts(&self, alerts: Vec<Alert>) -> Result<(), Error> {
        let now = self.core.clock.now_ms();
        let mut errors = Vec::new();
        // The read lock keeps a reload from re-seeding an inhibitor halfway through.
        let _cfg = self.core.config.read();
        let ih = self.inhibitor();
        for a in alerts {
            if let Err(e) = a.validate() {
                errors.push(e);
                continue;
            }
            let (stored, _) = self.core.alerts.put(a, now);
            ih.observe(&stored);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidAlerts(errors.join("; ")))
        }
    }

    /// Runs both muters on `labels` (inhibitor, then silencer, as Alertmanager's
    /// `setAlertStatus`) and returns the resulting status.
    pub fn set_alert_status(&self, labels: &Labels) -> AlertStatus {
        let now = self.core.clock.now_ms();
        self.inhibitor().mutes(labels, now, &self.core.marker);
        self.core.silences.mutes(labels, &self.core.marker);
        self.core.marker.status(Fingerprint::of(labels))
    }

    /// Whether an alert passes the `active`/`silenced`/`inhibited` flags and the filter;
    /// refreshes its status on the way (Alertmanager's `alertFilter`).
    fn alert_passes(
        &self,
        a: &Alert,
        q: &AlertsQuery,
        matchers: &[Matcher],
        now: Timestamp,
    ) -> Option<AlertStatus> {
        if !is_zero(a.ends_at) && a.ends_at < now {
            return None;
        }
        let status = self.set_alert_status(a.labels());
        if !q.active && status.state == AlertState::Active {
            return None;
        }
        if !q.silenced && !status.silenced_by.is_empty() {
            return None;
        }
        if !q.inhibited && !status.inhibited_by.is_empty() {
            return None;
        }
        if !q.unprocessed && status.state == AlertState::Unprocessed {
            return None;
        }
        match_filter_labels(matchers, a.labels()).then_some(status)
    }

    fn gettable(a: &Alert, status: &AlertStatus, receivers: &[String]) -> GettableAlert {
        GettableAlert {
            annotations: a.annotations.clone(),
            ends_at: a.ends_at,
            fingerprint: a.fingerprint().to_string(),
            receivers: receivers
                .iter()
                .map(|r| ReceiverName { name: r.clone() })
                .collect(),
            starts_at: a.starts_at,
            status: AlertStatusBody {
                state: status.state,
                silenced_by: status.silenced_by.clone(),
                inhibited_by: status.inhibited_by.clone(),
            },
            updated_at: a.updated_at,
            generator_url: a.generator_url.clone(),
            labels: labels_map(a.labels()),
        }
    }

    /// `GET /api/v2/alerts`, ordered by fingerprint.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for a bad filter or receiver regex.
    pub fn get_alerts(&self, q: &AlertsQuery) -> Result<Vec<GettableAlert>, Error> {
        let cq = q.compile()?;
        let cfg = self.config();
        let now = self.core.clock.now_ms();
        let mut out = Vec::new();
        for a in self.core.alerts.list() {
            let receivers: Vec<String> = cfg
                .route
                .receivers_for(a.labels())
                .into_iter()
                .map(str::to_owned)
                .collect();
            if let Some(re) = &cq.receiver {
                if !receivers.iter().any(|r| re.is_match(r)) {
                    continue;
                }
            }
            let Some(status) = self.alert_passes(&a, q, &cq.matchers, now) else {
                continue;
            };
            out.push(Self::gettable(&a, &status, &receivers));
        }
        Ok(out)
    }

    /// `GET /api/v2/alerts/groups`: the stored alerts grouped per route as the dispatcher
    /// groups them (route, then the route's group labels), ordered as Alertmanager orders
    /// them. Each alert lists the receivers of the groups it appears in.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for a bad filter or receiver regex.
    pub fn get_alert_groups(&self, q: &AlertsQuery) -> Result<Vec<AlertGroup>, Error> {
        let cq = q.compile()?;
        let cfg = self.config();
        let now = self.core.clock.now_ms();
        struct Group {
            labels: Labels,
            receiver: String,
            alerts: Vec<(Alert, AlertStatus)>,
        }
        let mut groups: BTreeMap<(RouteIndex, Fingerprint), Group> = BTreeMap::new();
        let mut receivers: HashMap<Fingerprint, Vec<String>> = HashMap::new();
        for a in self.core.alerts.list() {
            let mut status = None;
            for route in cfg.route.match_labels(a.labels()) {
                if let Some(re) = &cq.receiver {
                    if !re.is_match(&route.opts.receiver) {
                        continue;
                    }
                }
                let st = match &status {
                    Some(s) => s,
                    None => match self.alert_passes(&a, q, &cq.matchers, now) {
                        Some(s) => status.insert(s),
                        None => break,
                    },
                };
                let gl = route.group_labels(a.labels());
                let key = (route.index, Fingerprint::of(&gl));
                let g = groups.entry(key).or_insert_with(|| Group {
                    labels: gl,
                    receiver: route.opts.receiver.clone(),
                    alerts: Vec::new(),
                });
                g.alerts.push((a.clone(), st.clone()));
                receivers
                    .entry(a.fingerprint())
                    .or_default()
                    .push(route.opts.receiver.clone());
            }
        }
        for r in receivers.values_mut() {
            r.sort();
        }
        let mut groups: Vec<Group> = groups.into_values().collect();
        groups.sort_by(|a, b| {
            labels_cmp(&a.labels, &b.labels).then_with(|| a.receiver.cmp(&b.receiver))
        });
        Ok(groups
            .into_iter()
            .map(|mut g| {
                g.alerts
                    .sort_by(|(x, _), (y, _)| alert_order(x.labels(), y.labels()));
                AlertGroup {
                    labels: labels_map(&g.labels),
                    receiver: ReceiverName { name: g.receiver },
                    alerts: g
                        .alerts
                        .iter()
                        .map(|(a, st)| {
                            let rs = receivers
                                .get(&a.fingerprint())
                                .map_or(&[][..], Vec::as_slice);
                            Self::gettable(a, st, rs)
                        })
                        .collect(),
                }
            })
            .collect())
    }

    fn gettable_silence(&self, s: Silence, now: Timestamp) -> GettableSilence {
        GettableSilence {
            status: SilenceStatusBody {
                state: s.api_state_at(now),
            },
            updated_at: s.updated_at,
            matchers: s
                .matchers
                .iter()
                .map(|m| MatcherBody {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    is_regex: m.is_regex(),
                    is_equal: m.is_equal(),
                })
                .collect(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            created_by: s.created_by,
            comment: s.comment,
            id: s.id,
        }
    }

    /// `GET /api/v2/silences`: silences having every `filter` matcher verbatim, ordered as
    /// Alertmanager orders them (active, pending, expired).
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for a filter that does not parse.
    pub fn get_silences(&self, filter: &[String]) -> Result<Vec<GettableSilence>, Error> {
        let matchers = parse_filter(filter)?;
        let now = self.core.clock.now_ms();
        let (sils, _) = self.core.silences.query(&SilenceQuery::default());
        let mut out: Vec<GettableSilence> = sils
            .into_iter()
            .filter(|s| silence_matches_filter(s, &matchers))
            .map(|s| self.gettable_silence(s, now))
            .collect();
        sort_silences(&mut out);
        Ok(out)
    }

    /// `GET /api/v2/silence/{id}`.
    ///
    /// # Errors
    /// [`Error::SilenceNotFound`].
    pub fn get_silence(&self, id: &str) -> Result<GettableSilence, Error> {
        let s = self.core.silences.get(id).ok_or(Error::SilenceNotFound)?;
        Ok(self.gettable_silence(s, self.core.clock.now_ms()))
    }

    /// `POST /api/v2/silences`: creates a silence, or updates the one named by `id`; returns
    /// the id in force afterwards.
    ///
    /// # Errors
    /// [`Error::InvalidSilence`] with Alertmanager's reason (missing fields, times, matchers),
    /// [`Error::SilenceNotFound`] for an unknown `id`, or a persistence failure.
    pub fn post_silence(&self, p: PostableSilence) -> Result<String, Error> {
        let posted = p.matchers.ok_or_else(|| required("matchers"))?;
        if posted.is_empty() {
            return Err(Error::InvalidSilence(
                "matchers in body should have at least 1 items".to_owned(),
            ));
        }
        let starts_at = p.starts_at.ok_or_else(|| required("startsAt"))?;
        let ends_at = p.ends_at.ok_or_else(|| required("endsAt"))?;
        let created_by = p.created_by.ok_or_else(|| required("createdBy"))?;
        let comment = p.comment.ok_or_else(|| required("comment"))?;
        let mut matchers = Vec::with_capacity(posted.len());
        for (i, m) in posted.into_iter().enumerate() {
            let name = m
                .name
                .ok_or_else(|| required(&format!("matchers.{i}.name")))?;
            let value = m
                .value
                .ok_or_else(|| required(&format!("matchers.{i}.value")))?;
            let is_regex = m
                .is_regex
                .ok_or_else(|| required(&format!("matchers.{i}.isRegex")))?;
            let op = Matcher::op_from_flags(m.is_equal.unwrap_or(true), is_regex);
            matchers.push(silence_matcher(&name, &value, op).map_err(|e| {
                Error::InvalidSilence(format!("silence invalid: invalid label matcher {i}: {e}"))
            })?);
        }
        if starts_at >= ends_at {
            return Err(Error::InvalidSilence(
                "Failed to create silence: start time must be before end time".to_owned(),
            ));
        }
        if ends_at < self.core.clock.now_ms() {
            return Err(Error::InvalidSilence(
                "Failed to create silence: end time can't be in the past".to_owned(),
            ));
        }
        self.core.silences.set(Silence {
            id: p.id.unwrap_or_default(),
            matchers,
            starts_at,
            ends_at,
            updated_at: ZERO_TIME,
            created_by,
            comment,
        })
    }

    /// `DELETE /api/v2/silence/{id}`: expires the silence.
    ///
    /// # Errors
    /// [`Error::SilenceNotFound`], or a persistence failure.
    pub fn delete_silence(&self, id: &str) -> Result<(), Error> {
        self.core.silences.expire(id)
    }

    /// `GET /api/v2/receivers`, in configuration order.
    pub fn receivers(&self) -> Vec<ReceiverName> {
        self.config()
            .receivers
            .iter()
            .map(|r| ReceiverName {
                name: r.name.clone(),
            })
            .collect()
    }

    /// `GET /api/v2/status`. `uptime` is, as in Alertmanager, the time the core started.
    pub fn status(&self) -> AlertmanagerStatus {
        AlertmanagerStatus {
            cluster: ClusterStatus {
                name: None,
                status: "disabled".to_owned(),
                peers: Vec::new(),
            },
            version_info: self.version.clone(),
            config: AlertmanagerConfigBody {
                original: self.config().original().to_owned(),
            },
            uptime: self.started_at,
        }
    }

    /// Removes resolved alerts from the store, the marker and the inhibitor's caches, and
    /// returns them (Alertmanager does this every `--alerts.gc-interval`, 30m).
    pub fn gc_alerts(&self) -> Vec<Alert> {
        let now = self.core.clock.now_ms();
        let removed = self.core.alerts.gc(now);
        for a in &removed {
            self.core.marker.delete(a.fingerprint());
        }
        self.inhibitor().gc(now);
        removed
    }

    /// Collects silences past their retention (Alertmanager's maintenance, every 15m).
    ///
    /// # Errors
    /// Rewriting the silence file failed.
    pub fn gc_silences(&self) -> Result<usize, Error> {
        self.core.silences.gc()
    }
}

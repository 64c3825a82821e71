//! Alertmanager inside Vigil: the configuration, routing tree, grouping, inhibition, silences
//! and alert store that Prometheus's Alertmanager has, with its semantics (version 0.25) and its
//! API v2 shapes, so that a team's `alertmanager.yml` works unchanged under `alertmanager:` and
//! `amtool` works against Vigil.
//!
//! Owns: [`config`] (parse raw, validate into ready objects, `line N: reason` errors),
//! [`matcher`] (Alertmanager's matcher syntax), [`route`] (the routing tree, group labels and
//! keys), [`timeinterval`], [`inhibit`], [`store`] (alerts by [`Fingerprint`], merging,
//! collection), [`marker`] (each alert's status), [`silence`] (lifecycle and the silence file),
//! [`api`] (API v2 JSON types) and [`Alertmanager`], which ties them together with one method
//! per API operation.
//!
//! Notifying is here too: the dispatcher (`dispatch`: aggregation groups and their timers),
//! the notification pipeline ([`notify`]: inhibition, time intervals, silences, dedup, retries),
//! the notification log ([`nflog`], persisted), the receiver integrations (`receivers`:
//! webhook, Slack, email, PagerDuty), Vigil's metrics about all of it ([`metrics`]), and the
//! sender Prometheus uses towards external Alertmanagers ([`upstream`]).
//!
//! Does not own: HTTP routes (the http crate mounts them and turns [`Error::kind`] into status
//! codes), template evaluation (the template crate), clustering (Vigil runs single-node; the
//! status API says `disabled`), service discovery of external Alertmanagers (the caller hands
//! [`upstream::UpstreamSender`] its targets).
//!
//! How the server wires it:
//! - [`Alertmanager::new`], then [`Alertmanager::register_metrics`] into its registry, then
//!   [`Alertmanager::start_notifier`] with a tokio runtime handle and [`NotifierOptions`]
//!   (templates from [`load_templates`], the external URL); [`Alertmanager::reload`] on
//!   configuration reload; [`Alertmanager::stop_notifier`] at shutdown;
//! - the HTTP layer decodes into [`api`] types and calls [`Alertmanager`]'s methods; it also
//!   runs [`Alertmanager::gc_alerts`] and [`Alertmanager::gc_silences`] on a timer;
//! - for `alerting.alertmanagers`: [`upstream::UpstreamSender::new`], `register_metrics`,
//!   `set_targets`, `set_relabel`, `start`, then `send` from the rule engine's sink.
//!
//! Time always comes from the injected [`vigil_model::Clock`]; waiting is tokio's timers.
//!
//! Known differences in notifying (each also noted where it lives): only the webhook, email,
//! Slack and PagerDuty (Events API v2) integrations exist; `oauth2` and `tls_config.server_name`
//! in `http_config` are refused; email has no CRAM-MD5 and sends PLAIN without
//! `auth_identity`; the notification log records fingerprints where Alertmanager records
//! xxhash digests, in its own JSON file; there is no limit on the number of aggregation groups;
//! each integration has at most 64 requests in flight.

mod alert;
mod alertmanager;
pub mod api;
mod check;
pub mod config;
mod dispatch;
mod error;
mod fingerprint;
mod gotime;
pub mod inhibit;
pub mod marker;
pub mod matcher;
pub mod metrics;
pub mod nflog;
pub mod notify;
mod query;
mod receivers;
pub mod route;
pub mod silence;
pub mod store;
pub mod timeinterval;
pub mod upstream;

pub use alert::Alert;
pub use alertmanager::{Alertmanager, AlertmanagerOptions};
pub use check::{check_config, check_config_file, template_files, Summary};
pub use config::{from_value, parse, Config};
pub use error::{ConfigError, Error};
pub use fingerprint::Fingerprint;
pub use gotime::{format_go_json, format_rfc3339_ms, parse_rfc3339, ZERO_TIME};
pub use inhibit::{InhibitRule, Inhibitor};
pub use marker::{AlertState, AlertStatus, Marker};
pub use matcher::{parse_matcher, parse_matchers, Matcher, Matchers};
pub use metrics::{NotifierMetrics, UpstreamMetrics};
pub use nflog::{NflogEntry, NflogReceiver, NotificationLog, NFLOG_FILE};
pub use notify::{load_templates, IntegrationStatus, NotifierOptions};
pub use query::AlertsQuery;
pub use route::{Route, RouteIndex, RouteOpts, RoutingTree};
pub use silence::{Silence, SilenceState, Silences, SilencesOptions};
pub use store::{AlertListener, AlertStore};

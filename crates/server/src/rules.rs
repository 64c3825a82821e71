//! The rule evaluator in the server: the `rule_files` loaded at start (an invalid file refuses
//! the start, as in Prometheus), reloaded with the config (a bad file keeps the previous rules
//! running; its error is logged, counted in `vigil_rule_*` and shown as a warning of
//! `/api/v1/rules`), groups evaluated on their schedule off the async threads, and the alerts
//! they send relabelled by `alerting.alert_relabel_configs` and handed to the embedded
//! Alertmanager and to the external ones of `alerting.alertmanagers`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_alertmanager::upstream::UpstreamAlert;
use vigil_alertmanager::{Alert, Alertmanager};
use vigil_http::{QueryLimits, RulesHandle};
use vigil_model::Clock;
use vigil_promql::EngineOptions;
use vigil_rules::{
    AlertSink, GroupSpec, ManagerOptions, OutgoingAlert, RuleFileError, RuleGlobals, RuleManager,
    RuleMetrics,
};
use vigil_storage::{MetricAppend, MetricSelect};

use crate::config::Settings;
use crate::upstream::Notifier;

/// The longest the evaluator sleeps, so that groups installed by a reload start on time.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// The global settings groups inherit.
pub fn globals(s: &Settings, external_url: &str) -> RuleGlobals {
    let g = &s.scrape.global;
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    RuleGlobals {
        evaluation_interval_ms: ms(g.evaluation_interval.as_std()),
        query_offset_ms: ms(g.rule_query_offset.as_std()),
        external_labels: g
            .external_labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect::<BTreeMap<_, _>>(),
        external_url: external_url.to_owned(),
    }
}

/// The PromQL limits rules evaluate with: the query API's, so that a rule cannot do what a
/// query may not.
fn engine_options(q: &QueryLimits) -> EngineOptions {
    EngineOptions {
        lookback_delta: q.lookback_delta,
        max_samples: q.max_samples,
        timeout: q.timeout,
    }
}

/// Every problem of a failed rule load, one per line.
pub fn describe(errors: &[RuleFileError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Builds the manager and loads the configured rule files into it.
///
/// # Errors
/// Every problem in the rule files: Vigil does not start with an invalid rule file.
#[allow(clippy::too_many_arguments)]
pub fn start(
    s: &Settings,
    select: Arc<dyn MetricSelect>,
    append: Arc<dyn MetricAppend>,
    alertmanager: Arc<Alertmanager>,
    upstream: Arc<Notifier>,
    registry: &mut Registry,
    clock: &Arc<dyn Clock>,
    external_url: &str,
) -> Result<RulesHandle> {
    let mut opts = ManagerOptions::new(select, append);
    opts.engine = engine_options(&s.query_limits);
    opts.globals = globals(s, external_url);
    opts.sink = Some(Arc::new(AlertmanagerSink {
        alertmanager,
        upstream,
        clock: clock.clone(),
    }));
    opts.metrics = Some(RuleMetrics::new(registry));
    let manager = Arc::new(RuleManager::new(opts));
    if let Err(errors) = manager.load_and_update(&s.rule_files, clock.now_ms()) {
        bail!("invalid rule files:\n{}", describe(&errors));
    }
    let (groups, rules) = manager.counts();
    tracing::info!(files = s.rule_files.len(), groups, rules, "rules loaded");
    Ok(RulesHandle::new(manager))
}

/// The first half of a reload: reads the new configuration's rule files without installing
/// them. On failure the previous rules stay, and the error is logged and kept for
/// `/api/v1/rules`.
///
/// # Errors
/// Every problem in the rule files, one per line.
pub fn load(h: &RulesHandle, s: &Settings, now_ms: i64) -> Result<Vec<GroupSpec>, String> {
    h.manager.load(&s.rule_files, now_ms).map_err(|errors| {
        let text = describe(&errors);
        tracing::error!(error = %text, "rule files not reloaded; previous rules still in force");
        *h.reload_error.write() = Some(text.clone());
        format!("invalid rule files:\n{text}")
    })
}

/// The second half of a reload, once nothing else refused the configuration: the groups
/// [`load`] read and the new globals in force together.
pub fn install(
    h: &RulesHandle,
    groups: Vec<GroupSpec>,
    s: &Settings,
    now_ms: i64,
    external_url: &str,
) {
    h.manager.install(groups, globals(s, external_url), now_ms);
    *h.reload_error.write() = None;
}

/// Validates rule files for `vigil check config`.
///
/// # Errors
/// Every problem, one per line.
pub fn check(files: &[PathBuf]) -> Result<usize, String> {
    match vigil_rules::load_files(files) {
        Ok(groups) => Ok(groups.iter().map(|g| g.rules.len()).sum()),
        Err(errors) => Err(describe(&errors)),
    }
}

/// Evaluates due groups until `stop`, each run on a blocking thread.
pub fn spawn_evaluator(
    h: &RulesHandle,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let manager = h.manager.clone();
    tokio::spawn(async move {
        loop {
            let now = clock.now_ms();
            let wait = manager.next_due_ms().map_or(MAX_IDLE, |due| {
                Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0))
                    .min(MAX_IDLE)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let (m, c) = (manager.clone(), clock.clone());
            match tokio::task::spawn_blocking(move || m.evaluate_due(c.now_ms())).await {
                Ok(reports) => {
                    for r in reports.iter().filter(|r| r.failures > 0) {
                        tracing::debug!(file = %r.file, group = %r.name, failures = r.failures, "rule group evaluated with errors");
                    }
                }
                Err(e) => tracing::error!(error = %e, "rule evaluation task failed"),
            }
        }
    })
}

/// Hands the rule engine's alerts, relabelled by `alert_relabel_configs` (an alert they drop
/// goes nowhere), to the embedded Alertmanager and to the external ones, as Prometheus's
/// notifier posts them to every Alertmanager.
struct AlertmanagerSink {
    alertmanager: Arc<Alertmanager>,
    upstream: Arc<Notifier>,
    clock: Arc<dyn Clock>,
}

impl AlertSink for AlertmanagerSink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        let now = self.clock.now_ms();
        let relabelled: Vec<OutgoingAlert> = alerts
            .into_iter()
            .filter_map(|mut a| {
                a.labels = self.upstream.relabel(a.labels)?;
                Some(a)
            })
            .collect();
        if relabelled.is_empty() {
            return;
        }
        // Copies for the external Alertmanagers only when there are any.
        if self.upstream.has_targets() {
            self.upstream.send(
                relabelled
                    .iter()
                    .map(|a| UpstreamAlert {
                        labels: a.labels.clone(),
                        annotations: a.annotations.clone(),
                        starts_at: a.starts_at_ms,
                        ends_at: a.ends_at_ms,
                        generator_url: a.generator_url.clone(),
                    })
                    .collect(),
            );
        }
        let alerts: Vec<Alert> = relabelled
            .into_iter()
            .map(|a| {
                let mut alert = Alert::new(a.labels, a.starts_at_ms, a.ends_at_ms, now);
                alert.annotations = a.annotations;
                alert.generator_url = a.generator_url;
                alert
            })
            .collect();
        if let Err(e) = self.alertmanager.insert_alerts(alerts) {
            tracing::warn!(error = %e, "alerts refused by the notifier");
        }
    }
}

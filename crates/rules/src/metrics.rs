//! Vigil's own metrics about rule evaluation (`vigil_rule_*`), registered by the caller into
//! the server's `prometheus-client` registry. The only label, `rule_group`, is Prometheus's
//! group key `file;name`, bounded by the loaded rule files.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::group::GroupEvalReport;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GroupLabels {
    pub rule_group: String,
}

/// The group key Prometheus labels its rule metrics with.
pub(crate) fn group_key(file: &str, name: &str) -> GroupLabels {
    GroupLabels {
        rule_group: format!("{file};{name}"),
    }
}

/// The rule manager's metrics.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    /// `vigil_rule_group_duration_seconds`: all group evaluations.
    group_duration: Histogram,
    /// `vigil_rule_group_last_duration_seconds{rule_group}`.
    last_duration: Family<GroupLabels, Gauge<f64, AtomicU64>>,
    /// `vigil_rule_group_last_evaluation_timestamp_seconds{rule_group}`.
    last_evaluation: Family<GroupLabels, Gauge<f64, AtomicU64>>,
    /// `vigil_rule_group_last_evaluation_samples{rule_group}`.
    last_samples: Family<GroupLabels, Gauge>,
    /// `vigil_rule_evaluations_total{rule_group}`.
    evaluations: Family<GroupLabels, Counter>,
    /// `vigil_rule_evaluation_failures_total{rule_group}`.
    failures: Family<GroupLabels, Counter>,
    /// `vigil_rule_group_iterations_missed_total{rule_group}`.
    missed: Family<GroupLabels, Counter>,
    /// `vigil_rule_group_rules{rule_group}`.
    rules: Family<GroupLabels, Gauge>,
    /// `vigil_rule_group_interval_seconds{rule_group}`.
    interval: Family<GroupLabels, Gauge<f64, AtomicU64>>,
    /// `vigil_rule_config_last_reload_successful`.
    reload_ok: Gauge,
    /// `vigil_rule_config_last_reload_success_timestamp_seconds`.
    reload_time: Gauge<f64, AtomicU64>,
}

impl RuleMetrics {
    /// Creates the metrics and registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let m = RuleMetrics {
            group_duration: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            last_duration: Family::default(),
            last_evaluation: Family::default(),
            last_samples: Family::default(),
            evaluations: Family::default(),
            failures: Family::default(),
            missed: Family::default(),
            rules: Family::default(),
            interval: Family::default(),
            reload_ok: Gauge::default(),
            reload_time: Gauge::default(),
        };
        registry.register(
            "vigil_rule_group_duration_seconds",
            "Duration of rule group evaluations",
            m.group_duration.clone(),
        );
        registry.register(
            "vigil_rule_group_last_duration_seconds",
            "Duration of the last evaluation of each rule group",
            m.last_duration.clone(),
        );
        registry.register(
            "vigil_rule_group_last_evaluation_timestamp_seconds",
            "When each rule group was last evaluated",
            m.last_evaluation.clone(),
        );
        registry.register(
            "vigil_rule_group_last_evaluation_samples",
            "Samples produced by the last evaluation of each rule group",
            m.last_samples.clone(),
        );
        // prometheus-client appends `_total` to counter names.
        registry.register(
            "vigil_rule_evaluations",
            "Rule evaluations",
            m.evaluations.clone(),
        );
        registry.register(
            "vigil_rule_evaluation_failures",
            "Rule evaluations that failed (query, limit or append errors)",
            m.failures.clone(),
        );
        registry.register(
            "vigil_rule_group_iterations_missed",
            "Rule group evaluations skipped because an evaluation ran late",
            m.missed.clone(),
        );
        registry.register(
            "vigil_rule_group_rules",
            "Rules in each rule group",
            m.rules.clone(),
        );
        registry.register(
            "vigil_rule_group_interval_seconds",
            "Evaluation interval of each rule group",
            m.interval.clone(),
        );
        registry.register(
            "vigil_rule_config_last_reload_successful",
            "Whether the last rule file reload succeeded (1) or failed (0)",
            m.reload_ok.clone(),
        );
        registry.register(
            "vigil_rule_config_last_reload_success_timestamp_seconds",
            "When rule files were last loaded successfully",
            m.reload_time.clone(),
        );
        m
    }

    pub(crate) fn group_added(&self, key: &GroupLabels, rules: usize, interval_ms: i64) {
        self.rules
            .get_or_create(key)
            .set(i64::try_from(rules).unwrap_or(i64::MAX));
        #[allow(clippy::cast_precision_loss)]
        self.interval
            .get_or_create(key)
            .set(interval_ms as f64 / 1000.0);
        // Exposed at zero before the first evaluation, as Prometheus does.
        let _ = self.evaluations.get_or_create(key);
        let _ = self.failures.get_or_create(key);
        let _ = self.missed.get_or_create(key);
    }

    pub(crate) fn group_removed(&self, key: &GroupLabels) {
        self.last_duration.remove(key);
        self.last_evaluation.remove(key);
        self.last_samples.remove(key);
        self.evaluations.remove(key);
        self.failures.remove(key);
        self.missed.remove(key);
        self.rules.remove(key);
        self.interval.remove(key);
    }

    pub(crate) fn evaluated(&self, r: &GroupEvalReport, rules: usize, wall_ms: i64) {
        let key = group_key(&r.file, &r.name);
        let secs = r.duration.as_secs_f64();
        self.group_duration.observe(secs);
        self.last_duration.get_or_create(&key).set(secs);
        #[allow(clippy::cast_precision_loss)]
        self.last_evaluation
            .get_or_create(&key)
            .set(wall_ms as f64 / 1000.0);
        self.last_samples
            .get_or_create(&key)
            .set(i64::try_from(r.samples).unwrap_or(i64::MAX));
        self.evaluations
            .get_or_create(&key)
            .inc_by(u64::try_from(rules).unwrap_or(u64::MAX));
        self.failures
            .get_or_create(&key)
            .inc_by(u64::try_from(r.failures).unwrap_or(u64::MAX));
        if r.missed > 0 {
            self.missed.get_or_create(&key).inc_by(r.missed);
        }
    }

    /// Records the outcome of a rule file reload at `wall_ms`.
    pub fn reloaded(&self, ok: bool, wall_ms: i64) {
        self.reload_ok.set(i64::from(ok));
        if ok {
            #[allow(clippy::cast_precision_loss)]
            self.reload_time.set(wall_ms as f64 / 1000.0);
        }
    }
}

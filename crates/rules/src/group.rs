//! A rule group and one evaluation of it (Prometheus's `rules/group.go` and
//! `rules/recording.go`): rules run in order at the group's timestamp, each rule's output is
//! appended before the next rule runs (so later rules see it), series a rule stopped producing
//! get staleness markers, and alerting rules hand their alerts to the [`AlertSink`].
//!
//! [`AlertSink`]: crate::AlertSink

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use vigil_model::{Batch, Labels, Sample, Timestamp, METRIC_NAME_LABEL, STALE_NAN};
use vigil_promql::{Engine, EngineOptions};
use vigil_storage::{MetricAppend, MetricSelect};

use crate::alerting::{Alert, AlertingState};
use crate::notify::AlertSink;
use crate::query::query_vector;
use crate::{GroupSpec, RuleKind, RuleSpec};

/// Prometheus's default `--rules.alert.resend-delay`.
pub const DEFAULT_RESEND_DELAY_MS: i64 = 60_000;
/// Prometheus's default `--rules.alert.for-outage-tolerance`.
pub const DEFAULT_OUTAGE_TOLERANCE_MS: i64 = 3_600_000;
/// Prometheus's default `--rules.alert.for-grace-period`.
pub const DEFAULT_FOR_GRACE_PERIOD_MS: i64 = 600_000;

/// What rule evaluation reads from, writes to and sends alerts through.
pub struct EvalEnv {
    pub engine: Engine,
    /// The store `for` state is restored from (the one the engine reads).
    pub queryable: Arc<dyn MetricSelect>,
    pub appendable: Arc<dyn MetricAppend>,
    /// The global external labels; templates see them, outgoing alerts carry them.
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url`: templates see it, generator URLs start with it.
    pub external_url: String,
    pub resend_delay_ms: i64,
    pub outage_tolerance_ms: i64,
    pub for_grace_period_ms: i64,
    pub sink: Option<Arc<dyn AlertSink>>,
}

/// A copy over the same stores, settings and sink. The engine is built anew from its options:
/// an [`Engine`] is only a store and options, but is not `Clone`.
impl Clone for EvalEnv {
    fn clone(&self) -> Self {
        EvalEnv {
            engine: Engine::new(Arc::clone(&self.queryable), self.engine.options().clone()),
            queryable: Arc::clone(&self.queryable),
            appendable: Arc::clone(&self.appendable),
            external_labels: self.external_labels.clone(),
            external_url: self.external_url.clone(),
            resend_delay_ms: self.resend_delay_ms,
            outage_tolerance_ms: self.outage_tolerance_ms,
            for_grace_period_ms: self.for_grace_period_ms,
            sink: self.sink.clone(),
        }
    }
}

impl EvalEnv {
    /// An environment with Prometheus's defaults, no external labels or URL, and no sink.
    pub fn new(
        queryable: Arc<dyn MetricSelect>,
        appendable: Arc<dyn MetricAppend>,
        engine: EngineOptions,
    ) -> Self {
        EvalEnv {
            engine: Engine::new(Arc::clone(&queryable), engine),
            queryable,
            appendable,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            resend_delay_ms: DEFAULT_RESEND_DELAY_MS,
            outage_tolerance_ms: DEFAULT_OUTAGE_TOLERANCE_MS,
            for_grace_period_ms: DEFAULT_FOR_GRACE_PERIOD_MS,
            sink: None,
        }
    }
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleHealth {
    Unknown,
    Ok,
    Err,
}

/// A rule with its evaluation state.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub spec: RuleSpec,
    pub health: RuleHealth,
    pub last_error: Option<String>,
    pub eval_duration: Duration,
    /// Wall-clock time of the last evaluation (ms).
    pub last_eval_ms: Option<Timestamp>,
    /// Series the rule wrote at its last successful evaluation.
    pub prev_series: HashSet<Labels>,
    /// `Some` for alerting rules.
    pub alerting: Option<AlertingState>,
}

impl Rule {
    fn new(spec: RuleSpec, restored: bool) -> Self {
        let alerting = (spec.kind == RuleKind::Alerting).then(|| AlertingState::new(restored));
        Rule {
            spec,
            health: RuleHealth::Unknown,
            last_error: None,
            eval_duration: Duration::ZERO,
            last_eval_ms: None,
            prev_series: HashSet::new(),
            alerting,
        }
    }

    /// Prometheus's match key on reload: name and labels.
    fn state_key(&self) -> String {
        let mut k = self.spec.name.clone();
        for (n, v) in &self.spec.labels {
            k.push('\u{ff}');
            k.push_str(n);
            k.push('\u{fe}');
            k.push_str(v);
        }
        k
    }

    fn fail(&mut self, error: String) {
        self.health = RuleHealth::Err;
        self.last_error = Some(error);
    }
}

/// What one group evaluation did.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEvalReport {
    pub file: String,
    pub name: String,
    /// The evaluation timestamp (before `query_offset`), ms.
    pub ts_ms: Timestamp,
    pub duration: Duration,
    /// Samples the rules produced.
    pub samples: usize,
    /// Rules whose evaluation or append failed.
    pub failures: usize,
    /// Scheduled evaluations skipped because the previous one ran late.
    pub missed: u64,
}

/// A rule group with its rules' state.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) spec: GroupSpec,
    pub(crate) interval_ms: i64,
    pub(crate) query_offset_ms: i64,
    pub(crate) rules: Vec<Rule>,
    /// Series of removed rules, to be marked stale at the next evaluation.
    stale_series: Vec<Labels>,
    pub(crate) evaluation_time: Duration,
    pub(crate) last_evaluation_ms: Option<Timestamp>,
    /// Next scheduled evaluation (manager-driven groups).
    pub(crate) next_eval_ms: Option<Timestamp>,
    /// Evaluations done, for the restore after the second one.
    pub(crate) evals: u64,
    pub(crate) should_restore: bool,
}

impl Group {
    /// A group from its spec; `interval_ms` and `query_offset_ms` are the resolved values (the
    /// group's own or the global defaults). `restored` says whether alerting rules write
    /// `ALERTS` series from the first evaluation (true) or only after [`Group::restore_for_state`].
    pub fn new(spec: GroupSpec, interval_ms: i64, query_offset_ms: i64, restored: bool) -> Self {
        let rules = spec
            .rules
            .iter()
            .map(|r| Rule::new(r.clone(), restored))
            .collect();
        Group {
            spec,
            interval_ms: interval_ms.max(1),
            query_offset_ms: query_offset_ms.max(0),
            rules,
            stale_series: Vec::new(),
            evaluation_time: Duration::ZERO,
            last_evaluation_ms: None,
            next_eval_ms: None,
            evals: 0,
            should_restore: !restored,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn file(&self) -> &str {
        &self.spec.file
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    pub fn spec(&self) -> &GroupSpec {
        &self.spec
    }

    /// Prometheus's group hash: xxhash64 of the label set `{file, name}`.
    fn hash(&self) -> u64 {
        let mut b = Vec::with_capacity(self.spec.file.len() + self.spec.name.len() + 12);
        for (n, v) in [("file", &self.spec.file), ("name", &self.spec.name)] {
            b.extend_from_slice(n.as_bytes());
            b.push(0xff);
            b.extend_from_slice(v.as_bytes());
            b.push(0xff);
        }
        xxhash_rust::xxh64::xxh64(&b, 0)
    }

    /// Prometheus's `EvalTimestamp`: the latest slot at or before `now_ms`, slots being
    /// `interval` apart and shifted by a hash of the group so groups spread over the interval.
    pub fn eval_timestamp(&self, now_ms: Timestamp) -> Timestamp {
        let interval_ns = i128::from(self.interval_ms) * 1_000_000;
        let offset = i128::from(self.hash()) % interval_ns;
        let adj = i128::from(now_ms) * 1_000_000 - offset;
        let base = adj - adj % interval_ns;
        i64::try_from((base + offset).div_euclid(1_000_000)).unwrap_or(now_ms)
    }

    /// Sets whether alerting rules count as restored (write `ALERTS` series); promtool's unit
    /// tests mark every rule restored.
    pub fn set_restored(&mut self, restored: bool) {
        for r in &mut self.rules {
            if let Some(a) = &mut r.alerting {
                a.restored = restored;
            }
        }
        self.should_restore = !restored;
    }

    /// Evaluates every rule in order at `ts` (queries and written samples at
    /// `ts - query_offset`); `wall_ms` is recorded as the evaluation time.
    pub fn eval(&mut self, env: &EvalEnv, ts: Timestamp, wall_ms: Timestamp) -> GroupEvalReport {
        let start = Instant::now();
        let out_ts = ts.saturating_sub(self.query_offset_ms);
        let limit = self.spec.limit;
        let (interval, offset) = (self.interval_ms, self.query_offset_ms);
        let mut samples = 0;
        let mut failures = 0;
        for rule in &mut self.rules {
            let rule_start = Instant::now();
            let result = match &mut rule.alerting {
                Some(state) => state.eval(&rule.spec, env, ts, offset, limit),
                None => eval_recording(&rule.spec, &env.engine, out_ts, limit),
            };
            match result {
                Err(e) => {
                    tracing::warn!(rule = %rule.spec.name, group = %self.spec.name, error = %e, "evaluating rule failed");
                    rule.fail(e);
                    failures += 1;
                }
                Ok(vector) => {
                    rule.health = RuleHealth::Ok;
                    rule.last_error = None;
                    samples += vector.len();
                    if let Some(state) = &mut rule.alerting {
                        let alerts = state.alerts_to_send(&rule.spec, env, ts, interval);
                        if let (false, Some(sink)) = (alerts.is_empty(), &env.sink) {
                            sink.send(alerts);
                        }
                    }
                    if !append_rule_output(rule, env, vector, out_ts) {
                        failures += 1;
                    }
                }
            }
            rule.eval_duration = rule_start.elapsed();
            rule.last_eval_ms = Some(wall_ms);
        }
        self.cleanup_stale_series(env, out_ts);
        self.evaluation_time = start.elapsed();
        self.last_evaluation_ms = Some(wall_ms);
        self.evals += 1;
        GroupEvalReport {
            file: self.spec.file.clone(),
            name: self.spec.name.clone(),
            ts_ms: ts,
            duration: self.evaluation_time,
            samples,
            failures,
            missed: 0,
        }
    }

    /// Appends staleness markers at `ts` for the series of removed rules.
    pub(crate) fn cleanup_stale_series(&mut self, env: &EvalEnv, ts: Timestamp) {
        if self.stale_series.is_empty() {
            return;
        }
        let mut batch = Batch::new();
        for l in &self.stale_series {
            batch.push(l.clone(), Sample::new(ts, STALE_NAN));
        }
        match env.appendable.append(&batch) {
            Ok(_) => self.stale_series.clear(),
            Err(e) => {
                tracing::warn!(group = %self.spec.name, error = %e, "appending stale markers for removed rules failed");
            }
        }
    }

    /// Every series the group's rules last wrote, plus those still waiting for a stale marker:
    /// what must be marked stale when the group is removed.
    pub(crate) fn all_series(&self) -> Vec<Labels> {
        let mut out = self.stale_series.clone();
        for r in &self.rules {
            out.extend(r.prev_series.iter().cloned());
        }
        out
    }

    /// Restores the `for` state of every alerting rule from `ALERTS_FOR_STATE` at `ts`.
    pub fn restore_for_state(&mut self, env: &EvalEnv, ts: Timestamp) {
        for r in &mut self.rules {
            if let Some(state) = &mut r.alerting {
                state.restore_for_state(
                    &r.spec,
                    env.queryable.as_ref(),
                    ts,
                    env.outage_tolerance_ms,
                    env.for_grace_period_ms,
                );
            }
        }
        self.should_restore = false;
    }

    /// Prometheus's `CopyState`: takes the previous group's evaluation times, and for each rule
    /// the state of the old rule with the same name and labels (duplicates matched in order);
    /// the series of old rules without a match are marked stale at the next evaluation.
    pub(crate) fn copy_state(&mut self, from: Group) {
        self.evaluation_time = from.evaluation_time;
        self.last_evaluation_ms = from.last_evaluation_ms;
        let mut by_key: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
        for r in from.rules {
            by_key.entry(r.state_key()).or_default().push(r);
        }
        for rule in &mut self.rules {
            let Some(old) = by_key.get_mut(&rule.state_key()).and_then(|v| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            }) else {
                continue;
            };
            rule.prev_series = old.prev_series;
            if let (Some(new), Some(old)) = (&mut rule.alerting, old.alerting) {
                new.active.extend(old.active);
            }
        }
        self.stale_series = from.stale_series;
        for rest in by_key.into_values() {
            for r in rest {
                self.stale_series.extend(r.prev_series);
            }
        }
    }

    /// Firing alerts of the alerting rules named `name`, as promtool's unit tests see them.
    pub(crate) fn firing_alerts(&self, name: &str) -> Vec<&Alert> {
        self.rules
            .iter()
            .filter(|r| r.spec.name == name)
            .filter_map(|r| r.alerting.as_ref())
            .flat_map(|a| a.active.values())
            .filter(|a| a.state == crate::AlertState::Firing && a.resolved_at_ms.is_none())
            .collect()
    }

    /// `(rule name, last error)` of every rule whose last evaluation failed.
    pub fn rule_errors(&self) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .filter_map(|r| Some((r.spec.name.as_str(), r.last_error.as_deref()?)))
            .collect()
    }
}

/// Appends a rule's samples, then staleness markers for the series it no longer produces.
/// Returns false when the samples could not be appended at all.
fn append_rule_output(
    rule: &mut Rule,
    env: &EvalEnv,
    vector: Vec<(Labels, f64)>,
    ts: Timestamp,
) -> bool {
    let mut batch = Batch::new();
    let mut returned = HashSet::with_capacity(vector.len());
    for (l, v) in vector {
        returned.insert(l.clone());
        batch.push(l, Sample::new(ts, v));
    }
    if !batch.series.is_empty() {
        match env.appendable.append(&batch) {
            Ok(outcome) => {
                if let Some(msg) = outcome.first_rejection {
                    tracing::warn!(rule = %rule.spec.name, rejected = outcome.rejected.iter().map(|(_, n)| n).sum::<usize>(), error = %msg, "rule evaluation result discarded");
                    rule.fail(msg);
                }
            }
            Err(e) => {
                tracing::warn!(rule = %rule.spec.name, error = %e, "appending rule samples failed");
                rule.fail(e.to_string());
                return false;
            }
        }
    }
    let mut stale = Batch::new();
    for l in &rule.prev_series {
        if !returned.contains(l) {
            stale.push(l.clone(), Sample::new(ts, STALE_NAN));
        }
    }
    // Rejections of stale markers are expected when another rule now writes the series.
    if !stale.series.is_empty() {
        if let Err(e) = env.appendable.append(&stale) {
            tracing::warn!(rule = %rule.spec.name, error = %e, "appending stale markers failed");
        }
    }
    rule.prev_series = returned;
    true
}

const DUPLICATE_RECORD: &str =
    "vector contains metrics with the same labelset after applying rule labels";

/// A recording rule's output at `ts`: the result renamed to `record`, with the rule's labels.
///
/// # Errors
/// The query's error; duplicate label sets; more series than `limit`.
fn eval_recording(
    rule: &RuleSpec,
    engine: &Engine,
    ts: Timestamp,
    limit: usize,
) -> Result<Vec<(Labels, f64)>, String> {
    let res = query_vector(engine, &rule.expr, ts)?;
    let mut seen = HashSet::with_capacity(res.len());
    let mut out = Vec::with_capacity(res.len());
    for (metric, v) in res {
        let mut lb = metric.builder();
        lb.set(METRIC_NAME_LABEL, &rule.name);
        for (k, val) in &rule.labels {
            lb.set(k, val);
        }
        let labels = lb.build();
        if !seen.insert(labels.clone()) {
            return Err(DUPLICATE_RECORD.to_owned());
        }
        out.push((labels, v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

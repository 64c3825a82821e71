//! The alert state machine of one alerting rule (Prometheus's `rules/alerting.go`): inactive →
//! pending → firing after `for`, `keep_firing_for`, resolved alerts kept 15 minutes so that
//! their resolution is re-sent, the `ALERTS` / `ALERTS_FOR_STATE` series, the resend rule, and
//! the restoration of `for` state after a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use vigil_model::{is_stale_nan, Labels, Matcher, Timestamp, METRIC_NAME_LABEL};
use vigil_storage::{MetricSelect, TimeRange};

use crate::notify::OutgoingAlert;
use crate::query::{label_map, query_vector, EngineTemplateQuery};
use crate::text::table_link_for_expression;
use crate::{EvalEnv, RuleSpec};
use vigil_template::{RuleTemplate, RuleTemplateData, TemplateError};

/// How long a resolved alert is kept (and re-sent as resolved).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of one alert, or the highest state among a rule's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One instance of an alerting rule: one label set of its expression's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub state: AlertState,
    /// The sample's labels without `__name__`, with the rule's expanded labels and `alertname`.
    pub labels: Labels,
    /// Expanded annotations (values may be empty).
    pub annotations: BTreeMap<String, String>,
    /// The expression's value at the last evaluation.
    pub value: f64,
    pub active_at_ms: Timestamp,
    pub fired_at_ms: Option<Timestamp>,
    pub resolved_at_ms: Option<Timestamp>,
    pub last_sent_at_ms: Option<Timestamp>,
    pub valid_until_ms: Option<Timestamp>,
    pub keep_firing_since_ms: Option<Timestamp>,
}

impl Alert {
    /// Prometheus's `needsSending`: never while pending; at once after resolving; otherwise
    /// once `resend_delay` has passed since the last send.
    fn needs_sending(&self, ts: Timestamp, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(resolved) = self.resolved_at_ms {
            if self.last_sent_at_ms.is_none_or(|sent| resolved > sent) {
                return true;
            }
        }
        self.last_sent_at_ms
            .is_none_or(|sent| sent.saturating_add(resend_delay_ms) < ts)
    }
}

/// The alert state of one alerting rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertingState {
    /// Pending, firing and recently resolved alerts by label set.
    pub active: BTreeMap<Labels, Alert>,
    /// Whether `for` state has been restored; only then are `ALERTS` series written.
    pub restored: bool,
    /// The rule's label and annotation templates, parsed once rather than per alert and
    /// evaluation.
    templates: TemplateCache,
}

/// Parsed templates of one rule by text, under the template name they were parsed with.
#[derive(Debug, Clone, Default)]
struct TemplateCache {
    name: String,
    by_text: HashMap<String, Result<RuleTemplate, TemplateError>>,
}

impl TemplateCache {
    /// Parses whatever of the rule's templates is not cached yet; drops the cache when the
    /// rule was renamed or its templates changed (a reload keeps the state), so it never holds
    /// more than the rule's current texts.
    fn refresh(&mut self, rule: &RuleSpec) {
        let name = format!("__alert_{}", rule.name);
        let texts = || {
            rule.labels
                .values()
                .chain(rule.annotations.values())
                .filter(|t| t.contains("{{"))
        };
        if self.name != name || texts().any(|t| !self.by_text.contains_key(t)) {
            self.by_text = texts()
                .map(|t| (t.clone(), RuleTemplate::parse(&name, t)))
                .collect();
            self.name = name;
        }
    }
}

const DUPLICATE_ALERT: &str =
    "vector contains metrics with the same labelset after applying alert labels";

impl AlertingState {
    pub fn new(restored: bool) -> Self {
        AlertingState {
            active: BTreeMap::new(),
            restored,
            templates: TemplateCache::default(),
        }
    }

    /// The highest state among the alerts.
    pub fn state(&self) -> AlertState {
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// Evaluates the rule at `ts` (the query runs at `ts - query_offset_ms`); returns the
    /// `ALERTS` and `ALERTS_FOR_STATE` samples to write.
    ///
    /// # Errors
    /// The query's error; duplicate alert label sets; more active alerts than `limit`.
    pub fn eval(
        &mut self,
        rule: &RuleSpec,
        env: &EvalEnv,
        ts: Timestamp,
        query_offset_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let query_ts = ts.saturating_sub(query_offset_ms);
        let res = query_vector(&env.engine, &rule.expr, query_ts)?;
        self.templates.refresh(rule);
        let templates = &self.templates.by_text;
        let tq = EngineTemplateQuery::new(&env.engine);
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        for (metric, value) in res {
            let lmap = label_map(&metric);
            let data = RuleTemplateData {
                labels: &lmap,
                external_labels: &env.external_labels,
                external_url: &env.external_url,
                value,
            };
            let expand = |text: &String| -> String {
                let Some(parsed) = templates.get(text) else {
                    return text.clone();
                };
                match parsed
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|t| t.expand(&data, ts, Some(&tq)))
                {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(alert = %rule.name, error = %e, "expanding alert template failed");
                        format!("<error expanding template: {e}>")
                    }
                }
            };
            let mut lb = metric.builder();
            lb.del(METRIC_NAME_LABEL);
            for (k, t) in &rule.labels {
                lb.set(k, &expand(t));
            }
            lb.set("alertname", &rule.name);
            let annotations = rule
                .annotations
                .iter()
                .map(|(k, t)| (k.clone(), expand(t)))
                .collect();
            let labels = lb.build();
            if fresh.contains_key(&labels) {
                return Err(DUPLICATE_ALERT.to_owned());
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value,
                    active_at_ms: ts,
                    fired_at_ms: None,
                    resolved_at_ms: None,
                    last_sent_at_ms: None,
                    valid_until_ms: None,
                    keep_firing_since_ms: None,
                },
            );
        }
        let in_result: BTreeSet<Labels> = fresh.keys().cloned().collect();
        for (k, a) in fresh {
            match self.active.get_mut(&k) {
                Some(existing) if existing.state != AlertState::Inactive => {
                    existing.value = a.value;
                    existing.annotations = a.annotations;
                }
                _ => {
                    self.active.insert(k, a);
                }
            }
        }

        let hold = i64::try_from(rule.for_ms).unwrap_or(i64::MAX);
        let keep_for = i64::try_from(rule.keep_firing_for_ms).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        let mut drop = Vec::new();
        let mut num_active = 0usize;
        for (k, a) in &mut self.active {
            if in_result.contains(k) {
                a.keep_firing_since_ms = None;
            } else {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && keep_for > 0 {
                    let since = *a.keep_firing_since_ms.get_or_insert(ts);
                    keep_firing = ts.saturating_sub(since) < keep_for;
                }
                let expired = a
                    .resolved_at_ms
                    .is_some_and(|r| ts.saturating_sub(r) > RESOLVED_RETENTION_MS);
                if a.state == AlertState::Pending || expired {
                    drop.push(k.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at_ms = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            }
            num_active += 1;
            let pending_for = ts.saturating_sub(a.active_at_ms);
            if a.state == AlertState::Pending && pending_for >= hold {
                a.state = AlertState::Firing;
                a.fired_at_ms = Some(ts);
            }
            // A reload that lengthened `for` sends a firing alert back to pending.
            if a.state == AlertState::Firing && pending_for < hold {
                a.state = AlertState::Pending;
                a.fired_at_ms = None;
                a.last_sent_at_ms = None;
                a.keep_firing_since_ms = None;
            }
            if self.restored {
                out.push((alerts_labels(rule, a, true), 1.0));
                let active_secs = a.active_at_ms.div_euclid(1000);
                #[allow(clippy::cast_precision_loss)]
                out.push((alerts_labels(rule, a, false), active_secs as f64));
            }
        }
        for k in drop {
            self.active.remove(&k);
        }
        if limit > 0 && num_active > limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {num_active} alerts"
            ));
        }
        Ok(out)
    }

    /// Marks the alerts due for (re)sending as sent at `ts` and returns them.
    pub fn alerts_to_send(
        &mut self,
        rule: &RuleSpec,
        env: &EvalEnv,
        ts: Timestamp,
        interval_ms: i64,
    ) -> Vec<OutgoingAlert> {
        let mut out = Vec::new();
        let delta = env.resend_delay_ms.max(interval_ms);
        let generator_url = format!(
            "{}{}",
            env.external_url,
            table_link_for_expression(&rule.query)
        );
        for a in self.active.values_mut() {
            if !a.needs_sending(ts, env.resend_delay_ms) {
                continue;
            }
            a.last_sent_at_ms = Some(ts);
            let valid_until = ts.saturating_add(delta.saturating_mul(4));
            a.valid_until_ms = Some(valid_until);
            let mut lb = a.labels.builder();
            for (k, v) in &env.external_labels {
                lb.set_if_absent(k, v);
            }
            out.push(OutgoingAlert {
                labels: lb.build(),
                annotations: a.annotations.clone(),
                starts_at_ms: a.fired_at_ms.unwrap_or(a.active_at_ms),
                ends_at_ms: a.resolved_at_ms.unwrap_or(valid_until),
                generator_url: generator_url.clone(),
            });
        }
        out
    }

    /// Prometheus's `RestoreForState` for this rule at `ts`: moves each active alert's
    /// `active_at` so that the time it spent pending before a restart still counts, within the
    /// outage tolerance and leaving at least the grace period before it fires.
    pub fn restore_for_state(
        &mut self,
        rule: &RuleSpec,
        store: &dyn MetricSelect,
        ts: Timestamp,
        outage_tolerance_ms: i64,
        grace_period_ms: i64,
    ) {
        let hold = i64::try_from(rule.for_ms).unwrap_or(i64::MAX);
        if hold < grace_period_ms {
            self.restored = true;
            return;
        }
        let range = TimeRange::new(ts.saturating_sub(outage_tolerance_ms), ts);
        for a in self.active.values_mut() {
            let want = alerts_labels(rule, a, false);
            let matchers: Vec<Matcher> = want
                .iter()
                .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
                .collect();
            let series = match store.select(&matchers, range) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(alert = %rule.name, error = %e, "failed to restore 'for' state");
                    continue;
                }
            };
            let mut last = None;
            for s in series {
                match s {
                    Ok(s) if s.labels == want => last = s.samples.last().copied(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(alert = %rule.name, error = %e, "failed to restore 'for' state");
                        break;
                    }
                }
            }
            let Some(sample) = last else { continue };
            if is_stale_nan(sample.v) {
                continue;
            }
            // Go truncates both to whole seconds.
            let down_at = (sample.t / 1000).saturating_mul(1000);
            #[allow(clippy::cast_possible_truncation)]
            let restored_active = (sample.v as i64).saturating_mul(1000);
            let remaining = hold.saturating_sub(down_at.saturating_sub(restored_active));
            let new_active = if remaining <= 0 {
                // It was firing when Vigil went down; the next evaluation fires it again.
                restored_active
            } else if remaining < grace_period_ms {
                ts.saturating_add(grace_period_ms).saturating_sub(hold)
            } else {
                restored_active.saturating_add(ts.saturating_sub(down_at))
            };
            a.active_at_ms = new_active;
        }
        self.restored = true;
    }
}

/// The labels of an alert's `ALERTS` series (with `alertstate`) or `ALERTS_FOR_STATE` series:
/// the rule's labels as written, overridden by the alert's.
fn alerts_labels(rule: &RuleSpec, a: &Alert, with_state: bool) -> Labels {
    let mut lb = vigil_model::LabelsBuilder::new();
    for (k, v) in &rule.labels {
        lb.set(k, v);
    }
    for l in &a.labels {
        lb.set(&l.name, &l.value);
    }
    if with_state {
        lb.set(METRIC_NAME_LABEL, "ALERTS");
        lb.set("alertstate", a.state.as_str());
    } else {
        lb.set(METRIC_NAME_LABEL, "ALERTS_FOR_STATE");
    }
    lb.set("alertname", &rule.name);
    lb.build()
}

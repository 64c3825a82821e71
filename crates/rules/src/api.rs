//! Read-only views for `/api/v1/rules` and `/api/v1/alerts`, serialising to exactly
//! Prometheus's JSON (`web/api/v1/api.go`): field names, `null` alerts when excluded, values as
//! Go's `%e` strings, times as Go writes a `time.Time`, whole-number floats without `.0`.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::alerting::{Alert, AlertState};
use crate::group::{Group, Rule, RuleHealth};
use crate::query::label_map;
use crate::text::{rfc3339, GO_ZERO_TIME};
use crate::{RuleKind, RuleManager, RulesError};

/// `/api/v1/rules` `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDiscovery {
    pub groups: Vec<RuleGroupView>,
}

/// One group of `/api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleGroupView {
    pub name: String,
    pub file: String,
    pub rules: Vec<RuleView>,
    /// Seconds.
    #[serde(serialize_with = "go_float")]
    pub interval: f64,
    pub limit: usize,
    /// Seconds.
    #[serde(rename = "evaluationTime", serialize_with = "go_float")]
    pub evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
}

/// A rule of either type, in group order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RuleView {
    Alerting(AlertingRuleView),
    Recording(RecordingRuleView),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertingRuleView {
    pub state: AlertState,
    pub name: String,
    pub query: String,
    /// `for`, seconds.
    #[serde(serialize_with = "go_float")]
    pub duration: f64,
    #[serde(rename = "keepFiringFor", serialize_with = "go_float")]
    pub keep_firing_for: f64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `None` (JSON `null`) when the request excluded alerts.
    pub alerts: Option<Vec<AlertView>>,
    pub health: RuleHealth,
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(rename = "evaluationTime", serialize_with = "go_float")]
    pub evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
    /// Always `alerting`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingRuleView {
    pub name: String,
    pub query: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub health: RuleHealth,
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(rename = "evaluationTime", serialize_with = "go_float")]
    pub evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
    /// Always `recording`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An active (pending or firing) alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    #[serde(rename = "activeAt", skip_serializing_if = "Option::is_none")]
    pub active_at: Option<String>,
    #[serde(rename = "keepFiringSince", skip_serializing_if = "Option::is_none")]
    pub keep_firing_since: Option<String>,
    /// The expression's value, as Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
    pub value: String,
}

/// `/api/v1/alerts` `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertDiscovery {
    pub alerts: Vec<AlertView>,
}

/// The filters of `/api/v1/rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesFilter {
    /// `type=alert|record`.
    pub kind: Option<RuleKind>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `exclude_alerts`.
    pub exclude_alerts: bool,
}

impl RulesFilter {
    /// Reads the filters from query parameters (other parameters are ignored).
    ///
    /// # Errors
    /// [`RulesError::InvalidParam`] for an unknown `type` or a non-boolean `exclude_alerts`,
    /// worded as Prometheus words them.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RulesError> {
        let mut f = RulesFilter::default();
        let mut typ = None;
        let mut exclude = None;
        for (k, v) in params {
            match k {
                "type" => {
                    typ.get_or_insert_with(|| v.to_ascii_lowercase());
                }
                "exclude_alerts" => {
                    exclude.get_or_insert_with(|| v.to_ascii_lowercase());
                }
                "rule_name[]" => f.rule_names.push(v.to_owned()),
                "rule_group[]" => f.rule_groups.push(v.to_owned()),
                "file[]" => f.files.push(v.to_owned()),
                _ => {}
            }
        }
        f.kind = match typ.as_deref() {
            None | Some("") => None,
            Some("alert") => Some(RuleKind::Alerting),
            Some("record") => Some(RuleKind::Recording),
            Some(other) => {
                return Err(RulesError::InvalidParam {
                    param: "type".to_owned(),
                    reason: format!("not supported value {other:?}"),
                })
            }
        };
        f.exclude_alerts = match exclude.as_deref() {
            None | Some("" | "0" | "f" | "false") => false,
            Some("1" | "t" | "true") => true,
            Some(other) => {
                return Err(RulesError::InvalidParam {
                    param: "exclude_alerts".to_owned(),
                    reason: format!(
                        "error converting exclude_alerts: strconv.ParseBool: parsing {other:?}: invalid syntax"
                    ),
                })
            }
        };
        Ok(f)
    }

    fn keeps_group(&self, g: &Group) -> bool {
        (self.rule_groups.is_empty() || self.rule_groups.iter().any(|n| n == g.name()))
            && (self.files.is_empty() || self.files.iter().any(|n| n == g.file()))
    }

    fn keeps_rule(&self, r: &Rule) -> bool {
        self.kind.is_none_or(|k| k == r.spec.kind)
            && (self.rule_names.is_empty() || self.rule_names.contains(&r.spec.name))
    }
}

/// Whole numbers as integers (Go writes `60`, serde `60.0`), anything else as a float.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        return s.serialize_i64(*v as i64);
    }
    s.serialize_f64(*v)
}

fn time_or_zero(ms: Option<i64>) -> String {
    ms.map_or_else(|| GO_ZERO_TIME.to_owned(), rfc3339)
}

#[allow(clippy::cast_precision_loss)]
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn alert_view(a: &Alert) -> AlertView {
    AlertView {
        labels: label_map(&a.labels),
        annotations: a.annotations.clone(),
        state: a.state,
        active_at: Some(rfc3339(a.active_at_ms)),
        keep_firing_since: a.keep_firing_since_ms.map(rfc3339),
        value: vigil_model::go_format_e(a.value),
    }
}

/// Pending and firing alerts (resolved ones are kept for resending, not shown).
fn active_alerts(r: &Rule) -> Vec<AlertView> {
    r.alerting
        .iter()
        .flat_map(|s| s.active.values())
        .filter(|a| a.resolved_at_ms.is_none())
        .map(alert_view)
        .collect()
}

fn rule_view(r: &Rule, exclude_alerts: bool) -> RuleView {
    let last_evaluation = time_or_zero(r.last_eval_ms);
    let evaluation_time = r.eval_duration.as_secs_f64();
    match &r.alerting {
        Some(state) => RuleView::Alerting(AlertingRuleView {
            state: state.state(),
            name: r.spec.name.clone(),
            query: r.spec.query.clone(),
            duration: secs(r.spec.for_ms),
            keep_firing_for: secs(r.spec.keep_firing_for_ms),
            labels: r.spec.labels.clone(),
            annotations: r.spec.annotations.clone(),
            alerts: (!exclude_alerts).then(|| active_alerts(r)),
            health: r.health,
            last_error: r.last_error.clone(),
            evaluation_time,
            last_evaluation,
            kind: "alerting",
        }),
        None => RuleView::Recording(RecordingRuleView {
            name: r.spec.name.clone(),
            query: r.spec.query.clone(),
            labels: r.spec.labels.clone(),
            health: r.health,
            last_error: r.last_error.clone(),
            evaluation_time,
            last_evaluation,
            kind: "recording",
        }),
    }
}

impl RuleManager {
    /// `/api/v1/rules`: groups by file and name, rules in file order; groups left without
    /// rules by the filter are omitted, as Prometheus does.
    pub fn rules(&self, filter: &RulesFilter) -> RuleDiscovery {
        let mut groups = Vec::new();
        self.for_each_group(|g| {
            if !filter.keeps_group(g) {
                return;
            }
            let rules: Vec<RuleView> = g
                .rules
                .iter()
                .filter(|r| filter.keeps_rule(r))
                .map(|r| rule_view(r, filter.exclude_alerts))
                .collect();
            if rules.is_empty() {
                return;
            }
            #[allow(clippy::cast_precision_loss)]
            groups.push(RuleGroupView {
                name: g.name().to_owned(),
                file: g.file().to_owned(),
                rules,
                interval: g.interval_ms as f64 / 1000.0,
                limit: g.spec.limit,
                evaluation_time: g.evaluation_time.as_secs_f64(),
                last_evaluation: time_or_zero(g.last_evaluation_ms),
            });
        });
        RuleDiscovery { groups }
    }

    /// `/api/v1/alerts`: every pending or firing alert.
    pub fn alerts(&self) -> AlertDiscovery {
        let mut alerts = Vec::new();
        self.for_each_group(|g| {
            for r in &g.rules {
                alerts.extend(active_alerts(r));
            }
        });
        AlertDiscovery { alerts }
    }
}

//! The `ml:` config section: raw as written, then validated into [`MlConfig`].
//!
//! Every setting has a default, so a model seen for the first time is monitored without any
//! configuration: `defaults` override the built-in defaults for every model, and `models.<name>`
//! overrides `defaults` for one model (features individually).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::drift::Method;
use crate::error::MlError;
use crate::ColumnKind;

/// `ml:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMlConfig {
    /// Settings for every model.
    #[serde(default)]
    pub defaults: RawModelConfig,
    /// Per-model settings, by model name.
    #[serde(default)]
    pub models: BTreeMap<String, RawModelConfig>,
    /// Store-wide limits.
    #[serde(default)]
    pub limits: RawLimits,
}

/// One model's settings as written; absent keys inherit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelConfig {
    pub window: Option<String>,
    pub interval: Option<String>,
    pub reference: Option<String>,
    pub reference_window: Option<String>,
    pub method: Option<String>,
    pub threshold: Option<f64>,
    pub drift_share: Option<f64>,
    pub performance_window: Option<String>,
    pub label_horizon: Option<String>,
    pub task: Option<String>,
    pub positive_class: Option<String>,
    pub max_events_per_window: Option<usize>,
    #[serde(default)]
    pub features: BTreeMap<String, RawFeatureConfig>,
}

/// One feature's overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeatureConfig {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub method: Option<String>,
    pub threshold: Option<f64>,
}

/// Store-wide limits as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_models: Option<usize>,
    pub max_features_per_model: Option<usize>,
    pub max_versions_per_model: Option<usize>,
    pub max_categories_per_feature: Option<usize>,
    pub max_pending_labels: Option<usize>,
    pub max_features_per_event: Option<usize>,
}

/// Where a model's drift reference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceSource {
    /// The uploaded dataset when there is one, else the rolling window.
    Auto,
    /// Only an uploaded dataset; no drift until one is uploaded.
    Uploaded,
    /// The model's own events over `reference_window` before the current window.
    Rolling,
}

/// Classification or regression metrics from labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Classification when predictions are classes (strings, bools) or carry a score or
    /// probabilities; regression otherwise.
    Auto,
    Classification,
    Regression,
}

/// One feature's validated overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureConfig {
    /// Forced kind; `None` detects it from the first value seen.
    pub kind: Option<ColumnKind>,
    /// Method; `None` uses the model's.
    pub method: Option<Method>,
    /// Threshold; `None` uses the model's or the method's default.
    pub threshold: Option<f64>,
}

/// One model's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Length of the current window, ms.
    pub window_ms: i64,
    /// Evaluation interval, ms; also the width of the event buckets.
    pub interval_ms: i64,
    pub reference: ReferenceSource,
    /// Span of the rolling reference, ms, ending where the current window starts.
    pub reference_window_ms: i64,
    pub method: Method,
    pub threshold: Option<f64>,
    /// Share of drifted features at which the dataset drifts.
    pub drift_share: f64,
    /// Width of the prediction-time windows that delayed-label metrics are written for, ms.
    pub performance_window_ms: i64,
    /// How long a prediction waits for its label, ms.
    pub label_horizon_ms: i64,
    pub task: Task,
    /// The positive class of a binary classifier (precision, recall, F1, ROC AUC, log loss).
    pub positive_class: String,
    /// Events kept per current window (a uniform sample beyond it).
    pub max_events_per_window: usize,
    pub features: BTreeMap<String, FeatureConfig>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            window_ms: 3_600_000,
            interval_ms: 60_000,
            reference: ReferenceSource::Auto,
            reference_window_ms: 24 * 3_600_000,
            method: Method::Auto,
            threshold: None,
            drift_share: 0.5,
            performance_window_ms: 600_000,
            label_horizon_ms: 7 * 24 * 3_600_000,
            task: Task::Auto,
            positive_class: "1".to_owned(),
            max_events_per_window: 100_000,
            features: BTreeMap::new(),
        }
    }
}

impl ModelConfig {
    /// How long events are kept: the current window plus the rolling reference.
    pub fn retention_ms(&self) -> i64 {
        self.window_ms.saturating_add(self.reference_window_ms)
    }

    /// Most events one bucket keeps while it is in the current window, so that a full window
    /// holds `max_events_per_window`.
    pub fn bucket_cap(&self) -> usize {
        self.cap_over(self.window_ms)
    }

    /// Most events one bucket keeps once it only serves the rolling reference, so that the
    /// whole reference holds about `max_events_per_window`.
    pub fn reference_cap(&self) -> usize {
        self.cap_over(self.reference_window_ms)
    }

    /// The cap of the bucket holding an event at `ts`, at `now_ms`.
    pub fn cap_for(&self, ts: i64, now_ms: i64) -> usize {
        let start = window_start(ts, self.interval_ms);
        if start.saturating_add(self.interval_ms) <= now_ms.saturating_sub(self.window_ms) {
            self.reference_cap()
        } else {
            self.bucket_cap()
        }
    }

    /// The configured feature types, as the dataset readers take them (a reference upload
    /// reads its columns as the model's features are declared).
    pub fn type_overrides(&self) -> crate::TypeOverrides {
        let of = |kind: ColumnKind| {
            self.features
                .iter()
                .filter(|(_, f)| f.kind == Some(kind))
                .map(|(name, _)| name.clone())
                .collect()
        };
        crate::TypeOverrides {
            categorical: of(ColumnKind::Categorical),
            numerical: of(ColumnKind::Numerical),
            // A reference need not have every configured feature.
            absent_ok: true,
        }
    }

    fn cap_over(&self, span_ms: i64) -> usize {
        let buckets = (span_ms / self.interval_ms.max(1)).max(1);
        let buckets = usize::try_from(buckets).unwrap_or(usize::MAX);
        self.max_events_per_window.div_ceil(buckets).max(1)
    }
}

/// The start of the window of `width_ms` (at least 1) that holds `ts`: windows are aligned
/// to multiples of their width. Saturates rather than overflowing for timestamps near
/// `i64::MIN`, which a very long configured retention lets through.
pub(crate) fn window_start(ts: i64, width_ms: i64) -> i64 {
    let width = width_ms.max(1);
    ts.div_euclid(width).saturating_mul(width)
}

/// Store-wide limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_models: usize,
    pub max_features_per_model: usize,
    /// Versions of one model. A version is kept for the life of its model, and each one
    /// active has its own sample and series, so that events naming ever new versions cannot
    /// grow the store without bound.
    pub max_versions_per_model: usize,
    pub max_categories_per_feature: usize,
    /// Predictions waiting for a label, per model.
    pub max_pending_labels: usize,
    /// Features (and class probabilities) in one event, checked while decoding.
    pub max_features_per_event: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_models: 100,
            max_features_per_model: 1_000,
            max_versions_per_model: 1_000,
            max_categories_per_feature: 10_000,
            max_pending_labels: 1_000_000,
            max_features_per_event: 1_000,
        }
    }
}

/// The validated `ml:` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MlConfig {
    pub defaults: ModelConfig,
    pub models: BTreeMap<String, ModelConfig>,
    pub limits: Limits,
}

impl MlConfig {
    /// The settings of `model`.
    pub fn model(&self, model: &str) -> &ModelConfig {
        self.models.get(model).unwrap_or(&self.defaults)
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> MlError {
    MlError::Config {
        field: path.to_owned(),
        reason: reason.into(),
    }
}

fn duration(path: &str, text: &Option<String>, default: i64, min_ms: i64) -> Result<i64, MlError> {
    let Some(t) = text else {
        return Ok(default);
    };
    let ms = vigil_model::parse_duration_ms(t).map_err(|e| invalid(path, e))?;
    let ms = i64::try_from(ms).map_err(|_| invalid(path, "too large"))?;
    if ms < min_ms {
        return Err(invalid(
            path,
            format!(
                "must be at least {}",
                vigil_model::format_duration_ms(min_ms.unsigned_abs())
            ),
        ));
    }
    Ok(ms)
}

fn method(path: &str, text: &Option<String>, default: Method) -> Result<Method, MlError> {
    match text {
        None => Ok(default),
        Some(t) => t.parse().map_err(|e: String| invalid(path, e)),
    }
}

fn threshold(path: &str, v: Option<f64>, default: Option<f64>) -> Result<Option<f64>, MlError> {
    match v {
        None => Ok(default),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
        Some(x) => Err(invalid(
            path,
            format!("must be a finite number ≥ 0, got {x}"),
        )),
    }
}

fn apply(path: &str, raw: &RawModelConfig, base: &ModelConfig) -> Result<ModelConfig, MlError> {
    let p = |k: &str| format!("{path}.{k}");
    let interval_ms = duration(&p("interval"), &raw.interval, base.interval_ms, 1_000)?;
    let window_ms = duration(&p("window"), &raw.window, base.window_ms, interval_ms)?;
    let reference = match raw.reference.as_deref() {
        None => base.reference,
        Some("auto") => ReferenceSource::Auto,
        Some("uploaded") => ReferenceSource::Uploaded,
        Some("rolling") => ReferenceSource::Rolling,
        Some(o) => {
            return Err(invalid(
                &p("reference"),
                format!("must be auto, uploaded or rolling, got {o:?}"),
            ))
        }
    };
    let task = match raw.task.as_deref() {
        None => base.task,
        Some("auto") => Task::Auto,
        Some("classification") => Task::Classification,
        Some("regression") => Task::Regression,
        Some(o) => {
            return Err(invalid(
                &p("task"),
                format!("must be auto, classification or regression, got {o:?}"),
            ))
        }
    };
    let drift_share = match raw.drift_share {
        None => base.drift_share,
        Some(s) if s > 0.0 && s <= 1.0 => s,
        Some(s) => {
            return Err(invalid(
                &p("drift_share"),
                format!("must be in (0, 1], got {s}"),
            ))
        }
    };
    let max_events_per_window = match raw.max_events_per_window {
        None => base.max_events_per_window,
        Some(0) => return Err(invalid(&p("max_events_per_window"), "must be at least 1")),
        Some(n) => n,
    };
    let mut features = base.features.clone();
    for (name, f) in &raw.features {
        let fp = format!("{path}.features.{name}");
        let kind = match f.kind.as_deref() {
            None => None,
            Some("numerical") => Some(ColumnKind::Numerical),
            Some("categorical") => Some(ColumnKind::Categorical),
            Some(o) => {
                return Err(invalid(
                    &format!("{fp}.type"),
                    format!("must be numerical or categorical, got {o:?}"),
                ))
            }
        };
        let method = match &f.method {
            None => None,
            Some(_) => Some(method(&format!("{fp}.method"), &f.method, Method::Auto)?),
        };
        features.insert(
            name.clone(),
            FeatureConfig {
                kind,
                method,
                threshold: threshold(&format!("{fp}.threshold"), f.threshold, None)?,
            },
        );
    }
    Ok(ModelConfig {
        window_ms,
        interval_ms,
        reference,
        reference_window_ms: duration(
            &p("reference_window"),
            &raw.reference_window,
            base.reference_window_ms,
            interval_ms,
        )?,
        method: method(&p("method"), &raw.method, base.method)?,
        threshold: threshold(&p("threshold"), raw.threshold, base.threshold)?,
        drift_share,
        performance_window_ms: duration(
            &p("performance_window"),
            &raw.performance_window,
            base.performance_window_ms,
            1_000,
        )?,
        label_horizon_ms: duration(
            &p("label_horizon"),
            &raw.label_horizon,
            base.label_horizon_ms,
            0,
        )?,
        task,
        positive_class: raw
            .positive_class
            .clone()
            .unwrap_or_else(|| base.positive_class.clone()),
        max_events_per_window,
        features,
    })
}

impl RawMlConfig {
    /// Validates the section.
    ///
    /// # Errors
    /// [`MlError::Config`] naming the field (`ml.models.fraud.window`) and why.
    pub fn validate(&self) -> Result<MlConfig, MlError> {
        let defaults = apply("ml.defaults", &self.defaults, &ModelConfig::default())?;
        let mut models = BTreeMap::new();
        for (name, raw) in &self.models {
            if name.is_empty() {
                return Err(invalid("ml.models", "a model name is empty"));
            }
            models.insert(
                name.clone(),
                apply(&format!("ml.models.{name}"), raw, &defaults)?,
            );
        }
        let base = Limits::default();
        let positive = |k: &str, v: Option<usize>, d: usize| match v {
            None => Ok(d),
            Some(0) => Err(invalid(&format!("ml.limits.{k}"), "must be at least 1")),
            Some(n) => Ok(n),
        };
        let l = &self.limits;
        Ok(MlConfig {
            defaults,
            models,
            limits: Limits {
                max_models: positive("max_models", l.max_models, base.max_models)?,
                max_features_per_model: positive(
                    "max_features_per_model",
                    l.max_features_per_model,
                    base.max_features_per_model,
                )?,
                max_versions_per_model: positive(
                    "max_versions_per_model",
                    l.max_versions_per_model,
                    base.max_versions_per_model,
                )?,
                max_categories_per_feature: positive(
                    "max_categories_per_feature",
                    l.max_categories_per_feature,
                    base.max_categories_per_feature,
                )?,
                max_pending_labels: positive(
                    "max_pending_labels",
                    l.max_pending_labels,
                    base.max_pending_labels,
                )?,
                max_features_per_event: positive(
                    "max_features_per_event",
                    l.max_features_per_event,
                    base.max_features_per_event,
                )?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<MlConfig, MlError> {
        let raw: RawMlConfig = serde_yaml_ng::from_str(y).map_err(|e| MlError::Config {
            field: "yaml".into(),
            reason: e.to_string(),
        })?;
        raw.validate()
    }

    #[test]
    fn defaults_inherit_and_models_override() {
        let c = parse(
            "defaults: {window: 30m, method: psi}\nmodels:\n  fraud:\n    threshold: 0.2\n    features:\n      hour: {type: categorical}\n",
        )
        .expect("valid");
        assert_eq!(c.defaults.window_ms, 1_800_000);
        let f = c.model("fraud");
        assert_eq!(f.window_ms, 1_800_000);
        assert_eq!(f.method, Method::Psi);
        assert_eq!(f.threshold, Some(0.2));
        assert_eq!(
            f.features.get("hour").and_then(|h| h.kind),
            Some(ColumnKind::Categorical)
        );
        assert_eq!(c.model("other").threshold, None);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse("models:\n  fraud: {window: 5x}\n").expect_err("bad");
        assert!(e.to_string().contains("ml.models.fraud.window"), "{e}");
        let e = parse("defaults: {method: nope}\n").expect_err("bad");
        assert!(e.to_string().contains("ml.defaults.method"), "{e}");
        let e = parse("defaults: {interval: 1m, window: 10s}\n").expect_err("bad");
        assert!(e.to_string().contains("at least 1m"), "{e}");
        let e = parse("defaults: {drift_share: 0}\n").expect_err("bad");
        assert!(e.to_string().contains("drift_share"), "{e}");
        assert!(parse("defaults: {nope: 1}\n").is_err());
    }

    #[test]
    fn bucket_cap_spreads_the_window_budget() {
        let c = ModelConfig::default();
        assert_eq!(c.bucket_cap(), 100_000usize.div_ceil(60));
    }
}

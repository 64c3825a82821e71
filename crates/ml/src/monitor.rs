//! Monitors: on every evaluation, each model version's current window is compared with its
//! reference and everything derived is returned as ordinary series for the metric store.
//!
//! Written at the evaluation time: drift, data quality, prediction counts and distribution,
//! label join ratio and freshness. Written at the prediction-time window they belong to: the
//! delayed-label performance metrics, each time labels changed a window that has ended, as one
//! more sample in the window's last second (revision `k` at `end − 1000 + k` ms), so a query at
//! or after the window's end sees the newest value and nothing is ever overwritten.

use std::sync::Arc;

use vigil_model::{Batch, Labels, Sample};

use crate::drift::{dataset_drift, DatasetDrift, DriftOptions};
use crate::quality::{feature_quality, Quality};
use crate::store::{DetachedSample, ModelState};
use crate::store::{SCORE_BUCKETS, VALUE_BUCKETS};
use crate::{Column, MlError, MlStore};

/// Revisions a window can get (its last second, one per millisecond).
const MAX_REVISIONS: u32 = 1000;

/// What the comparison of one version's windows found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionDrift {
    pub model: String,
    pub version: String,
    /// Start and end of the current window, ms.
    pub current_from_ms: i64,
    pub current_to_ms: i64,
    /// `uploaded` or `rolling`.
    pub reference: &'static str,
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Data quality of every feature with rows in the current window.
    pub quality: Vec<FeatureQuality>,
    /// Absent when one of the windows is empty.
    pub drift: Option<DatasetDrift>,
}

/// One feature's data quality.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeatureQuality {
    pub name: String,
    #[serde(flatten)]
    pub quality: Quality,
}

/// Inputs of one version's drift, copied out under the model's lock.
struct DriftInput {
    model: String,
    version: String,
    from: i64,
    to: i64,
    reference_kind: &'static str,
    reference: ReferenceInput,
    current: DetachedSample,
    options: Box<dyn Fn(&str) -> DriftOptions + Send + Sync>,
    drift_share: f64,
}

/// The reference side of a drift input: an uploaded dataset (shared), or a rolling sample
/// still to be turned into columns.
enum ReferenceInput {
    Columns(Arc<Vec<Column>>),
    Rolling(DetachedSample),
}

/// Appends one sample of `metric` with the version's labels plus `extra` (empty values
/// dropped); non-finite values are never written.
fn push(
    batch: &mut Batch,
    metric: &str,
    base: [(&str, &str); 2],
    extra: &[(&str, &str)],
    t: i64,
    v: f64,
) {
    if !v.is_finite() {
        return;
    }
    let pairs = std::iter::once(("__name__", metric))
        .chain(base)
        .chain(extra.iter().copied())
        .filter(|(_, v)| !v.is_empty());
    if let Ok(l) = Labels::from_pairs(pairs) {
        batch.push(l, Sample::new(t, v));
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

impl ModelState {
    fn drift_input(&self, version: usize, at_ms: i64) -> Option<DriftInput> {
        let v = self.versions.get(version)?;
        let cfg = &self.cfg;
        let from = at_ms.saturating_sub(cfg.window_ms);
        let uploaded = self
            .references
            .get(&v.name)
            .or_else(|| self.references.get(""))
            .cloned();
        let (reference_kind, reference) = match (cfg.reference, uploaded) {
            (crate::config::ReferenceSource::Rolling, _)
            | (crate::config::ReferenceSource::Auto, None) => {
                let s = self.sample(version, from.saturating_sub(cfg.reference_window_ms), from);
                ("rolling", ReferenceInput::Rolling(self.detach(s)))
            }
            (_, Some(r)) => ("uploaded", ReferenceInput::Columns(r.columns.clone())),
            (crate::config::ReferenceSource::Uploaded, None) => {
                ("uploaded", ReferenceInput::Columns(Arc::new(Vec::new())))
            }
        };
        let current = self.detach(self.sample(version, from, at_ms.saturating_add(1)));
        let features = cfg.features.clone();
        let (method, threshold) = (cfg.method, cfg.threshold);
        Some(DriftInput {
            model: self.name.clone(),
            version: v.name.clone(),
            from,
            to: at_ms,
            reference_kind,
            reference,
            current,
            options: Box::new(move |name: &str| {
                let f = features.get(name);
                DriftOptions {
                    method: f.and_then(|f| f.method).unwrap_or(method),
                    threshold: f.and_then(|f| f.threshold).or(threshold),
                }
            }),
            drift_share: cfg.drift_share,
        })
    }
}

impl DriftInput {
    /// Runs without any lock: the sampled values become columns here, then the statistics.
    fn run(self) -> VersionDrift {
        let reference = match self.reference {
            ReferenceInput::Columns(c) => c,
            ReferenceInput::Rolling(s) => Arc::new(s.into_columns()),
        };
        let current = self.current.into_columns();
        let reference_rows = reference.first().map_or(0, Column::len);
        let current_rows = current.first().map_or(0, Column::len);
        let quality = current
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| {
                let q = match reference.iter().find(|r| r.name == c.name) {
                    Some(r) => feature_quality(r, c),
                    None => feature_quality(&c.empty_like(), c),
                };
                FeatureQuality {
                    name: c.name.clone(),
                    quality: q,
                }
            })
            .collect();
        let drift = (reference_rows > 0 && current_rows > 0).then(|| {
            // Only features present on both sides are compared.
            let current: Vec<&Column> = current
                .iter()
                .filter(|c| reference.iter().any(|r| r.name == c.name))
                .collect();
            let reference: Vec<&Column> = reference
                .iter()
                .filter(|r| current.iter().any(|c| c.name == r.name))
                .collect();
            dataset_drift(&reference, &current, &self.options, self.drift_share)
        });
        VersionDrift {
            model: self.model,
            version: self.version,
            current_from_ms: self.from,
            current_to_ms: self.to,
            reference: self.reference_kind,
            reference_rows,
            current_rows,
            quality,
            drift,
        }
    }
}

impl MlStore {
    /// The column types a reference dataset for `model` is read with: the feature types its
    /// configuration declares (the rest are detected).
    pub fn reference_types(&self, model: &str) -> crate::TypeOverrides {
        self.config().model(model).type_overrides()
    }

    /// One evaluation of every model: maintenance, then every derived series.
    pub fn evaluate(&self, now_ms: i64) -> Batch {
        self.evaluate_models(now_ms, |_, _| true)
    }

    /// One evaluation of the models `due` picks (by name and settings; the server uses it to
    /// give each model its own `interval`).
    pub fn evaluate_models(
        &self,
        now_ms: i64,
        mut due: impl FnMut(&str, &crate::config::ModelConfig) -> bool,
    ) -> Batch {
        let mut batch = Batch::new();
        // Maintenance and revision numbers change the state: done under the ingest lock and
        // logged in a durable store's WAL (store/persist), the statistics afterwards.
        let evaluated = self.evaluate_state(now_ms, &mut due, &mut batch);
        let mut inputs = Vec::new();
        for m in &evaluated {
            let m = m.lock();
            inputs.extend((0..m.versions.len()).filter_map(|vi| m.drift_input(vi, now_ms)));
        }
        // The statistics run after the models' locks are released.
        for d in inputs {
            version_series(&d.run(), now_ms, &mut batch);
        }
        batch
    }

    /// The drift of every version of `model` (or one) for the current window ending at `at_ms`.
    ///
    /// # Errors
    /// [`MlError::UnknownModel`] for a model never seen.
    pub fn drift_report(
        &self,
        model: &str,
        version: Option<&str>,
        at_ms: i64,
    ) -> Result<Vec<VersionDrift>, MlError> {
        let m = self
            .model(model)
            .ok_or_else(|| MlError::UnknownModel(model.to_owned()))?;
        let inputs: Vec<DriftInput> = {
            let m = m.lock();
            (0..m.versions.len())
                .filter(|&vi| {
                    version.is_none_or(|want| m.versions.get(vi).is_some_and(|v| v.name == want))
                })
                .filter_map(|vi| m.drift_input(vi, at_ms))
                .collect()
        };
        Ok(inputs.into_iter().map(DriftInput::run).collect())
    }
}

/// Prediction counts, the distribution histogram, freshness, join ratio and delayed-label
/// performance of every version of one model.
pub(crate) fn collect_counts(m: &mut ModelState, now_ms: i64, batch: &mut Batch) {
    let positive = m.positive_class();
    let window_from = now_ms.saturating_sub(m.cfg.window_ms);
    let (received, joined) = m
        .labels
        .range(window_from..)
        .fold((0u64, 0u64), |a, (_, c)| (a.0 + c.0, a.1 + c.1));
    let pw = m.cfg.performance_window_ms.max(1);
    let (hist_name, bounds): (&str, &[f64]) = if m.classification == Some(true) {
        ("ml_prediction_score", &SCORE_BUCKETS)
    } else {
        ("ml_prediction_value", &VALUE_BUCKETS)
    };
    let (bucket, sum, count) = (
        format!("{hist_name}_bucket"),
        format!("{hist_name}_sum"),
        format!("{hist_name}_count"),
    );
    let les: Vec<String> = bounds
        .iter()
        .map(|b| vigil_model::go_format_g(*b))
        .collect();
    let ModelState {
        name,
        classes,
        versions,
        ..
    } = m;
    for v in versions.iter_mut() {
        let base = [
            ("model_name", name.as_str()),
            ("model_version", v.name.as_str()),
        ];
        let t = &v.totals;
        push(
            batch,
            "ml_predictions_total",
            base,
            &[],
            now_ms,
            t.predictions as f64,
        );
        if v.newest_ms != i64::MIN {
            let age = now_ms.saturating_sub(v.newest_ms).max(0) as f64 / 1000.0;
            push(batch, "ml_data_freshness_seconds", base, &[], now_ms, age);
        }
        if received > 0 {
            let ratio = joined as f64 / received as f64;
            push(batch, "ml_labels_join_ratio", base, &[], now_ms, ratio);
        }
        // Per-class counts, for the first 50 classes (bounded cardinality).
        for (&c, &n) in t.classes.iter().take(50) {
            let class = [("class", classes.text(c))];
            push(
                batch,
                "ml_predicted_class_total",
                base,
                &class,
                now_ms,
                n as f64,
            );
        }
        if t.hist_count > 0 {
            let mut cumulative = 0u64;
            for (i, le) in les.iter().enumerate() {
                cumulative += t.hist.get(i).copied().unwrap_or(0);
                push(
                    batch,
                    &bucket,
                    base,
                    &[("le", le)],
                    now_ms,
                    cumulative as f64,
                );
            }
            push(
                batch,
                &bucket,
                base,
                &[("le", "+Inf")],
                now_ms,
                t.hist_count as f64,
            );
            push(batch, &sum, base, &[], now_ms, t.hist_sum);
            push(batch, &count, base, &[], now_ms, t.hist_count as f64);
        }
        for (&start, w) in v.perf.iter_mut() {
            let end = start.saturating_add(pw);
            if !w.dirty || end > now_ms || w.revision >= MAX_REVISIONS {
                continue;
            }
            let at = end
                .saturating_sub(i64::from(MAX_REVISIONS))
                .saturating_add(i64::from(w.revision));
            for (metric, value) in w.metrics(positive) {
                push(batch, metric, base, &[], at, value);
            }
            w.revision += 1;
            w.dirty = false;
        }
    }
}

/// Quality and drift series of one version.
fn version_series(r: &VersionDrift, now_ms: i64, batch: &mut Batch) {
    let base = [
        ("model_name", r.model.as_str()),
        ("model_version", r.version.as_str()),
    ];
    for f in &r.quality {
        let feature = [("feature_name", f.name.as_str())];
        let q = &f.quality;
        push(
            batch,
            "ml_feature_missing_ratio",
            base,
            &feature,
            now_ms,
            q.missing_ratio,
        );
        push(
            batch,
            "ml_feature_new_category_ratio",
            base,
            &feature,
            now_ms,
            q.new_category_ratio,
        );
        push(
            batch,
            "ml_feature_out_of_range_ratio",
            base,
            &feature,
            now_ms,
            q.out_of_range_ratio,
        );
    }
    let Some(d) = &r.drift else {
        return;
    };
    for f in &d.features {
        let Some(score) = f.score else {
            continue;
        };
        let feature = [("feature_name", f.name.as_str())];
        let method = f.method.to_string();
        let with_method = [feature[0], ("method", method.as_str())];
        push(
            batch,
            "ml_feature_drift_score",
            base,
            &with_method,
            now_ms,
            score,
        );
        push(
            batch,
            "ml_feature_drift_detected",
            base,
            &feature,
            now_ms,
            flag(f.drift_detected),
        );
        push(
            batch,
            "ml_feature_drift_threshold",
            base,
            &feature,
            now_ms,
            f.threshold,
        );
    }
    let ds = &d.dataset;
    push(
        batch,
        "ml_dataset_drift_share",
        base,
        &[],
        now_ms,
        ds.share_drifted,
    );
    push(
        batch,
        "ml_dataset_drift_detected",
        base,
        &[],
        now_ms,
        flag(ds.drift_detected),
    );
    push(
        batch,
        "ml_dataset_drifted_features",
        base,
        &[],
        now_ms,
        ds.n_drifted as f64,
    );
}

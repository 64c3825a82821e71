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
use crate::quality::feature_quality;
use crate::store::{ModelState, Reference};
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
    /// Absent when one of the windows is empty.
    pub drift: Option<DatasetDrift>,
}

/// Inputs of one version's drift, copied out under the model's lock.
struct DriftInput {
    model: String,
    version: String,
    from: i64,
    to: i64,
    reference_kind: &'static str,
    reference: Arc<Vec<Column>>,
    current: Vec<Column>,
    options: Box<dyn Fn(&str) -> DriftOptions + Send + Sync>,
    drift_share: f64,
}

fn labels(pairs: &[(&str, &str)]) -> Option<Labels> {
    Labels::from_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()).copied()).ok()
}

fn push(batch: &mut Batch, pairs: &[(&str, &str)], t: i64, v: f64) {
    if !v.is_finite() {
        return;
    }
    if let Some(l) = labels(pairs) {
        batch.push(l, Sample::new(t, v));
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
        let (reference_kind, reference): (&'static str, Arc<Vec<Column>>) =
            match (cfg.reference, uploaded) {
                (crate::config::ReferenceSource::Rolling, _)
                | (crate::config::ReferenceSource::Auto, None) => {
                    let s =
                        self.sample(version, from.saturating_sub(cfg.reference_window_ms), from);
                    ("rolling", Arc::new(self.columns(&s)))
                }
                (_, Some(r)) => ("uploaded", Arc::new(ref_columns(&r))),
                (crate::config::ReferenceSource::Uploaded, None) => {
                    ("uploaded", Arc::new(Vec::new()))
                }
            };
        let current = self.columns(&self.sample(version, from, at_ms.saturating_add(1)));
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

fn ref_columns(r: &Reference) -> Vec<Column> {
    r.columns.clone()
}

impl DriftInput {
    fn run(self) -> VersionDrift {
        let reference_rows = self.reference.first().map_or(0, Column::len);
        let current_rows = self.current.first().map_or(0, Column::len);
        let drift = (reference_rows > 0 && current_rows > 0).then(|| {
            // Only features present on both sides are compared.
            let current: Vec<Column> = self
                .current
                .into_iter()
                .filter(|c| self.reference.iter().any(|r| r.name == c.name))
                .collect();
            let reference: Vec<Column> = self
                .reference
                .iter()
                .filter(|r| current.iter().any(|c| c.name == r.name))
                .cloned()
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
            drift,
        }
    }
}

impl MlStore {
    /// One evaluation of every model: maintenance, then every derived series.
    pub fn evaluate(&self, now_ms: i64) -> Batch {
        let mut batch = Batch::new();
        let mut inputs = Vec::new();
        for m in self.all_models() {
            let mut m = m.lock();
            m.maintain(now_ms);
            collect_counts(&mut m, now_ms, &mut batch);
            for vi in 0..m.versions.len() {
                if let Some(d) = m.drift_input(vi, now_ms) {
                    let quality = quality_series(&m, vi, &d, now_ms);
                    batch.series.extend(quality.series);
                    inputs.push(d);
                }
            }
        }
        for d in inputs {
            drift_series(&d.run(), now_ms, &mut batch);
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
fn collect_counts(m: &mut ModelState, now_ms: i64, batch: &mut Batch) {
    let positive = m.positive_class();
    let window_from = now_ms.saturating_sub(m.cfg.window_ms);
    let (received, joined) = m
        .labels
        .range(window_from..)
        .fold((0u64, 0u64), |a, (_, c)| (a.0 + c.0, a.1 + c.1));
    let name = m.name.clone();
    let classification = m.classification == Some(true);
    let pw = m.cfg.performance_window_ms.max(1);
    let class_names: Vec<String> = (0..m.classes.len())
        .map(|c| {
            m.classes
                .text(u32::try_from(c).unwrap_or(u32::MAX))
                .to_owned()
        })
        .collect();
    for v in &mut m.versions {
        let base = [
            ("model_name", name.as_str()),
            ("model_version", v.name.as_str()),
        ];
        let with = |metric: &'static str| -> Vec<(&str, &str)> {
            let mut l = vec![("__name__", metric)];
            l.extend_from_slice(&base);
            l
        };
        push(
            batch,
            &with("ml_predictions_total"),
            now_ms,
            v.totals.predictions as f64,
        );
        if v.newest_ms != i64::MIN {
            let age = (now_ms - v.newest_ms).max(0) as f64 / 1000.0;
            push(batch, &with("ml_data_freshness_seconds"), now_ms, age);
        }
        if received > 0 {
            push(
                batch,
                &with("ml_labels_join_ratio"),
                now_ms,
                joined as f64 / received as f64,
            );
        }
        // Per-class counts, for the first 50 classes (bounded cardinality).
        for (&c, &n) in v.totals.classes.iter().take(50) {
            let class = class_names
                .get(usize::try_from(c).unwrap_or(usize::MAX))
                .map_or("", String::as_str);
            let mut l = with("ml_predicted_class_total");
            l.push(("class", class));
            push(batch, &l, now_ms, n as f64);
        }
        let (hist_name, bounds): (&str, &[f64]) = if classification {
            ("ml_prediction_score", &SCORE_BUCKETS)
        } else {
            ("ml_prediction_value", &VALUE_BUCKETS)
        };
        if v.totals.hist_count > 0 {
            let bucket = format!("{hist_name}_bucket");
            let mut cumulative = 0u64;
            for (i, b) in bounds.iter().enumerate() {
                cumulative += v.totals.hist.get(i).copied().unwrap_or(0);
                let le = vigil_model::go_format_g(*b);
                let mut l = with("");
                l[0] = ("__name__", bucket.as_str());
                l.push(("le", le.as_str()));
                push(batch, &l, now_ms, cumulative as f64);
            }
            let mut l = with("");
            l[0] = ("__name__", bucket.as_str());
            l.push(("le", "+Inf"));
            push(batch, &l, now_ms, v.totals.hist_count as f64);
            let sum = format!("{hist_name}_sum");
            let count = format!("{hist_name}_count");
            let mut l = with("");
            l[0] = ("__name__", sum.as_str());
            push(batch, &l, now_ms, v.totals.hist_sum);
            l[0] = ("__name__", count.as_str());
            push(batch, &l, now_ms, v.totals.hist_count as f64);
        }
        for (&start, w) in v.perf.iter_mut() {
            let end = start.saturating_add(pw);
            if !w.dirty || end > now_ms || w.revision >= MAX_REVISIONS {
                continue;
            }
            let t = end - i64::from(MAX_REVISIONS) + i64::from(w.revision);
            for (metric, value) in w.metrics(positive) {
                push(batch, &with(metric), t, value);
            }
            w.revision += 1;
            w.dirty = false;
        }
    }
}

struct QualitySeries {
    series: Vec<vigil_model::SeriesSamples>,
}

fn quality_series(m: &ModelState, vi: usize, d: &DriftInput, now_ms: i64) -> QualitySeries {
    let mut batch = Batch::new();
    let version = m.versions.get(vi).map_or("", |v| v.name.as_str());
    for cur in &d.current {
        let empty;
        let reference = match d.reference.iter().find(|r| r.name == cur.name) {
            Some(r) => r,
            None => {
                empty = Column {
                    name: cur.name.clone(),
                    values: match cur.values {
                        crate::Values::Numerical(_) => crate::Values::Numerical(Vec::new()),
                        crate::Values::Categorical(_) => crate::Values::Categorical(Vec::new()),
                    },
                };
                &empty
            }
        };
        if cur.is_empty() {
            continue;
        }
        let q = feature_quality(reference, cur);
        let base = [
            ("model_name", m.name.as_str()),
            ("model_version", version),
            ("feature_name", cur.name.as_str()),
        ];
        for (metric, value) in [
            ("ml_feature_missing_ratio", q.missing_ratio),
            ("ml_feature_new_category_ratio", q.new_category_ratio),
            ("ml_feature_out_of_range_ratio", q.out_of_range_ratio),
        ] {
            let mut l = vec![("__name__", metric)];
            l.extend_from_slice(&base);
            push(&mut batch, &l, now_ms, value);
        }
    }
    QualitySeries {
        series: batch.series,
    }
}

fn drift_series(r: &VersionDrift, now_ms: i64, batch: &mut Batch) {
    let Some(d) = &r.drift else {
        return;
    };
    let base = [
        ("model_name", r.model.as_str()),
        ("model_version", r.version.as_str()),
    ];
    for f in &d.features {
        let Some(score) = f.score else {
            continue;
        };
        let method = f.method.to_string();
        let mut l = vec![("__name__", "ml_feature_drift_score")];
        l.extend_from_slice(&base);
        l.push(("feature_name", f.name.as_str()));
        l.push(("method", method.as_str()));
        push(batch, &l, now_ms, score);
        l.pop();
        l[0] = ("__name__", "ml_feature_drift_detected");
        push(batch, &l, now_ms, if f.drift_detected { 1.0 } else { 0.0 });
        l[0] = ("__name__", "ml_feature_drift_threshold");
        push(batch, &l, now_ms, f.threshold);
    }
    let mut l = vec![("__name__", "ml_dataset_drift_share")];
    l.extend_from_slice(&base);
    push(batch, &l, now_ms, d.dataset.share_drifted);
    l[0] = ("__name__", "ml_dataset_drift_detected");
    push(
        batch,
        &l,
        now_ms,
        if d.dataset.drift_detected { 1.0 } else { 0.0 },
    );
    l[0] = ("__name__", "ml_dataset_drifted_features");
    push(batch, &l, now_ms, d.dataset.n_drifted as f64);
}

//! Prediction and label events into the store.
//!
//! An event is checked whole before anything of it is kept, so a refused event leaves no
//! sample, count or pending prediction behind (only categories it introduced may stay in a
//! feature's dictionary, which has no visible effect).

use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::{Cell, ClassOutcome, ModelState, Pending, PerfWindow, Predicted};
use crate::error::MlError;
use crate::{ColumnKind, MlStore};

/// Events further ahead of the server's clock than this are refused.
const MAX_FUTURE_MS: i64 = 5 * 60_000;

/// Histogram bounds of `ml_prediction_score` (classifier scores, 0..1).
pub(crate) const SCORE_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Histogram bounds of `ml_prediction_value` (regressor outputs): 0 and powers of 4.
pub(crate) const VALUE_BUCKETS: [f64; 14] = [
    0.0, 0.001, 0.004, 0.016, 0.0625, 0.25, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0,
];

/// What became of a request's events.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Events kept.
    pub accepted: usize,
    /// Labels that found their prediction (label requests and labels inside predictions).
    pub joined: usize,
    /// Labels whose prediction is unknown or past the label horizon.
    pub unmatched: usize,
    /// Refused events: position in the request (0-based) and why.
    pub errors: Vec<(usize, MlError)>,
}

fn kind_of(v: &FeatureValue) -> Option<ColumnKind> {
    match v {
        FeatureValue::Number(_) => Some(ColumnKind::Numerical),
        FeatureValue::Text(_) | FeatureValue::Bool(_) => Some(ColumnKind::Categorical),
        FeatureValue::Missing => None,
    }
}

fn value_name(v: &FeatureValue) -> &'static str {
    match v {
        FeatureValue::Number(_) => "a number",
        FeatureValue::Text(_) => "a string",
        FeatureValue::Bool(_) => "a bool",
        FeatureValue::Missing => "null",
    }
}

fn check_time(ts: i64, now_ms: i64, keep_ms: i64) -> Result<(), MlError> {
    if ts > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(MlError::event(
            "timestamp",
            "more than 5m ahead of the server's clock",
        ));
    }
    if ts < now_ms.saturating_sub(keep_ms) {
        return Err(MlError::event(
            "timestamp",
            format!(
                "older than the model's retention ({})",
                vigil_model::format_duration_ms(keep_ms.unsigned_abs())
            ),
        ));
    }
    Ok(())
}

/// Whether a model with this first event is a classifier.
fn is_classification(cfg: &crate::config::ModelConfig, e: &PredictionEvent) -> bool {
    match cfg.task {
        crate::config::Task::Classification => true,
        crate::config::Task::Regression => false,
        crate::config::Task::Auto => {
            matches!(e.prediction, Outcome::Class(_))
                || e.score.is_some()
                || !e.probabilities.is_empty()
        }
    }
}

fn number_of(o: &Outcome, field: &str) -> Result<f64, MlError> {
    match o {
        Outcome::Number(x) if x.is_finite() => Ok(*x),
        Outcome::Class(t) => t
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                MlError::event(
                    field,
                    format!("expected a number for a regression model, got {t:?}"),
                )
            }),
        Outcome::Number(_) => Err(MlError::event(field, "must be finite")),
    }
}

impl ModelState {
    fn add_prediction(
        &mut self,
        e: &PredictionEvent,
        now_ms: i64,
        cat_limit: usize,
        feat_limit: usize,
        pending_limit: usize,
    ) -> Result<Option<bool>, MlError> {
        let ts = e.timestamp_ms.unwrap_or(now_ms);
        let keep = self.cfg.retention_ms().max(self.cfg.label_horizon_ms);
        check_time(ts, now_ms, keep)?;
        let classification = self
            .classification
            .unwrap_or_else(|| is_classification(&self.cfg, e));

        // Check everything before changing anything.
        let mut new_features = 0usize;
        for (name, value) in &e.features {
            let field = || format!("features.{name}");
            let known = self
                .schema
                .get(name)
                .and_then(|i| self.schema.features.get(i))
                .map(|f| f.kind);
            let configured = self.cfg.features.get(name).and_then(|f| f.kind);
            match (known.or(configured), kind_of(value)) {
                (Some(ColumnKind::Numerical), Some(ColumnKind::Categorical)) => {
                    return Err(MlError::event(
                        field(),
                        format!(
                            "expected a number (the feature is numerical), got {}",
                            value_name(value)
                        ),
                    ));
                }
                (None, None) => continue,
                _ => {}
            }
            if known.is_none() {
                new_features += 1;
            }
        }
        if self.schema.features.len() + new_features > feat_limit {
            return Err(MlError::Limit {
                what: "features per model",
                limit: feat_limit,
                detail: format!(" (model {:?})", self.name),
            });
        }
        if let (false, Some(label)) = (classification, &e.label) {
            number_of(label, "label")?;
        }
        let predicted = if classification {
            let text = match &e.prediction {
                Outcome::Class(t) => t.clone(),
                o @ Outcome::Number(_) => o.class_text().into_owned(),
            };
            Predicted::Class(self.classes.intern(&text, cat_limit, "classes")?)
        } else {
            Predicted::Number(number_of(&e.prediction, "prediction")?)
        };
        let mut cells = Vec::with_capacity(e.features.len());
        for (name, value) in &e.features {
            let Some(kind) = self
                .schema
                .get(name)
                .and_then(|i| self.schema.features.get(i))
                .map(|f| f.kind)
                .or_else(|| self.cfg.features.get(name).and_then(|f| f.kind))
                .or_else(|| kind_of(value))
            else {
                continue;
            };
            let idx = self.schema.feature(name, || kind, feat_limit)?;
            let cell = match (kind, value) {
                (_, FeatureValue::Missing) => Cell::Missing,
                (ColumnKind::Numerical, FeatureValue::Number(x)) if x.is_finite() => Cell::Num(*x),
                (ColumnKind::Numerical, _) => Cell::Missing,
                (ColumnKind::Categorical, v) => {
                    let text = match v {
                        FeatureValue::Text(t) => std::borrow::Cow::Borrowed(t.as_str()),
                        FeatureValue::Bool(b) => {
                            std::borrow::Cow::Borrowed(if *b { "true" } else { "false" })
                        }
                        FeatureValue::Number(x) => {
                            std::borrow::Cow::Owned(Outcome::Number(*x).class_text().into_owned())
                        }
                        FeatureValue::Missing => std::borrow::Cow::Borrowed(""),
                    };
                    let Some(f) = self.schema.features.get_mut(idx) else {
                        continue;
                    };
                    let what = format!("feature {name:?}");
                    Cell::Cat(
                        f.dict
                            .intern(&text, cat_limit, &what)
                            .map_err(|err| match err {
                                MlError::Limit { .. } => {
                                    MlError::event(format!("features.{name}"), err.to_string())
                                }
                                other => other,
                            })?,
                    )
                }
            };
            cells.push((idx, cell));
        }
        let mut probabilities = Vec::with_capacity(e.probabilities.len());
        for (class, p) in &e.probabilities {
            probabilities.push((self.classes.intern(class, cat_limit, "classes")?, *p));
        }
        let positive = self.classes.get(&self.cfg.positive_class);
        let score = e.score.or_else(|| {
            positive.and_then(|pc| {
                probabilities
                    .iter()
                    .find(|(c, _)| *c == pc)
                    .map(|(_, p)| *p)
            })
        });

        // Keep it.
        self.classification = Some(classification);
        let kinds = self.kinds();
        let cap = self.cfg.bucket_cap();
        let interval = self.cfg.interval_ms.max(1);
        let pw = self.cfg.performance_window_ms.max(1);
        let vi = self.version_index(&e.version);
        let Some(v) = self.versions.get_mut(vi) else {
            return Ok(None);
        };
        let start = ts.div_euclid(interval) * interval;
        v.buckets
            .entry(start)
            .or_insert_with(|| super::Bucket::new(start))
            .offer(ts, &cells, &kinds, cap);
        v.newest_ms = v.newest_ms.max(ts);
        let t = &mut v.totals;
        t.predictions += 1;
        match &predicted {
            Predicted::Class(c) => {
                *t.classes.entry(*c).or_insert(0) += 1;
                if let Some(s) = score.filter(|s| s.is_finite()) {
                    add_hist(t, &SCORE_BUCKETS, s);
                }
            }
            Predicted::Number(x) => add_hist(t, &VALUE_BUCKETS, *x),
        }
        v.perf
            .entry(ts.div_euclid(pw) * pw)
            .or_insert_with(|| PerfWindow::new(classification))
            .predictions += 1;
        let pending = Pending {
            ts,
            version: vi,
            predicted,
            score,
            probabilities: probabilities.into_boxed_slice(),
        };
        if let Some(label) = &e.label {
            return self
                .apply_label(&pending, label, cat_limit)
                .map(|()| Some(true));
        }
        if let Some(id) = &e.id {
            while self.pending.len() >= pending_limit {
                if self.pending_order.is_empty() {
                    break;
                }
                self.evict_front();
            }
            self.pending.insert(id.clone(), pending);
            self.pending_order.push_back((ts, id.clone()));
        }
        Ok(None)
    }

    /// Adds a labelled prediction to its window.
    fn apply_label(
        &mut self,
        p: &Pending,
        label: &Outcome,
        cat_limit: usize,
    ) -> Result<(), MlError> {
        let pw = self.cfg.performance_window_ms.max(1);
        let classification = self.classification.unwrap_or(true);
        let outcome = match (&p.predicted, classification) {
            (Predicted::Class(pred), true) => {
                let text = label.class_text();
                let truth = self.classes.intern(&text, cat_limit, "classes")?;
                let positive = self.positive_class();
                ClassOutcome {
                    predicted: *pred,
                    truth,
                    positive_score: p.score,
                    truth_is_positive: positive == Some(truth),
                    truth_probability: if p.probabilities.is_empty() {
                        match (p.score, positive) {
                            (Some(s), Some(pos)) if self.classes.len() <= 2 => {
                                Some(if truth == pos { s } else { 1.0 - s })
                            }
                            _ => None,
                        }
                    } else {
                        Some(
                            p.probabilities
                                .iter()
                                .find(|(c, _)| *c == truth)
                                .map_or(0.0, |(_, x)| *x),
                        )
                    },
                }
            }
            (Predicted::Number(pred), _) => {
                let truth = number_of(label, "label")?;
                let Some(v) = self.versions.get_mut(p.version) else {
                    return Ok(());
                };
                v.perf
                    .entry(p.ts.div_euclid(pw) * pw)
                    .or_insert_with(|| PerfWindow::new(false))
                    .add_reg(*pred, truth);
                return Ok(());
            }
            (Predicted::Class(_), false) => return Ok(()),
        };
        if let Some(v) = self.versions.get_mut(p.version) {
            v.perf
                .entry(p.ts.div_euclid(pw) * pw)
                .or_insert_with(|| PerfWindow::new(true))
                .add_class(outcome);
        }
        Ok(())
    }
}

fn add_hist(t: &mut super::Totals, bounds: &[f64], x: f64) {
    if !x.is_finite() {
        return;
    }
    if t.hist.len() != bounds.len() {
        t.hist = vec![0; bounds.len()];
    }
    if let Some(i) = bounds.iter().position(|b| x <= *b) {
        if let Some(c) = t.hist.get_mut(i) {
            *c += 1;
        }
    }
    t.hist_sum += x;
    t.hist_count += 1;
}

impl MlStore {
    /// Stores prediction events; `now_ms` stands for absent timestamps. Each event is kept or
    /// refused whole.
    pub fn ingest_predictions(&self, events: &[PredictionEvent], now_ms: i64) -> IngestReport {
        let config = self.config();
        let limits = config.limits;
        let mut report = IngestReport::default();
        for (i, e) in events.iter().enumerate() {
            let res = self.model_or_create(&e.model).and_then(|m| {
                m.lock().add_prediction(
                    e,
                    now_ms,
                    limits.max_categories_per_feature,
                    limits.max_features_per_model,
                    limits.max_pending_labels,
                )
            });
            match res {
                Ok(joined) => {
                    report.accepted += 1;
                    if joined == Some(true) {
                        report.joined += 1;
                    }
                }
                Err(err) => report.errors.push((i, err)),
            }
        }
        report
    }

    /// Joins delayed labels to their predictions by id. A label without `model` is looked up
    /// in every model.
    pub fn ingest_labels(&self, events: &[LabelEvent], now_ms: i64) -> IngestReport {
        let limits = self.config().limits;
        let mut report = IngestReport::default();
        for (i, e) in events.iter().enumerate() {
            if let Some(ts) = e.timestamp_ms {
                if ts > now_ms.saturating_add(MAX_FUTURE_MS) {
                    report.errors.push((
                        i,
                        MlError::event("timestamp", "more than 5m ahead of the server's clock"),
                    ));
                    continue;
                }
            }
            let candidates = match &e.model {
                Some(name) => match self.model(name) {
                    Some(m) => vec![m],
                    None => {
                        report
                            .errors
                            .push((i, MlError::UnknownModel(name.clone()).into_event("model")));
                        continue;
                    }
                },
                None => self.all_models(),
            };
            let mut found = false;
            for m in candidates {
                let mut m = m.lock();
                let interval = m.cfg.interval_ms.max(1);
                let bucket = now_ms.div_euclid(interval) * interval;
                let Some(p) = m.pending.remove(&e.id) else {
                    if e.model.is_some() {
                        m.labels.entry(bucket).or_insert((0, 0)).0 += 1;
                    }
                    continue;
                };
                found = true;
                let res = m.apply_label(&p, &e.label, limits.max_categories_per_feature);
                let counts = m.labels.entry(bucket).or_insert((0, 0));
                counts.0 += 1;
                match res {
                    Ok(()) => {
                        counts.1 += 1;
                        report.accepted += 1;
                        report.joined += 1;
                    }
                    Err(err) => {
                        // Put the prediction back: the label was wrong, not the prediction.
                        m.pending.insert(e.id.clone(), p);
                        report.errors.push((i, err));
                    }
                }
                break;
            }
            if !found {
                report.accepted += 1;
                report.unmatched += 1;
            }
        }
        report
    }
}

impl MlError {
    fn into_event(self, field: &str) -> MlError {
        MlError::event(field, self.to_string())
    }
}

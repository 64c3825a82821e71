//! Prediction and label events into the store.
//!
//! An event is checked whole (kinds, every limit) before anything of it is kept, so a refused
//! event leaves nothing behind: no sample, count, feature, category or pending prediction.

use std::borrow::Cow;
use std::sync::Arc;

use parking_lot::Mutex;
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::persist::{T_LABELS, T_PREDICTIONS};
use super::schema::dict_full;
use super::{Cell, ClassOutcome, ModelState, Pending, PerfWindow, Predicted};
use crate::config::Limits;
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

/// What one label adds to its window.
enum Labelled {
    Class(ClassOutcome),
    /// Predicted and true value.
    Reg(f64, f64),
}

/// The category text of a feature value (numbers as class texts, bools as `true`/`false`).
fn category_text(v: &FeatureValue) -> Cow<'_, str> {
    match v {
        FeatureValue::Text(t) => Cow::Borrowed(t.as_str()),
        FeatureValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        FeatureValue::Number(x) => Cow::Owned(Outcome::Number(*x).class_text().into_owned()),
        FeatureValue::Missing => Cow::Borrowed(""),
    }
}

impl ModelState {
    /// The index of feature `name`, sent at position `pos` of its event, and its kind: as
    /// first seen, else as configured (`None` index: a new feature).
    fn feature_at(&self, pos: usize, name: &str) -> (Option<usize>, Option<ColumnKind>) {
        let idx = self.schema.get_hinted(pos, name);
        let kind = match idx.and_then(|i| self.schema.features.get(i)) {
            Some(f) => Some(f.kind),
            None => self.cfg.features.get(name).and_then(|f| f.kind),
        };
        (idx, kind)
    }

    /// Checks an event against the model's kinds and limits without changing anything.
    fn check_prediction(
        &self,
        e: &PredictionEvent,
        classification: bool,
        limits: &Limits,
    ) -> Result<(), MlError> {
        let mut new_features = 0usize;
        for (pos, (name, value)) in e.features.iter().enumerate() {
            let (idx, kind) = self.feature_at(pos, name);
            let known = idx.and_then(|i| self.schema.features.get(i));
            let Some(kind) = kind.or_else(|| kind_of(value)) else {
                continue;
            };
            if known.is_none() {
                new_features += 1;
            }
            match (kind, value) {
                (_, FeatureValue::Missing) => {}
                (ColumnKind::Numerical, FeatureValue::Number(_)) => {}
                (ColumnKind::Numerical, v) => {
                    return Err(MlError::event(
                        format!("features.{name}"),
                        format!(
                            "expected a number (the feature is numerical), got {}",
                            value_name(v)
                        ),
                    ));
                }
                (ColumnKind::Categorical, v) => {
                    let limit = limits.max_categories_per_feature;
                    let text = category_text(v);
                    if known.is_some_and(|f| f.dict.is_full_for(&text, limit)) {
                        let err = dict_full(limit, &format!("feature {name:?}"), &text);
                        return Err(MlError::event(format!("features.{name}"), err.to_string()));
                    }
                }
            }
        }
        if self.schema.features.len() + new_features > limits.max_features_per_model {
            return Err(MlError::Limit {
                what: "features per model",
                limit: limits.max_features_per_model,
                detail: format!(" (model {:?})", self.name),
            });
        }
        if !classification {
            number_of(&e.prediction, "prediction")?;
            if let Some(label) = &e.label {
                number_of(label, "label")?;
            }
            return Ok(());
        }
        // Every class the event names must fit the class dictionary.
        let mut new_classes: Vec<Cow<'_, str>> = Vec::new();
        let named = std::iter::once(e.prediction.class_text())
            .chain(e.label.iter().map(Outcome::class_text))
            .chain(
                e.probabilities
                    .iter()
                    .map(|(c, _)| Cow::Borrowed(c.as_str())),
            );
        for text in named {
            if self.classes.get(&text).is_none() && !new_classes.contains(&text) {
                if self.classes.len() + new_classes.len() >= limits.max_categories_per_feature {
                    return Err(dict_full(
                        limits.max_categories_per_feature,
                        "classes",
                        &text,
                    ));
                }
                new_classes.push(text);
            }
        }
        Ok(())
    }

    fn add_prediction(
        &mut self,
        e: &PredictionEvent,
        now_ms: i64,
        limits: &Limits,
    ) -> Result<Option<bool>, MlError> {
        let ts = e.timestamp_ms.unwrap_or(now_ms);
        let keep = self.cfg.retention_ms().max(self.cfg.label_horizon_ms);
        check_time(ts, now_ms, keep)?;
        let classification = self
            .classification
            .unwrap_or_else(|| is_classification(&self.cfg, e));
        self.check_prediction(e, classification, limits)?;

        // Checked: from here on nothing fails, and everything is kept.
        let cat_limit = limits.max_categories_per_feature;
        let mut cells = Vec::with_capacity(e.features.len());
        for (pos, (name, value)) in e.features.iter().enumerate() {
            let (known, kind) = self.feature_at(pos, name);
            let Some(kind) = kind.or_else(|| kind_of(value)) else {
                continue;
            };
            let idx = match known {
                Some(i) => i,
                None => match self.schema.feature(name, || kind, usize::MAX) {
                    Ok(i) => i,
                    Err(_) => continue,
                },
            };
            let cell = match (kind, value) {
                (_, FeatureValue::Missing) => Cell::Missing,
                (ColumnKind::Numerical, FeatureValue::Number(x)) if x.is_finite() => Cell::Num(*x),
                (ColumnKind::Numerical, _) => Cell::Missing,
                (ColumnKind::Categorical, v) => self
                    .schema
                    .features
                    .get_mut(idx)
                    .and_then(|f| f.dict.intern(&category_text(v), cat_limit))
                    .map_or(Cell::Missing, Cell::Cat),
            };
            cells.push((idx, cell));
        }
        let predicted = if classification {
            let code = self.classes.intern(&e.prediction.class_text(), cat_limit);
            Predicted::Class(code.unwrap_or(u32::MAX))
        } else {
            Predicted::Number(number_of(&e.prediction, "prediction")?)
        };
        let probabilities: Box<[(u32, f64)]> = e
            .probabilities
            .iter()
            .filter_map(|(class, p)| Some((self.classes.intern(class, cat_limit)?, *p)))
            .collect();
        let positive = self.classes.get(&self.cfg.positive_class);
        let score = e.score.or_else(|| {
            let pc = positive?;
            probabilities
                .iter()
                .find(|(c, _)| *c == pc)
                .map(|(_, p)| *p)
        });

        self.classification = Some(classification);
        let cap = self.cfg.cap_for(ts, now_ms);
        let interval = self.cfg.interval_ms.max(1);
        let pw = self.cfg.performance_window_ms.max(1);
        let vi = self.version_index(&e.version);
        let features = &self.schema.features;
        let Some(v) = self.versions.get_mut(vi) else {
            return Ok(None);
        };
        let start = ts.div_euclid(interval) * interval;
        v.buckets
            .entry(start)
            .or_insert_with(|| super::Bucket::new(start))
            .offer(
                ts,
                &cells,
                features.len(),
                |f| features.get(f).map(|x| x.kind),
                cap,
            );
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
            probabilities,
        };
        if let Some(label) = &e.label {
            return self
                .apply_label(&pending, label, cat_limit)
                .map(|()| Some(true));
        }
        if let Some(id) = &e.id {
            while self.pending.len() >= limits.max_pending_labels && !self.pending_order.is_empty()
            {
                self.evict_front();
            }
            self.pending.insert(id.clone(), pending);
            self.pending_order.push_back((ts, id.clone()));
        }
        Ok(None)
    }

    /// Adds a labelled prediction to the window of its prediction time.
    fn apply_label(
        &mut self,
        p: &Pending,
        label: &Outcome,
        cat_limit: usize,
    ) -> Result<(), MlError> {
        let classification = self.classification.unwrap_or(true);
        let labelled = match (&p.predicted, classification) {
            (Predicted::Class(pred), true) => {
                let text = label.class_text();
                let truth = self
                    .classes
                    .intern(&text, cat_limit)
                    .ok_or_else(|| dict_full(cat_limit, "classes", &text))?;
                let positive = self.positive_class();
                let truth_probability = if p.probabilities.is_empty() {
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
                };
                let outcome = ClassOutcome {
                    predicted: *pred,
                    truth,
                    positive_score: p.score,
                    truth_is_positive: positive == Some(truth),
                    truth_probability,
                };
                Labelled::Class(outcome)
            }
            (Predicted::Number(pred), _) => Labelled::Reg(*pred, number_of(label, "label")?),
            (Predicted::Class(_), false) => return Ok(()),
        };
        let pw = self.cfg.performance_window_ms.max(1);
        if let Some(v) = self.versions.get_mut(p.version) {
            let w = v
                .perf
                .entry(p.ts.div_euclid(pw) * pw)
                .or_insert_with(|| PerfWindow::new(classification));
            match labelled {
                Labelled::Class(o) => w.add_class(o),
                Labelled::Reg(predicted, truth) => w.add_reg(predicted, truth),
            }
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
    /// refused whole. With a durable store ([`MlStore::open`]) the accepted events are in the
    /// WAL, as durable as its fsync policy promises, before this returns.
    ///
    /// # Errors
    /// [`MlError::Io`] when the accepted events could not be made durable; refused events are
    /// reported in [`IngestReport::errors`], not here. After such an error the events are in
    /// memory (and in evaluations) but may be lost by a restart.
    pub fn ingest_predictions(
        &self,
        events: &[PredictionEvent],
        now_ms: i64,
    ) -> Result<IngestReport, MlError> {
        let (report, written) = {
            let mut log = self.log.lock();
            let durable = self.is_durable();
            log.begin(T_PREDICTIONS, now_ms);
            let mut prev = None;
            let report = self.apply_predictions(events, now_ms, |e| {
                if durable {
                    log.push_prediction(e, &mut prev);
                }
            });
            (report, self.log_write(&log)?)
        };
        if let Some(w) = written {
            self.log_wait(w)?;
        }
        Ok(report)
    }

    /// Applies prediction events to the state; `on_accept` sees each accepted one, in order.
    /// The caller holds the ingest lock (or is the replay, which runs alone).
    pub(crate) fn apply_predictions<'e>(
        &self,
        events: &'e [PredictionEvent],
        now_ms: i64,
        mut on_accept: impl FnMut(&'e PredictionEvent),
    ) -> IngestReport {
        let config = self.config();
        let limits = config.limits;
        let mut report = IngestReport::default();
        // Consecutive events usually name the same model.
        let mut cached: Option<(&'e str, Arc<Mutex<ModelState>>)> = None;
        for (i, e) in events.iter().enumerate() {
            if cached.as_ref().is_none_or(|(name, _)| *name != e.model) {
                cached = self.model(&e.model).map(|m| (e.model.as_str(), m));
            }
            let res = match &cached {
                Some((_, m)) => m.lock().add_prediction(e, now_ms, &limits),
                // A new model exists only once an event of it is kept: a refused event leaves
                // no empty model behind (nor takes a place under the model limit).
                None => self
                    .create_model_with(&e.model, &config, |m| m.add_prediction(e, now_ms, &limits)),
            };
            match res {
                Ok(joined) => {
                    report.accepted += 1;
                    if joined == Some(true) {
                        report.joined += 1;
                    }
                    on_accept(e);
                }
                Err(err) => report.errors.push((i, err)),
            }
        }
        report
    }

    /// Joins delayed labels to their predictions by id. A label without `model` is looked up
    /// in every model. Durability as [`MlStore::ingest_predictions`].
    ///
    /// # Errors
    /// As [`MlStore::ingest_predictions`].
    pub fn ingest_labels(
        &self,
        events: &[LabelEvent],
        now_ms: i64,
    ) -> Result<IngestReport, MlError> {
        let (report, written) = {
            let mut log = self.log.lock();
            let durable = self.is_durable();
            log.begin(T_LABELS, now_ms);
            let report = self.apply_labels(events, now_ms, |e| {
                if durable {
                    log.push_label(e);
                }
            });
            (report, self.log_write(&log)?)
        };
        if let Some(w) = written {
            self.log_wait(w)?;
        }
        Ok(report)
    }

    /// Applies label events to the state; `on_accept` sees each accepted one, in order. The
    /// caller holds the ingest lock (or is the replay).
    pub(crate) fn apply_labels<'e>(
        &self,
        events: &'e [LabelEvent],
        now_ms: i64,
        mut on_accept: impl FnMut(&'e LabelEvent),
    ) -> IngestReport {
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
                        report.errors.push((
                            i,
                            MlError::event(
                                "model",
                                MlError::UnknownModel(name.clone()).to_string(),
                            ),
                        ));
                        continue;
                    }
                },
                None => self.all_models(),
            };
            let mut found = false;
            let mut refused = false;
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
                match m.apply_label(&p, &e.label, limits.max_categories_per_feature) {
                    Ok(()) => {
                        let counts = m.labels.entry(bucket).or_insert((0, 0));
                        counts.0 += 1;
                        counts.1 += 1;
                        report.accepted += 1;
                        report.joined += 1;
                    }
                    Err(err) => {
                        // Put the prediction back: the label was wrong, not the prediction. A
                        // refused label is not counted as received either (it leaves nothing
                        // behind, so it needs no WAL record).
                        m.pending.insert(e.id.clone(), p);
                        report.errors.push((i, err));
                        refused = true;
                    }
                }
                break;
            }
            if !found {
                report.accepted += 1;
                report.unmatched += 1;
            }
            if !refused {
                on_accept(e);
            }
        }
        report
    }
}

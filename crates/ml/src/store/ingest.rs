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
use crate::config::{window_start, Limits};
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

fn check_future(ts: i64, now_ms: i64) -> Result<(), MlError> {
    if ts > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(MlError::event(
            "timestamp",
            "more than 5m ahead of the server's clock",
        ));
    }
    Ok(())
}

fn check_time(ts: i64, now_ms: i64, keep_ms: i64) -> Result<(), MlError> {
    check_future(ts, now_ms)?;
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

    /// Checks an event against the model's kinds and limits without changing anything;
    /// `version` is the index of its version if that is known.
    fn check_prediction(
        &self,
        e: &PredictionEvent,
        version: Option<usize>,
        classification: bool,
        limits: &Limits,
    ) -> Result<(), MlError> {
        if version.is_none() && self.versions.len() >= limits.max_versions_per_model {
            return Err(MlError::Limit {
                what: "versions per model",
                limit: limits.max_versions_per_model,
                detail: format!(" (new version {:?} of model {:?})", e.version, self.name),
            });
        }
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
        let version = self.version_of(&e.version);
        self.check_prediction(e, version, classification, limits)?;

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
        let vi = match version {
            Some(vi) => vi,
            None => self.add_version(&e.version),
        };
        let features = &self.schema.features;
        let Some(v) = self.versions.get_mut(vi) else {
            return Ok(None);
        };
        let start = window_start(ts, self.cfg.interval_ms);
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
            .entry(window_start(ts, self.cfg.performance_window_ms))
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
            self.wait_for_label(id, pending, limits.max_pending_labels);
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
        let start = window_start(p.ts, self.cfg.performance_window_ms);
        if let Some(v) = self.versions.get_mut(p.version) {
            let w = v
                .perf
                .entry(start)
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
        self.ingest_logged(T_PREDICTIONS, now_ms, |mut log| {
            let mut prev = None;
            self.apply_predictions(events, now_ms, |e| {
                if let Some(log) = log.as_deref_mut() {
                    log.push_prediction(e, &mut prev);
                }
            })
        })
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
        self.ingest_logged(T_LABELS, now_ms, |mut log| {
            self.apply_labels(events, now_ms, |e| {
                if let Some(log) = log.as_deref_mut() {
                    log.push_label(e);
                }
            })
        })
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
        // Labels create no models, so the list for labels without a model is taken once.
        let mut all = None;
        for (i, e) in events.iter().enumerate() {
            if let Err(err) = e.timestamp_ms.map_or(Ok(()), |ts| check_future(ts, now_ms)) {
                report.errors.push((i, err));
                continue;
            }
            let named;
            let candidates: &[Arc<Mutex<ModelState>>] = match &e.model {
                Some(name) => match self.model(name) {
                    Some(m) => {
                        named = [m];
                        &named
                    }
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
                None => all.get_or_insert_with(|| self.all_models()),
            };
            let mut found = false;
            let mut refused = false;
            for m in candidates {
                let mut m = m.lock();
                let bucket = window_start(now_ms, m.cfg.interval_ms);
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

#[cfg(test)]
mod tests {
    use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

    use crate::{MlConfig, MlStore};

    const NOW: i64 = 1_800_000_000_000;

    fn prediction(id: usize) -> PredictionEvent {
        PredictionEvent {
            model: "m".into(),
            version: "v1".into(),
            id: Some(format!("p{id}")),
            timestamp_ms: Some(NOW - 1_000),
            features: vec![("x".into(), FeatureValue::Number(1.0))],
            prediction: Outcome::Class("1".into()),
            score: Some(0.9),
            probabilities: Vec::new(),
            label: None,
        }
    }

    fn label(id: usize) -> LabelEvent {
        LabelEvent {
            model: Some("m".into()),
            id: format!("p{id}"),
            label: Outcome::Class("1".into()),
            timestamp_ms: None,
        }
    }

    /// Regression: a labelled prediction kept its eviction-queue entry until the label horizon
    /// passed, so the queue (and every snapshot) grew with the traffic of days rather than with
    /// the predictions waiting; a prediction sent again with the same id and time queued again.
    #[test]
    fn labelled_predictions_do_not_pile_up_in_the_eviction_queue() {
        let store = MlStore::new(MlConfig::default());
        for round in 0..20 {
            let ids = round * 1_000..(round + 1) * 1_000;
            let events: Vec<PredictionEvent> = ids.clone().map(prediction).collect();
            store.ingest_predictions(&events, NOW).expect("ingest");
            let labels: Vec<LabelEvent> = ids.map(label).collect();
            let r = store.ingest_labels(&labels, NOW).expect("labels");
            assert_eq!(r.joined, 1_000);
        }
        for _ in 0..3_000 {
            store
                .ingest_predictions(&[prediction(7)], NOW)
                .expect("ingest");
        }
        let m = store.model("m").expect("model");
        let m = m.lock();
        assert_eq!(m.pending.len(), 1);
        assert!(
            m.pending_order.len() <= 2 * m.pending.len() + 1_024,
            "{} queue entries for {} waiting predictions",
            m.pending_order.len(),
            m.pending.len()
        );
        // The one waiting prediction is still evictable: its entry survived the compaction.
        assert!(m
            .pending_order
            .iter()
            .any(|(ts, id)| id == "p7" && *ts == NOW - 1_000));
    }
}

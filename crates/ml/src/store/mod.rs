//! The prediction and label event store: per model, its features and classes, per version a
//! reservoir sample of events in interval-wide buckets, the predictions waiting for their
//! labels, and the delayed-label performance counts per prediction-time window.
//!
//! Bounded by construction: a bucket keeps at most `bucket_cap` events while it is in the
//! current window and fewer once it only serves the rolling reference (together about
//! `2 × max_events_per_window` rows per version); predictions wait for labels up to
//! `label_horizon` and `max_pending_labels`; models, versions, features and categories have
//! limits. What sampling changes in the statistics is in docs/ml.md.
//!
//! Durable when opened with [`MlStore::open`] (`persist/`): every change of state happens under
//! one ingest lock together with its WAL record, so that a replay rebuilds the same state;
//! [`MlStore::new`] is the same store in memory only.

mod bucket;
mod ingest;
mod perf;
mod persist;
mod schema;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{MlConfig, ModelConfig};
use crate::{Column, ColumnKind};

pub(crate) use bucket::{Bucket, Cell, Sample, SampleCol, MISSING_CODE};
pub use ingest::IngestReport;
pub(crate) use ingest::{SCORE_BUCKETS, VALUE_BUCKETS};
pub(crate) use perf::{ClassOutcome, PerfWindow};
pub use persist::{CheckpointStats, RecoveryReport};
pub(crate) use schema::{Dict, Schema};

/// The predicted value a label is compared with.
#[derive(Debug, Clone)]
pub(crate) enum Predicted {
    Class(u32),
    Number(f64),
}

/// A prediction waiting for its label.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub ts: i64,
    pub version: usize,
    pub predicted: Predicted,
    /// Positive-class probability (binary classifiers).
    pub score: Option<f64>,
    /// Class probabilities, by class code.
    pub probabilities: Box<[(u32, f64)]>,
}

/// Cumulative prediction counts of one version, written as counters and a histogram.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    pub predictions: u64,
    /// Per predicted class code (classifiers).
    pub classes: BTreeMap<u32, u64>,
    /// Cumulative-to-be counts per histogram bucket index, plus sum and count.
    pub hist: Vec<u64>,
    pub hist_sum: f64,
    pub hist_count: u64,
}

/// One model version's data.
#[derive(Debug, Clone)]
pub(crate) struct VersionState {
    pub name: String,
    pub buckets: BTreeMap<i64, Bucket>,
    pub totals: Totals,
    pub perf: BTreeMap<i64, PerfWindow>,
    pub newest_ms: i64,
}

impl VersionState {
    fn new(name: &str) -> VersionState {
        VersionState {
            name: name.to_owned(),
            buckets: BTreeMap::new(),
            totals: Totals::default(),
            perf: BTreeMap::new(),
            newest_ms: i64::MIN,
        }
    }
}

/// An uploaded reference dataset.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Shared with every evaluation that compares against it.
    pub columns: Arc<Vec<Column>>,
    pub rows: usize,
    pub uploaded_ms: i64,
}

/// Everything Vigil keeps for one model.
#[derive(Debug)]
pub(crate) struct ModelState {
    pub name: String,
    pub cfg: ModelConfig,
    pub schema: Schema,
    pub classes: Dict,
    /// `Some(true)` classification, `Some(false)` regression, `None` until the first event.
    pub classification: Option<bool>,
    pub versions: Vec<VersionState>,
    pub pending: HashMap<String, Pending>,
    pub pending_order: VecDeque<(i64, String)>,
    /// Labels received per interval bucket (receive time): (received, joined).
    pub labels: BTreeMap<i64, (u64, u64)>,
    /// Uploaded references by version (`""`: every version without its own).
    pub references: BTreeMap<String, Arc<Reference>>,
}

impl ModelState {
    fn new(name: &str, cfg: ModelConfig) -> ModelState {
        ModelState {
            name: name.to_owned(),
            cfg,
            schema: Schema::default(),
            classes: Dict::default(),
            classification: None,
            versions: Vec::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            labels: BTreeMap::new(),
            references: BTreeMap::new(),
        }
    }

    /// The index of version `name`, if the model has seen it.
    pub fn version_of(&self, name: &str) -> Option<usize> {
        self.versions.iter().position(|v| v.name == name)
    }

    /// Adds version `name` (unknown so far); returns its index.
    pub fn add_version(&mut self, name: &str) -> usize {
        self.versions.push(VersionState::new(name));
        self.versions.len() - 1
    }

    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.schema.features.iter().map(|f| f.kind).collect()
    }

    /// The positive class code of a binary classifier: the configured class when it has been
    /// seen, else `true` for a true/false classifier; `None` for more than two classes.
    pub fn positive_class(&self) -> Option<u32> {
        if self.classes.len() > 2 {
            return None;
        }
        self.classes
            .get(&self.cfg.positive_class)
            .or_else(|| self.classes.get("true"))
    }

    /// Drops what is past retention and thins buckets that left the current window.
    pub fn maintain(&mut self, now_ms: i64) {
        let cfg = &self.cfg;
        let interval = cfg.interval_ms;
        let keep_from = now_ms.saturating_sub(cfg.retention_ms());
        let window_from = now_ms.saturating_sub(cfg.window_ms);
        let horizon_from = now_ms.saturating_sub(cfg.label_horizon_ms);
        let ref_cap = cfg.reference_cap();
        let perf_from = horizon_from.saturating_sub(cfg.performance_window_ms);
        for v in &mut self.versions {
            v.buckets = v.buckets.split_off(&keep_from.saturating_sub(interval));
            // Shrinking a bucket already at the cap costs a length check.
            let old = window_from.saturating_sub(interval).saturating_add(1);
            for b in v.buckets.range_mut(..old).map(|(_, b)| b) {
                b.shrink(ref_cap);
            }
            v.perf = v.perf.split_off(&perf_from);
        }
        self.labels = self.labels.split_off(&window_from.saturating_sub(interval));
        while self
            .pending_order
            .front()
            .is_some_and(|(ts, _)| *ts < horizon_from)
        {
            self.evict_front();
        }
    }

    /// Drops the oldest waiting prediction (entries whose prediction was labelled since are
    /// skipped over).
    pub fn evict_front(&mut self) {
        if let Some((ts, id)) = self.pending_order.pop_front() {
            if self.pending.get(&id).is_some_and(|p| p.ts == ts) {
                self.pending.remove(&id);
            }
        }
    }

    /// Keeps `p` waiting for its label under `id` (replacing a prediction with that id), after
    /// evicting the oldest waiting predictions beyond `limit`.
    pub fn wait_for_label(&mut self, id: &str, p: Pending, limit: usize) {
        while self.pending.len() >= limit && !self.pending_order.is_empty() {
            self.evict_front();
        }
        let ts = p.ts;
        // A replaced prediction with the same timestamp already has its queue entry (entries
        // match by id and timestamp); a second one would never be more than a stale duplicate.
        let queued = self
            .pending
            .insert(id.to_owned(), p)
            .is_some_and(|old| old.ts == ts);
        if !queued {
            self.pending_order.push_back((ts, id.to_owned()));
        }
        self.compact_pending_order();
    }

    /// Drops the queue entries of predictions labelled, replaced or evicted since, once they
    /// outnumber the waiting ones: otherwise every prediction with an id stays queued until the
    /// label horizon passes (days of traffic), however quickly its label came. Amortised O(1)
    /// per insert; the order of the remaining entries is kept.
    fn compact_pending_order(&mut self) {
        let bound = self.pending.len().saturating_mul(2).saturating_add(1024);
        if self.pending_order.len() <= bound {
            return;
        }
        let pending = &self.pending;
        self.pending_order
            .retain(|(ts, id)| pending.get(id).is_some_and(|p| p.ts == *ts));
    }

    /// A uniform sample of the events of one version in `[from, to)`, one column per feature.
    pub fn sample(&self, version: usize, from: i64, to: i64) -> Sample {
        let kinds = self.kinds();
        let mut out = Sample::new(&kinds);
        let Some(v) = self.versions.get(version) else {
            return out;
        };
        let lo = from.saturating_sub(self.cfg.interval_ms);
        let parts: Vec<(&i64, &Bucket, Vec<usize>)> = v
            .buckets
            .range(lo..to)
            .map(|(s, b)| (s, b, b.rows_in(from, to)))
            .filter(|(_, _, rows)| !rows.is_empty())
            .collect();
        // The fraction every bucket contributes: the smallest kept/seen ratio.
        let rate = parts
            .iter()
            .map(|(_, b, rows)| rows.len() as f64 / b.seen_in(rows.len()).max(1.0))
            .fold(1.0f64, f64::min);
        for (start, b, rows) in &parts {
            let want = (b.seen_in(rows.len()) * rate).round();
            let take = if want >= rows.len() as f64 {
                rows.len()
            } else {
                usize::try_from(want as i64).unwrap_or(0)
            };
            b.sample_into(rows, take, start.unsigned_abs() ^ 0xa11ce, &mut out);
        }
        out
    }

    /// A sample with its feature names and the category texts it uses copied out, so that
    /// turning it into named columns ([`DetachedSample::into_columns`]: one `String` per
    /// categorical value, most of the cost) runs after the model's lock is released rather
    /// than holding up ingestion. Copies at most one text per distinct category in the sample.
    pub fn detach(&self, s: Sample) -> DetachedSample {
        let cols = self
            .schema
            .features
            .iter()
            .zip(s.cols)
            .map(|(f, c)| {
                let col = match c {
                    SampleCol::Num(v) => DetachedCol::Num(v),
                    SampleCol::Cat(mut codes) => {
                        // Dictionary code → position in `texts`, filled as codes are met.
                        let mut local = vec![MISSING_CODE; f.dict.len()];
                        let mut texts = Vec::new();
                        for code in codes.iter_mut().filter(|c| **c != MISSING_CODE) {
                            let dict_code = *code;
                            let slot = usize::try_from(dict_code)
                                .ok()
                                .and_then(|i| local.get_mut(i));
                            *code = match slot {
                                Some(l) if *l != MISSING_CODE => *l,
                                slot => {
                                    let at = u32::try_from(texts.len()).unwrap_or(MISSING_CODE);
                                    texts.push(f.dict.text(dict_code).to_owned());
                                    if let Some(l) = slot {
                                        *l = at;
                                    }
                                    at
                                }
                            };
                        }
                        DetachedCol::Cat { codes, texts }
                    }
                };
                (f.name.clone(), col)
            })
            .collect();
        DetachedSample { cols }
    }
}

/// A sample taken out of its model ([`ModelState::detach`]).
#[derive(Debug)]
pub(crate) struct DetachedSample {
    cols: Vec<(String, DetachedCol)>,
}

#[derive(Debug)]
enum DetachedCol {
    Num(Vec<f64>),
    /// Positions in `texts`; [`MISSING_CODE`] for a missing value.
    Cat {
        codes: Vec<u32>,
        texts: Vec<String>,
    },
}

impl DetachedSample {
    /// The sample as named columns for the statistics.
    pub fn into_columns(self) -> Vec<Column> {
        self.cols
            .into_iter()
            .map(|(name, c)| match c {
                DetachedCol::Num(v) => Column::numerical(
                    name,
                    v.into_iter().map(|x| Some(x).filter(|x| x.is_finite())),
                ),
                DetachedCol::Cat { codes, texts } => Column::categorical(
                    name,
                    codes.into_iter().map(|code| {
                        (code != MISSING_CODE).then(|| {
                            usize::try_from(code)
                                .ok()
                                .and_then(|i| texts.get(i))
                                .cloned()
                                .unwrap_or_default()
                        })
                    }),
                ),
            })
            .collect()
    }
}

/// All models.
#[derive(Debug)]
pub struct MlStore {
    config: RwLock<Arc<MlConfig>>,
    models: RwLock<BTreeMap<String, Arc<Mutex<ModelState>>>>,
    /// The ingest lock: every change of event state (ingest, evaluation, a new model) and the
    /// WAL write of its record happen under it, so that the WAL order is the apply order. It
    /// holds the buffer the records are encoded into. Lock order: this, then `models`, then a
    /// model.
    log: Mutex<persist::RecordBuf>,
    /// The WAL and data directory; `None` for a memory-only store.
    durable: Option<persist::Durable>,
}

/// One model as `GET /api/v1/ml/models` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub task: Option<&'static str>,
    pub versions: Vec<VersionSummary>,
    pub features: Vec<FeatureSummary>,
    pub pending_labels: usize,
    pub references: Vec<ReferenceSummary>,
}

/// One version of a model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionSummary {
    pub name: String,
    pub predictions_total: u64,
    /// Newest event time, ms (absent before the first event).
    pub last_event_ms: Option<i64>,
}

/// One feature of a model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeatureSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// Distinct categories seen (categorical features).
    pub categories: usize,
}

/// An uploaded reference.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReferenceSummary {
    /// The version it applies to; absent for every version.
    pub version: Option<String>,
    pub rows: usize,
    pub columns: usize,
    pub uploaded_ms: i64,
}

impl MlStore {
    /// An empty store in memory only (nothing survives the process; see [`MlStore::open`]).
    pub fn new(config: MlConfig) -> MlStore {
        MlStore {
            config: RwLock::new(Arc::new(config)),
            models: RwLock::new(BTreeMap::new()),
            log: Mutex::new(persist::RecordBuf::default()),
            durable: None,
        }
    }

    /// Whether the store writes a WAL ([`MlStore::open`]).
    pub fn is_durable(&self) -> bool {
        self.durable.is_some()
    }

    /// Applies a new `ml:` section to every model (on reload).
    pub fn set_config(&self, config: MlConfig) {
        let config = Arc::new(config);
        for (name, m) in self.models.read().iter() {
            m.lock().cfg = config.model(name).clone();
        }
        *self.config.write() = config;
    }

    pub(crate) fn config(&self) -> Arc<MlConfig> {
        self.config.read().clone()
    }

    pub(crate) fn model(&self, name: &str) -> Option<Arc<Mutex<ModelState>>> {
        self.models.read().get(name).cloned()
    }

    pub(crate) fn all_models(&self) -> Vec<Arc<Mutex<ModelState>>> {
        self.models.read().values().cloned().collect()
    }

    /// The model, created when new and under the model limit. Callers hold the ingest lock.
    pub(crate) fn model_or_create(
        &self,
        name: &str,
    ) -> Result<Arc<Mutex<ModelState>>, crate::MlError> {
        if let Some(m) = self.model(name) {
            return Ok(m);
        }
        let config = self.config();
        self.create_model_with(name, &config, |_| Ok(()))?;
        self.model(name)
            .ok_or_else(|| crate::MlError::UnknownModel(name.to_owned()))
    }

    /// Creates model `name` (unknown so far) if `f` succeeds on its fresh state, so that a
    /// refused first event leaves no model behind. Callers hold the ingest lock.
    pub(crate) fn create_model_with<T>(
        &self,
        name: &str,
        config: &MlConfig,
        f: impl FnOnce(&mut ModelState) -> Result<T, crate::MlError>,
    ) -> Result<T, crate::MlError> {
        self.check_model_room(name, config)?;
        let mut m = ModelState::new(name, config.model(name).clone());
        let out = f(&mut m)?;
        self.models
            .write()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(m)));
        Ok(out)
    }

    /// Fails when `name` is a new model and the model limit is reached.
    fn check_model_room(&self, name: &str, config: &MlConfig) -> Result<(), crate::MlError> {
        let models = self.models.read();
        if !models.contains_key(name) && models.len() >= config.limits.max_models {
            return Err(crate::MlError::Limit {
                what: "models",
                limit: config.limits.max_models,
                detail: format!(" (new model {name:?})"),
            });
        }
        Ok(())
    }

    /// Sets the reference dataset of `model` (all versions, or one). A durable store writes it
    /// to its reference file (crash-safely, see `docs/format/ml.md`) before it is used or this
    /// returns.
    ///
    /// # Errors
    /// [`crate::MlError::Reference`] for a dataset without rows or columns;
    /// [`crate::MlError::Limit`] when the model is new and the model limit is reached;
    /// [`crate::MlError::Io`] when the file could not be written (nothing changed then).
    pub fn set_reference(
        &self,
        model: &str,
        version: Option<&str>,
        columns: Vec<Column>,
        now_ms: i64,
    ) -> Result<ReferenceSummary, crate::MlError> {
        let rows = columns.first().map_or(0, Column::len);
        if columns.is_empty() || rows == 0 {
            return Err(crate::MlError::Reference(
                "the dataset has no rows or no columns".to_owned(),
            ));
        }
        let n_cols = columns.len();
        let key = version.unwrap_or_default();
        let reference = Reference {
            columns: Arc::new(columns),
            rows,
            uploaded_ms: now_ms,
        };
        self.install_reference(model, key, reference)?;
        Ok(ReferenceSummary {
            version: version.map(str::to_owned),
            rows,
            columns: n_cols,
            uploaded_ms: now_ms,
        })
    }

    /// Every model, sorted by name.
    pub fn models(&self) -> Vec<ModelSummary> {
        self.all_models()
            .iter()
            .map(|m| {
                let m = m.lock();
                ModelSummary {
                    name: m.name.clone(),
                    task: m
                        .classification
                        .map(|c| if c { "classification" } else { "regression" }),
                    versions: m
                        .versions
                        .iter()
                        .map(|v| VersionSummary {
                            name: v.name.clone(),
                            predictions_total: v.totals.predictions,
                            last_event_ms: (v.newest_ms != i64::MIN).then_some(v.newest_ms),
                        })
                        .collect(),
                    features: m
                        .schema
                        .features
                        .iter()
                        .map(|f| FeatureSummary {
                            name: f.name.clone(),
                            kind: f.kind,
                            categories: f.dict.len(),
                        })
                        .collect(),
                    pending_labels: m.pending.len(),
                    references: m
                        .references
                        .iter()
                        .map(|(v, r)| ReferenceSummary {
                            version: (!v.is_empty()).then(|| v.clone()),
                            rows: r.rows,
                            columns: r.columns.len(),
                            uploaded_ms: r.uploaded_ms,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

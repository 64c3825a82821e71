use vigil_model::{Batch, Labels, Matcher, Sample, Timestamp};

use crate::StorageError;

/// A closed time range in milliseconds; both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        TimeRange { start, end }
    }
    /// Everything.
    pub fn all() -> Self {
        TimeRange {
            start: Timestamp::MIN,
            end: Timestamp::MAX,
        }
    }
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t <= self.end
    }
    /// Whether `[min, max]` overlaps this range.
    pub fn overlaps(&self, min: Timestamp, max: Timestamp) -> bool {
        min <= self.end && max >= self.start
    }
}

/// Why a sample was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Older than the out-of-order window allows.
    TooOld,
    /// Same timestamp as a stored sample, different value.
    Duplicate,
    /// The series' labels failed validation or a per-series limit.
    InvalidSeries,
    /// The store's series limit is reached.
    SeriesLimit,
}

impl RejectReason {
    /// Stable lowercase name, used as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooOld => "too_old",
            RejectReason::Duplicate => "duplicate",
            RejectReason::InvalidSeries => "invalid_series",
            RejectReason::SeriesLimit => "series_limit",
        }
    }
}

/// What an append did. Rejections are per sample and never abort the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples stored (identical re-sends of a stored sample count as accepted).
    pub accepted: usize,
    /// Series created by this append.
    pub new_series: usize,
    /// Rejected samples by reason, each with a count.
    pub rejected: Vec<(RejectReason, usize)>,
    /// A human-readable description of the first rejection, naming the series.
    pub first_rejection: Option<String>,
}

impl AppendOutcome {
    pub fn rejected_total(&self) -> usize {
        self.rejected.iter().map(|(_, n)| n).sum()
    }

    /// Records `n` rejected samples for `reason`, keeping the first message.
    pub fn reject(&mut self, reason: RejectReason, n: usize, message: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        match self.rejected.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => self.rejected.push((reason, n)),
        }
        if self.first_rejection.is_none() {
            self.first_rejection = Some(message());
        }
    }

    /// Folds another outcome into this one.
    pub fn merge(&mut self, other: AppendOutcome) {
        self.accepted += other.accepted;
        self.new_series += other.new_series;
        for (r, n) in other.rejected {
            let msg = other.first_rejection.clone();
            self.reject(r, n, || msg.unwrap_or_default());
        }
    }
}

/// One series with its samples in a range.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// A stream of series, sorted by label set.
pub type SeriesSet<'a> = Box<dyn Iterator<Item = Result<SeriesData, StorageError>> + Send + 'a>;

/// A name with a count, for status listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub name: String,
    pub value: u64,
}

impl ValueCount {
    /// The order of every [`TsdbStatus`] list: by count descending, then name, the first
    /// `limit` kept.
    pub fn top(mut v: Vec<ValueCount>, limit: usize) -> Vec<ValueCount> {
        v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
        v.truncate(limit);
        v
    }
}

/// Cardinality statistics in the shape of Prometheus's `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsdbStatus {
    pub num_series: u64,
    pub num_label_pairs: u64,
    pub chunk_count: u64,
    pub min_time: Timestamp,
    pub max_time: Timestamp,
    pub series_count_by_metric_name: Vec<ValueCount>,
    pub label_value_count_by_label_name: Vec<ValueCount>,
    pub memory_in_bytes_by_label_name: Vec<ValueCount>,
    pub series_count_by_label_value_pair: Vec<ValueCount>,
}

/// The write side of a metric store.
pub trait MetricAppend: Send + Sync {
    /// Appends every sample of `batch`. When this returns `Ok`, accepted samples are durable
    /// according to the store's fsync policy (the embedded TSDB: in its WAL).
    ///
    /// # Errors
    /// Only when nothing could be stored (e.g. the WAL is unwritable); per-sample problems are
    /// reported in the [`AppendOutcome`].
    fn append(&self, batch: &Batch) -> Result<AppendOutcome, StorageError>;
}

/// The read side of a metric store.
pub trait MetricSelect: Send + Sync {
    /// Series matching all `matchers` that have at least one sample in `range`, sorted by labels,
    /// with their samples in `range`.
    ///
    /// # Errors
    /// Storage failures; an empty result is not an error.
    fn select(&self, matchers: &[Matcher], range: TimeRange)
        -> Result<SeriesSet<'_>, StorageError>;

    /// [`MetricSelect::select`] split into at most `parts` streams over consecutive runs of its
    /// result, so that a caller can read them on several cores; concatenated in order they are
    /// exactly what `select` returns. Stores that cannot split return one stream.
    ///
    /// # Errors
    /// As `select`.
    fn select_parts(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
        parts: usize,
    ) -> Result<Vec<SeriesSet<'_>>, StorageError> {
        let _ = parts;
        Ok(vec![self.select(matchers, range)?])
    }

    /// Label sets of the matching series with samples in `range`, sorted, without samples.
    ///
    /// # Errors
    /// Storage failures.
    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>, StorageError>;

    /// Sorted label names of the matching series (all series when `matchers` is empty).
    ///
    /// # Errors
    /// Storage failures.
    fn label_names(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError>;

    /// Sorted values of label `name` over the matching series (all series when empty).
    ///
    /// # Errors
    /// Storage failures.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError>;

    /// Cardinality statistics, top `limit` entries per list.
    ///
    /// # Errors
    /// Storage failures.
    fn status(&self, limit: usize) -> Result<TsdbStatus, StorageError>;
}

/// A complete metric store.
pub trait MetricStore: MetricAppend + MetricSelect {
    /// Persists everything buffered in memory (e.g. cuts the head into a block) so that on-disk
    /// size reflects all data. A no-op for stores that keep nothing in memory.
    ///
    /// # Errors
    /// Storage failures.
    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

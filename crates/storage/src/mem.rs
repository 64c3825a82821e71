//! In-memory reference backend: the simplest store that has the shared semantics, used by tests
//! of code above the storage boundary and as the model the conformance suite compares against.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::RwLock;
use vigil_model::{Batch, Labels, Matcher, Sample, Timestamp};

use crate::{
    AppendOutcome, MetricAppend, MetricSelect, MetricStore, RejectReason, SeriesData, SeriesSet,
    StorageError, TimeRange, TsdbStatus, ValueCount,
};

#[derive(Debug, Default)]
struct Inner {
    series: BTreeMap<Labels, BTreeMap<Timestamp, f64>>,
    max_t: Option<Timestamp>,
}

/// A map of label set → sorted samples behind a lock.
#[derive(Debug)]
pub struct MemStore {
    ooo_window_ms: i64,
    inner: RwLock<Inner>,
}

impl MemStore {
    /// A store accepting samples up to `ooo_window_ms` older than the newest one seen.
    pub fn new(ooo_window_ms: i64) -> Self {
        MemStore {
            ooo_window_ms,
            inner: RwLock::new(Inner::default()),
        }
    }

    fn matching<'a>(
        inner: &'a Inner,
        matchers: &'a [Matcher],
        range: TimeRange,
    ) -> impl Iterator<Item = (&'a Labels, &'a BTreeMap<Timestamp, f64>)> + 'a {
        // An inverted range selects nothing (and `BTreeMap::range` would panic on it).
        let empty = range.start > range.end;
        inner.series.iter().filter(move |(l, s)| {
            !empty
                && matchers.iter().all(|m| m.matches_labels(l))
                && s.range(range.start..=range.end).next().is_some()
        })
    }
}

impl MetricAppend for MemStore {
    fn append(&self, batch: &Batch) -> Result<AppendOutcome, StorageError> {
        let mut out = AppendOutcome::default();
        let mut inner = self.inner.write();
        let Inner { series, max_t } = &mut *inner;
        for s in &batch.series {
            let min_t = max_t.map(|m| m.saturating_sub(self.ooo_window_ms));
            let is_new = !series.contains_key(&s.labels);
            let entry = series.entry(s.labels.clone()).or_default();
            for smp in &s.samples {
                if min_t.is_some_and(|min| smp.t < min) {
                    out.reject(RejectReason::TooOld, 1, || {
                        format!(
                            "series {}: sample at {} is older than the out-of-order window",
                            s.labels, smp.t
                        )
                    });
                    continue;
                }
                match entry.get(&smp.t) {
                    Some(v) if v.to_bits() != smp.v.to_bits() => {
                        out.reject(RejectReason::Duplicate, 1, || {
                            format!(
                                "series {}: duplicate sample for timestamp {}",
                                s.labels, smp.t
                            )
                        });
                        continue;
                    }
                    _ => {
                        entry.insert(smp.t, smp.v);
                    }
                }
                out.accepted += 1;
                *max_t = Some(max_t.map_or(smp.t, |m| m.max(smp.t)));
            }
            if is_new {
                if entry.is_empty() {
                    // Every sample of a new series was refused: the series does not exist.
                    series.remove(&s.labels);
                } else {
                    out.new_series += 1;
                }
            }
        }
        Ok(out)
    }
}

impl MetricSelect for MemStore {
    fn select(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<SeriesSet<'_>, StorageError> {
        let inner = self.inner.read();
        let out: Vec<_> = Self::matching(&inner, matchers, range)
            .map(|(l, s)| {
                Ok(SeriesData {
                    labels: l.clone(),
                    samples: s
                        .range(range.start..=range.end)
                        .map(|(t, v)| Sample::new(*t, *v))
                        .collect(),
                })
            })
            .collect();
        Ok(Box::new(out.into_iter()))
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>, StorageError> {
        let inner = self.inner.read();
        Ok(Self::matching(&inner, matchers, range)
            .map(|(l, _)| l.clone())
            .collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError> {
        let inner = self.inner.read();
        let names: BTreeSet<String> = Self::matching(&inner, matchers, range)
            .flat_map(|(l, _)| l.iter().map(|l| l.name.clone()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError> {
        let inner = self.inner.read();
        let values: BTreeSet<String> = Self::matching(&inner, matchers, range)
            .filter_map(|(l, _)| l.get(name).map(str::to_owned))
            .collect();
        Ok(values.into_iter().collect())
    }

    fn status(&self, limit: usize) -> Result<TsdbStatus, StorageError> {
        let inner = self.inner.read();
        let mut by_name: BTreeMap<&str, u64> = BTreeMap::new();
        let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut min_time = Timestamp::MAX;
        let mut max_time = Timestamp::MIN;
        for (l, s) in &inner.series {
            *by_name.entry(l.metric_name().unwrap_or("")).or_default() += 1;
            for lab in l {
                *pairs
                    .entry((lab.name.clone(), lab.value.clone()))
                    .or_default() += 1;
            }
            if let (Some((first, _)), Some((last, _))) = (s.first_key_value(), s.last_key_value()) {
                min_time = min_time.min(*first);
                max_time = max_time.max(*last);
            }
        }
        let mut values_per_name: BTreeMap<&str, u64> = BTreeMap::new();
        for (n, _) in pairs.keys() {
            *values_per_name.entry(n.as_str()).or_default() += 1;
        }
        let top = |v: Vec<ValueCount>| ValueCount::top(v, limit);
        Ok(TsdbStatus {
            num_series: inner.series.len() as u64,
            num_label_pairs: pairs.len() as u64,
            chunk_count: 0,
            min_time,
            max_time,
            series_count_by_metric_name: top(by_name
                .iter()
                .map(|(n, c)| ValueCount {
                    name: (*n).to_owned(),
                    value: *c,
                })
                .collect()),
            label_value_count_by_label_name: top(values_per_name
                .iter()
                .map(|(n, c)| ValueCount {
                    name: (*n).to_owned(),
                    value: *c,
                })
                .collect()),
            memory_in_bytes_by_label_name: Vec::new(),
            series_count_by_label_value_pair: top(pairs
                .iter()
                .map(|((n, v), c)| ValueCount {
                    name: format!("{n}={v}"),
                    value: *c,
                })
                .collect()),
        })
    }
}

impl MetricStore for MemStore {}

//! The read side of the head: matcher resolution, labels and samples of series, time bounds and
//! the cardinality status.

use vigil_model::{Labels, Matcher, Sample, METRIC_NAME_LABEL};
use vigil_storage::{TimeRange, TsdbStatus, ValueCount};

use super::{Head, HeadIndex};
use crate::postings::postings_for_matchers;

impl Head {
    /// Sorted refs of the series matching `matchers`.
    pub fn postings_for(&self, matchers: &[Matcher]) -> Vec<u64> {
        let syms = self.symbols.read();
        let p = self.postings.read();
        postings_for_matchers(
            &HeadIndex {
                postings: &p,
                syms: &syms,
            },
            matchers,
        )
    }

    /// Labels of those of `refs` whose data overlaps `range` (`exact`: that have a sample in
    /// it), unsorted.
    pub fn labels_for(&self, refs: &[u64], range: TimeRange, exact: bool) -> Vec<(Labels, u64)> {
        let syms = self.symbols.read();
        refs.iter()
            .filter_map(|r| {
                let shard = self.shard_of_ref(*r).lock();
                let s = shard.get(*r)?;
                let ok = if exact {
                    s.has_samples_in(range)
                } else {
                    match (s.min_t(), s.max_t()) {
                        (Some(a), Some(b)) => range.overlaps(a, b),
                        _ => false,
                    }
                };
                ok.then(|| (syms.labels(&s.labels), *r))
            })
            .collect()
    }

    /// Appends the samples of series `r` in `range` to `out` (sorted).
    pub fn samples(&self, r: u64, range: TimeRange, out: &mut Vec<Sample>) {
        let shard = self.shard_of_ref(r).lock();
        if let Some(s) = shard.get(r) {
            s.samples_in(range, out);
        }
    }

    /// Oldest and newest sample time held in the head.
    pub fn time_bounds(&self) -> Option<(i64, i64)> {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = shard.lock();
            for (_, s) in shard.iter(i) {
                if let (Some(a), Some(b)) = (s.min_t(), s.max_t()) {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// Chunks held and approximate heap bytes of series data.
    pub fn chunk_stats(&self) -> (u64, u64) {
        let mut chunks = 0u64;
        let mut bytes = 0u64;
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = shard.lock();
            for (_, s) in shard.iter(i) {
                chunks += s.chunk_count() as u64;
                bytes += (s.heap_bytes() + std::mem::size_of::<super::MemSeries>() + 24) as u64;
            }
        }
        bytes += self.symbols.read().heap_bytes() as u64;
        (chunks, bytes)
    }

    /// Cardinality statistics in the shape of Prometheus's `/api/v1/status/tsdb`.
    pub fn status(&self, limit: usize) -> TsdbStatus {
        let (min_time, max_time) = self.time_bounds().unwrap_or((i64::MAX, i64::MIN));
        let (chunk_count, _) = self.chunk_stats();
        let syms = self.symbols.read();
        let p = self.postings.read();
        let mut by_metric = Vec::new();
        let mut values_per_name = Vec::new();
        let mut memory_per_name = Vec::new();
        let mut pairs = Vec::new();
        for (name, values) in &p.by_name {
            let name = syms.get(*name);
            values_per_name.push(ValueCount {
                name: name.to_owned(),
                value: values.len() as u64,
            });
            memory_per_name.push(ValueCount {
                name: name.to_owned(),
                value: values.keys().map(|v| syms.get(*v).len() as u64).sum(),
            });
            for (value, list) in values {
                let value = syms.get(*value);
                pairs.push(ValueCount {
                    name: format!("{name}={value}"),
                    value: list.len() as u64,
                });
                if name == METRIC_NAME_LABEL {
                    by_metric.push(ValueCount {
                        name: value.to_owned(),
                        value: list.len() as u64,
                    });
                }
            }
        }
        TsdbStatus {
            num_series: self.num_series(),
            num_label_pairs: pairs.len() as u64,
            chunk_count,
            min_time,
            max_time,
            series_count_by_metric_name: ValueCount::top(by_metric, limit),
            label_value_count_by_label_name: ValueCount::top(values_per_name, limit),
            memory_in_bytes_by_label_name: ValueCount::top(memory_per_name, limit),
            series_count_by_label_value_pair: ValueCount::top(pairs, limit),
        }
    }
}

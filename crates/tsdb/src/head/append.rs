//! The write path. For each series of a batch: hash the labels, lock the series' shard, find the
//! series without allocating, and place each sample (in order, out of order, duplicate, too old),
//! writing accepted samples into the WAL record the caller commits once per batch.
//!
//! Creating a series interns its labels under the symbol table's write lock; existing series are
//! found under a read lock held across the batch.

use std::sync::atomic::Ordering;

use vigil_model::{Labels, SeriesSamples};
use vigil_storage::{AppendOutcome, RejectReason};

use super::series::{MemSeries, OooInsert};
use super::Head;
use crate::labels::hash_labels;
use crate::walrec::{SamplesRecord, SeriesRecord};

/// Looks a sample up in the persisted blocks: the bits of the value stored for (labels, t).
pub type BlockLookup<'a> = &'a dyn Fn(&Labels, i64) -> Option<u64>;

/// Where one sample went.
enum Placed {
    Stored { ooo: bool },
    Identical,
    Conflict,
}

#[derive(Default)]
struct Tally {
    stored: u64,
    ooo: u64,
    too_old: u64,
    duplicate: u64,
}

impl Head {
    /// Applies `batch` to the head. Accepted samples (and created series) are added to the WAL
    /// records for the caller to write.
    pub fn append(
        &self,
        series: &[SeriesSamples],
        lookup: BlockLookup<'_>,
        series_rec: &mut SeriesRecord,
        samples_rec: &mut SamplesRecord,
    ) -> AppendOutcome {
        let mut out = AppendOutcome::default();
        let mut tally = Tally::default();
        // The symbol table is read-locked across the batch; creating a series needs its write
        // lock, so the guard is dropped and re-taken around each creation (series are still
        // handled in batch order, which keeps the out-of-order window semantics exact).
        let mut syms = Some(self.symbols.read());
        // Hash every label set first: independent loads over the batch's label strings overlap
        // their cache misses, where hashing inside the lookup loop would serialize them.
        let hashes: Vec<u64> = series.iter().map(|ss| hash_labels(&ss.labels)).collect();
        for (ss, &hash) in series.iter().zip(&hashes) {
            if ss.samples.is_empty() {
                continue;
            }
            if ss.labels.is_empty() {
                self.counters
                    .rejected_invalid
                    .fetch_add(ss.samples.len() as u64, Ordering::Relaxed);
                out.reject(RejectReason::InvalidSeries, ss.samples.len(), || {
                    "series with an empty label set".to_owned()
                });
                continue;
            }
            let found = {
                let guard = syms.get_or_insert_with(|| self.symbols.read());
                let (_, shard) = self.shard_of_hash(hash);
                let mut shard = shard.lock();
                match shard.find(hash, &ss.labels, guard) {
                    Some(r) => {
                        if let Some(s) = shard.get_mut(r) {
                            self.append_samples(
                                r,
                                s,
                                ss,
                                lookup,
                                samples_rec,
                                &mut out,
                                &mut tally,
                            );
                        }
                        true
                    }
                    None => false,
                }
            };
            if !found {
                syms = None;
                self.create_and_append(
                    ss,
                    hash,
                    lookup,
                    series_rec,
                    samples_rec,
                    &mut out,
                    &mut tally,
                );
            }
        }
        drop(syms);
        let c = &self.counters;
        c.samples_appended
            .fetch_add(tally.stored, Ordering::Relaxed);
        c.ooo_appended.fetch_add(tally.ooo, Ordering::Relaxed);
        c.rejected_too_old
            .fetch_add(tally.too_old, Ordering::Relaxed);
        c.rejected_duplicate
            .fetch_add(tally.duplicate, Ordering::Relaxed);
        out
    }

    #[inline]
    fn min_allowed(&self) -> i64 {
        self.max_t
            .load(Ordering::Relaxed)
            .saturating_sub(self.ooo_window_ms)
    }

    #[allow(clippy::too_many_arguments)]
    fn create_and_append(
        &self,
        ss: &SeriesSamples,
        hash: u64,
        lookup: BlockLookup<'_>,
        series_rec: &mut SeriesRecord,
        samples_rec: &mut SamplesRecord,
        out: &mut AppendOutcome,
        tally: &mut Tally,
    ) {
        // A series none of whose samples can be stored is not created.
        let min = self.min_allowed();
        if ss.samples.iter().all(|s| s.t < min) {
            let n = ss.samples.len();
            tally.too_old += n as u64;
            out.reject(RejectReason::TooOld, n, || {
                format!(
                    "series {}: sample at {} is older than the out-of-order window",
                    ss.labels,
                    ss.samples.first().map_or(0, |s| s.t)
                )
            });
            return;
        }
        let pairs = self.symbols.write().intern_labels(&ss.labels);
        let syms = self.symbols.read();
        let (shard_idx, shard) = self.shard_of_hash(hash);
        let mut shard = shard.lock();
        let r = match shard.find(hash, &ss.labels, &syms) {
            Some(r) => r,
            None => {
                if self.max_series > 0 && self.num_series() >= self.max_series as u64 {
                    let n = ss.samples.len();
                    self.counters
                        .rejected_series_limit
                        .fetch_add(n as u64, Ordering::Relaxed);
                    out.reject(RejectReason::SeriesLimit, n, || {
                        format!(
                            "series {}: the limit of {} series is reached",
                            ss.labels, self.max_series
                        )
                    });
                    return;
                }
                let r = self.create_locked(shard_idx, &mut shard, pairs, hash);
                series_rec.add(r, &ss.labels);
                out.new_series += 1;
                r
            }
        };
        if let Some(s) = shard.get_mut(r) {
            self.append_samples(r, s, ss, lookup, samples_rec, out, tally);
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn append_samples(
        &self,
        r: u64,
        s: &mut MemSeries,
        ss: &SeriesSamples,
        lookup: BlockLookup<'_>,
        rec: &mut SamplesRecord,
        out: &mut AppendOutcome,
        tally: &mut Tally,
    ) {
        // Computed once per series, as the reference MemStore does.
        let min = self.min_allowed();
        let mut newest = i64::MIN;
        for smp in &ss.samples {
            let (t, v) = (smp.t, smp.v);
            if t < min {
                tally.too_old += 1;
                out.reject(RejectReason::TooOld, 1, || {
                    format!(
                        "series {}: sample at {t} is older than the out-of-order window",
                        ss.labels
                    )
                });
                continue;
            }
            let placed = if t > s.last_t && t > s.persisted_max_t {
                s.append_inorder(t, v, self.block_range_ms);
                Placed::Stored { ooo: false }
            } else {
                self.place_slow(s, t, v, &ss.labels, lookup)
            };
            match placed {
                Placed::Stored { ooo } => {
                    rec.add(r, t, v);
                    tally.stored += 1;
                    tally.ooo += u64::from(ooo);
                    newest = newest.max(t);
                    out.accepted += 1;
                }
                Placed::Identical => out.accepted += 1,
                Placed::Conflict => {
                    tally.duplicate += 1;
                    out.reject(RejectReason::Duplicate, 1, || {
                        format!("series {}: duplicate sample for timestamp {t}", ss.labels)
                    });
                }
            }
        }
        if newest != i64::MIN {
            self.max_t.fetch_max(newest, Ordering::Relaxed);
        }
    }

    /// A sample that is not simply the newest: check blocks, the in-order data, and the
    /// out-of-order buffer.
    fn place_slow(
        &self,
        s: &mut MemSeries,
        t: i64,
        v: f64,
        labels: &Labels,
        lookup: BlockLookup<'_>,
    ) -> Placed {
        let verdict = |bits: u64| {
            if bits == v.to_bits() {
                Placed::Identical
            } else {
                Placed::Conflict
            }
        };
        if t <= s.persisted_max_t {
            if let Some(bits) = lookup(labels, t) {
                return verdict(bits);
            }
        }
        if t > s.last_t {
            s.append_inorder(t, v, self.block_range_ms);
            return Placed::Stored { ooo: false };
        }
        if t == s.last_t && s.open.is_some() {
            return verdict(s.last_v);
        }
        if let Some(bits) = s.inorder_value_at(t) {
            return verdict(bits);
        }
        match s.ooo_insert(t, v) {
            OooInsert::Inserted => Placed::Stored { ooo: true },
            OooInsert::Identical => Placed::Identical,
            OooInsert::Conflict => Placed::Conflict,
        }
    }
}

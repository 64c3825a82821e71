//! Moving data out of the head and back in: copying samples below a time into blocks and then
//! truncating them, garbage-collecting empty series, writing the WAL checkpoint (a dump of the
//! head), and replaying the WAL on open.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use tracing::{error, warn};
use vigil_model::{Labels, Sample};
use vigil_wal::{CheckpointWriter, WalError, WalReader};

use super::series::MemSeries;
use super::{Head, SHARD_MASK};
use crate::chunkenc::xor::decode_head_chunk;
use crate::labels::hash_labels;
use crate::walrec::{chunk_record, decode_record, SamplesRecord, SeriesRecord, WalRecord};

/// What was copied out of one series, to truncate exactly that later.
#[derive(Debug)]
pub struct CopiedSeries {
    pub r: u64,
    pub inorder_n: usize,
    pub ooo_ts: Vec<i64>,
    /// Newest timestamp copied.
    pub max_t: i64,
}

/// What a WAL replay found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub records: u64,
    pub series: u64,
    pub samples: u64,
    /// Damaged or unreadable WAL files (each reported with file and offset).
    pub corruptions: u64,
    /// Records that failed to decode.
    pub bad_records: u64,
    /// Samples whose series record was never found.
    pub unknown_ref_samples: u64,
}

impl Head {
    /// Refs of series holding data older than `hi`, sorted by label set.
    pub fn refs_below(&self, hi: i64) -> Vec<u64> {
        let mut v: Vec<(u64, crate::labels::LabelIds)> = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = shard.lock();
            for (r, s) in shard.iter(i) {
                if s.min_t().is_some_and(|t| t < hi) {
                    v.push((r, s.labels.clone()));
                }
            }
        }
        let syms = self.symbols.read();
        v.sort_by(|a, b| syms.cmp_pairs(&a.1, &b.1).then(a.0.cmp(&b.0)));
        v.into_iter().map(|(r, _)| r).collect()
    }

    /// Copies the samples of series `r` older than `hi` into `out`; returns the series' labels
    /// and what to truncate once the copy is persisted.
    pub fn copy_below(
        &self,
        r: u64,
        hi: i64,
        out: &mut Vec<Sample>,
    ) -> Option<(Labels, CopiedSeries)> {
        let syms = self.symbols.read();
        let shard = self.shard_of_ref(r).lock();
        let s = shard.get(r)?;
        let before = out.len();
        let (inorder_n, ooo_ts) = s.copy_below(hi, out);
        let max_t = out
            .get(before..)
            .and_then(|x| x.last())
            .map_or(i64::MIN, |x| x.t);
        Some((
            syms.labels(&s.labels),
            CopiedSeries {
                r,
                inorder_n,
                ooo_ts,
                max_t,
            },
        ))
    }

    /// Drops what [`Head::copy_below`] copied, now that it is in a committed block.
    pub fn truncate(&self, copied: &[CopiedSeries]) {
        let mut newest = i64::MIN;
        for c in copied {
            let mut shard = self.shard_of_ref(c.r).lock();
            if let Some(s) = shard.get_mut(c.r) {
                s.truncate(c.inorder_n, &c.ooo_ts, c.max_t);
            }
            newest = newest.max(c.max_t);
        }
        self.observe_persisted(newest);
    }

    /// Removes series that hold no samples; returns how many.
    pub fn gc(&self) -> usize {
        let mut removed = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let mut shard = shard.lock();
            let empty: Vec<u64> = shard
                .iter(i)
                .filter(|(_, s)| s.is_empty())
                .map(|(r, _)| r)
                .collect();
            for r in empty {
                if let Some(s) = shard.remove(r) {
                    removed.push((r, s));
                }
            }
        }
        let n = removed.len();
        self.remove_series(removed);
        n
    }

    /// Writes every series holding samples, with its chunks and out-of-order samples.
    ///
    /// # Errors
    /// Writing the checkpoint failed.
    pub fn write_checkpoint(&self, cp: &mut CheckpointWriter<'_>) -> Result<(), WalError> {
        let mut recs: Vec<Vec<u8>> = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            recs.clear();
            {
                let syms = self.symbols.read();
                let shard = shard.lock();
                for (r, s) in shard.iter(i) {
                    if s.is_empty() {
                        continue;
                    }
                    let mut sr = SeriesRecord::default();
                    sr.add(r, &syms.labels(&s.labels));
                    recs.push(sr.finish());
                    for c in &s.closed {
                        recs.push(chunk_record(r, usize::from(c.n), &c.data));
                    }
                    if let Some(a) = &s.open {
                        recs.push(chunk_record(r, usize::from(a.len()), &a.bytes()));
                    }
                    if !s.ooo.is_empty() {
                        let mut rec = SamplesRecord::with_capacity(s.ooo.len());
                        for x in &s.ooo {
                            rec.add(r, x.t, x.v);
                        }
                        recs.push(rec.finish());
                    }
                }
            }
            let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
            cp.append(&refs)?;
        }
        Ok(())
    }

    /// Recreates series `r` from a WAL series record.
    fn replay_series(&self, r: u64, labels: &Labels) {
        let pairs = self.symbols.write().intern_labels(labels);
        let hash = hash_labels(labels);
        let syms = self.symbols.read();
        let shard_idx = (r & SHARD_MASK) as usize;
        let mut shard = self.shards[shard_idx].lock();
        if let Some(existing) = shard.get(r) {
            if !syms.equals(&existing.labels, labels) {
                warn!(series_ref = r, series = %labels, "wal series record reuses a ref with other labels; ignored");
            }
            return;
        }
        // Only findable by labels when the ref's shard is the one its hash picks today and no
        // other series there has the same labels (see the module docs of `head`).
        let findable =
            (hash & SHARD_MASK) as usize == shard_idx && shard.find(hash, labels, &syms).is_none();
        self.postings.write().add(r, &pairs);
        let s = MemSeries::new(pairs, hash, self.persisted_max_t.load(Ordering::Relaxed));
        shard.insert(r, s, findable);
        self.num_series.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies one replayed sample; false when the series is unknown.
    fn replay_sample(&self, r: u64, t: i64, v: f64) -> bool {
        let mut shard = self.shard_of_ref(r).lock();
        let Some(s) = shard.get_mut(r) else {
            return false;
        };
        if t > s.last_t {
            s.append_inorder(t, v, self.block_range_ms);
        } else if t < s.last_t && s.inorder_value_at(t).is_none() {
            s.ooo_insert(t, v);
        }
        drop(shard);
        self.max_t.fetch_max(t, Ordering::Relaxed);
        true
    }

    /// Rebuilds the head from a WAL reader. Damage is logged with file and offset and skipped;
    /// samples whose series record comes later are held until it does.
    pub fn replay(&self, reader: &mut WalReader) -> ReplayStats {
        let mut st = ReplayStats::default();
        let mut pending: HashMap<u64, Vec<(i64, f64)>> = HashMap::new();
        let mut chunk_buf: Vec<Sample> = Vec::new();
        while let Some(rec) = reader.next_record() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    st.corruptions += 1;
                    error!(error = %e, "wal damaged; replaying what is readable");
                    continue;
                }
            };
            st.records += 1;
            let (path, offset) = (rec.path.to_path_buf(), rec.offset);
            match decode_record(rec.data) {
                Ok(WalRecord::Series(series)) => {
                    for (r, labels) in series {
                        self.replay_series(r, &labels);
                        st.series += 1;
                        if let Some(samples) = pending.remove(&r) {
                            for (t, v) in samples {
                                self.replay_sample(r, t, v);
                                st.samples += 1;
                            }
                        }
                    }
                }
                Ok(WalRecord::Samples(samples)) => {
                    for (r, t, v) in samples {
                        if self.replay_sample(r, t, v) {
                            st.samples += 1;
                        } else {
                            pending.entry(r).or_default().push((t, v));
                        }
                    }
                }
                Ok(WalRecord::Chunk { r, n, data }) => {
                    chunk_buf.clear();
                    if let Err(e) = decode_head_chunk(data, n, &mut chunk_buf) {
                        st.bad_records += 1;
                        error!(path = %path.display(), offset, error = %e, "undecodable chunk record in wal checkpoint");
                    }
                    for s in &chunk_buf {
                        if self.replay_sample(r, s.t, s.v) {
                            st.samples += 1;
                        } else {
                            pending.entry(r).or_default().push((s.t, s.v));
                        }
                    }
                }
                Err(e) => {
                    st.bad_records += 1;
                    error!(path = %path.display(), offset, error = %e, "undecodable wal record skipped");
                }
            }
        }
        st.unknown_ref_samples = pending.values().map(|v| v.len() as u64).sum();
        if st.unknown_ref_samples > 0 {
            warn!(
                samples = st.unknown_ref_samples,
                series = pending.len(),
                "wal samples without a series record were dropped"
            );
        }
        st
    }
}

//! Background upkeep, run by [`Tsdb::maintain`] from a blocking thread the server owns: cut old
//! head data into blocks and checkpoint the WAL behind it, compact blocks, apply retention.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::{error, info};
use vigil_model::Sample;

use super::{sort_blocks, Tsdb};
use crate::block::{BlockReader, BlockWriter, DELETED_SUFFIX};
use crate::compact::{merge_blocks, merge_samples, plan};
use crate::head::CopiedSeries;
use crate::stats::MaintainReport;
use crate::TsdbError;

/// Most compactions one `maintain` call runs, to bound its duration.
const MAX_COMPACTIONS_PER_CALL: usize = 8;

/// Renames a block directory aside, then removes it.
pub(super) fn remove_block_dir(dir: &Path) -> Result<(), TsdbError> {
    let mut aside = dir.as_os_str().to_owned();
    aside.push(DELETED_SUFFIX);
    fs::rename(dir, &aside).map_err(|e| TsdbError::io(dir, e))?;
    fs::remove_dir_all(&aside).map_err(|e| TsdbError::io(Path::new(&aside), e))
}

impl Tsdb {
    /// Periodic upkeep: persists head data older than
    /// `max(block_range / 2, ooo_window)` before the newest sample (in block-range-aligned
    /// blocks) and checkpoints the WAL behind it; compacts blocks; deletes blocks past the
    /// retention time or size. Safe to call concurrently with appends and queries; concurrent
    /// calls run one after the other.
    ///
    /// # Errors
    /// File-system failures; the store stays consistent (a failed step is retried next call).
    pub fn maintain(&self) -> Result<MaintainReport, TsdbError> {
        let _g = self.maintain_lock.lock();
        let mut rep = MaintainReport::default();
        if let Some((lo, hi)) = self.head.time_bounds() {
            let range = self.opts.block_range_ms;
            let keep = (range / 2).max(self.opts.ooo_window_ms);
            let cut = hi
                .saturating_sub(keep)
                .div_euclid(range)
                .saturating_mul(range);
            if cut > lo {
                self.persist_below(cut, &mut rep)?;
            }
        }
        self.compact(&mut rep)?;
        self.apply_retention(&mut rep)?;
        if rep != MaintainReport::default() {
            info!(
                blocks_written = rep.blocks_written,
                samples_persisted = rep.samples_persisted,
                compactions = rep.compactions,
                retention_deleted = rep.retention_blocks_deleted,
                "tsdb maintenance"
            );
        }
        Ok(rep)
    }

    /// Persists everything in the head into blocks (one per block-range slot the data falls
    /// in) and checkpoints the WAL; the store stays fully usable. This is `flush()`.
    ///
    /// # Errors
    /// File-system failures.
    pub fn flush_head(&self) -> Result<MaintainReport, TsdbError> {
        let _g = self.maintain_lock.lock();
        let mut rep = MaintainReport::default();
        self.persist_below(i64::MAX, &mut rep)?;
        Ok(rep)
    }

    fn next_block_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    fn add_blocks(&self, new: Vec<Arc<BlockReader>>, remove: &[Arc<BlockReader>]) {
        let mut blocks = self.blocks.write();
        blocks.retain(|b| !remove.iter().any(|r| r.id() == b.id()));
        blocks.extend(new);
        sort_blocks(&mut blocks);
    }

    /// Moves head samples older than `hi` into blocks, then checkpoints the WAL.
    fn persist_below(&self, hi: i64, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let refs = self.head.refs_below(hi);
        if !refs.is_empty() {
            let range = self.opts.block_range_ms;
            let mut writers: BTreeMap<i64, BlockWriter> = BTreeMap::new();
            let mut copied: Vec<CopiedSeries> = Vec::with_capacity(refs.len());
            let mut pending: Option<(vigil_model::Labels, Vec<Sample>)> = None;
            let mut buf = Vec::new();
            for r in refs {
                buf.clear();
                let Some((labels, c)) = self.head.copy_below(r, hi, &mut buf) else {
                    continue;
                };
                if buf.is_empty() {
                    continue;
                }
                rep.samples_persisted += buf.len() as u64;
                // Two head series with one label set (see `head`) are written as one.
                match &mut pending {
                    Some((l, s)) if *l == labels => {
                        s.append(&mut buf);
                        merge_samples(s);
                    }
                    _ => {
                        if let Some((l, s)) = pending.take() {
                            self.write_split(&mut writers, &l, &s, range)?;
                        }
                        pending = Some((labels, std::mem::take(&mut buf)));
                    }
                }
                copied.push(c);
            }
            if let Some((l, s)) = pending.take() {
                self.write_split(&mut writers, &l, &s, range)?;
            }
            let mut new = Vec::new();
            for (_, w) in writers {
                if let Some((dir, _)) = w.finish()? {
                    new.push(Arc::new(BlockReader::open(&dir)?));
                }
            }
            rep.blocks_written += new.len();
            self.counters
                .blocks_written
                .fetch_add(new.len() as u64, Ordering::Relaxed);
            if let Some(max) = new.iter().map(|b| b.meta().max_time).max() {
                self.head.observe_persisted(max.min(hi.saturating_sub(1)));
            }
            self.add_blocks(new, &[]);
            self.head.truncate(&copied);
            rep.head_series_removed += self.head.gc();
        }
        let upto = self.wal.cut()?;
        let mut cp = self.wal.checkpoint(upto)?;
        self.head.write_checkpoint(&mut cp)?;
        let cr = cp.commit()?;
        self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        rep.wal_segments_removed += cr.segments_removed;
        Ok(())
    }

    /// Adds one series' samples to the writers of the block-range slots they fall in.
    fn write_split(
        &self,
        writers: &mut BTreeMap<i64, BlockWriter>,
        labels: &vigil_model::Labels,
        samples: &[Sample],
        range: i64,
    ) -> Result<(), TsdbError> {
        let mut rest = samples;
        while let Some(first) = rest.first() {
            let slot = first.t.div_euclid(range);
            let end = slot.saturating_add(1).saturating_mul(range);
            let n = rest.partition_point(|s| s.t < end);
            let (run, tail) = rest.split_at(n);
            let w = match writers.entry(slot) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let min = slot.saturating_mul(range);
                    let w = BlockWriter::create(
                        &self.blocks_dir,
                        self.next_block_seq(),
                        min,
                        end.saturating_sub(1),
                        1,
                        Vec::new(),
                    )?;
                    e.insert(w)
                }
            };
            w.add_series(labels, run)?;
            rest = tail;
        }
        Ok(())
    }

    fn compact(&self, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let ranges = self.opts.compaction_ranges();
        for _ in 0..MAX_COMPACTIONS_PER_CALL {
            let snapshot = self.blocks.read().clone();
            let Some(sources) = plan(&snapshot, &ranges) else {
                break;
            };
            let seq = self.next_block_seq();
            let merged = match merge_blocks(&self.blocks_dir, seq, &sources) {
                Ok(m) => m,
                Err(e) => {
                    self.counters
                        .compaction_failures
                        .fetch_add(1, Ordering::Relaxed);
                    error!(error = %e, "compaction failed");
                    return Err(e);
                }
            };
            let new = match merged {
                Some((dir, _)) => vec![Arc::new(BlockReader::open(&dir)?)],
                None => Vec::new(),
            };
            self.add_blocks(new, &sources);
            for s in &sources {
                remove_block_dir(s.dir())?;
            }
            rep.compactions += 1;
            self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn apply_retention(&self, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let cutoff = self
            .clock
            .now_ms()
            .saturating_sub(self.opts.retention_time_ms);
        let snapshot = self.blocks.read().clone();
        let mut doomed: Vec<Arc<BlockReader>> = snapshot
            .iter()
            .filter(|b| b.meta().max_time < cutoff)
            .cloned()
            .collect();
        if self.opts.retention_size_bytes > 0 {
            let mut total: u64 =
                snapshot.iter().map(|b| b.size_bytes()).sum::<u64>() + self.wal.disk_bytes()?;
            for b in &doomed {
                total = total.saturating_sub(b.size_bytes());
            }
            for b in &snapshot {
                if total <= self.opts.retention_size_bytes {
                    break;
                }
                if doomed.iter().any(|d| d.id() == b.id()) {
                    continue;
                }
                total = total.saturating_sub(b.size_bytes());
                doomed.push(b.clone());
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        self.add_blocks(Vec::new(), &doomed);
        for b in &doomed {
            info!(
                block = b.id(),
                min_time = b.meta().min_time,
                max_time = b.meta().max_time,
                "retention deleted block"
            );
            remove_block_dir(b.dir())?;
        }
        rep.retention_blocks_deleted += doomed.len();
        self.counters
            .retention_deleted
            .fetch_add(doomed.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

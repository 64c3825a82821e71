//! [`Tsdb`]: the store that ties the head, the WAL and the blocks together and implements the
//! storage traits.
//!
//! Split by job: this file opens, appends and reports; `query.rs` reads across head and blocks;
//! `maintain.rs` cuts the head into blocks, checkpoints the WAL, compacts and applies retention.

mod maintain;
mod query;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tracing::{error, info, warn};
use vigil_model::{Batch, Clock, Labels};
use vigil_storage::{AppendOutcome, MetricAppend, MetricStore, StorageError};
use vigil_wal::Wal;

use crate::block::{parse_block_seq, BlockReader, DELETED_SUFFIX, TMP_SUFFIX};
use crate::head::Head;
use crate::stats::TsdbStats;
use crate::walrec::{SamplesRecord, SeriesRecord};
use crate::{TsdbError, TsdbOptions};

const BLOCKS_DIR: &str = "blocks";
const WAL_DIR: &str = "wal";

#[derive(Debug, Default)]
struct DbCounters {
    blocks_written: AtomicU64,
    compactions: AtomicU64,
    compaction_failures: AtomicU64,
    retention_deleted: AtomicU64,
    checkpoints: AtomicU64,
    wal_corruptions: AtomicU64,
    wal_unknown_refs: AtomicU64,
    corrupt_blocks: AtomicU64,
}

/// The embedded metric store. See the crate docs for the design and `docs/format/` for the
/// files it writes.
pub struct Tsdb {
    dir: PathBuf,
    blocks_dir: PathBuf,
    opts: TsdbOptions,
    clock: Arc<dyn Clock>,
    head: Head,
    wal: Wal,
    /// Sorted by (min_time, id).
    blocks: RwLock<Vec<Arc<BlockReader>>>,
    maintain_lock: Mutex<()>,
    next_seq: AtomicU64,
    counters: DbCounters,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn sort_blocks(v: &mut [Arc<BlockReader>]) {
    v.sort_by(|a, b| (a.meta().min_time, a.id()).cmp(&(b.meta().min_time, b.id())));
}

impl Tsdb {
    /// Opens (creating if needed) the store in `dir`: loads blocks, repairs and replays the
    /// WAL into the head. A damaged WAL is reported (logged with file and offset, counted in
    /// [`TsdbStats::wal_corruptions`]) and its readable part replayed; a block that fails to load
    /// is logged, counted and ignored.
    ///
    /// # Errors
    /// Invalid options or file-system failures.
    pub fn open(dir: &Path, opts: TsdbOptions, clock: Arc<dyn Clock>) -> Result<Tsdb, TsdbError> {
        opts.validate()?;
        let blocks_dir = dir.join(BLOCKS_DIR);
        fs::create_dir_all(&blocks_dir).map_err(|e| TsdbError::io(&blocks_dir, e))?;
        let counters = DbCounters::default();
        let (blocks, max_seq) = load_blocks(&blocks_dir, &counters)?;
        let head = Head::new(opts.ooo_window_ms, opts.block_range_ms, opts.max_series);
        if let Some(max) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.observe_max_t(max);
            head.observe_persisted(max);
        }
        let wal = Wal::open(&dir.join(WAL_DIR), opts.wal.clone())?;
        if let Some(rep) = wal.repaired() {
            counters.wal_corruptions.fetch_add(1, Ordering::Relaxed);
            warn!(
                path = %rep.path.display(),
                offset = rep.offset,
                dropped_bytes = rep.dropped_bytes,
                reason = %rep.reason,
                "truncated torn wal tail"
            );
        }
        let mut reader = wal.reader()?;
        let st = head.replay(&mut reader);
        counters
            .wal_corruptions
            .fetch_add(st.corruptions + st.bad_records, Ordering::Relaxed);
        counters
            .wal_unknown_refs
            .fetch_add(st.unknown_ref_samples, Ordering::Relaxed);
        info!(
            dir = %dir.display(),
            blocks = blocks.len(),
            series = head.num_series(),
            samples = st.samples,
            records = st.records,
            "tsdb opened"
        );
        Ok(Tsdb {
            dir: dir.to_path_buf(),
            blocks_dir,
            opts,
            clock,
            head,
            wal,
            blocks: RwLock::new(blocks),
            maintain_lock: Mutex::new(()),
            next_seq: AtomicU64::new(max_seq + 1),
            counters,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &TsdbOptions {
        &self.opts
    }

    /// Metadata of the loaded blocks, oldest first.
    pub fn blocks(&self) -> Vec<crate::block::BlockMeta> {
        self.blocks
            .read()
            .iter()
            .map(|b| b.meta().clone())
            .collect()
    }

    /// A snapshot of counters and sizes. Scans the head (a few ms per 100k series).
    pub fn stats(&self) -> TsdbStats {
        let c = &self.head.counters;
        let (head_chunks, head_bytes) = self.head.chunk_stats();
        let bounds = self.head.time_bounds();
        let blocks = self.blocks.read();
        let wal = self.wal.stats();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TsdbStats {
            head_series: self.head.num_series(),
            head_chunks,
            head_bytes,
            head_min_time: bounds.map(|b| b.0),
            head_max_time: bounds.map(|b| b.1),
            samples_appended: load(&c.samples_appended),
            ooo_samples_appended: load(&c.ooo_appended),
            rejected_too_old: load(&c.rejected_too_old),
            rejected_duplicate: load(&c.rejected_duplicate),
            rejected_invalid_series: load(&c.rejected_invalid),
            rejected_series_limit: load(&c.rejected_series_limit),
            series_created: load(&c.series_created),
            series_removed: load(&c.series_removed),
            blocks: blocks.len() as u64,
            block_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            block_index_bytes: blocks.iter().map(|b| b.heap_bytes() as u64).sum(),
            wal_bytes: self.wal.disk_bytes().unwrap_or(0),
            wal_bytes_written: wal.bytes_written,
            wal_fsyncs: wal.fsyncs,
            wal_fsync_seconds: wal.fsync_nanos as f64 / 1e9,
            blocks_written: load(&self.counters.blocks_written),
            compactions: load(&self.counters.compactions),
            compaction_failures: load(&self.counters.compaction_failures),
            retention_blocks_deleted: load(&self.counters.retention_deleted),
            checkpoints: load(&self.counters.checkpoints),
            wal_corruptions: load(&self.counters.wal_corruptions),
            wal_unknown_ref_samples: load(&self.counters.wal_unknown_refs),
            corrupt_blocks: load(&self.counters.corrupt_blocks),
        }
    }

    /// Syncs the WAL and closes the store. Head data stays in the WAL and is replayed on the
    /// next open; nothing is lost by skipping this (appends are in the WAL already), only the
    /// last fsync interval's durability against power loss.
    ///
    /// # Errors
    /// A failed fsync.
    pub fn close(self) -> Result<(), TsdbError> {
        let _g = self.maintain_lock.lock();
        self.wal.sync()?;
        Ok(())
    }

    /// Looks up a sample in the blocks, for duplicate detection below the persisted boundary.
    fn block_value(&self, labels: &Labels, t: i64) -> Option<u64> {
        let blocks = self.blocks.read();
        for b in blocks.iter().rev() {
            match b.lookup(labels, t) {
                Ok(Some(bits)) => return Some(bits),
                Ok(None) => {}
                Err(e) => warn!(block = b.id(), error = %e, "block lookup failed"),
            }
        }
        None
    }
}

/// Loads every complete block in `blocks_dir`, removing leftovers of interrupted writes,
/// deletions and compactions. Returns the blocks and the highest sequence number seen.
fn load_blocks(
    blocks_dir: &Path,
    counters: &DbCounters,
) -> Result<(Vec<Arc<BlockReader>>, u64), TsdbError> {
    let mut max_seq = 0;
    let mut blocks = Vec::new();
    let rd = fs::read_dir(blocks_dir).map_err(|e| TsdbError::io(blocks_dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| TsdbError::io(blocks_dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(seq) = parse_block_seq(&name) else {
            continue;
        };
        max_seq = max_seq.max(seq);
        if name.ends_with(TMP_SUFFIX) || name.ends_with(DELETED_SUFFIX) {
            fs::remove_dir_all(&path).map_err(|e| TsdbError::io(&path, e))?;
            continue;
        }
        match BlockReader::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                counters.corrupt_blocks.fetch_add(1, Ordering::Relaxed);
                error!(block = %path.display(), error = %e, "block failed to load; ignored");
            }
        }
    }
    // A compaction that committed its block but crashed before deleting the sources.
    let superseded: std::collections::HashSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta().sources.iter().cloned())
        .collect();
    let (gone, mut keep): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| superseded.contains(b.id()));
    for b in gone {
        info!(
            block = b.id(),
            "removing block already merged by a compaction"
        );
        maintain::remove_block_dir(b.dir())?;
    }
    sort_blocks(&mut keep);
    Ok((keep, max_seq))
}

impl MetricAppend for Tsdb {
    fn append(&self, batch: &Batch) -> Result<AppendOutcome, StorageError> {
        if batch.series.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let mut series_rec = SeriesRecord::default();
        let mut samples_rec = SamplesRecord::with_capacity(batch.sample_count());
        let lookup = |l: &Labels, t: i64| self.block_value(l, t);
        let out = self
            .head
            .append(&batch.series, &lookup, &mut series_rec, &mut samples_rec);
        let mut recs: Vec<Vec<u8>> = Vec::with_capacity(2);
        if !series_rec.is_empty() {
            recs.push(series_rec.finish());
        }
        if !samples_rec.is_empty() {
            recs.push(samples_rec.finish());
        }
        if !recs.is_empty() {
            let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
            self.wal
                .append(&refs)
                .map_err(|e| StorageError::from(TsdbError::from(e)))?;
        }
        Ok(out)
    }
}

impl MetricStore for Tsdb {
    fn flush(&self) -> Result<(), StorageError> {
        self.flush_head().map(|_| ()).map_err(StorageError::from)
    }
}

//! The writing side: [`Wal`] opens a log directory (repairing a torn tail), appends batches of
//! records with the configured fsync policy and group commit, cuts segments, and deletes
//! segments that a checkpoint replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::checkpoint::CheckpointWriter;
use crate::reader::WalReader;
use crate::segment::{
    encode_frame, frame_len, header, list_dir, segment_name, sync_dir, SegmentScanner, HEADER_LEN,
};
use crate::{FsyncPolicy, WalError, WalOptions};

/// A torn or damaged tail that [`Wal::open`] cut off the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub path: PathBuf,
    /// Where the first bad record started; the file now ends here.
    pub offset: u64,
    /// Bytes removed.
    pub dropped_bytes: u64,
    pub reason: String,
}

/// A batch written by [`Wal::write`]: its sequence number, for [`Wal::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "pass it to Wal::wait to make the batch durable"]
pub struct Written(u64);

/// Counters of a [`Wal`], for the server's `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    pub fsyncs: u64,
    /// Sum of fsync durations in nanoseconds.
    pub fsync_nanos: u64,
    pub records_written: u64,
    pub bytes_written: u64,
    pub segments_created: u64,
    pub current_segment: u64,
}

#[derive(Debug, Default)]
struct Counters {
    fsyncs: AtomicU64,
    fsync_nanos: AtomicU64,
    records: AtomicU64,
    bytes: AtomicU64,
    segments: AtomicU64,
}

struct Inner {
    file: Arc<File>,
    seg: u64,
    size: u64,
    /// Sequence number of the last batch written.
    written: u64,
    buf: Vec<u8>,
    broken: Option<String>,
}

#[derive(Debug, Default)]
struct SyncState {
    synced: u64,
    in_progress: bool,
}

/// A segmented append-only log of opaque records. `append` is thread-safe.
///
/// Format and recovery rules: `docs/format/wal.md`.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    inner: Mutex<Inner>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last completed fsync.
    last_sync_ns: AtomicU64,
    counters: Counters,
    repaired: Option<Repair>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens (creating if needed) the log in `dir` for writing: removes unfinished checkpoints
    /// and segments a checkpoint replaced, truncates a torn tail of the last segment (see
    /// [`Wal::repaired`]) and starts a new segment. Replays nothing: use [`Wal::reader`].
    ///
    /// # Errors
    /// File-system failures.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal, WalError> {
        fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        let listing = list_dir(dir)?;
        for tmp in &listing.tmp {
            fs::remove_dir_all(tmp).map_err(|e| WalError::io(tmp, e))?;
        }
        let last_cp = listing.checkpoints.last().map(|(n, _)| *n);
        for (n, path) in &listing.checkpoints {
            if Some(*n) != last_cp {
                fs::remove_dir_all(path).map_err(|e| WalError::io(path, e))?;
            }
        }
        let mut segments = Vec::new();
        for (n, path) in listing.segments {
            if last_cp.is_some_and(|cp| n <= cp) {
                fs::remove_file(&path).map_err(|e| WalError::io(&path, e))?;
            } else {
                segments.push((n, path));
            }
        }
        let repaired = match segments.last() {
            Some((_, path)) => repair_tail(path, opts.fsync != FsyncPolicy::Never)?,
            None => None,
        };
        let next = segments
            .last()
            .map(|(n, _)| n + 1)
            .into_iter()
            .chain(last_cp.map(|c| c + 1))
            .max()
            .unwrap_or(0);
        let file = create_segment(dir, next, opts.fsync != FsyncPolicy::Never)?;
        let wal = Wal {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                file: Arc::new(file),
                seg: next,
                size: HEADER_LEN,
                written: 0,
                buf: Vec::new(),
                broken: None,
            }),
            opts,
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
            epoch: Instant::now(),
            last_sync_ns: AtomicU64::new(0),
            counters: Counters::default(),
            repaired,
        };
        wal.counters.segments.fetch_add(1, Ordering::Relaxed);
        Ok(wal)
    }

    /// The directory of this log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The torn tail `open` removed, if any.
    pub fn repaired(&self) -> Option<&Repair> {
        self.repaired.as_ref()
    }

    /// The number of the segment being written.
    pub fn current_segment(&self) -> u64 {
        self.inner.lock().seg
    }

    /// Appends `records` as one batch (never split across segments) and returns when they are as
    /// durable as the fsync policy promises: [`Wal::write`] then [`Wal::wait`].
    ///
    /// # Errors
    /// A record over 1 GiB, a failed write or fsync, or a log broken by an earlier failed fsync.
    pub fn append(&self, records: &[&[u8]]) -> Result<(), WalError> {
        let written = self.write(records)?;
        self.wait(written)
    }

    /// Writes `records` as one batch (`write(2)`, never split across segments) without waiting
    /// for durability; pass the result to [`Wal::wait`]. For callers that must order their
    /// batches under a lock of their own and keep the fsync wait outside it, so that concurrent
    /// appenders still share one fsync.
    ///
    /// # Errors
    /// A record over 1 GiB, a failed write, or a log broken by an earlier failed fsync.
    pub fn write(&self, records: &[&[u8]]) -> Result<Written, WalError> {
        if records.is_empty() {
            return Ok(Written(0));
        }
        let mut inner = self.inner.lock();
        if let Some(reason) = &inner.broken {
            return Err(WalError::Broken {
                reason: reason.clone(),
            });
        }
        let mut buf = std::mem::take(&mut inner.buf);
        buf.clear();
        let res = self.write_batch(&mut inner, &mut buf, records);
        // Keep a moderately sized buffer around for the next batch.
        if buf.capacity() <= 8 << 20 {
            inner.buf = buf;
        }
        res?;
        Ok(Written(inner.written))
    }

    /// Returns when the batch `written` (and every batch before it) is as durable as the fsync
    /// policy promises: fsynced with `Always` (sharing an fsync in progress), fsynced if the
    /// interval has elapsed with `Interval`, at once with `Never`.
    ///
    /// # Errors
    /// A failed fsync (which also breaks the log).
    pub fn wait(&self, written: Written) -> Result<(), WalError> {
        match self.opts.fsync {
            FsyncPolicy::Always => self.sync_to(written.0, true),
            FsyncPolicy::Interval(d) => {
                if self.since_last_sync() >= d {
                    self.sync_to(written.0, false)
                } else {
                    Ok(())
                }
            }
            FsyncPolicy::Never => Ok(()),
        }
    }

    fn write_batch(
        &self,
        inner: &mut Inner,
        buf: &mut Vec<u8>,
        records: &[&[u8]],
    ) -> Result<(), WalError> {
        let total: u64 = records.iter().map(|r| frame_len(r)).sum();
        buf.reserve(usize::try_from(total).unwrap_or(0));
        for r in records {
            encode_frame(buf, r)?;
        }
        if inner.size > HEADER_LEN && inner.size + total > self.opts.max_segment_bytes {
            self.rotate(inner)?;
        }
        let path = self.dir.join(segment_name(inner.seg));
        if let Err(e) = (&*inner.file).write_all(buf) {
            // Roll the file back to the last whole batch so that later batches stay readable;
            // if even that fails, refuse further writes.
            if let Err(e2) = rollback(&inner.file, inner.size) {
                inner.broken = Some(format!("write failed ({e}) and rollback failed ({e2})"));
            }
            return Err(WalError::io(path, e));
        }
        inner.size += total;
        inner.written += 1;
        self.counters
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.counters.bytes.fetch_add(total, Ordering::Relaxed);
        Ok(())
    }

    fn rotate(&self, inner: &mut Inner) -> Result<(), WalError> {
        let sync = self.opts.fsync != FsyncPolicy::Never;
        if sync {
            let path = self.dir.join(segment_name(inner.seg));
            let file = inner.file.clone();
            if let Err(e) = self.timed_fsync(&file) {
                inner.broken = Some(format!("fsync of {} failed: {e}", path.display()));
                return Err(WalError::io(path, e));
            }
        }
        let next = inner.seg + 1;
        let file = create_segment(&self.dir, next, sync)?;
        inner.file = Arc::new(file);
        inner.seg = next;
        inner.size = HEADER_LEN;
        self.counters.segments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the current segment and starts a new one; returns the closed segment's number.
    /// Every batch appended before this call is in a segment `<=` the returned number.
    ///
    /// # Errors
    /// File-system failures.
    pub fn cut(&self) -> Result<u64, WalError> {
        let mut inner = self.inner.lock();
        if let Some(reason) = &inner.broken {
            return Err(WalError::Broken {
                reason: reason.clone(),
            });
        }
        let closed = inner.seg;
        self.rotate(&mut inner)?;
        Ok(closed)
    }

    /// Fsyncs everything appended so far.
    ///
    /// # Errors
    /// A failed fsync (which also breaks the log).
    pub fn sync(&self) -> Result<(), WalError> {
        let seq = self.inner.lock().written;
        self.sync_to(seq, true)
    }

    fn since_last_sync(&self) -> Duration {
        let last = Duration::from_nanos(self.last_sync_ns.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }

    /// Makes batches up to `seq` durable. With `wait`, joins an fsync in progress (group
    /// commit); without, leaves it to the thread already syncing.
    fn sync_to(&self, seq: u64, wait: bool) -> Result<(), WalError> {
        let mut st = self.sync.lock();
        loop {
            if st.synced >= seq {
                return Ok(());
            }
            if st.in_progress {
                if !wait {
                    return Ok(());
                }
                self.synced_cv.wait(&mut st);
                continue;
            }
            st.in_progress = true;
            drop(st);
            let (file, target, seg, broken) = {
                let inner = self.inner.lock();
                (
                    inner.file.clone(),
                    inner.written,
                    inner.seg,
                    inner.broken.clone(),
                )
            };
            let res = match broken {
                Some(reason) => Err(WalError::Broken { reason }),
                None => self.timed_fsync(&file).map_err(|e| {
                    let path = self.dir.join(segment_name(seg));
                    self.inner.lock().broken =
                        Some(format!("fsync of {} failed: {e}", path.display()));
                    WalError::io(path, e)
                }),
            };
            st = self.sync.lock();
            st.in_progress = false;
            if res.is_ok() {
                st.synced = st.synced.max(target);
            }
            self.synced_cv.notify_all();
            res?;
        }
    }

    fn timed_fsync(&self, file: &File) -> std::io::Result<()> {
        let start = Instant::now();
        let res = file.sync_data();
        let took = start.elapsed();
        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.counters.fsync_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.last_sync_ns.store(
            u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if let Some(cb) = &self.opts.on_fsync {
            cb(took);
        }
        res
    }

    /// A reader over everything on disk now: the latest checkpoint, then the segments after it.
    ///
    /// # Errors
    /// Listing the directory failed.
    pub fn reader(&self) -> Result<WalReader, WalError> {
        WalReader::open(&self.dir)
    }

    /// Starts a checkpoint that replaces segments `0..=upto` (a number returned by
    /// [`Wal::cut`]). Write the records that must survive, then
    /// [`CheckpointWriter::commit`], which deletes the replaced segments.
    ///
    /// # Errors
    /// `upto` is not a closed segment, or the temporary directory could not be created.
    pub fn checkpoint(&self, upto: u64) -> Result<CheckpointWriter<'_>, WalError> {
        let current = self.current_segment();
        if upto >= current {
            return Err(WalError::CheckpointPastHead { upto, current });
        }
        CheckpointWriter::create(self, upto)
    }

    pub(crate) fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Deletes segments numbered `<= upto` (never the one being written).
    ///
    /// # Errors
    /// File-system failures.
    pub fn remove_segments_upto(&self, upto: u64) -> Result<usize, WalError> {
        let current = self.current_segment();
        let listing = list_dir(&self.dir)?;
        let mut removed = 0;
        for (n, path) in listing.segments {
            if n <= upto && n < current {
                fs::remove_file(&path).map_err(|e| WalError::io(&path, e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Bytes of all segment and checkpoint files.
    ///
    /// # Errors
    /// File-system failures.
    pub fn disk_bytes(&self) -> Result<u64, WalError> {
        let listing = list_dir(&self.dir)?;
        let mut total = 0;
        for (_, p) in &listing.segments {
            total += fs::metadata(p).map_err(|e| WalError::io(p, e))?.len();
        }
        for (_, dir) in &listing.checkpoints {
            let rd = fs::read_dir(dir).map_err(|e| WalError::io(dir, e))?;
            for e in rd {
                let e = e.map_err(|e| WalError::io(dir, e))?;
                total += e
                    .metadata()
                    .map_err(|err| WalError::io(e.path(), err))?
                    .len();
            }
        }
        Ok(total)
    }

    /// Counter snapshot.
    pub fn stats(&self) -> WalStats {
        WalStats {
            fsyncs: self.counters.fsyncs.load(Ordering::Relaxed),
            fsync_nanos: self.counters.fsync_nanos.load(Ordering::Relaxed),
            records_written: self.counters.records.load(Ordering::Relaxed),
            bytes_written: self.counters.bytes.load(Ordering::Relaxed),
            segments_created: self.counters.segments.load(Ordering::Relaxed),
            current_segment: self.current_segment(),
        }
    }

    /// Fsyncs and closes the log.
    ///
    /// # Errors
    /// A failed fsync.
    pub fn close(self) -> Result<(), WalError> {
        if self.opts.fsync == FsyncPolicy::Never {
            return Ok(());
        }
        self.sync()
    }
}

/// Creates segment `n` with its header.
fn create_segment(dir: &Path, n: u64, sync: bool) -> Result<File, WalError> {
    let path = dir.join(segment_name(n));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(|e| WalError::io(&path, e))?;
    file.write_all(&header())
        .map_err(|e| WalError::io(&path, e))?;
    if sync {
        file.sync_data().map_err(|e| WalError::io(&path, e))?;
        sync_dir(dir)?;
    }
    Ok(file)
}

/// Cuts a partly written batch off the end of `file` and moves the write position back to the
/// new end. The segment is not opened in append mode, so after a failed `write_all` the position
/// stays past the partial bytes; truncating alone would make the next batch land after a hole,
/// which reads as damage and would cost every batch written after it.
fn rollback(file: &File, len: u64) -> std::io::Result<()> {
    file.set_len(len)?;
    let mut f = file;
    f.seek(SeekFrom::Start(len))?;
    Ok(())
}

/// Scans a segment and cuts it at its first damaged record.
fn repair_tail(path: &Path, sync: bool) -> Result<Option<Repair>, WalError> {
    let mut sc = SegmentScanner::open(path)?;
    let mut buf = Vec::new();
    let (offset, reason) = loop {
        match sc.next_into(&mut buf) {
            None => return Ok(None),
            Some(Ok(_)) => {}
            Some(Err(WalError::Corrupt { offset, reason, .. })) => break (offset, reason),
            Some(Err(e)) => return Err(e),
        }
    };
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| WalError::io(path, e))?;
    let len = file.metadata().map_err(|e| WalError::io(path, e))?.len();
    if offset < HEADER_LEN {
        file.set_len(0).map_err(|e| WalError::io(path, e))?;
        (&file)
            .write_all(&header())
            .map_err(|e| WalError::io(path, e))?;
    } else {
        file.set_len(offset).map_err(|e| WalError::io(path, e))?;
    }
    if sync {
        file.sync_all().map_err(|e| WalError::io(path, e))?;
    }
    Ok(Some(Repair {
        path: path.to_path_buf(),
        offset,
        dropped_bytes: len.saturating_sub(offset.max(HEADER_LEN)),
        reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a failed write used to be rolled back with `set_len` only, leaving the
    /// write position past the partial bytes, so the next batch landed after a zero-filled
    /// hole and was unreadable (and cut off by the next open's tail repair).
    #[test]
    fn failed_write_rollback_keeps_later_batches_readable() {
        let dir = tempfile::tempdir().expect("tmp");
        let wal = Wal::open(
            dir.path(),
            WalOptions {
                fsync: FsyncPolicy::Never,
                ..WalOptions::default()
            },
        )
        .expect("open");
        wal.append(&[b"first"]).expect("append");
        {
            let inner = wal.inner.lock();
            // What a write that failed half-way leaves behind.
            (&*inner.file).write_all(b"partial").expect("partial write");
            rollback(&inner.file, inner.size).expect("rollback");
        }
        wal.append(&[b"second"]).expect("append");
        let mut r = wal.reader().expect("reader");
        let mut got = Vec::new();
        while let Some(rec) = r.next_record() {
            got.push(rec.expect("no damage").data.to_vec());
        }
        assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()]);
    }
}

//! Durability of the event store: a write-ahead log of accepted event batches and evaluations,
//! a snapshot of the whole state as the log's checkpoint, and one file per reference dataset
//! (formats in `docs/format/ml.md`).
//!
//! Owns: opening a store directory (references, snapshot, replay), writing records for the
//! ingest path and evaluations, checkpoints, and the reference files. Does not own: what an
//! event does to the state (`ingest.rs`, `monitor.rs`; replay calls the same code), nor the
//! log's framing, fsync policy and segment files (`vigil-wal`).
//!
//! Shape: the store is an in-memory state machine whose inputs are logged, not a store of
//! rows. Replaying the inputs in their order with their recorded `now_ms` rebuilds the same
//! state, reservoir samples included, because every step is deterministic given the state and
//! the input. The ingest lock makes the log order the apply order; the fsync wait happens after
//! it is released, so concurrent requests share one fsync. A checkpoint encodes the state under
//! the same lock (a consistent cut of the log) and writes it after releasing it.

mod bytes;
mod events;
mod reference;
mod snapshot;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use vigil_wal::{Repair, Wal, WalError, WalOptions, Written};

use super::{IngestReport, MlStore, ModelState, Reference};
use crate::config::MlConfig;
use crate::error::MlError;
use events::{decode_event, evaluation_record, maintenance_record, record_type, EventRecord};
pub(crate) use events::{RecordBuf, T_LABELS, T_PREDICTIONS};
use snapshot::{encode_model, header_record, is_snapshot_type, SnapshotReader};

/// The WAL directory inside the store's directory.
const WAL_DIR: &str = "wal";

/// The durable side of an opened store.
#[derive(Debug)]
pub(crate) struct Durable {
    dir: PathBuf,
    wal: Wal,
    /// Serialises reference uploads (they share temporary file names).
    uploads: Mutex<()>,
    /// Serialises checkpoints.
    checkpoint: Mutex<()>,
}

/// What [`MlStore::open`] recovered.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// Models in the store after recovery.
    pub models: usize,
    /// Reference datasets loaded.
    pub references: usize,
    /// The checkpoint directory the snapshot was read from, if there was one.
    pub snapshot: Option<PathBuf>,
    /// When that snapshot was taken (the `now_ms` given to [`MlStore::checkpoint`]).
    pub snapshot_taken_ms: Option<i64>,
    /// WAL records applied after the snapshot.
    pub records: u64,
    /// Prediction events replayed.
    pub predictions: u64,
    /// Label events replayed.
    pub labels: u64,
    /// Evaluations replayed.
    pub evaluations: u64,
    /// Replayed events refused this time: the configuration changed since they were accepted
    /// (see `docs/format/ml.md`, "Configuration changes between runs").
    pub events_refused: u64,
    /// The torn tail cut off the last WAL segment (a crash during a write), if any.
    pub torn_tail: Option<Repair>,
    /// Time the recovery took.
    pub duration: Duration,
}

/// What [`MlStore::checkpoint`] wrote.
#[derive(Debug, Clone, Default)]
pub struct CheckpointStats {
    /// The snapshot replaces WAL segments up to and including this number.
    pub upto_segment: u64,
    pub models: usize,
    /// Snapshot records and their framed bytes.
    pub records: u64,
    pub bytes: u64,
    /// WAL segments deleted because the snapshot covers them.
    pub segments_removed: usize,
    /// How long ingestion was held up (cut and encoding under the ingest lock).
    pub lock_held: Duration,
    /// The whole checkpoint.
    pub duration: Duration,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> MlError {
    MlError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Damaged data in file (or directory) `path`.
fn corrupt(path: &Path, reason: impl std::fmt::Display) -> MlError {
    MlError::Corrupt {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A WAL failure as the store's error; damage names the file and the offset.
fn wal_err(dir: &Path, e: WalError) -> MlError {
    match e {
        WalError::Io { path, source } => io_err(&path, source),
        WalError::Corrupt {
            path,
            offset,
            reason,
        } => corrupt(&path, format!("offset {offset}: {reason}")),
        other => io_err(dir, other),
    }
}

/// A record that does not decode, named by file and the record's offset.
fn bad_record(path: &Path, offset: u64, e: impl std::fmt::Display) -> MlError {
    corrupt(path, format!("record at offset {offset}: {e}"))
}

impl MlStore {
    /// Opens (creating if needed) the durable store in `dir` (`<data-dir>/ml`): loads the
    /// reference files, the latest snapshot and replays the WAL after it, through the same code
    /// as live ingestion with each batch's recorded `now_ms`. Then maintains every model at
    /// `now_ms` (dropping what is past retention, evicting predictions past the label horizon),
    /// logged like an evaluation's maintenance.
    ///
    /// A torn WAL tail (a crash during a write) is cut and reported, not an error.
    ///
    /// # Errors
    /// [`MlError::Corrupt`] naming the file and offset of damaged data (a WAL record, the
    /// snapshot, a reference file): recovery does not skip data, since later records depend on
    /// earlier ones. [`MlError::Io`] when the directory cannot be read or written.
    pub fn open(
        dir: &Path,
        config: MlConfig,
        wal: WalOptions,
        now_ms: i64,
    ) -> Result<(MlStore, RecoveryReport), MlError> {
        let started = Instant::now();
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let wal_dir = dir.join(WAL_DIR);
        let wal = Wal::open(&wal_dir, wal).map_err(|e| wal_err(&wal_dir, e))?;
        let mut report = RecoveryReport {
            torn_tail: wal.repaired().cloned(),
            ..RecoveryReport::default()
        };
        let mut store = MlStore::new(config);
        // References first: a replayed label may name a model that only a reference created.
        for r in reference::load_all(&dir.join(reference::REFERENCES_DIR))? {
            store.attach_reference(r.model, r.version, r.reference);
            report.references += 1;
        }
        store.replay(&wal, &mut report)?;
        store.durable = Some(Durable {
            dir: dir.to_path_buf(),
            wal,
            uploads: Mutex::new(()),
            checkpoint: Mutex::new(()),
        });
        store.maintain_all(now_ms)?;
        report.models = store.models.read().len();
        report.duration = started.elapsed();
        Ok((store, report))
    }

    /// Adds a loaded reference, creating its model whatever the model limit.
    fn attach_reference(&self, model: String, version: String, r: Reference) {
        let config = self.config();
        let m = self
            .models
            .write()
            .entry(model.clone())
            .or_insert_with(|| {
                Arc::new(Mutex::new(ModelState::new(
                    &model,
                    config.model(&model).clone(),
                )))
            })
            .clone();
        m.lock().references.insert(version, Arc::new(r));
    }

    fn replay(&self, wal: &Wal, report: &mut RecoveryReport) -> Result<(), MlError> {
        let dir = wal.dir().to_path_buf();
        let mut reader = wal.reader().map_err(|e| wal_err(&dir, e))?;
        let cp_files: HashSet<PathBuf> = reader
            .files()
            .iter()
            .take(reader.checkpoint_files())
            .cloned()
            .collect();
        let cp_dir = cp_files
            .iter()
            .next()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf);
        let config = self.config();
        let mut snap = cp_dir.is_some().then(|| SnapshotReader::new(&config));
        while let Some(rec) = reader.next_record() {
            let rec = rec.map_err(|e| wal_err(&dir, e))?;
            let (path, offset) = (rec.path, rec.offset);
            let (ty, d) = record_type(rec.data).map_err(|e| bad_record(path, offset, e))?;
            let in_checkpoint = cp_files.contains(path);
            if is_snapshot_type(ty) {
                let Some(s) = snap.as_mut().filter(|_| in_checkpoint) else {
                    return Err(bad_record(
                        path,
                        offset,
                        "snapshot record outside a checkpoint",
                    ));
                };
                s.apply(ty, d).map_err(|e| bad_record(path, offset, e))?;
                continue;
            }
            if in_checkpoint {
                return Err(bad_record(path, offset, "event record inside a checkpoint"));
            }
            if let Some(s) = snap.take() {
                self.install_snapshot(s, cp_dir.as_deref(), report)?;
            }
            let ev = match decode_event(ty, d) {
                None => {
                    return Err(bad_record(
                        path,
                        offset,
                        format!("unknown record type {ty}"),
                    ))
                }
                Some(Err(e)) => return Err(bad_record(path, offset, e)),
                Some(Ok(ev)) => ev,
            };
            report.records += 1;
            self.replay_event(ev, report);
        }
        if let Some(s) = snap.take() {
            self.install_snapshot(s, cp_dir.as_deref(), report)?;
        }
        Ok(())
    }

    fn install_snapshot(
        &self,
        s: SnapshotReader<'_>,
        cp_dir: Option<&Path>,
        report: &mut RecoveryReport,
    ) -> Result<(), MlError> {
        let dir = cp_dir.unwrap_or(Path::new("checkpoint"));
        let snapshot = s.finish().map_err(|reason| corrupt(dir, reason))?;
        let mut models = self.models.write();
        for mut m in snapshot.models {
            match models.get(&m.name) {
                Some(existing) => {
                    let mut existing = existing.lock();
                    m.references = std::mem::take(&mut existing.references);
                    *existing = m;
                }
                None => {
                    models.insert(m.name.clone(), Arc::new(Mutex::new(m)));
                }
            }
        }
        report.snapshot = Some(dir.to_path_buf());
        report.snapshot_taken_ms = Some(snapshot.taken_ms);
        Ok(())
    }

    /// Applies one event record as live ingestion and evaluation do.
    fn replay_event(&self, ev: EventRecord, report: &mut RecoveryReport) {
        match ev {
            EventRecord::Predictions { now_ms, events } => {
                let r = self.apply_predictions(&events, now_ms, |_| {});
                report.predictions += events.len() as u64;
                report.events_refused += r.errors.len() as u64;
            }
            EventRecord::Labels { now_ms, events } => {
                let r = self.apply_labels(&events, now_ms, |_| {});
                report.labels += events.len() as u64;
                report.events_refused += r.errors.len() as u64;
            }
            EventRecord::Evaluation { now_ms, models } => {
                let mut discard = vigil_model::Batch::new();
                for name in &models {
                    if let Some(m) = self.model(name) {
                        let mut m = m.lock();
                        m.maintain(now_ms);
                        crate::monitor::collect_counts(&mut m, now_ms, &mut discard);
                    }
                }
                report.evaluations += 1;
            }
            EventRecord::Maintenance { now_ms } => {
                for m in self.all_models() {
                    m.lock().maintain(now_ms);
                }
            }
        }
    }

    /// Maintains every model at `now_ms`, logged.
    fn maintain_all(&self, now_ms: i64) -> Result<(), MlError> {
        let written = {
            let _log = self.log.lock();
            for m in self.all_models() {
                m.lock().maintain(now_ms);
            }
            self.log_record(&maintenance_record(now_ms))?
        };
        self.log_wait(written)
    }

    /// Applies a batch of record type `ty` under the ingest lock and writes the record of what
    /// it accepted: `apply` appends each accepted event to the buffer it is given (`None` for
    /// a memory-only store). The durability wait comes after the lock is released, so that
    /// concurrent batches share an fsync.
    pub(crate) fn ingest_logged(
        &self,
        ty: u8,
        now_ms: i64,
        apply: impl FnOnce(Option<&mut RecordBuf>) -> IngestReport,
    ) -> Result<IngestReport, MlError> {
        let (report, written) = {
            let mut log = self.log.lock();
            let buf = match self.durable {
                Some(_) => {
                    log.begin(ty, now_ms);
                    Some(&mut *log)
                }
                None => None,
            };
            let report = apply(buf);
            (report, self.log_write(&log)?)
        };
        self.log_wait(written)?;
        Ok(report)
    }

    /// What an evaluation changes in the state, for the models `due` picks: maintenance and
    /// performance-window revisions, with the count series (into `batch`). Runs under the
    /// ingest lock and is logged, so that replay repeats it at its place among the events.
    /// Returns the models evaluated. A failed WAL write is logged, not returned: the series are
    /// right, and the next ingest reports the failing WAL.
    pub(crate) fn evaluate_state(
        &self,
        now_ms: i64,
        due: &mut impl FnMut(&str, &crate::config::ModelConfig) -> bool,
        batch: &mut vigil_model::Batch,
    ) -> Vec<Arc<Mutex<ModelState>>> {
        let mut evaluated = Vec::new();
        let mut names = Vec::new();
        let written = {
            let _log = self.log.lock();
            for m in self.all_models() {
                {
                    let mut g = m.lock();
                    if !due(&g.name, &g.cfg) {
                        continue;
                    }
                    g.maintain(now_ms);
                    crate::monitor::collect_counts(&mut g, now_ms, batch);
                    names.push(g.name.clone());
                }
                evaluated.push(m);
            }
            if names.is_empty() {
                Ok(None)
            } else {
                self.log_record(&evaluation_record(now_ms, &names))
            }
        };
        if let Err(error) = written.and_then(|w| self.log_wait(w)) {
            tracing::error!(%error, "ml evaluation not written to the wal");
        }
        evaluated
    }

    /// Writes the batch encoded in `log` (`None`: memory-only, or nothing accepted). Called
    /// under the ingest lock.
    fn log_write(&self, log: &RecordBuf) -> Result<Option<Written>, MlError> {
        match &self.durable {
            Some(d) if log.events > 0 => d
                .wal
                .write(&log.records())
                .map(Some)
                .map_err(|e| wal_err(d.wal.dir(), e)),
            _ => Ok(None),
        }
    }

    /// Writes one record (memory-only: nothing). Called under the ingest lock.
    fn log_record(&self, record: &[u8]) -> Result<Option<Written>, MlError> {
        match &self.durable {
            Some(d) => d
                .wal
                .write(&[record])
                .map(Some)
                .map_err(|e| wal_err(d.wal.dir(), e)),
            None => Ok(None),
        }
    }

    /// Waits until a write (if there was one) is as durable as the fsync policy promises.
    /// Called after the ingest lock is released, so concurrent writers share an fsync.
    fn log_wait(&self, w: Option<Written>) -> Result<(), MlError> {
        match (&self.durable, w) {
            (Some(d), Some(w)) => d.wal.wait(w).map_err(|e| wal_err(d.wal.dir(), e)),
            _ => Ok(()),
        }
    }

    /// Installs a reference: written to its file first (durable store), then used.
    pub(crate) fn install_reference(
        &self,
        model: &str,
        version: &str,
        r: Reference,
    ) -> Result<(), MlError> {
        let _upload = self.durable.as_ref().map(|d| d.uploads.lock());
        let config = self.config();
        // Refuse before writing a file when the model could not be created.
        self.check_model_room(model, &config)?;
        let file = match &self.durable {
            Some(d) => Some(reference::write(
                &d.dir.join(reference::REFERENCES_DIR),
                model,
                version,
                &r,
            )?),
            None => None,
        };
        let created = {
            let _log = self.log.lock();
            self.model_or_create(model)
        };
        let m = match created {
            Ok(m) => m,
            Err(e) => {
                // Ingestion took the last model place meanwhile; the model did not exist, so
                // the file was new. Best effort: a leftover file only recreates the model.
                if let Some(f) = file {
                    let _ = fs::remove_file(f);
                }
                return Err(e);
            }
        };
        m.lock().references.insert(version.to_owned(), Arc::new(r));
        Ok(())
    }

    /// Writes a snapshot of the whole state as the WAL's checkpoint and deletes the WAL
    /// segments it covers (a memory-only store does nothing). The state is encoded under the
    /// ingest lock, consistent with a cut of the WAL, and written after the lock is released;
    /// `now_ms` is recorded as the time it was taken. Nothing in the state changes, so a
    /// failed checkpoint loses nothing.
    ///
    /// # Errors
    /// [`MlError::Io`] when the WAL cannot be cut or the checkpoint written.
    pub fn checkpoint(&self, now_ms: i64) -> Result<CheckpointStats, MlError> {
        let Some(d) = &self.durable else {
            return Ok(CheckpointStats::default());
        };
        let started = Instant::now();
        let wal_dir = d.wal.dir();
        let _one = d.checkpoint.lock();
        // Cut once without the lock so that the cut under it only fsyncs what arrives in
        // between.
        d.wal.cut().map_err(|e| wal_err(wal_dir, e))?;
        let (upto, records, models, lock_held) = {
            let _log = self.log.lock();
            let locked = Instant::now();
            let upto = d.wal.cut().map_err(|e| wal_err(wal_dir, e))?;
            let models = self.all_models();
            let mut records = vec![Vec::new()];
            for m in &models {
                encode_model(&m.lock(), &mut records);
            }
            let count = records.len() as u64;
            if let Some(h) = records.first_mut() {
                *h = header_record(now_ms, count);
            }
            (upto, records, models.len(), locked.elapsed())
        };
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let mut cp = d.wal.checkpoint(upto).map_err(|e| wal_err(wal_dir, e))?;
        cp.append(&refs).map_err(|e| wal_err(wal_dir, e))?;
        let rep = cp.commit().map_err(|e| wal_err(wal_dir, e))?;
        Ok(CheckpointStats {
            upto_segment: rep.upto,
            models,
            records: rep.records,
            bytes: rep.bytes,
            segments_removed: rep.segments_removed,
            lock_held,
            duration: started.elapsed(),
        })
    }

    /// Fsyncs the WAL (every write so far survives a power loss once this returns).
    ///
    /// # Errors
    /// [`MlError::Io`] for a failed fsync.
    pub fn sync(&self) -> Result<(), MlError> {
        match &self.durable {
            Some(d) => d.wal.sync().map_err(|e| wal_err(d.wal.dir(), e)),
            None => Ok(()),
        }
    }

    /// Fsyncs and closes the WAL (as its fsync policy does on close). Skipping it loses
    /// nothing a `kill -9` would not; a checkpoint first makes the next open faster.
    ///
    /// # Errors
    /// [`MlError::Io`] for a failed fsync.
    pub fn close(self) -> Result<(), MlError> {
        match self.durable {
            Some(d) => {
                let dir = d.wal.dir().to_path_buf();
                d.wal.close().map_err(|e| wal_err(&dir, e))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;

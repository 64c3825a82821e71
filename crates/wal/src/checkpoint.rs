//! Writing a checkpoint: records that replace segments `0..=N`, written to
//! `checkpoint.N.tmp/`, fsynced, renamed to `checkpoint.N/`; then the replaced segments and older
//! checkpoints are deleted (see `docs/format/wal.md`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use crate::segment::{
    checkpoint_name, encode_frame, frame_len, header, list_dir, segment_name, sync_dir, HEADER_LEN,
    TMP_SUFFIX,
};
use crate::{Wal, WalError};

/// What committing a checkpoint removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointReport {
    /// The checkpoint replaces segments up to and including this number.
    pub upto: u64,
    pub records: u64,
    pub bytes: u64,
    pub segments_removed: usize,
}

/// An open checkpoint; dropped without [`CheckpointWriter::commit`] it is deleted.
pub struct CheckpointWriter<'a> {
    wal: &'a Wal,
    upto: u64,
    tmp_dir: PathBuf,
    file: Option<File>,
    seg: u64,
    size: u64,
    buf: Vec<u8>,
    records: u64,
    bytes: u64,
    committed: bool,
}

const FLUSH_AT: usize = 1 << 20;

impl<'a> CheckpointWriter<'a> {
    pub(crate) fn create(wal: &'a Wal, upto: u64) -> Result<Self, WalError> {
        let tmp_dir = wal
            .dir()
            .join(format!("{}{TMP_SUFFIX}", checkpoint_name(upto)));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(|e| WalError::io(&tmp_dir, e))?;
        }
        fs::create_dir(&tmp_dir).map_err(|e| WalError::io(&tmp_dir, e))?;
        let mut w = CheckpointWriter {
            wal,
            upto,
            tmp_dir,
            file: None,
            seg: 0,
            size: 0,
            buf: Vec::new(),
            records: 0,
            bytes: 0,
            committed: false,
        };
        w.open_segment()?;
        Ok(w)
    }

    fn open_segment(&mut self) -> Result<(), WalError> {
        let path = self.tmp_dir.join(segment_name(self.seg));
        let mut f = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| WalError::io(&path, e))?;
        f.write_all(&header()).map_err(|e| WalError::io(&path, e))?;
        self.file = Some(f);
        self.size = HEADER_LEN;
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), WalError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = self.tmp_dir.join(segment_name(self.seg));
        if let Some(f) = &mut self.file {
            f.write_all(&self.buf).map_err(|e| WalError::io(&path, e))?;
        }
        self.buf.clear();
        Ok(())
    }

    fn finish_segment(&mut self) -> Result<(), WalError> {
        self.flush_buf()?;
        let path = self.tmp_dir.join(segment_name(self.seg));
        if let Some(f) = self.file.take() {
            f.sync_all().map_err(|e| WalError::io(&path, e))?;
        }
        Ok(())
    }

    /// Appends records to the checkpoint.
    ///
    /// # Errors
    /// A record over 1 GiB or a failed write.
    pub fn append(&mut self, records: &[&[u8]]) -> Result<(), WalError> {
        for r in records {
            let framed = frame_len(r);
            if self.size > HEADER_LEN && self.size + framed > self.wal.options().max_segment_bytes {
                self.finish_segment()?;
                self.seg += 1;
                self.open_segment()?;
            }
            encode_frame(&mut self.buf, r)?;
            self.size += framed;
            self.bytes += framed;
            self.records += 1;
            if self.buf.len() >= FLUSH_AT {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    /// Makes the checkpoint durable and visible, then deletes the segments it replaces and
    /// older checkpoints.
    ///
    /// # Errors
    /// File-system failures; before the rename the old segments are untouched.
    pub fn commit(mut self) -> Result<CheckpointReport, WalError> {
        self.finish_segment()?;
        sync_dir(&self.tmp_dir)?;
        let final_dir = self.wal.dir().join(checkpoint_name(self.upto));
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(|e| WalError::io(&final_dir, e))?;
        }
        fs::rename(&self.tmp_dir, &final_dir).map_err(|e| WalError::io(&final_dir, e))?;
        self.committed = true;
        sync_dir(self.wal.dir())?;
        let listing = list_dir(self.wal.dir())?;
        for (n, path) in &listing.checkpoints {
            if *n < self.upto {
                fs::remove_dir_all(path).map_err(|e| WalError::io(path, e))?;
            }
        }
        let segments_removed = self.wal.remove_segments_upto(self.upto)?;
        Ok(CheckpointReport {
            upto: self.upto,
            records: self.records,
            bytes: self.bytes,
            segments_removed,
        })
    }
}

impl Drop for CheckpointWriter<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: an abandoned temporary directory is also removed by the next open.
            let _ = fs::remove_dir_all(&self.tmp_dir);
        }
    }
}

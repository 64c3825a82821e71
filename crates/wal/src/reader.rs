//! The reading side: [`WalReader`] yields the records of the latest checkpoint and then of every
//! later segment, in order, reporting damage without stopping (see `docs/format/wal.md`).

use std::path::{Path, PathBuf};

use crate::segment::{list_dir, parse_segment_name, SegmentScanner};
use crate::WalError;

/// One record and where it was read.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The segment file (inside a checkpoint directory for checkpoint records).
    pub path: &'a Path,
    /// Offset of the record's frame in the file.
    pub offset: u64,
    pub data: &'a [u8],
}

/// Reads a log directory in order. Not an `Iterator` because each record borrows the reader's
/// buffer (no allocation per record).
///
/// After an `Err` (damage or an I/O error on one file) the reader continues with the next file;
/// call `next` until it returns `None`.
pub struct WalReader {
    files: Vec<PathBuf>,
    idx: usize,
    scanner: Option<SegmentScanner>,
    buf: Vec<u8>,
    from_checkpoint: usize,
}

impl std::fmt::Debug for WalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalReader")
            .field("files", &self.files)
            .field("idx", &self.idx)
            .finish_non_exhaustive()
    }
}

impl WalReader {
    /// A reader over `dir` as it is now: the newest complete checkpoint, then the segments
    /// numbered after it.
    ///
    /// # Errors
    /// Listing the directory failed.
    pub fn open(dir: &Path) -> Result<WalReader, WalError> {
        let listing = list_dir(dir)?;
        let mut files = Vec::new();
        let cp = listing.checkpoints.last();
        if let Some((_, cp_dir)) = cp {
            let rd = std::fs::read_dir(cp_dir).map_err(|e| WalError::io(cp_dir, e))?;
            let mut cp_files = Vec::new();
            for e in rd {
                let e = e.map_err(|e| WalError::io(cp_dir, e))?;
                if let Some(n) = e.file_name().to_str().and_then(parse_segment_name) {
                    cp_files.push((n, e.path()));
                }
            }
            cp_files.sort_unstable_by_key(|(n, _)| *n);
            files.extend(cp_files.into_iter().map(|(_, p)| p));
        }
        let from_checkpoint = files.len();
        let cp_n = cp.map(|(n, _)| *n);
        files.extend(
            listing
                .segments
                .into_iter()
                .filter(|(n, _)| cp_n.is_none_or(|c| *n > c))
                .map(|(_, p)| p),
        );
        Ok(WalReader {
            files,
            idx: 0,
            scanner: None,
            buf: Vec::new(),
            from_checkpoint,
        })
    }

    /// The files this reader visits, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How many of [`WalReader::files`] belong to the checkpoint.
    pub fn checkpoint_files(&self) -> usize {
        self.from_checkpoint
    }

    /// The next record, an error for a damaged or unreadable file (after which reading goes on
    /// with the next file), or `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, WalError>> {
        let offset = loop {
            let sc = match &mut self.scanner {
                Some(sc) => sc,
                None => {
                    let path = self.files.get(self.idx)?;
                    self.idx += 1;
                    match SegmentScanner::open(path) {
                        Ok(sc) => self.scanner.insert(sc),
                        Err(e) => return Some(Err(e)),
                    }
                }
            };
            match sc.next_into(&mut self.buf) {
                None => self.scanner = None,
                Some(Err(e)) => {
                    self.scanner = None;
                    return Some(Err(e));
                }
                Some(Ok(off)) => break off,
            }
        };
        let path = self.scanner.as_ref()?.path();
        Some(Ok(Record {
            path,
            offset,
            data: &self.buf,
        }))
    }
}

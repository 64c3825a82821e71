//! The `chunks` file of a block: a header, then zstd-compressed pages of block chunks laid end to
//! end. Writer, and a reader that fetches pages with positioned reads (see
//! `docs/format/block.md`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use vigil_model::Sample;

use super::frame::{decode_body, parse_header, put_frame, FRAME_HEADER_LEN};
use crate::chunkenc::{decode_block_chunk, encode_block_chunk, ChunkScratch, Decoder};
use crate::TsdbError;

pub const CHUNKS_MAGIC: &[u8; 4] = b"VCHK";
pub const CHUNKS_VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;
/// A page is closed once its raw size reaches this.
pub const PAGE_TARGET: usize = 64 << 10;
/// Largest raw page a reader accepts.
pub const MAX_PAGE: usize = 64 << 20;

/// Where a chunk is: its page's file offset and its offset inside the raw page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    pub page: u64,
    pub offset: u32,
}

/// Writes a chunks file.
pub struct ChunksWriter {
    path: PathBuf,
    file: BufWriter<File>,
    written: u64,
    page: Vec<u8>,
    frame: Vec<u8>,
    base: i64,
}

impl ChunksWriter {
    /// Creates `path`; chunk timestamps are encoded relative to `base` (the block's min time).
    ///
    /// # Errors
    /// The file could not be created.
    pub fn create(path: &Path, base: i64) -> Result<Self, TsdbError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| TsdbError::io(path, e))?;
        let mut file = BufWriter::with_capacity(256 << 10, file);
        let mut header = [0u8; 8];
        header[..4].copy_from_slice(CHUNKS_MAGIC);
        header[4] = CHUNKS_VERSION;
        file.write_all(&header)
            .map_err(|e| TsdbError::io(path, e))?;
        Ok(ChunksWriter {
            path: path.to_path_buf(),
            file,
            written: HEADER_LEN,
            page: Vec::with_capacity(PAGE_TARGET + 4096),
            frame: Vec::new(),
            base,
        })
    }

    /// Encodes one chunk and returns where it is.
    ///
    /// # Errors
    /// Writing a full page failed.
    pub fn add(&mut self, samples: &[Sample]) -> Result<ChunkRef, TsdbError> {
        if self.page.len() >= PAGE_TARGET {
            self.flush_page()?;
        }
        let offset = u32::try_from(self.page.len())
            .map_err(|_| TsdbError::Internal("chunk page over 4 GiB".to_owned()))?;
        encode_block_chunk(&mut self.page, samples, self.base);
        Ok(ChunkRef {
            page: self.written,
            offset,
        })
    }

    fn flush_page(&mut self) -> Result<(), TsdbError> {
        if self.page.is_empty() {
            return Ok(());
        }
        self.frame.clear();
        put_frame(&mut self.frame, &self.page, true).map_err(|e| TsdbError::io(&self.path, e))?;
        self.file
            .write_all(&self.frame)
            .map_err(|e| TsdbError::io(&self.path, e))?;
        self.written += self.frame.len() as u64;
        self.page.clear();
        Ok(())
    }

    /// Writes the last page and fsyncs; returns the file size.
    ///
    /// # Errors
    /// Write or fsync failed.
    pub fn finish(mut self) -> Result<u64, TsdbError> {
        self.flush_page()?;
        let file = self
            .file
            .into_inner()
            .map_err(|e| TsdbError::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| TsdbError::io(&self.path, e))?;
        Ok(self.written)
    }
}

/// The most recently read page, so that reading a block's series in order decompresses each page
/// once.
#[derive(Debug, Default)]
pub struct PageCache {
    page: Option<u64>,
    data: Vec<u8>,
    pub scratch: ChunkScratch,
}

/// Reads a chunks file.
#[derive(Debug)]
pub struct ChunksReader {
    path: PathBuf,
    file: File,
    len: u64,
    base: i64,
}

impl ChunksReader {
    /// Opens and checks the header.
    ///
    /// # Errors
    /// Missing file, bad magic or an unsupported version.
    pub fn open(path: &Path, base: i64) -> Result<Self, TsdbError> {
        let file = File::open(path).map_err(|e| TsdbError::io(path, e))?;
        let len = file.metadata().map_err(|e| TsdbError::io(path, e))?.len();
        let mut h = [0u8; 8];
        if len < HEADER_LEN {
            return Err(TsdbError::corrupt(
                path,
                0,
                "chunks file shorter than its header",
            ));
        }
        file.read_exact_at(&mut h, 0)
            .map_err(|e| TsdbError::io(path, e))?;
        if &h[..4] != CHUNKS_MAGIC {
            return Err(TsdbError::corrupt(path, 0, "bad chunks magic"));
        }
        if h[4] != CHUNKS_VERSION {
            return Err(TsdbError::UnsupportedVersion {
                path: path.to_path_buf(),
                what: "chunks file",
                version: u64::from(h[4]),
            });
        }
        Ok(ChunksReader {
            path: path.to_path_buf(),
            file,
            len,
            base,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    fn load_page(&self, page: u64, cache: &mut PageCache) -> Result<(), TsdbError> {
        if cache.page == Some(page) {
            return Ok(());
        }
        let bad = |reason: &str| TsdbError::corrupt(&self.path, page, reason.to_owned());
        if page < HEADER_LEN || page.saturating_add(FRAME_HEADER_LEN as u64) > self.len {
            return Err(bad("chunk page offset out of range"));
        }
        let mut h = [0u8; FRAME_HEADER_LEN];
        self.file
            .read_exact_at(&mut h, page)
            .map_err(|e| TsdbError::io(&self.path, e))?;
        let fh = parse_header(&h, MAX_PAGE).map_err(|e| bad(e.0))?;
        let start = page + FRAME_HEADER_LEN as u64;
        if start.saturating_add(fh.stored_len as u64) > self.len {
            return Err(bad("chunk page runs past the end of the file"));
        }
        let mut stored = vec![0u8; fh.stored_len];
        self.file
            .read_exact_at(&mut stored, start)
            .map_err(|e| TsdbError::io(&self.path, e))?;
        cache.data = decode_body(&fh, &stored).map_err(|e| bad(e.0))?;
        cache.page = Some(page);
        Ok(())
    }

    /// Decodes the chunk at `r`, appending its samples to `out`.
    ///
    /// # Errors
    /// I/O failure or corruption (bad page, bad chunk).
    pub fn read(
        &self,
        r: ChunkRef,
        cache: &mut PageCache,
        out: &mut Vec<Sample>,
    ) -> Result<(), TsdbError> {
        self.load_page(r.page, cache)?;
        let bytes = cache
            .data
            .get(r.offset as usize..)
            .ok_or_else(|| TsdbError::corrupt(&self.path, r.page, "chunk offset past its page"))?;
        let mut d = Decoder::new(bytes);
        decode_block_chunk(&mut d, self.base, &mut cache.scratch, out).map_err(|e| {
            TsdbError::corrupt(
                &self.path,
                r.page,
                format!("chunk at page offset {}: {e}", r.offset),
            )
        })
    }
}

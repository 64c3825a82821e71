//! An open block: its meta, the index in memory, and the chunks file read on demand.

use std::path::{Path, PathBuf};

use vigil_model::{Labels, Matcher, Sample};
use vigil_storage::TimeRange;

use super::chunks::{ChunksReader, PageCache};
use super::index::{ChunkMeta, IndexReader};
use super::meta::{BlockMeta, CHUNKS_FILE, INDEX_FILE};
use crate::compact::retain_in_range;
use crate::postings::postings_for_matchers;
use crate::TsdbError;

/// A loaded, immutable block.
#[derive(Debug)]
pub struct BlockReader {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunksReader,
}

impl BlockReader {
    /// Opens the block in `dir`.
    ///
    /// # Errors
    /// Missing files, corruption, or an unsupported version.
    pub fn open(dir: &Path) -> Result<Self, TsdbError> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join(INDEX_FILE), meta.min_time)?;
        let chunks = ChunksReader::open(&dir.join(CHUNKS_FILE), meta.min_time)?;
        Ok(BlockReader {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn id(&self) -> &str {
        &self.meta.id
    }

    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Bytes on disk (index + chunks + meta), from the files themselves: meta.json has no
    /// checksum, and a damaged size there must not steer size-based retention.
    pub fn size_bytes(&self) -> u64 {
        self.index.file_len() + self.chunks.len() + 512
    }

    /// Approximate resident bytes of the loaded index.
    pub fn heap_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    pub fn overlaps(&self, range: TimeRange) -> bool {
        range.overlaps(self.meta.min_time, self.meta.max_time)
    }

    /// Sorted ids of series matching `matchers`.
    pub fn postings(&self, matchers: &[Matcher]) -> Vec<u64> {
        postings_for_matchers(&self.index, matchers)
    }

    fn chunk_in(
        &self,
        c: &ChunkMeta,
        range: TimeRange,
        cache: &mut PageCache,
    ) -> Result<bool, TsdbError> {
        if !range.overlaps(c.min_t, c.max_t) {
            return Ok(false);
        }
        if range.start <= c.min_t && c.max_t <= range.end {
            return Ok(true);
        }
        let mut tmp = Vec::with_capacity(c.samples as usize);
        self.chunks.read(c.at, cache, &mut tmp)?;
        Ok(tmp.iter().any(|s| range.contains(s.t)))
    }

    /// Labels of those of `ids` whose chunks overlap `range` (`exact`: that have a sample in
    /// it).
    ///
    /// # Errors
    /// Corruption or I/O failure.
    pub fn labels_for(
        &self,
        ids: &[u64],
        range: TimeRange,
        exact: bool,
        cache: &mut PageCache,
    ) -> Result<Vec<(Labels, u32)>, TsdbError> {
        let mut out = Vec::new();
        for id in ids {
            let id = u32::try_from(*id).map_err(|_| TsdbError::Internal("series id".to_owned()))?;
            let (labels, chunks) = self.index.series(id)?;
            let mut hit = false;
            for c in &chunks {
                hit = if exact {
                    self.chunk_in(c, range, cache)?
                } else {
                    range.overlaps(c.min_t, c.max_t)
                };
                if hit {
                    break;
                }
            }
            if hit {
                out.push((self.index.labels(&labels), id));
            }
        }
        Ok(out)
    }

    /// Appends the samples of series `id` in `range` to `out` (sorted).
    ///
    /// # Errors
    /// Corruption or I/O failure.
    pub fn samples(
        &self,
        id: u32,
        range: TimeRange,
        cache: &mut PageCache,
        out: &mut Vec<Sample>,
    ) -> Result<(), TsdbError> {
        let (_, chunks) = self.index.series(id)?;
        for c in &chunks {
            if !range.overlaps(c.min_t, c.max_t) {
                continue;
            }
            let start = out.len();
            self.chunks.read(c.at, cache, out)?;
            if c.min_t < range.start || c.max_t > range.end {
                retain_in_range(out, start, range);
            }
        }
        Ok(())
    }

    /// The bits of the value stored for `labels` at `t`, if any.
    ///
    /// # Errors
    /// Corruption or I/O failure.
    pub fn lookup(&self, labels: &Labels, t: i64) -> Result<Option<u64>, TsdbError> {
        if !(self.meta.min_time <= t && t <= self.meta.max_time) {
            return Ok(None);
        }
        let Some(id) = self.index.find(labels)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        self.samples(
            id,
            TimeRange::new(t, t),
            &mut PageCache::default(),
            &mut out,
        )?;
        Ok(out.first().map(|s| s.v.to_bits()))
    }
}

//! The `index` file of a block: symbols, series (labels + chunk metadata) and postings, each in a
//! zstd frame. Serializer ([`write_index`]) and reader ([`IndexReader`]); layout in
//! `docs/format/block.md`.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use vigil_model::{Label, Labels};

use super::chunks::ChunkRef;
use super::frame::{get_frame, put_frame};
use crate::chunkenc::bits::{put_uvarint, put_zvarint, DResult, DecodeError, Decoder};
use crate::chunkenc::MAX_BLOCK_CHUNK_SAMPLES;
use crate::labels::FastHash;
use crate::postings::IndexView;
use crate::TsdbError;

pub const INDEX_MAGIC: &[u8; 4] = b"VIDX";
pub const INDEX_VERSION: u8 = 1;
const MAX_SECTION: usize = u32::MAX as usize;

/// Where and what one chunk of a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub min_t: i64,
    pub max_t: i64,
    pub samples: u32,
    pub at: ChunkRef,
}

/// A series' label symbol ids and chunk metadata.
pub type SeriesParts = (Vec<(u32, u32)>, Vec<ChunkMeta>);

/// One series as the writer hands it over: (name, value) symbol ids sorted by name.
#[derive(Debug, Clone, Default)]
pub struct SeriesEntry {
    pub labels: Vec<(u32, u32)>,
    pub chunks: Vec<ChunkMeta>,
}

fn put_chunk_metas(buf: &mut Vec<u8>, chunks: &[ChunkMeta], block_min: i64) {
    put_uvarint(buf, chunks.len() as u64);
    let mut prev: Option<&ChunkMeta> = None;
    for c in chunks {
        match prev {
            None => {
                put_zvarint(buf, c.min_t.wrapping_sub(block_min));
                put_uvarint(buf, c.max_t.wrapping_sub(c.min_t) as u64);
                put_uvarint(buf, u64::from(c.samples));
                put_uvarint(buf, c.at.page);
            }
            Some(p) => {
                put_uvarint(buf, c.min_t.wrapping_sub(p.max_t) as u64);
                put_uvarint(buf, c.max_t.wrapping_sub(c.min_t) as u64);
                put_uvarint(buf, u64::from(c.samples));
                put_uvarint(buf, c.at.page.wrapping_sub(p.at.page));
            }
        }
        put_uvarint(buf, u64::from(c.at.offset));
        prev = Some(c);
    }
}

/// Serializes an index. `symbols` must be sorted and unique; `series` sorted by label set with
/// ids into `symbols`.
///
/// # Errors
/// Writing or fsyncing the file failed.
pub fn write_index(
    path: &Path,
    symbols: &[String],
    series: &[SeriesEntry],
    block_min: i64,
) -> Result<u64, TsdbError> {
    let io = |e| TsdbError::io(path, e);
    let mut out = Vec::new();
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&[INDEX_VERSION, 0, 0, 0]);

    let mut sec = Vec::new();
    put_uvarint(&mut sec, symbols.len() as u64);
    for s in symbols {
        put_uvarint(&mut sec, s.len() as u64);
        sec.extend_from_slice(s.as_bytes());
    }
    put_frame(&mut out, &sec, true).map_err(io)?;

    sec.clear();
    let mut postings: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
    put_uvarint(&mut sec, series.len() as u64);
    for (id, s) in series.iter().enumerate() {
        put_uvarint(&mut sec, s.labels.len() as u64);
        for (n, v) in &s.labels {
            put_uvarint(&mut sec, u64::from(*n));
            put_uvarint(&mut sec, u64::from(*v));
            postings.entry((*n, *v)).or_default().push(id as u32);
        }
        put_chunk_metas(&mut sec, &s.chunks, block_min);
    }
    put_frame(&mut out, &sec, true).map_err(io)?;

    sec.clear();
    let mut by_name: BTreeMap<u32, Vec<(u32, Vec<u32>)>> = BTreeMap::new();
    for ((n, v), ids) in postings {
        by_name.entry(n).or_default().push((v, ids));
    }
    put_uvarint(&mut sec, by_name.len() as u64);
    for (n, values) in by_name {
        put_uvarint(&mut sec, u64::from(n));
        put_uvarint(&mut sec, values.len() as u64);
        for (v, ids) in values {
            put_uvarint(&mut sec, u64::from(v));
            put_uvarint(&mut sec, ids.len() as u64);
            let mut prev = 0u32;
            for (i, id) in ids.iter().enumerate() {
                put_uvarint(&mut sec, u64::from(if i == 0 { *id } else { id - prev }));
                prev = *id;
            }
        }
    }
    put_frame(&mut out, &sec, true).map_err(io)?;

    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    f.write_all(&out).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(out.len() as u64)
}

/// Postings of one label value.
#[derive(Debug)]
struct ValuePostings {
    value: u32,
    ids: Box<[u32]>,
}

/// An index loaded into memory.
#[derive(Debug)]
pub struct IndexReader {
    path: PathBuf,
    file_len: u64,
    block_min: i64,
    symbols: Vec<Box<str>>,
    series: Vec<u8>,
    offsets: Vec<u32>,
    postings: HashMap<Box<str>, Vec<ValuePostings>, FastHash>,
}

impl IndexReader {
    /// Reads and checks the whole index.
    ///
    /// # Errors
    /// I/O failure, corruption (with the offset of the bad section), or a newer version.
    pub fn open(path: &Path, block_min: i64) -> Result<Self, TsdbError> {
        let bytes = std::fs::read(path).map_err(|e| TsdbError::io(path, e))?;
        if bytes.get(..4) != Some(INDEX_MAGIC.as_slice()) {
            return Err(TsdbError::corrupt(path, 0, "bad index magic"));
        }
        match bytes.get(4) {
            Some(&INDEX_VERSION) => {}
            v => {
                return Err(TsdbError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    what: "index",
                    version: u64::from(v.copied().unwrap_or(0)),
                })
            }
        }
        let mut pos = 8usize;
        let mut next = |what: &str| -> Result<Vec<u8>, TsdbError> {
            let rest = bytes.get(pos..).unwrap_or(&[]);
            let (raw, used) = get_frame(rest, MAX_SECTION).map_err(|e| {
                TsdbError::corrupt(path, pos as u64, format!("{what} section: {e}"))
            })?;
            pos += used;
            Ok(raw)
        };
        let sym_raw = next("symbols")?;
        let series = next("series")?;
        let post_raw = next("postings")?;
        if pos != bytes.len() {
            return Err(TsdbError::corrupt(
                path,
                pos as u64,
                "trailing bytes after the index",
            ));
        }
        let mut r = IndexReader {
            path: path.to_path_buf(),
            file_len: bytes.len() as u64,
            block_min,
            symbols: Vec::new(),
            series,
            offsets: Vec::new(),
            postings: HashMap::default(),
        };
        r.load_symbols(&sym_raw)
            .map_err(|e| TsdbError::corrupt(path, 8, format!("symbols: {e}")))?;
        r.load_offsets()
            .map_err(|e| TsdbError::corrupt(path, 8, format!("series: {e}")))?;
        r.load_postings(&post_raw)
            .map_err(|e| TsdbError::corrupt(path, 8, format!("postings: {e}")))?;
        Ok(r)
    }

    fn load_symbols(&mut self, raw: &[u8]) -> DResult<()> {
        let mut d = Decoder::new(raw);
        let n = d.uvarint_max(raw.len() as u64, "symbol count out of range")?;
        self.symbols.reserve(n);
        for _ in 0..n {
            let s = d.str(raw.len() as u64)?;
            if self.symbols.last().is_some_and(|p| **p >= *s) {
                return Err(DecodeError("symbols not strictly ascending"));
            }
            self.symbols.push(s.into());
        }
        if !d.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(())
    }

    fn load_offsets(&mut self) -> DResult<()> {
        let mut d = Decoder::new(&self.series);
        let n = d.uvarint_max(self.series.len() as u64, "series count out of range")?;
        let mut offsets = Vec::with_capacity(n);
        let mut prev: Option<Vec<(u32, u32)>> = None;
        for _ in 0..n {
            offsets
                .push(u32::try_from(d.pos()).map_err(|_| DecodeError("series section too large"))?);
            let (labels, _) = self.decode_series(&mut d, true)?;
            if let Some(p) = &prev {
                if self.cmp_label_ids(p, &labels).is_ge() {
                    return Err(DecodeError("series not sorted by labels"));
                }
            }
            prev = Some(labels);
        }
        if !d.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        self.offsets = offsets;
        Ok(())
    }

    fn load_postings(&mut self, raw: &[u8]) -> DResult<()> {
        let mut d = Decoder::new(raw);
        let nseries = self.offsets.len() as u64;
        let nnames = d.uvarint_max(raw.len() as u64, "name count out of range")?;
        for _ in 0..nnames {
            let name = self.sym(d.uvarint()?)?.into();
            let nvalues = d.uvarint_max(raw.len() as u64, "value count out of range")?;
            let mut values = Vec::with_capacity(nvalues);
            for _ in 0..nvalues {
                let value = u32::try_from(d.uvarint()?)
                    .map_err(|_| DecodeError("symbol id out of range"))?;
                self.sym(u64::from(value))?;
                if values
                    .last()
                    .is_some_and(|p: &ValuePostings| p.value >= value)
                {
                    return Err(DecodeError("postings values not ascending"));
                }
                let count = d.uvarint_max(nseries, "postings list longer than the series count")?;
                let mut ids = Vec::with_capacity(count);
                let mut prev = 0u64;
                for i in 0..count {
                    let x = d.uvarint()?;
                    let id = if i == 0 {
                        x
                    } else {
                        prev.checked_add(x)
                            .ok_or(DecodeError("postings overflow"))?
                    };
                    if (i > 0 && x == 0) || id >= nseries {
                        return Err(DecodeError("postings id out of order or range"));
                    }
                    ids.push(id as u32);
                    prev = id;
                }
                values.push(ValuePostings {
                    value,
                    ids: ids.into_boxed_slice(),
                });
            }
            self.postings.insert(name, values);
        }
        if !d.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(())
    }

    fn sym(&self, id: u64) -> DResult<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.symbols.get(i))
            .map(|s| &**s)
            .ok_or(DecodeError("symbol id out of range"))
    }

    fn cmp_label_ids(&self, a: &[(u32, u32)], b: &[(u32, u32)]) -> std::cmp::Ordering {
        // Symbol ids are in string order, so ids compare like the strings.
        a.cmp(b)
    }

    fn decode_series(&self, d: &mut Decoder<'_>, check: bool) -> DResult<SeriesParts> {
        let nl = d.uvarint_max(self.symbols.len() as u64, "label count out of range")?;
        let mut labels = Vec::with_capacity(nl);
        for _ in 0..nl {
            let n = d.uvarint()?;
            let v = d.uvarint()?;
            if check {
                self.sym(n)?;
                if self.sym(v)?.is_empty() {
                    return Err(DecodeError("empty label value"));
                }
                if labels
                    .last()
                    .is_some_and(|(pn, _): &(u32, u32)| u64::from(*pn) >= n)
                {
                    return Err(DecodeError("labels not sorted by name"));
                }
            }
            labels.push((n as u32, v as u32));
        }
        let nc = d.uvarint_max(d.remaining() as u64, "chunk count out of range")?;
        let mut chunks = Vec::with_capacity(nc);
        let mut prev: Option<ChunkMeta> = None;
        for _ in 0..nc {
            let (min_t, page) = match prev {
                None => {
                    let min_t = self.block_min.wrapping_add(d.zvarint()?);
                    let span = d.uvarint()?;
                    let samples = d.uvarint()?;
                    let page = d.uvarint()?;
                    (min_t, (span, samples, page))
                }
                Some(p) => {
                    let gap = d.uvarint()?;
                    if gap == 0 {
                        return Err(DecodeError("chunks overlap"));
                    }
                    let min_t = p.max_t.wrapping_add(gap as i64);
                    let span = d.uvarint()?;
                    let samples = d.uvarint()?;
                    let page = p.at.page.wrapping_add(d.uvarint()?);
                    (min_t, (span, samples, page))
                }
            };
            let (span, samples, page) = page;
            let offset = u32::try_from(d.uvarint()?)
                .map_err(|_| DecodeError("chunk offset out of range"))?;
            if samples == 0 || samples > MAX_BLOCK_CHUNK_SAMPLES as u64 {
                return Err(DecodeError("chunk sample count out of range"));
            }
            let max_t = min_t
                .checked_add(
                    i64::try_from(span).map_err(|_| DecodeError("chunk span out of range"))?,
                )
                .ok_or(DecodeError("chunk span out of range"))?;
            let c = ChunkMeta {
                min_t,
                max_t,
                samples: samples as u32,
                at: ChunkRef { page, offset },
            };
            chunks.push(c);
            prev = Some(c);
        }
        Ok((labels, chunks))
    }

    /// Size of the index file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    pub fn num_series(&self) -> usize {
        self.offsets.len()
    }

    /// Label ids and chunk metadata of series `id`.
    ///
    /// # Errors
    /// `id` out of range or corrupt bytes (checked at open, so not expected).
    pub fn series(&self, id: u32) -> Result<SeriesParts, TsdbError> {
        let off = self
            .offsets
            .get(id as usize)
            .ok_or_else(|| TsdbError::Internal(format!("series id {id} out of range")))?;
        let mut d = Decoder::new(self.series.get(*off as usize..).unwrap_or(&[]));
        self.decode_series(&mut d, false)
            .map_err(|e| TsdbError::corrupt(&self.path, u64::from(*off), e.to_string()))
    }

    /// Materializes label ids.
    pub fn labels(&self, ids: &[(u32, u32)]) -> Labels {
        Labels::from_sorted_unchecked(
            ids.iter()
                .map(|(n, v)| {
                    Label::new(
                        self.sym(u64::from(*n)).unwrap_or(""),
                        self.sym(u64::from(*v)).unwrap_or(""),
                    )
                })
                .collect(),
        )
    }

    fn cmp_with(&self, ids: &[(u32, u32)], labels: &Labels) -> std::cmp::Ordering {
        for ((n, v), l) in ids.iter().zip(labels) {
            let o = self
                .sym(u64::from(*n))
                .unwrap_or("")
                .cmp(l.name.as_str())
                .then_with(|| self.sym(u64::from(*v)).unwrap_or("").cmp(l.value.as_str()));
            if o.is_ne() {
                return o;
            }
        }
        ids.len().cmp(&labels.len())
    }

    /// The id of the series with exactly `labels`.
    ///
    /// # Errors
    /// Corrupt series bytes.
    pub fn find(&self, labels: &Labels) -> Result<Option<u32>, TsdbError> {
        let (mut lo, mut hi) = (0usize, self.offsets.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (ids, _) = self.series(mid as u32)?;
            match self.cmp_with(&ids, labels) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid as u32)),
            }
        }
        Ok(None)
    }

    /// Approximate resident bytes.
    pub fn heap_bytes(&self) -> usize {
        self.series.capacity()
            + self.offsets.capacity() * 4
            + self.symbols.iter().map(|s| s.len() + 16).sum::<usize>()
            + self
                .postings
                .values()
                .map(|v| v.iter().map(|p| p.ids.len() * 4 + 24).sum::<usize>())
                .sum::<usize>()
    }

    fn value_id(&self, value: &str) -> Option<u32> {
        self.symbols
            .binary_search_by(|s| (**s).cmp(value))
            .ok()
            .map(|i| i as u32)
    }
}

impl IndexView for IndexReader {
    fn all_postings(&self) -> Vec<u64> {
        (0..self.offsets.len() as u64).collect()
    }

    fn postings_exact(&self, name: &str, value: &str) -> Vec<u64> {
        let (Some(values), Some(v)) = (self.postings.get(name), self.value_id(value)) else {
            return Vec::new();
        };
        values
            .binary_search_by_key(&v, |p| p.value)
            .ok()
            .and_then(|i| values.get(i))
            .map(|p| p.ids.iter().map(|x| u64::from(*x)).collect())
            .unwrap_or_default()
    }

    fn postings_matching(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> Vec<u64> {
        let Some(values) = self.postings.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<u64> = values
            .iter()
            .filter(|p| pred(self.sym(u64::from(p.value)).unwrap_or("")))
            .flat_map(|p| p.ids.iter().map(|x| u64::from(*x)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

//! One series in the head: interned labels, closed XOR chunks, the open chunk, and the
//! out-of-order buffer.
//!
//! In-order samples form an append-only sequence (closed chunks, then the open chunk); samples
//! older than the newest in-order one go to `ooo`, a small sorted buffer merged on read and on
//! persistence. Persistence removes "the first n in-order samples" plus exact out-of-order
//! timestamps, which stays correct while appends continue between copying and truncating.

use vigil_model::Sample;
use vigil_storage::TimeRange;

use crate::chunkenc::bits::DResult;
use crate::chunkenc::xor::{decode_head_chunk, XorAppender, HEAD_CHUNK_SAMPLES};
use crate::compact::retain_in_range;
use crate::labels::LabelIds;

/// A full head chunk.
#[derive(Debug)]
pub struct ClosedChunk {
    pub data: Box<[u8]>,
    pub min_t: i64,
    pub max_t: i64,
    pub n: u16,
}

/// Result of placing an out-of-order sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OooInsert {
    Inserted,
    /// Bit-identical sample already present.
    Identical,
    /// A different value at the same timestamp.
    Conflict,
}

#[derive(Debug)]
pub struct MemSeries {
    /// Interned (name, value) pairs.
    pub labels: LabelIds,
    pub hash: u64,
    pub closed: Vec<ClosedChunk>,
    pub open: Option<XorAppender>,
    pub ooo: Vec<Sample>,
    /// Newest in-order timestamp ever appended (`i64::MIN` before the first).
    pub last_t: i64,
    pub last_v: u64,
    /// Samples at or before this time may exist in blocks.
    pub persisted_max_t: i64,
    /// The open chunk is closed when a sample reaches this time (a block-range boundary).
    chunk_end: i64,
}

/// The exclusive end of the block-range slot `t` falls in; chunks never cross it.
#[inline]
pub fn slot_end(t: i64, range: i64) -> i64 {
    t.div_euclid(range).saturating_add(1).saturating_mul(range)
}

fn decode_all(data: &[u8], n: usize) -> Vec<Sample> {
    let mut out = Vec::with_capacity(n);
    // Head chunks are written by this process; a decode failure would be a bug. Return what
    // decoded rather than panic.
    let _: DResult<()> = decode_head_chunk(data, n, &mut out);
    out
}

fn encode(samples: &[Sample]) -> Option<XorAppender> {
    let (first, rest) = samples.split_first()?;
    let mut a = XorAppender::new(first.t, first.v);
    for s in rest {
        a.append(s.t, s.v);
    }
    Some(a)
}

impl MemSeries {
    pub fn new(labels: LabelIds, hash: u64, persisted_max_t: i64) -> Self {
        MemSeries {
            labels,
            hash,
            closed: Vec::new(),
            open: None,
            ooo: Vec::new(),
            last_t: i64::MIN,
            last_v: 0,
            persisted_max_t,
            chunk_end: i64::MIN,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_none() && self.ooo.is_empty()
    }

    fn inorder_min_t(&self) -> Option<i64> {
        self.closed
            .first()
            .map(|c| c.min_t)
            .or_else(|| self.open.as_ref().map(XorAppender::min_t))
    }

    fn inorder_max_t(&self) -> Option<i64> {
        self.open
            .as_ref()
            .map(XorAppender::max_t)
            .or_else(|| self.closed.last().map(|c| c.max_t))
    }

    /// Oldest sample time held.
    pub fn min_t(&self) -> Option<i64> {
        match (self.inorder_min_t(), self.ooo.first().map(|s| s.t)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Newest sample time held.
    pub fn max_t(&self) -> Option<i64> {
        match (self.inorder_max_t(), self.ooo.last().map(|s| s.t)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }

    /// Approximate heap bytes (chunks, buffers, labels).
    pub fn heap_bytes(&self) -> usize {
        self.labels.heap_bytes()
            + self.closed.capacity() * std::mem::size_of::<ClosedChunk>()
            + self.closed.iter().map(|c| c.data.len()).sum::<usize>()
            + self.open.as_ref().map_or(0, XorAppender::heap_bytes)
            + self.ooo.capacity() * std::mem::size_of::<Sample>()
    }

    /// Appends a sample newer than `last_t`.
    #[inline]
    pub fn append_inorder(&mut self, t: i64, v: f64, block_range: i64) {
        match &mut self.open {
            Some(a) if a.len() < HEAD_CHUNK_SAMPLES && t < self.chunk_end => {
                a.append(t, v);
            }
            _ => {
                if let Some(a) = self.open.take() {
                    self.closed.push(ClosedChunk {
                        n: a.len(),
                        min_t: a.min_t(),
                        max_t: a.max_t(),
                        data: a.finish(),
                    });
                }
                self.open = Some(XorAppender::new(t, v));
                self.chunk_end = slot_end(t, block_range);
            }
        }
        self.last_t = t;
        self.last_v = v.to_bits();
    }

    /// The bits of the in-order sample at `t`, if any.
    pub fn inorder_value_at(&self, t: i64) -> Option<u64> {
        let find = |samples: Vec<Sample>| {
            samples
                .binary_search_by_key(&t, |s| s.t)
                .ok()
                .and_then(|i| samples.get(i))
                .map(|s| s.v.to_bits())
        };
        if let Some(a) = &self.open {
            if a.min_t() <= t && t <= a.max_t() {
                return find(decode_all(&a.bytes(), usize::from(a.len())));
            }
        }
        let i = self.closed.partition_point(|c| c.max_t < t);
        let c = self.closed.get(i)?;
        if c.min_t <= t {
            find(decode_all(&c.data, usize::from(c.n)))
        } else {
            None
        }
    }

    /// Places a sample older than `last_t` into the out-of-order buffer.
    pub fn ooo_insert(&mut self, t: i64, v: f64) -> OooInsert {
        match self.ooo.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => match self.ooo.get(i) {
                Some(s) if s.v.to_bits() == v.to_bits() => OooInsert::Identical,
                _ => OooInsert::Conflict,
            },
            Err(i) => {
                self.ooo.insert(i, Sample::new(t, v));
                OooInsert::Inserted
            }
        }
    }

    /// The samples in `range`, sorted by time.
    pub fn samples_in(&self, range: TimeRange, out: &mut Vec<Sample>) {
        let start = out.len();
        let mut push_chunk = |data: &[u8], n: u16, min_t: i64, max_t: i64| {
            if !range.overlaps(min_t, max_t) {
                return;
            }
            let from = out.len();
            // Written by this process; on a decode failure (a bug) keep what decoded.
            let _: DResult<()> = decode_head_chunk(data, usize::from(n), out);
            if min_t < range.start || max_t > range.end {
                retain_in_range(out, from, range);
            }
        };
        for c in &self.closed {
            push_chunk(&c.data, c.n, c.min_t, c.max_t);
        }
        if let Some(a) = &self.open {
            push_chunk(&a.bytes(), a.len(), a.min_t(), a.max_t());
        }
        let lo = self.ooo.partition_point(|s| s.t < range.start);
        let hi = self.ooo.partition_point(|s| s.t <= range.end);
        let ooo = self.ooo.get(lo..hi).unwrap_or(&[]);
        if ooo.is_empty() {
            return;
        }
        if out.len() == start {
            out.extend_from_slice(ooo);
            return;
        }
        let inorder = out.split_off(start);
        let (mut i, mut j) = (0, 0);
        out.reserve(inorder.len() + ooo.len());
        while let (Some(a), Some(b)) = (inorder.get(i), ooo.get(j)) {
            if a.t <= b.t {
                out.push(*a);
                i += 1;
            } else {
                out.push(*b);
                j += 1;
            }
        }
        out.extend_from_slice(inorder.get(i..).unwrap_or(&[]));
        out.extend_from_slice(ooo.get(j..).unwrap_or(&[]));
    }

    /// Whether any sample lies in `range`.
    pub fn has_samples_in(&self, range: TimeRange) -> bool {
        let lo = self.ooo.partition_point(|s| s.t < range.start);
        if self.ooo.get(lo).is_some_and(|s| s.t <= range.end) {
            return true;
        }
        let check = |data: &[u8], n: u16, min_t: i64, max_t: i64| {
            if !range.overlaps(min_t, max_t) {
                return false;
            }
            if range.start <= min_t && max_t <= range.end {
                return true;
            }
            decode_all(data, usize::from(n))
                .iter()
                .any(|s| range.contains(s.t))
        };
        self.closed
            .iter()
            .any(|c| check(&c.data, c.n, c.min_t, c.max_t))
            || self
                .open
                .as_ref()
                .is_some_and(|a| check(&a.bytes(), a.len(), a.min_t(), a.max_t()))
    }

    /// Copies every sample older than `hi` into `out` (sorted); returns how many in-order
    /// samples that was (a prefix of the in-order sequence) and the out-of-order timestamps.
    pub fn copy_below(&self, hi: i64, out: &mut Vec<Sample>) -> (usize, Vec<i64>) {
        let range = TimeRange::new(i64::MIN, hi.saturating_sub(1));
        let before = out.len();
        self.samples_in(range, out);
        let ooo_ts: Vec<i64> = self
            .ooo
            .iter()
            .take_while(|s| s.t < hi)
            .map(|s| s.t)
            .collect();
        let inorder = out.len() - before - ooo_ts.len();
        (inorder, ooo_ts)
    }

    /// Removes the first `inorder_n` in-order samples and the out-of-order samples at
    /// `ooo_ts` (sorted), after they were persisted up to `persisted_max_t`.
    pub fn truncate(&mut self, inorder_n: usize, ooo_ts: &[i64], persisted_max_t: i64) {
        let mut left = inorder_n;
        while left > 0 {
            if let Some(c) = self.closed.first() {
                let n = usize::from(c.n);
                if n <= left {
                    left -= n;
                    self.closed.remove(0);
                    continue;
                }
                let rest = decode_all(&c.data, n).split_off(left);
                if let Some(a) = encode(&rest) {
                    self.closed[0] = ClosedChunk {
                        n: a.len(),
                        min_t: a.min_t(),
                        max_t: a.max_t(),
                        data: a.finish(),
                    };
                }
                left = 0;
            } else if let Some(a) = &self.open {
                let n = usize::from(a.len());
                if n <= left {
                    self.open = None;
                } else {
                    let rest = decode_all(&a.bytes(), n).split_off(left);
                    self.open = encode(&rest);
                    // Still inside the slot it started in, so `chunk_end` stays valid.
                }
                left = 0;
            } else {
                break;
            }
        }
        if !ooo_ts.is_empty() {
            self.ooo.retain(|s| ooo_ts.binary_search(&s.t).is_err());
            if self.ooo.is_empty() {
                self.ooo = Vec::new();
            }
        }
        self.persisted_max_t = self.persisted_max_t.max(persisted_max_t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: i64 = 7_200_000;

    fn series() -> MemSeries {
        MemSeries::new(LabelIds::new(&[]), 0, i64::MIN)
    }

    fn all(s: &MemSeries) -> Vec<Sample> {
        let mut out = Vec::new();
        s.samples_in(TimeRange::all(), &mut out);
        out
    }

    #[test]
    fn chunks_are_cut_at_120_samples_and_slot_ends() {
        let mut s = series();
        for i in 0..300 {
            s.append_inorder(i * 1000, i as f64, R);
        }
        assert_eq!(s.chunk_count(), 3);
        let mut s = series();
        s.append_inorder(R - 1, 1.0, R);
        s.append_inorder(R, 2.0, R);
        assert_eq!(
            s.chunk_count(),
            2,
            "a chunk never crosses a block-range boundary"
        );
        assert_eq!(slot_end(-1, R), 0);
        assert_eq!(slot_end(0, R), R);
    }

    #[test]
    fn ooo_merges_on_read_and_truncate_keeps_later_appends() {
        let mut s = series();
        for i in 0..200 {
            s.append_inorder(i * 10, i as f64, R);
        }
        assert_eq!(s.ooo_insert(5, 0.5), OooInsert::Inserted);
        assert_eq!(s.ooo_insert(5, 0.5), OooInsert::Identical);
        assert_eq!(s.ooo_insert(5, 0.6), OooInsert::Conflict);
        assert_eq!(s.inorder_value_at(1500), Some(150f64.to_bits()));
        assert_eq!(s.inorder_value_at(1505), None);
        let got = all(&s);
        assert_eq!(got.len(), 201);
        assert_eq!(got[1], Sample::new(5, 0.5));
        let mut copied = Vec::new();
        let (n, ooo) = s.copy_below(1000, &mut copied);
        assert_eq!((n, ooo.clone()), (100, vec![5]));
        assert_eq!(copied.len(), 101);
        // Appends after the copy survive the truncation.
        s.append_inorder(5000, 1.0, R);
        assert_eq!(s.ooo_insert(7, 0.7), OooInsert::Inserted);
        s.truncate(n, &ooo, 999);
        let got = all(&s);
        assert_eq!(got.first(), Some(&Sample::new(7, 0.7)));
        assert_eq!(got.get(1), Some(&Sample::new(1000, 100.0)));
        assert_eq!(got.len(), 102);
        assert_eq!(s.persisted_max_t, 999);
        assert!(s.has_samples_in(TimeRange::new(1000, 1000)));
        assert!(!s.has_samples_in(TimeRange::new(1001, 1009)));
    }
}

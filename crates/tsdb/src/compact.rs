//! Compaction: choosing blocks to merge and merging them into one.
//!
//! Plan: first any set of blocks whose time ranges overlap (out-of-order data persisted late, or
//! repeated flushes); then, per compaction range (block range × 1, 3, 9, ...), two or more blocks
//! that fit in the same aligned window once newer data exists past that window. The merge walks
//! the sources' series in label order (each block's series are sorted) and writes every series
//! once with its samples merged and deduplicated. The sample-list helpers of that merge
//! ([`merge_samples`], [`retain_in_range`]) are shared with the read paths of head and blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigil_model::{Labels, Sample};
use vigil_storage::TimeRange;

use crate::block::chunks::PageCache;
use crate::block::{BlockMeta, BlockReader, BlockWriter};
use crate::TsdbError;

/// The blocks to merge next, if any.
pub fn plan(blocks: &[Arc<BlockReader>], ranges: &[i64]) -> Option<Vec<Arc<BlockReader>>> {
    let mut sorted: Vec<&Arc<BlockReader>> = blocks.iter().collect();
    sorted.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    let mut group: Vec<&Arc<BlockReader>> = Vec::new();
    let mut group_max = i64::MIN;
    for b in &sorted {
        if !group.is_empty() && b.meta().min_time <= group_max {
            group.push(b);
            group_max = group_max.max(b.meta().max_time);
            continue;
        }
        if group.len() >= 2 {
            break;
        }
        group = vec![b];
        group_max = b.meta().max_time;
    }
    if group.len() >= 2 {
        return Some(group.into_iter().cloned().collect());
    }
    let newest = sorted.iter().map(|b| b.meta().max_time).max()?;
    for &l in ranges {
        let mut windows: BTreeMap<i64, Vec<&Arc<BlockReader>>> = BTreeMap::new();
        for b in &sorted {
            let k = b.meta().min_time.div_euclid(l);
            let end = k.saturating_add(1).saturating_mul(l);
            if b.meta().max_time < end {
                windows.entry(k).or_default().push(b);
            }
        }
        for (k, g) in windows {
            let end = k.saturating_add(1).saturating_mul(l);
            if g.len() >= 2 && end <= newest {
                return Some(g.into_iter().cloned().collect());
            }
        }
    }
    None
}

/// Merges sorted sample lists that were appended one after the other to `all`: sorts by time
/// and keeps the value of the later list on equal timestamps (the sort is stable). Sources that
/// do not overlap in time cost one pass.
pub fn merge_samples(all: &mut Vec<Sample>) {
    all.sort_by_key(|s| s.t);
    all.dedup_by(|later, earlier| {
        if later.t == earlier.t {
            *earlier = *later;
            true
        } else {
            false
        }
    });
}

/// Keeps, of the samples from index `from` on, those in `range`.
pub fn retain_in_range(samples: &mut Vec<Sample>, from: usize, range: TimeRange) {
    let mut i = 0;
    samples.retain(|s| {
        i += 1;
        i <= from || range.contains(s.t)
    });
}

struct Cursor<'a> {
    block: &'a BlockReader,
    next: u32,
    current: Option<(Labels, u32)>,
    cache: PageCache,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<(), TsdbError> {
        let idx = self.block.index();
        if (self.next as usize) < idx.num_series() {
            let (ids, _) = idx.series(self.next)?;
            self.current = Some((idx.labels(&ids), self.next));
            self.next += 1;
        } else {
            self.current = None;
        }
        Ok(())
    }
}

/// Writes one block holding everything in `sources` as block number `seq`.
///
/// # Errors
/// Reading a source or writing the new block failed (nothing is committed then).
pub fn merge_blocks(
    blocks_dir: &Path,
    seq: u64,
    sources: &[Arc<BlockReader>],
) -> Result<Option<(PathBuf, BlockMeta)>, TsdbError> {
    let min = sources.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max = sources.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let level = sources
        .iter()
        .map(|b| b.meta().level)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let ids = sources.iter().map(|b| b.id().to_owned()).collect();
    let mut w = BlockWriter::create(blocks_dir, seq, min, max, level, ids)?;
    let mut cursors: Vec<Cursor<'_>> = sources
        .iter()
        .map(|b| Cursor {
            block: b,
            next: 0,
            current: None,
            cache: PageCache::default(),
        })
        .collect();
    for c in &mut cursors {
        c.advance()?;
    }
    let mut samples = Vec::new();
    while let Some(min_labels) = cursors
        .iter()
        .filter_map(|c| c.current.as_ref().map(|(l, _)| l))
        .min()
        .cloned()
    {
        samples.clear();
        let mut sources = 0;
        for c in &mut cursors {
            if let Some((l, id)) = &c.current {
                if *l == min_labels {
                    c.block
                        .samples(*id, TimeRange::all(), &mut c.cache, &mut samples)?;
                    sources += 1;
                    c.advance()?;
                }
            }
        }
        if sources > 1 {
            merge_samples(&mut samples);
        }
        w.add_series(&min_labels, &samples)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_prefers_later_parts() {
        let a = vec![Sample::new(1, 1.0), Sample::new(3, 3.0)];
        let b = vec![Sample::new(2, 2.0), Sample::new(3, 9.0)];
        let mut all = [a, b].concat();
        merge_samples(&mut all);
        assert_eq!(
            all,
            vec![
                Sample::new(1, 1.0),
                Sample::new(2, 2.0),
                Sample::new(3, 9.0)
            ]
        );
        let mut none = Vec::new();
        merge_samples(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn retain_in_range_leaves_the_prefix() {
        let mut v: Vec<Sample> = (0..6).map(|t| Sample::new(t, 0.0)).collect();
        v.extend((0..6).map(|t| Sample::new(t, 1.0)));
        retain_in_range(&mut v, 6, TimeRange::new(2, 3));
        let ts: Vec<(i64, f64)> = v.iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(
            ts,
            vec![
                (0, 0.0),
                (1, 0.0),
                (2, 0.0),
                (3, 0.0),
                (4, 0.0),
                (5, 0.0),
                (2, 1.0),
                (3, 1.0)
            ]
        );
    }
}

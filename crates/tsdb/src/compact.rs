//! Compaction: choosing blocks to merge and merging them into one.
//!
//! Plan: first any set of blocks whose time ranges overlap (out-of-order data persisted late, or
//! repeated flushes); then, per compaction range (block range × 1, 3, 9, ...), two or more blocks
//! that fit in the same aligned window once newer data exists past that window. The merge walks
//! the sources' series in label order (each block's series are sorted) and writes every series
//! once with its samples merged and deduplicated.

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

/// Merges sorted sample lists, keeping the value of the later list on equal timestamps.
pub fn merge_samples(mut parts: Vec<Vec<Sample>>) -> Vec<Sample> {
    parts.retain(|p| !p.is_empty());
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut all: Vec<Sample> = parts.into_iter().flatten().collect();
    all.sort_by_key(|s| s.t);
    all.dedup_by(|later, earlier| {
        if later.t == earlier.t {
            *earlier = *later;
            true
        } else {
            false
        }
    });
    all
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
    let level = sources.iter().map(|b| b.meta().level).max().unwrap_or(0) + 1;
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
    while let Some(min_labels) = cursors
        .iter()
        .filter_map(|c| c.current.as_ref().map(|(l, _)| l))
        .min()
        .cloned()
    {
        let mut parts = Vec::new();
        for c in &mut cursors {
            if let Some((l, id)) = &c.current {
                if *l == min_labels {
                    let mut s = Vec::new();
                    c.block
                        .samples(*id, TimeRange::all(), &mut c.cache, &mut s)?;
                    parts.push(s);
                    c.advance()?;
                }
            }
        }
        w.add_series(&min_labels, &merge_samples(parts))?;
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
        assert_eq!(
            merge_samples(vec![a, b]),
            vec![
                Sample::new(1, 1.0),
                Sample::new(2, 2.0),
                Sample::new(3, 9.0)
            ]
        );
        assert!(merge_samples(vec![]).is_empty());
    }
}

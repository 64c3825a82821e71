//! Reads across the head and the blocks: every source resolves the matchers on its own postings,
//! candidates are merged by label set, and samples are read lazily series by series as the caller
//! iterates, so memory stays bounded by one series at a time.

use std::collections::BTreeSet;
use std::sync::Arc;

use vigil_model::{Labels, MatchOp, Matcher, Sample};
use vigil_storage::{MetricSelect, SeriesData, SeriesSet, StorageError, TimeRange, TsdbStatus};

use super::Tsdb;
use crate::block::chunks::PageCache;
use crate::block::BlockReader;
use crate::compact::merge_samples;
use crate::TsdbError;

/// Where one candidate series lives.
#[derive(Debug, Clone, Copy)]
enum Loc {
    Block(usize, u32),
    Head(u64),
}

struct SelectIter<'a> {
    db: &'a Tsdb,
    blocks: Vec<Arc<BlockReader>>,
    caches: Vec<PageCache>,
    groups: std::vec::IntoIter<(Labels, Vec<Loc>)>,
    range: TimeRange,
}

impl<'a> SelectIter<'a> {
    fn new(
        db: &'a Tsdb,
        blocks: Vec<Arc<BlockReader>>,
        groups: Vec<(Labels, Vec<Loc>)>,
        range: TimeRange,
    ) -> Self {
        // Page offsets are per block, so each block gets its own cache.
        let caches = blocks.iter().map(|_| PageCache::default()).collect();
        SelectIter {
            db,
            blocks,
            caches,
            groups: groups.into_iter(),
            range,
        }
    }

    fn read(&mut self, locs: &[Loc]) -> Result<Vec<Sample>, TsdbError> {
        let mut out = Vec::new();
        for loc in locs {
            match *loc {
                Loc::Block(b, id) => {
                    if let (Some(block), Some(cache)) = (self.blocks.get(b), self.caches.get_mut(b))
                    {
                        block.samples(id, self.range, cache, &mut out)?;
                    }
                }
                Loc::Head(r) => self.db.head.samples(r, self.range, &mut out),
            }
        }
        if locs.len() > 1 {
            merge_samples(&mut out);
        }
        Ok(out)
    }
}

impl Iterator for SelectIter<'_> {
    type Item = Result<SeriesData, StorageError>;

    /// At most one series per candidate (candidates without samples in range are skipped).
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.groups.len()))
    }

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (labels, locs) = self.groups.next()?;
            match self.read(&locs) {
                Ok(samples) if samples.is_empty() => continue,
                Ok(samples) => return Some(Ok(SeriesData { labels, samples })),
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

impl Tsdb {
    fn blocks_in(&self, range: TimeRange) -> Vec<Arc<BlockReader>> {
        self.blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(range))
            .cloned()
            .collect()
    }

    /// Candidate series with their locations, sorted by label set (blocks before the head for
    /// equal labels, so the head's value wins on merge).
    fn candidates(
        &self,
        blocks: &[Arc<BlockReader>],
        matchers: &[Matcher],
        range: TimeRange,
        exact: bool,
    ) -> Result<Vec<(Labels, Vec<Loc>)>, TsdbError> {
        let mut entries: Vec<(Labels, Loc)> = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            // Page offsets are per block, so each block gets its own cache.
            let mut cache = PageCache::default();
            let ids = b.postings(matchers);
            for (labels, id) in b.labels_for(&ids, range, exact, &mut cache)? {
                entries.push((labels, Loc::Block(i, id)));
            }
        }
        let refs = self.head.postings_for(matchers);
        let mut head = self.head.labels_for(&refs, range, exact);
        head.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let from_blocks = !entries.is_empty();
        entries.extend(head.into_iter().map(|(l, r)| (l, Loc::Head(r))));
        if from_blocks {
            // Stable: a series in several blocks and the head keeps its sources in time order.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut groups: Vec<(Labels, Vec<Loc>)> = Vec::new();
        for (labels, loc) in entries {
            match groups.last_mut() {
                Some((l, locs)) if *l == labels => locs.push(loc),
                _ => groups.push((labels, vec![loc])),
            }
        }
        Ok(groups)
    }

    fn matching_labels(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<Labels>, TsdbError> {
        let blocks = self.blocks_in(range);
        Ok(self
            .candidates(&blocks, matchers, range, true)?
            .into_iter()
            .map(|(l, _)| l)
            .collect())
    }
}

impl MetricSelect for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<SeriesSet<'_>, StorageError> {
        let blocks = self.blocks_in(range);
        let groups = self.candidates(&blocks, matchers, range, false)?;
        Ok(Box::new(SelectIter::new(self, blocks, groups, range)))
    }

    fn select_parts(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
        parts: usize,
    ) -> Result<Vec<SeriesSet<'_>>, StorageError> {
        let blocks = self.blocks_in(range);
        let groups = self.candidates(&blocks, matchers, range, false)?;
        let per_part = groups.len().div_ceil(parts.max(1)).max(1);
        let mut sets: Vec<SeriesSet<'_>> = Vec::with_capacity(parts.max(1));
        let mut groups = groups.into_iter();
        loop {
            let chunk: Vec<(Labels, Vec<Loc>)> = groups.by_ref().take(per_part).collect();
            if chunk.is_empty() && !sets.is_empty() {
                break;
            }
            sets.push(Box::new(SelectIter::new(
                self,
                blocks.clone(),
                chunk,
                range,
            )));
        }
        Ok(sets)
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>, StorageError> {
        Ok(self.matching_labels(matchers, range)?)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = self
            .matching_labels(matchers, range)?
            .into_iter()
            .flat_map(|l| l.into_vec().into_iter().map(|l| l.name))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>, StorageError> {
        // Only series that have the label can contribute a value.
        let mut ms = matchers.to_vec();
        ms.push(
            Matcher::new(MatchOp::NotEqual, name, "")
                .map_err(|e| StorageError::InvalidInput(e.to_string()))?,
        );
        let values: BTreeSet<String> = self
            .matching_labels(&ms, range)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_owned))
            .collect();
        Ok(values.into_iter().collect())
    }

    fn status(&self, limit: usize) -> Result<TsdbStatus, StorageError> {
        Ok(self.head.status(limit))
    }
}

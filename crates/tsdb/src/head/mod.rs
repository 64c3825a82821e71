//! The head: the in-memory part of the store that takes every append.
//!
//! Series live in [`SHARDS`] shards, each behind its own mutex; a series' shard is chosen by the
//! hash of its labels and is encoded in the low bits of its ref, so the hot path (hash, lock one
//! shard, find the series without allocating, append) touches one lock per series. Labels are
//! interned into a shared [`Symbols`] table and stored as id pairs. Postings (label pair → sorted
//! refs) are kept for matchers.
//!
//! Split by job: `append.rs` (the write path), `read.rs` (queries and status), `persist.rs`
//! (cutting data out into blocks, garbage collection, WAL checkpoint and replay).

mod append;
mod persist;
mod read;
pub mod series;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use vigil_model::Labels;

use crate::labels::Symbols;
use crate::postings::{insert_sorted, union, IndexView};
pub use persist::CopiedSeries;
pub use series::MemSeries;

/// log2 of the shard count.
pub const SHARD_BITS: u32 = 7;
pub const SHARDS: usize = 1 << SHARD_BITS;
const SHARD_MASK: u64 = (SHARDS as u64) - 1;

/// Hasher for keys that are already hashes.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Series slots per page of a shard. Pages are allocated once and never moved, so growing a
/// shard neither copies series nor leaves freed blocks behind (a single growing vector per shard
/// fragmented the allocator by about its own size several times over).
const PAGE: usize = 64;

type Page = Box<[Option<MemSeries>]>;

/// One shard: series by local index, and the label-hash lookup for series placed here.
#[derive(Default)]
pub struct Shard {
    by_hash: IdMap<u64>,
    /// Further refs whose labels hash to a value already in `by_hash` (rare).
    collisions: IdMap<Vec<u64>>,
    pages: Vec<Option<Page>>,
    next_local: u64,
}

#[inline]
fn local(r: u64) -> usize {
    usize::try_from(r >> SHARD_BITS).unwrap_or(usize::MAX)
}

impl Shard {
    #[inline]
    pub fn get(&self, r: u64) -> Option<&MemSeries> {
        let i = local(r);
        self.pages.get(i / PAGE)?.as_ref()?.get(i % PAGE)?.as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, r: u64) -> Option<&mut MemSeries> {
        let i = local(r);
        self.pages
            .get_mut(i / PAGE)?
            .as_mut()?
            .get_mut(i % PAGE)?
            .as_mut()
    }

    /// The ref of the series in this shard with exactly `labels`.
    #[inline]
    fn find(&self, hash: u64, labels: &Labels, syms: &Symbols) -> Option<u64> {
        let r = *self.by_hash.get(&hash)?;
        if self.get(r).is_some_and(|s| syms.equals(&s.labels, labels)) {
            return Some(r);
        }
        self.collisions
            .get(&hash)?
            .iter()
            .copied()
            .find(|r| self.get(*r).is_some_and(|s| syms.equals(&s.labels, labels)))
    }

    /// Stores a series at `r`; `findable` also registers it for label lookup.
    fn insert(&mut self, r: u64, s: MemSeries, findable: bool) {
        let i = local(r);
        let p = i / PAGE;
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        let hash = s.hash;
        if let Some(page) = self.pages.get_mut(p) {
            let page = page.get_or_insert_with(|| (0..PAGE).map(|_| None).collect());
            if let Some(slot) = page.get_mut(i % PAGE) {
                *slot = Some(s);
            }
        }
        self.next_local = self.next_local.max((r >> SHARD_BITS).saturating_add(1));
        if findable {
            match self.by_hash.entry(hash) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(r);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    self.collisions.entry(hash).or_default().push(r);
                }
            }
        }
    }

    fn remove(&mut self, r: u64) -> Option<MemSeries> {
        let i = local(r);
        let page = self.pages.get_mut(i / PAGE)?;
        let s = page.as_mut()?.get_mut(i % PAGE)?.take()?;
        if page.as_ref().is_some_and(|p| p.iter().all(Option::is_none)) {
            *page = None;
        }
        let h = s.hash;
        if self.by_hash.get(&h) == Some(&r) {
            self.by_hash.remove(&h);
            if let Some(mut more) = self.collisions.remove(&h) {
                if let Some(first) = more.pop() {
                    self.by_hash.insert(h, first);
                }
                if !more.is_empty() {
                    self.collisions.insert(h, more);
                }
            }
        } else if let Some(v) = self.collisions.get_mut(&h) {
            v.retain(|x| *x != r);
            if v.is_empty() {
                self.collisions.remove(&h);
            }
        }
        Some(s)
    }

    fn alloc_ref(&mut self, shard: usize) -> u64 {
        let r = (self.next_local << SHARD_BITS) | shard as u64;
        self.next_local += 1;
        r
    }

    /// Live series of shard number `shard` with their refs.
    pub fn iter(&self, shard: usize) -> impl Iterator<Item = (u64, &MemSeries)> + '_ {
        self.pages
            .iter()
            .enumerate()
            .filter_map(|(p, page)| page.as_ref().map(|page| (p, page)))
            .flat_map(move |(p, page)| {
                page.iter().enumerate().filter_map(move |(j, s)| {
                    let i = (p * PAGE + j) as u64;
                    s.as_ref().map(|s| ((i << SHARD_BITS) | shard as u64, s))
                })
            })
    }
}

/// Label pair → sorted series refs, by interned ids.
#[derive(Debug, Default)]
pub struct HeadPostings {
    by_name: HashMap<u32, HashMap<u32, Vec<u64>, crate::labels::FastHash>, crate::labels::FastHash>,
    all: Vec<u64>,
}

impl HeadPostings {
    fn add(&mut self, r: u64, pairs: &[u32]) {
        for p in pairs.chunks_exact(2) {
            let list = self
                .by_name
                .entry(p[0])
                .or_default()
                .entry(p[1])
                .or_default();
            insert_sorted(list, r);
        }
        insert_sorted(&mut self.all, r);
    }

    /// Removes many series at once: each affected list is filtered once (removing refs one by
    /// one is quadratic in the list length).
    fn remove_many(&mut self, removed: &[(u64, MemSeries)]) {
        let mut gone: Vec<u64> = removed.iter().map(|(r, _)| *r).collect();
        gone.sort_unstable();
        let is_gone = |r: &u64| gone.binary_search(r).is_ok();
        let mut pairs: Vec<(u32, u32)> = removed
            .iter()
            .flat_map(|(_, s)| s.labels.chunks_exact(2).map(|p| (p[0], p[1])))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        for (n, v) in pairs {
            if let Some(values) = self.by_name.get_mut(&n) {
                if let Some(list) = values.get_mut(&v) {
                    list.retain(|r| !is_gone(r));
                    if list.is_empty() {
                        values.remove(&v);
                    } else if list.capacity() > 2 * list.len() {
                        list.shrink_to_fit();
                    }
                }
                if values.is_empty() {
                    self.by_name.remove(&n);
                }
            }
        }
        self.all.retain(|r| !is_gone(r));
    }
}

/// Matcher resolution over the head's postings.
pub struct HeadIndex<'a> {
    pub postings: &'a HeadPostings,
    pub syms: &'a Symbols,
}

impl IndexView for HeadIndex<'_> {
    fn all_postings(&self) -> Vec<u64> {
        self.postings.all.clone()
    }

    fn postings_exact(&self, name: &str, value: &str) -> Vec<u64> {
        let (Some(n), Some(v)) = (self.syms.lookup(name), self.syms.lookup(value)) else {
            return Vec::new();
        };
        self.postings
            .by_name
            .get(&n)
            .and_then(|vals| vals.get(&v))
            .cloned()
            .unwrap_or_default()
    }

    fn postings_matching(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> Vec<u64> {
        let Some(n) = self.syms.lookup(name) else {
            return Vec::new();
        };
        let Some(vals) = self.postings.by_name.get(&n) else {
            return Vec::new();
        };
        union(
            vals.iter()
                .filter(|(v, _)| pred(self.syms.get(**v)))
                .map(|(_, list)| list.clone())
                .collect(),
        )
    }
}

/// Counters of the head, exported through `TsdbStats`.
#[derive(Debug, Default)]
pub struct HeadCounters {
    pub samples_appended: AtomicU64,
    pub ooo_appended: AtomicU64,
    pub rejected_too_old: AtomicU64,
    pub rejected_duplicate: AtomicU64,
    pub rejected_invalid: AtomicU64,
    pub rejected_series_limit: AtomicU64,
    pub series_created: AtomicU64,
    pub series_removed: AtomicU64,
}

/// The in-memory head.
pub struct Head {
    shards: Box<[Mutex<Shard>]>,
    pub symbols: RwLock<Symbols>,
    postings: RwLock<HeadPostings>,
    num_series: AtomicU64,
    /// Newest sample time of the whole store (head and blocks).
    max_t: AtomicI64,
    /// Everything at or before this may be in blocks; new series start with it.
    persisted_max_t: AtomicI64,
    ooo_window_ms: i64,
    block_range_ms: i64,
    max_series: usize,
    pub counters: HeadCounters,
}

impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("num_series", &self.num_series)
            .field("max_t", &self.max_t)
            .finish_non_exhaustive()
    }
}

impl Head {
    pub fn new(ooo_window_ms: i64, block_range_ms: i64, max_series: usize) -> Head {
        Head {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            symbols: RwLock::new(Symbols::default()),
            postings: RwLock::new(HeadPostings::default()),
            num_series: AtomicU64::new(0),
            max_t: AtomicI64::new(i64::MIN),
            persisted_max_t: AtomicI64::new(i64::MIN),
            ooo_window_ms,
            block_range_ms,
            max_series,
            counters: HeadCounters::default(),
        }
    }

    #[inline]
    fn shard_of_hash(&self, hash: u64) -> (usize, &Mutex<Shard>) {
        let i = (hash & SHARD_MASK) as usize;
        (i, &self.shards[i])
    }

    #[inline]
    fn shard_of_ref(&self, r: u64) -> &Mutex<Shard> {
        &self.shards[(r & SHARD_MASK) as usize]
    }

    pub fn num_series(&self) -> u64 {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Raises the store-wide newest time (blocks loaded on open).
    pub fn observe_max_t(&self, t: i64) {
        self.max_t.fetch_max(t, Ordering::Relaxed);
    }

    /// Records that data up to `t` may be in blocks.
    pub fn observe_persisted(&self, t: i64) {
        self.persisted_max_t.fetch_max(t, Ordering::Relaxed);
    }

    /// Registers a new series in `shard` (locked by the caller) and in the postings.
    fn create_locked(
        &self,
        shard_idx: usize,
        shard: &mut Shard,
        pairs: crate::labels::LabelIds,
        hash: u64,
    ) -> u64 {
        let r = shard.alloc_ref(shard_idx);
        self.postings.write().add(r, &pairs);
        let s = MemSeries::new(pairs, hash, self.persisted_max_t.load(Ordering::Relaxed));
        shard.insert(r, s, true);
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.counters.series_created.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Removes series by ref (after they became empty); fixes postings.
    fn remove_series(&self, removed: Vec<(u64, MemSeries)>) {
        if removed.is_empty() {
            return;
        }
        self.postings.write().remove_many(&removed);
        let n = removed.len() as u64;
        self.num_series.fetch_sub(n, Ordering::Relaxed);
        self.counters.series_removed.fetch_add(n, Ordering::Relaxed);
    }
}

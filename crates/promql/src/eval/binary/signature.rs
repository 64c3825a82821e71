//! Label signatures: which labels of a series take part in matching (`on`/`ignoring`) or
//! grouping (`by`/`without`), a 64-bit hash of them, and interning of equal signatures into
//! small ordinals.
//!
//! Signatures are computed once per series, never per step. The hash only finds candidates;
//! two series share an ordinal only when their selected label pairs are equal, so a hash
//! collision can never merge two groups.
//!
//! Also here: Prometheus's own series hash (used where its value is observable, as in
//! `limit_ratio`) and Go's text forms of label sets, which upstream's error messages use.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use vigil_model::{Label, Labels, METRIC_NAME_LABEL};

/// Separator between names and values in signature bytes (not valid UTF-8, so it cannot
/// occur inside a name or value).
const SEP: u8 = 0xff;

/// Hasher for keys that already are hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by a precomputed 64-bit hash.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The labels that identify a series for matching or grouping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabelFilter {
    /// Only these labels (`on (…)`, `by (…)`); sorted, unique.
    On(Vec<String>),
    /// All labels but these (`ignoring (…)`, `without (…)`); sorted, unique, and always
    /// including `__name__`, which never takes part in matching or `without` grouping.
    Ignoring(Vec<String>),
}

impl LabelFilter {
    pub fn on<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v: Vec<String> = names.into_iter().map(str::to_owned).collect();
        v.sort_unstable();
        v.dedup();
        LabelFilter::On(v)
    }

    pub fn ignoring<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v: Vec<String> = names.into_iter().map(str::to_owned).collect();
        v.push(METRIC_NAME_LABEL.to_owned());
        v.sort_unstable();
        v.dedup();
        LabelFilter::Ignoring(v)
    }

    /// Whether the label named `name` takes part.
    pub fn keeps(&self, name: &str) -> bool {
        match self {
            LabelFilter::On(names) => names.binary_search_by(|n| n.as_str().cmp(name)).is_ok(),
            LabelFilter::Ignoring(names) => {
                names.binary_search_by(|n| n.as_str().cmp(name)).is_err()
            }
        }
    }

    /// The labels of `labels` that take part, in label order.
    pub fn select<'a>(&'a self, labels: &'a Labels) -> impl Iterator<Item = &'a Label> + 'a {
        labels.iter().filter(move |l| self.keeps(&l.name))
    }

    /// Hash of the selected label pairs. `buf` is scratch space.
    pub fn hash(&self, labels: &Labels, buf: &mut Vec<u8>) -> u64 {
        buf.clear();
        for l in self.select(labels) {
            buf.extend_from_slice(l.name.as_bytes());
            buf.push(SEP);
            buf.extend_from_slice(l.value.as_bytes());
            buf.push(SEP);
        }
        xxh64(buf)
    }

    /// Whether `a` and `b` have the same selected label pairs.
    pub fn same(&self, a: &Labels, b: &Labels) -> bool {
        self.select(a).eq(self.select(b))
    }

    /// The selected labels as a label set (the output labels of a grouping).
    pub fn project(&self, labels: &Labels) -> Labels {
        Labels::from_sorted_unchecked(self.select(labels).cloned().collect())
    }
}

/// Hashes every label set with `filter`, in parallel when there are many.
pub(crate) fn hash_all<'a, I>(filter: &LabelFilter, labels: I) -> Vec<u64>
where
    I: IntoIterator<Item = &'a Labels>,
    I::IntoIter: ExactSizeIterator,
{
    use rayon::prelude::*;
    let all: Vec<&Labels> = labels.into_iter().collect();
    if all.len() < PARALLEL_MIN {
        let mut buf = Vec::new();
        return all.iter().map(|l| filter.hash(l, &mut buf)).collect();
    }
    all.par_iter()
        .map_init(Vec::new, |buf, l| filter.hash(l, buf))
        .collect()
}

/// Below this many series, work stays on the calling thread.
pub(crate) const PARALLEL_MIN: usize = 2048;

/// Assigns small ordinals to signatures, confirming hash matches by comparing labels.
pub(crate) struct Interner<'a> {
    filter: &'a LabelFilter,
    first: IdMap<u32>,
    /// Ordinals whose hash collided with an earlier, different signature (rare).
    extra: Vec<(u64, u32)>,
    /// A label set of each ordinal, to compare against.
    reps: Vec<&'a Labels>,
}

impl<'a> Interner<'a> {
    pub fn new(filter: &'a LabelFilter, capacity: usize) -> Self {
        Interner {
            filter,
            first: IdMap::with_capacity_and_hasher(capacity, Default::default()),
            extra: Vec::new(),
            reps: Vec::with_capacity(capacity),
        }
    }

    /// The ordinal of `labels`'s signature, whose hash is `hash`.
    pub fn intern(&mut self, hash: u64, labels: &'a Labels) -> u32 {
        let Some(&ord) = self.first.get(&hash) else {
            let ord = self.next_ordinal(labels);
            self.first.insert(hash, ord);
            return ord;
        };
        if self.matches(ord, labels) {
            return ord;
        }
        let found = self
            .extra
            .iter()
            .find(|(h, o)| *h == hash && self.matches(*o, labels))
            .map(|(_, o)| *o);
        if let Some(o) = found {
            return o;
        }
        let ord = self.next_ordinal(labels);
        self.extra.push((hash, ord));
        ord
    }

    fn matches(&self, ord: u32, labels: &Labels) -> bool {
        usize::try_from(ord)
            .ok()
            .and_then(|i| self.reps.get(i))
            .is_some_and(|rep| self.filter.same(rep, labels))
    }

    fn next_ordinal(&mut self, labels: &'a Labels) -> u32 {
        let ord = u32::try_from(self.reps.len()).unwrap_or(u32::MAX);
        self.reps.push(labels);
        ord
    }

    /// Number of distinct signatures seen.
    pub fn len(&self) -> usize {
        self.reps.len()
    }
}

/// Members of each ordinal, in input order: `members(o)` lists the indices `i` with
/// `ords[i] == o`.
pub(crate) struct Groups {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Groups {
    pub fn new(ords: &[u32], n_ords: usize) -> Self {
        let mut offsets = vec![0usize; n_ords + 1];
        for &o in ords {
            if let Some(c) = usize::try_from(o).ok().and_then(|o| offsets.get_mut(o + 1)) {
                *c += 1;
            }
        }
        for i in 1..offsets.len() {
            let prev = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = offsets.get_mut(i) {
                *c += prev;
            }
        }
        let mut fill = offsets.clone();
        let mut items = vec![0u32; ords.len()];
        for (i, &o) in ords.iter().enumerate() {
            let Some(pos) = usize::try_from(o).ok().and_then(|o| fill.get_mut(o)) else {
                continue;
            };
            if let (Some(slot), Ok(i)) = (items.get_mut(*pos), u32::try_from(i)) {
                *slot = i;
            }
            *pos += 1;
        }
        Groups { offsets, items }
    }

    /// Indices having ordinal `ord`, ascending.
    pub fn members(&self, ord: u32) -> &[u32] {
        let Ok(o) = usize::try_from(ord) else {
            return &[];
        };
        match (self.offsets.get(o), self.offsets.get(o + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Number of ordinals.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// Prometheus's `labels.Labels.Hash()` in its default (`stringlabels`) build: XXH64 of the
/// label pairs, each name and value preceded by its length (one byte below 255, else 255 and
/// three little-endian bytes). `limit_ratio` keeps a series when this hash, scaled to [0, 1),
/// falls within the ratio, so using the same hash selects the same series as Prometheus.
pub(crate) fn prometheus_hash(labels: &Labels, buf: &mut Vec<u8>) -> u64 {
    fn put_len(buf: &mut Vec<u8>, n: usize) {
        match u8::try_from(n) {
            Ok(b) if b < 255 => buf.push(b),
            _ => {
                let n = u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
                buf.push(255);
                buf.extend_from_slice(n.get(..3).unwrap_or(&[0, 0, 0]));
            }
        }
    }
    buf.clear();
    for l in labels {
        put_len(buf, l.name.len());
        buf.extend_from_slice(l.name.as_bytes());
        put_len(buf, l.value.len());
        buf.extend_from_slice(l.value.as_bytes());
    }
    xxh64(buf)
}

/// Go's `labels.Labels.String()`: `{a="1", b="2"}`, the name included as `__name__`.
pub(crate) fn go_labels_string(labels: &Labels) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if vigil_model::is_valid_label_name(&l.name) {
            s.push_str(&l.name);
        } else {
            s.push_str(&go_quote(&l.name));
        }
        s.push('=');
        s.push_str(&go_quote(&l.value));
    }
    s.push('}');
    s
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(v: &str) -> String {
    vigil_model::go_quote(v, false)
}

/// XXH64 with seed 0, as `github.com/cespare/xxhash/v2` computes it (Prometheus's label hash).
pub(crate) fn xxh64(data: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(data, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    #[test]
    fn xxh64_known_vectors() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn filters_select_labels() {
        let l = labels(&[("__name__", "m"), ("a", "1"), ("b", "2")]);
        let on = LabelFilter::on(["b", "__name__"]);
        let names: Vec<_> = on.select(&l).map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "b"]);
        let ign = LabelFilter::ignoring(["a"]);
        let names: Vec<_> = ign.select(&l).map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["b"]);
    }

    #[test]
    fn interner_separates_equal_hashes_with_different_labels() {
        let f = LabelFilter::on(["a"]);
        let x = labels(&[("a", "1")]);
        let y = labels(&[("a", "2")]);
        let z = labels(&[("a", "1"), ("b", "9")]);
        let mut i = Interner::new(&f, 4);
        // Force a collision: same hash for different signatures.
        assert_eq!(i.intern(7, &x), 0);
        assert_eq!(i.intern(7, &y), 1);
        assert_eq!(i.intern(7, &z), 0);
        assert_eq!(i.intern(7, &y), 1);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn groups_list_members_in_order() {
        let g = Groups::new(&[1, 0, 1, 2, 1], 3);
        assert_eq!(g.members(0), &[1]);
        assert_eq!(g.members(1), &[0, 2, 4]);
        assert_eq!(g.members(2), &[3]);
        assert_eq!(g.members(3), &[] as &[u32]);
        assert_eq!(g.len(), 3);
    }

    #[test]
    fn go_strings() {
        let l = labels(&[("__name__", "dup"), ("label", "a\"b\n")]);
        assert_eq!(go_labels_string(&l), r#"{__name__="dup", label="a\"b\n"}"#);
        assert_eq!(go_labels_string(&Labels::empty()), "{}");
    }
}

//! Cleaned, sorted samples and the merge walk over two of them.
//!
//! Every numerical statistic here reads a window as a sorted slice of finite values: the column
//! is cleaned and sorted once ([`clean_sorted`]) and the same slice feeds KS, Wasserstein, the
//! histograms, distinct counts and Anderson-Darling. [`UnionRuns`] walks two sorted slices
//! together one distinct value at a time, which is the shape of every two-sample ECDF
//! computation scipy does with `searchsorted`.
//!
//! `-0.0` is turned into `+0.0` while cleaning: pandas and numpy compare them equal, and doing
//! so up front lets the radix sort and run detection agree with `==`.

/// The radix sort is used for lengths in `RADIX_MIN_LEN..=RADIX_MAX_LEN` only. On the keys of
/// normal samples it takes 0.70 ms for 70k values, std's `sort_unstable` 0.78 ms; below ~40k its
/// fixed costs lose (2× at 5k), and above ~300k its 2048-way scatter outgrows the caches and
/// loses too (11 ms against 8.5 ms at 600k, 19 against 15 at 1M).
const RADIX_MIN_LEN: usize = 1 << 15;
const RADIX_MAX_LEN: usize = 1 << 18;

/// Digit width of the LSD radix sort: 6 passes of 11 bits cover 64.
const RADIX_BITS: u32 = 11;
const RADIX_PASSES: usize = 6;
const RADIX_BUCKETS: usize = 1 << RADIX_BITS;

/// The finite values of `values`, sorted ascending, `-0.0` read as `0.0`.
///
/// NaN and ±inf count as missing, as Evidently replaces ±inf by NaN before dropping nulls.
pub fn clean_sorted(values: &[Option<f64>]) -> Vec<f64> {
    let keys: Vec<u64> = values
        .iter()
        .filter_map(|v| *v)
        .filter(|x| x.is_finite())
        .map(|x| order_key(x + 0.0))
        .collect();
    // Same size and alignment: the collect reuses the key buffer.
    sort_keys(keys).into_iter().map(from_order_key).collect()
}

/// Sorts finite floats ascending.
///
/// Sorts the order-preserving bit patterns as integers: about twice as fast as sorting the
/// floats with `total_cmp` at 100k values. NaN sorts by `total_cmp`'s rules; callers pass finite
/// values.
pub fn sort_f64(values: &mut [f64]) {
    let keys = sort_keys(values.iter().map(|&x| order_key(x)).collect());
    for (v, k) in values.iter_mut().zip(keys) {
        *v = from_order_key(k);
    }
}

/// Sorts order keys; returns the buffer holding the result. A least-significant-digit radix
/// sort for the lengths where it wins, std's sort otherwise (equal keys are equal bits, so the
/// two give the same result).
fn sort_keys(mut keys: Vec<u64>) -> Vec<u64> {
    if !(RADIX_MIN_LEN..=RADIX_MAX_LEN).contains(&keys.len()) {
        keys.sort_unstable();
        return keys;
    }
    let mut scratch = vec![0u64; keys.len()];
    let mut counts = vec![[0usize; RADIX_BUCKETS]; RADIX_PASSES];
    for &k in &keys {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[digit(k, pass)] += 1;
        }
    }
    for (pass, c) in counts.iter_mut().enumerate() {
        // A pass where every key has the same digit moves nothing.
        if c.contains(&keys.len()) {
            continue;
        }
        let mut offset = 0;
        for slot in c.iter_mut() {
            let n = *slot;
            *slot = offset;
            offset += n;
        }
        for &k in &keys {
            let slot = &mut c[digit(k, pass)];
            if let Some(dst) = scratch.get_mut(*slot) {
                *dst = k;
            }
            *slot += 1;
        }
        std::mem::swap(&mut keys, &mut scratch);
    }
    keys
}

/// Maps a float's bits to an unsigned key with the same order as `total_cmp`.
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

fn from_order_key(k: u64) -> f64 {
    let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(b)
}

fn digit(k: u64, pass: usize) -> usize {
    // Masked to RADIX_BITS bits, so the cast cannot truncate.
    ((k >> (pass as u32 * RADIX_BITS)) & (RADIX_BUCKETS as u64 - 1)) as usize
}

/// Number of distinct values of a sorted slice.
pub fn distinct_count(sorted: &[f64]) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|w| w[0] != w[1]).count()
}

/// Number of distinct values of the union of two sorted slices.
pub fn union_distinct_count(a: &[f64], b: &[f64]) -> usize {
    UnionRuns::new(a, b).count()
}

/// `min(distinct values of a sorted slice, limit)`, stopping at the limit.
pub fn distinct_count_up_to(sorted: &[f64], limit: usize) -> usize {
    let Some(mut last) = sorted.first().copied() else {
        return 0;
    };
    let mut n = 1;
    for &x in sorted {
        if n >= limit {
            break;
        }
        if x != last {
            n += 1;
            last = x;
        }
    }
    n.min(limit)
}

/// `min(distinct values of a ∪ b, limit)` for sorted slices. Method choice only needs to know
/// whether there are more than a handful, and a column with many values answers that after a
/// few elements instead of a full merge.
pub fn union_distinct_count_up_to(a: &[f64], b: &[f64], limit: usize) -> usize {
    if distinct_count_up_to(a, limit) >= limit || distinct_count_up_to(b, limit) >= limit {
        return limit;
    }
    UnionRuns::new(a, b).take(limit).count()
}

/// One distinct value of the union of two sorted samples, as [`UnionRuns`] yields it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// The value.
    pub value: f64,
    /// How often it occurs in `a`.
    pub in_a: usize,
    /// How often it occurs in `b`.
    pub in_b: usize,
    /// How many values of `a` are ≤ it (numpy's `searchsorted(a, value, 'right')`).
    pub a_le: usize,
    /// How many values of `b` are ≤ it.
    pub b_le: usize,
}

/// Iterator over the distinct values of two sorted slices in ascending order.
#[derive(Debug, Clone)]
pub struct UnionRuns<'s> {
    a: &'s [f64],
    b: &'s [f64],
    i: usize,
    j: usize,
}

impl<'s> UnionRuns<'s> {
    /// Walks `a` and `b`, which must both be sorted ascending.
    pub fn new(a: &'s [f64], b: &'s [f64]) -> Self {
        UnionRuns { a, b, i: 0, j: 0 }
    }
}

impl Iterator for UnionRuns<'_> {
    type Item = Run;

    #[inline]
    fn next(&mut self) -> Option<Run> {
        let value = match (self.a.get(self.i), self.b.get(self.j)) {
            (Some(&x), Some(&y)) => {
                if x <= y {
                    x
                } else {
                    y
                }
            }
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => return None,
        };
        let i0 = self.i;
        while self.a.get(self.i) == Some(&value) {
            self.i += 1;
        }
        let j0 = self.j;
        while self.b.get(self.j) == Some(&value) {
            self.j += 1;
        }
        Some(Run {
            value,
            in_a: self.i - i0,
            in_b: self.j - j0,
            a_le: self.i,
            b_le: self.j,
        })
    }
}

/// Sum with Neumaier's compensation, so long sums of mixed-size terms stay within a few ulps
/// of numpy's pairwise sums.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        // Past an infinity the compensation would turn into NaN; the sum is then exact anyway.
        if t.is_finite() {
            if self.sum.abs() >= x.abs() {
                self.comp += (self.sum - t) + x;
            } else {
                self.comp += (x - t) + self.sum;
            }
        }
        self.sum = t;
    }

    pub(crate) fn value(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.comp
        } else {
            self.sum
        }
    }
}

/// Compensated sum of an iterator.
pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Sum::default();
    for v in values {
        s.add(v);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` awkward values: huge, tiny, integers, ordinary, with ±0 and the extremes.
    fn awkward(len: usize) -> Vec<f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut v: Vec<f64> = (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let x = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                match i % 7 {
                    0 => x * 1e300,
                    1 => x * 1e-300,
                    2 => (x * 10.0).round(),
                    _ => x,
                }
            })
            .collect();
        v.push(0.0);
        v.push(f64::MIN_POSITIVE);
        v.push(-f64::MAX);
        v
    }

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut v = awkward(5000);
        let mut expected = v.clone();
        expected.sort_unstable_by(f64::total_cmp);
        sort_f64(&mut v);
        assert_eq!(v, expected);
    }

    #[test]
    fn every_sort_length_class_matches_comparison_sort() {
        for len in [
            RADIX_MIN_LEN - 4,
            RADIX_MIN_LEN - 3,
            RADIX_MAX_LEN - 3,
            RADIX_MAX_LEN - 2,
        ] {
            let mut v = awkward(len);
            let mut expected = v.clone();
            expected.sort_unstable_by(f64::total_cmp);
            sort_f64(&mut v);
            assert!(v == expected, "length {}", len + 3);
        }
    }

    #[test]
    fn clean_drops_missing_and_negative_zero() {
        let v = clean_sorted(&[
            Some(2.0),
            None,
            Some(f64::NAN),
            Some(-0.0),
            Some(f64::INFINITY),
            Some(0.0),
        ]);
        assert_eq!(v, vec![0.0, 0.0, 2.0]);
        assert!(v[0].is_sign_positive());
        assert_eq!(distinct_count(&v), 2);
    }

    #[test]
    fn union_runs_count_right_sided() {
        let a = [1.0, 1.0, 2.0, 5.0];
        let b = [0.0, 2.0, 2.0, 7.0];
        let runs: Vec<Run> = UnionRuns::new(&a, &b).collect();
        assert_eq!(runs.len(), 5);
        assert_eq!(
            runs[2],
            Run {
                value: 2.0,
                in_a: 1,
                in_b: 2,
                a_le: 3,
                b_le: 3
            }
        );
        assert_eq!(union_distinct_count(&a, &b), 5);
        assert_eq!(union_distinct_count(&[], &[]), 0);
        assert_eq!(union_distinct_count_up_to(&a, &b, 3), 3);
        assert_eq!(union_distinct_count_up_to(&a, &b, 6), 5);
        assert_eq!(union_distinct_count_up_to(&[], &[], 6), 0);
        assert_eq!(distinct_count_up_to(&[1.0, 1.0, 2.0], 6), 2);
        assert_eq!(distinct_count_up_to(&[1.0, 2.0, 3.0], 2), 2);
    }
}

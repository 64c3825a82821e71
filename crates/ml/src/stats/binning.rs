//! Histograms shared by PSI, KL, Jensen-Shannon, Hellinger and the UI: Evidently's
//! `get_binned_data` and numpy's `histogram_bin_edges(bins="sturges")` / `histogram`.
//!
//! Evidently bins a numerical column with Sturges' rule over reference and current pooled when
//! the reference has more than 20 distinct values, and otherwise (and always for categories)
//! uses one bin per distinct value of either window. Counts come from the sorted samples by
//! binary search against the edges, exactly as numpy's `searchsorted` path does: bin i holds
//! `edges[i] ≤ x < edges[i+1]`, the last bin also holds its right edge.

use std::collections::HashMap;

use super::sample::{distinct_count_up_to, UnionRuns};

/// Evidently switches from one bin per value to Sturges' bins above this many distinct
/// reference values.
pub const MAX_VALUE_BINS: usize = 20;

/// How a column was binned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BinningMode {
    /// Equal-width bins from Sturges' rule over ref+cur pooled.
    Sturges,
    /// One bin per distinct value of ref ∪ cur.
    Values,
}

/// Reference and current counts per bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    /// How the bins were made.
    pub mode: BinningMode,
    /// Bin edges (`counts + 1` of them) in Sturges mode; the distinct values (one per bin) in
    /// values mode for numerical data; empty for categories.
    pub edges: Vec<f64>,
    /// Reference count per bin.
    pub reference: Vec<u64>,
    /// Current count per bin.
    pub current: Vec<u64>,
}

impl Binned {
    /// Number of bins.
    pub fn n_bins(&self) -> usize {
        self.reference.len()
    }
}

/// numpy's `histogram_bin_edges(pooled, bins="sturges")` for a pooled sample of `n` values
/// whose smallest and largest are `min` and `max`; `[]` for `n = 0`.
///
/// Width `ptp/(log₂ n + 1)`, `ceil(ptp/width)` bins, edges `min + i·step` with the last edge
/// `max` (numpy's `linspace`). A single value gets the one bin `[v − ½, v + ½]`.
pub fn sturges_edges(min: f64, max: f64, n: usize) -> Vec<f64> {
    if n == 0 || !min.is_finite() || !max.is_finite() {
        return Vec::new();
    }
    let ptp = max - min;
    let (first, last) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };
    let width = ptp / ((n as f64).log2() + 1.0);
    let k = if width != 0.0 && width.is_finite() {
        ((last - first) / width).ceil()
    } else if ptp.is_infinite() {
        // max − min overflowed (numpy raises); use the bin count Sturges' rule implies.
        ((n as f64).log2() + 1.0).ceil()
    } else {
        1.0
    };
    // k ≈ log₂ n + 1 ≤ 66 for any slice length; the clamp only guards rounding.
    let k = k.clamp(1.0, 128.0) as usize;
    linspace(first, last, k + 1)
}

/// numpy's `linspace(start, stop, num)` with `endpoint=True`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut out: Vec<f64> = if !step.is_finite() {
        // stop − start overflowed: interpolate without forming it.
        (0..num)
            .map(|i| {
                let t = i as f64 / div;
                start * (1.0 - t) + stop * t
            })
            .collect()
    } else if step == 0.0 {
        (0..num).map(|i| (i as f64 / div) * delta + start).collect()
    } else {
        (0..num).map(|i| i as f64 * step + start).collect()
    };
    if let Some(last) = out.last_mut() {
        *last = stop;
    }
    out
}

/// numpy's `histogram(sorted, edges)[0]` for a sorted sample: values outside the edges are
/// not counted.
pub fn histogram_sorted(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let Some((&last, inner)) = edges.split_last() else {
        return Vec::new();
    };
    let mut cum: Vec<usize> = inner
        .iter()
        .map(|&e| sorted.partition_point(|&x| x < e))
        .collect();
    cum.push(sorted.partition_point(|&x| x <= last));
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

/// Sturges bins over the pooled sorted samples, with both windows' counts.
pub fn sturges_pooled(reference: &[f64], current: &[f64]) -> Binned {
    let min = match (reference.first(), current.first()) {
        (Some(&a), Some(&b)) => a.min(b),
        (Some(&a), None) | (None, Some(&a)) => a,
        (None, None) => f64::NAN,
    };
    let max = match (reference.last(), current.last()) {
        (Some(&a), Some(&b)) => a.max(b),
        (Some(&a), None) | (None, Some(&a)) => a,
        (None, None) => f64::NAN,
    };
    let edges = sturges_edges(min, max, reference.len() + current.len());
    Binned {
        mode: BinningMode::Sturges,
        reference: histogram_sorted(reference, &edges),
        current: histogram_sorted(current, &edges),
        edges,
    }
}

/// One bin per distinct value of the union of two sorted samples; `edges` holds the values.
pub fn value_bins(reference: &[f64], current: &[f64]) -> Binned {
    let mut edges = Vec::new();
    let mut r = Vec::new();
    let mut c = Vec::new();
    for run in UnionRuns::new(reference, current) {
        edges.push(run.value);
        r.push(run.in_a as u64);
        c.push(run.in_b as u64);
    }
    Binned {
        mode: BinningMode::Values,
        edges,
        reference: r,
        current: c,
    }
}

/// Evidently's `get_binned_data` for a numerical column (sorted, cleaned windows): Sturges over
/// the pooled sample if the reference has more than 20 distinct values, else one bin per value.
pub fn evidently_numerical(reference: &[f64], current: &[f64]) -> Binned {
    if uses_sturges(reference) {
        sturges_pooled(reference, current)
    } else {
        value_bins(reference, current)
    }
}

/// Whether [`evidently_numerical`] bins a column with Sturges' rule: its sorted, cleaned
/// reference has more than [`MAX_VALUE_BINS`] distinct values.
pub fn uses_sturges(reference: &[f64]) -> bool {
    distinct_count_up_to(reference, MAX_VALUE_BINS + 1) > MAX_VALUE_BINS
}

/// Per-category counts of two windows, categories sorted ascending (byte order).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCounts<'s> {
    /// The distinct non-null categories of either window.
    pub categories: Vec<&'s str>,
    /// Reference count per category.
    pub reference: Vec<u64>,
    /// Current count per category.
    pub current: Vec<u64>,
}

impl CategoryCounts<'_> {
    /// As [`Binned`] (values mode), for the distribution distances.
    pub fn to_binned(&self) -> Binned {
        Binned {
            mode: BinningMode::Values,
            edges: Vec::new(),
            reference: self.reference.clone(),
            current: self.current.clone(),
        }
    }
}

/// Counts the non-null categories of two windows.
pub fn category_counts<'s>(
    reference: &'s [Option<String>],
    current: &'s [Option<String>],
) -> CategoryCounts<'s> {
    // One hash per row: aHash takes about half the time of std's SipHash here (1.2 against
    // 2.2 ms for 2 × 100k labels), and its per-map seeds still vary between maps.
    let mut map: HashMap<&'s str, [u64; 2], ahash::RandomState> = HashMap::default();
    for v in reference.iter().flatten() {
        map.entry(v.as_str()).or_default()[0] += 1;
    }
    for v in current.iter().flatten() {
        map.entry(v.as_str()).or_default()[1] += 1;
    }
    let mut entries: Vec<(&str, [u64; 2])> = map.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    CategoryCounts {
        categories: entries.iter().map(|e| e.0).collect(),
        reference: entries.iter().map(|e| e.1[0]).collect(),
        current: entries.iter().map(|e| e.1[1]).collect(),
    }
}

/// Shares `count/total` per bin (Evidently divides by the window length).
pub fn percents(counts: &[u64], total: u64) -> Vec<f64> {
    let t = total as f64;
    counts.iter().map(|&c| c as f64 / t).collect()
}

/// Evidently's zero filling for PSI and KL: empty bins get `min_nonzero/10⁶` if
/// `min_nonzero ≤ 1e-4`, else `1e-4`. No-op if every bin is empty.
pub fn fill_zeroes(percents: &mut [f64]) {
    let min_nonzero = percents
        .iter()
        .copied()
        .filter(|&p| p != 0.0)
        .fold(f64::INFINITY, f64::min);
    if min_nonzero == f64::INFINITY {
        return;
    }
    let fill = if min_nonzero <= 0.0001 {
        min_nonzero / 1e6
    } else {
        0.0001
    };
    for p in percents.iter_mut().filter(|p| **p == 0.0) {
        *p = fill;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_matches_numpy() {
        // numpy.histogram_bin_edges([0, 1, 2, 3, 10], bins="sturges"):
        // width = 10/(log2(5)+1) = 3.0103 → 4 bins.
        let e = sturges_edges(0.0, 10.0, 5);
        assert_eq!(e, vec![0.0, 2.5, 5.0, 7.5, 10.0]);
        assert_eq!(sturges_edges(3.0, 3.0, 7), vec![2.5, 3.5]);
        assert!(sturges_edges(1.0, 2.0, 0).is_empty());
        let huge = sturges_edges(-f64::MAX, f64::MAX, 100);
        assert_eq!(huge.len(), 9);
        assert!(huge.iter().all(|e| e.is_finite()));
    }

    #[test]
    fn histogram_last_bin_is_closed() {
        let e = [0.0, 1.0, 2.0];
        assert_eq!(histogram_sorted(&[0.0, 0.5, 1.0, 2.0], &e), vec![2, 2]);
        assert_eq!(histogram_sorted(&[-1.0, 3.0], &e), vec![0, 0]);
    }

    #[test]
    fn value_and_category_bins() {
        let b = value_bins(&[1.0, 1.0, 2.0], &[2.0, 3.0]);
        assert_eq!(b.edges, vec![1.0, 2.0, 3.0]);
        assert_eq!(b.reference, vec![2, 1, 0]);
        assert_eq!(b.current, vec![0, 1, 1]);
        let r = vec![Some("b".to_string()), None, Some("a".to_string())];
        let c = vec![Some("c".to_string()), Some("b".to_string())];
        let cc = category_counts(&r, &c);
        assert_eq!(cc.categories, vec!["a", "b", "c"]);
        assert_eq!(cc.reference, vec![1, 1, 0]);
        assert_eq!(cc.current, vec![0, 1, 1]);
    }

    #[test]
    fn zero_filling_rules() {
        let mut p = vec![0.5, 0.0, 0.5];
        fill_zeroes(&mut p);
        assert_eq!(p, vec![0.5, 0.0001, 0.5]);
        let mut p = vec![0.00005, 0.0, 0.99995];
        fill_zeroes(&mut p);
        assert_eq!(p[1], 0.00005 / 1e6);
        let mut p = vec![0.0, 0.0];
        fill_zeroes(&mut p);
        assert_eq!(p, vec![0.0, 0.0]);
    }
}

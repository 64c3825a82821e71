//! Drift on a production-sized window: 100k reference × 100k current rows, 20 numerical columns
//! (normal-ish, every fourth shifted, every fifth with 2% nulls) and 5 categorical columns
//! (10–50 categories, Zipf-like, some shifted), all from a fixed seed.
//!
//! - `dataset_auto`: `dataset_drift` with `Method::Auto` (so normed Wasserstein and
//!   Jensen-Shannon, as Evidently picks for references over 1000 rows). Target ≤ 0.15 s on two
//!   cores (Evidently takes 8.4 s, scipy 1.1 s for the same statistics).
//! - `numerical_column` / `categorical_column`: one column of each kind, for per-column cost.
//! - `ks_exact_1000`: the KS exact p-value at Evidently's small-reference size.
//! - `ks_exact_worst`: the KS exact p-value's worst case (10,000 × 9,999 values, D = 1): about
//!   0.55 s on one core, the most one column's `ks` test can cost.
//!
//! Run: `cargo bench -p vigil-ml --bench drift`.

use divan::{black_box, Bencher};
use vigil_ml::{column_drift, dataset_drift, Column, DriftOptions, Method};
use vigil_testkit::rng::SplitMix64;

fn main() {
    divan::main();
}

const ROWS: usize = 100_000;

fn numerical(rng: &mut SplitMix64, name: &str, shift: f64, scale: f64, null_share: f64) -> Column {
    Column::numerical(
        name,
        (0..ROWS).map(|_| {
            if rng.uniform() < null_share {
                None
            } else {
                // Round to 6 decimals like the fixtures, so values repeat a little.
                Some(((shift + scale * rng.normal()) * 1e6).round() / 1e6)
            }
        }),
    )
}

fn categorical(rng: &mut SplitMix64, name: &str, labels: &[String], skew: f64) -> Column {
    // Zipf-like weights 1/(i+1)^skew.
    let weights: Vec<f64> = (0..labels.len())
        .map(|i| 1.0 / ((i + 1) as f64).powf(skew))
        .collect();
    let total: f64 = weights.iter().sum();
    let cumulative: Vec<f64> = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w / total;
            Some(*acc)
        })
        .collect();
    Column::categorical(
        name,
        (0..ROWS).map(|_| {
            let u = rng.uniform();
            let i = cumulative.partition_point(|&c| c < u).min(labels.len() - 1);
            Some(labels[i].clone())
        }),
    )
}

fn dataset() -> (Vec<Column>, Vec<Column>) {
    let mut rng = SplitMix64::new(20_240_601);
    let mut reference = Vec::new();
    let mut current = Vec::new();
    for i in 0..20 {
        let name = format!("num_{i}");
        let nulls = if i % 5 == 0 { 0.02 } else { 0.0 };
        let shift = if i % 4 == 0 { 0.3 } else { 0.0 };
        let scale = 1.0 + i as f64 / 10.0;
        reference.push(numerical(&mut rng, &name, 0.0, scale, nulls));
        current.push(numerical(&mut rng, &name, shift, scale, nulls));
    }
    for i in 0..5 {
        let name = format!("cat_{i}");
        let n_labels = 10 + 10 * i;
        let labels: Vec<String> = (0..n_labels).map(|k| format!("label_{k:03}")).collect();
        reference.push(categorical(&mut rng, &name, &labels, 1.0));
        let skew = if i % 2 == 0 { 1.3 } else { 1.0 };
        current.push(categorical(&mut rng, &name, &labels, skew));
    }
    (reference, current)
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn dataset_auto(bencher: Bencher) {
    let (reference, current) = dataset();
    bencher.bench(|| {
        dataset_drift(
            black_box(&reference),
            black_box(&current),
            |_| DriftOptions::default(),
            0.5,
        )
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn numerical_column(bencher: Bencher) {
    let (reference, current) = dataset();
    bencher.bench(|| {
        column_drift(
            black_box(&reference[1]),
            black_box(&current[1]),
            &DriftOptions::default(),
        )
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn categorical_column(bencher: Bencher) {
    let (reference, current) = dataset();
    bencher.bench(|| {
        column_drift(
            black_box(&reference[24]),
            black_box(&current[24]),
            &DriftOptions::default(),
        )
    });
}

/// The first `n_reference` values of a standard normal reference and the first `n_current` of a
/// current window shifted by `shift`.
fn ks_windows(seed: u64, n_reference: usize, n_current: usize, shift: f64) -> (Column, Column) {
    let mut rng = SplitMix64::new(seed);
    let reference = numerical(&mut rng, "x", 0.0, 1.0, 0.0);
    let current = numerical(&mut rng, "x", shift, 1.0, 0.0);
    let prefix = |c: &Column, n: usize| match &c.values {
        vigil_ml::Values::Numerical(v) => Column::numerical("x", v.iter().copied().take(n)),
        vigil_ml::Values::Categorical(_) => c.clone(),
    };
    (prefix(&reference, n_reference), prefix(&current, n_current))
}

const KS: DriftOptions = DriftOptions {
    method: Method::Ks,
    threshold: None,
};

#[divan::bench(sample_count = 20, sample_size = 1)]
fn ks_exact_1000(bencher: Bencher) {
    let (r, c) = ks_windows(7, 1000, 1000, 0.1);
    bencher.bench(|| column_drift(black_box(&r), black_box(&c), &KS));
}

/// The slowest input `ks` has: the exact p-value for two windows of 10,000 and 9,999 values that
/// do not overlap (D = 1), where the lattice-path recursion walks a band as wide as the lattice.
/// `auto` picks KS only for references up to 1000 values, where the same worst case is 10× less.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn ks_exact_worst(bencher: Bencher) {
    let (r, c) = ks_windows(11, 10_000, 9_999, 100.0);
    bencher.bench(|| column_drift(black_box(&r), black_box(&c), &KS));
}

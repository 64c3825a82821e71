//! The differential scenarios: a seeded random workload against the store under test and a fresh
//! `MemStore`, comparing every outcome and view.

use vigil_model::{Labels, MatchOp, STALE_NAN};
use vigil_storage::{MemStore, TimeRange};

use super::{
    all_name, append, assert_same_view, batch, flush, l, m, ConformanceConfig, StoreFactory,
};

/// Deterministic generator for the differential scenarios.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A seeded random workload (new series, in-order, out-of-order, too-old, duplicates, special
/// values) applied to the store and to MemStore; every outcome and view must agree.
fn differential(cfg: &ConformanceConfig, make: StoreFactory<'_>, seed: u64, flushes: bool) {
    let s = make();
    let reference = MemStore::new(cfg.ooo_window_ms);
    let mut rng = Rng(seed);
    let w = cfg.ooo_window_ms.max(1);
    let pool: Vec<Labels> = (0..40)
        .map(|i| {
            l(&[
                ("__name__", if i % 3 == 0 { "alpha" } else { "beta" }),
                ("job", &format!("j{}", i % 4)),
                ("inst", &format!("i{i}")),
                ("opt", if i % 5 == 0 { "yes" } else { "" }),
            ])
        })
        .collect();
    let mut now = 1_600_000_000_000i64;
    for round in 0..60 {
        now += (rng.below(4) as i64) * w / 8 + 1000;
        let nseries = 1 + rng.below(8) as usize;
        let mut series = Vec::new();
        for _ in 0..nseries {
            let labels = pool
                .get(rng.below(pool.len() as u64) as usize)
                .cloned()
                .unwrap_or_default();
            let n = 1 + rng.below(6);
            let samples: Vec<(i64, f64)> = (0..n)
                .map(|_| {
                    let back = match rng.below(10) {
                        0 => w + 1 + rng.below(w as u64) as i64,
                        1..=3 => rng.below(w as u64) as i64,
                        _ => 0,
                    };
                    // Timestamps on a coarse grid so duplicates happen.
                    let t = (now - back) / 5000 * 5000;
                    let v = match rng.below(12) {
                        0 => STALE_NAN,
                        1 => -0.0,
                        2 => ((t / 5000) % 7) as f64,
                        _ => (rng.below(1000) as f64) / 8.0,
                    };
                    (t, v)
                })
                .collect();
            series.push((labels, samples));
        }
        let b = batch(&series);
        let o = append(&*s, &b);
        let r = append(&reference, &b);
        let mut or = o.rejected.clone();
        let mut rr = r.rejected.clone();
        or.sort();
        rr.sort();
        assert_eq!(
            (o.accepted, or),
            (r.accepted, rr),
            "round {round}: outcome of {b:?}"
        );
        if !flushes {
            assert_eq!(o.new_series, r.new_series, "round {round}: new series");
        }
        if flushes && rng.below(8) == 0 {
            flush(&*s);
        }
        if round % 10 == 9 {
            let q = [
                vec![all_name()],
                vec![m(MatchOp::Equal, "opt", "")],
                vec![
                    m(MatchOp::Regex, "job", "j1|j3"),
                    m(MatchOp::NotEqual, "__name__", "alpha"),
                ],
            ];
            for ms in &q {
                assert_same_view(
                    &format!("round {round}"),
                    &*s,
                    &reference,
                    ms,
                    TimeRange::all(),
                );
                let lo = now - rng.below(2 * w as u64) as i64;
                assert_same_view(
                    &format!("round {round}"),
                    &*s,
                    &reference,
                    ms,
                    TimeRange::new(lo, lo + rng.below(w as u64) as i64),
                );
            }
        }
    }
}

pub(super) fn differential_against_memstore(cfg: &ConformanceConfig, make: StoreFactory<'_>) {
    for seed in [1, 2, 3] {
        differential(cfg, make, seed, false);
    }
}

pub(super) fn differential_with_flushes(cfg: &ConformanceConfig, make: StoreFactory<'_>) {
    for seed in [11, 12, 13] {
        differential(cfg, make, seed, true);
    }
}

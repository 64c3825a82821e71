//! A small seeded PRNG for the demo: xoshiro256** seeded through SplitMix64, plus the few
//! distributions the fleet draws from (uniform, normal by Box-Muller, lognormal, exponential,
//! Bernoulli, categorical).
//!
//! Written here rather than taken from `rand`: the demo needs reproducible streams for a seed and
//! nothing cryptographic, and a hundred lines keep the dependency tree as it is. Not for anything
//! but simulated data.

/// xoshiro256** (Blackman and Vigna), seeded by SplitMix64 so that any `u64`, including 0, gives
/// a well-mixed state.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    /// The second value of the last Box-Muller pair, returned by the next [`Rng::normal`].
    spare_normal: Option<f64>,
}

/// One SplitMix64 step: advances `state` and returns the mixed output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        Rng {
            s: [
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
            ],
            spare_normal: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        // The top 53 bits fit an f64 mantissa exactly; 2^-53 scales them into [0, 1).
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by the Box-Muller transform (two values per pair of uniforms).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Normal with the given mean and standard deviation.
    pub fn gaussian(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    /// Lognormal with the given median (`exp(mu)`) and log-space standard deviation.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    /// An empty slice gives 0.
    pub fn index(&mut self, weights: &[f64]) -> usize {
        self.weighted(weights.iter().copied())
    }

    /// A category drawn from a `(name, weight)` table. An empty table gives `""`.
    pub fn pick(&mut self, table: &[(&'static str, f64)]) -> &'static str {
        let i = self.weighted(table.iter().map(|(_, w)| *w));
        table.get(i).map_or("", |(name, _)| name)
    }

    /// The walk behind [`Rng::index`] and [`Rng::pick`]: one uniform draw scaled to the total
    /// weight, then the first slot whose cumulative weight exceeds it.
    fn weighted(&mut self, weights: impl Iterator<Item = f64> + Clone) -> usize {
        let total: f64 = weights.clone().sum();
        let mut r = self.uniform() * total;
        let mut last = 0;
        for (i, w) in weights.enumerate() {
            if r < w {
                return i;
            }
            r -= w;
            last = i;
        }
        // Rounding can leave r a hair above the last weight: that draw belongs to the last one.
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_sd(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(43);
            (0..100).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Seed 0 must not give the all-zero state xoshiro never leaves.
        let mut z = Rng::new(0);
        assert!((0..4).any(|_| z.next_u64() != 0));
    }

    #[test]
    fn uniform_is_in_unit_interval_with_mean_one_half() {
        let mut r = Rng::new(1);
        let xs: Vec<f64> = (0..50_000).map(|_| r.uniform()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let (mean, _) = mean_sd(&xs);
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn normal_has_requested_moments() {
        let mut r = Rng::new(2);
        let xs: Vec<f64> = (0..50_000).map(|_| r.gaussian(3.0, 2.0)).collect();
        let (mean, sd) = mean_sd(&xs);
        assert!((mean - 3.0).abs() < 0.05, "mean {mean}");
        assert!((sd - 2.0).abs() < 0.05, "sd {sd}");
    }

    #[test]
    fn exponential_and_lognormal_have_requested_centres() {
        let mut r = Rng::new(3);
        let xs: Vec<f64> = (0..50_000).map(|_| r.exponential(10.0)).collect();
        let (mean, _) = mean_sd(&xs);
        assert!((mean - 10.0).abs() < 0.3, "mean {mean}");
        let mut ys: Vec<f64> = (0..50_000).map(|_| r.lognormal(40.0, 0.5)).collect();
        ys.sort_by(f64::total_cmp);
        let median = ys[ys.len() / 2];
        assert!((median - 40.0).abs() < 1.0, "median {median}");
    }

    #[test]
    fn categorical_follows_weights() {
        let mut r = Rng::new(4);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[r.index(&[0.2, 0.3, 0.5])] += 1;
        }
        for (c, w) in counts.iter().zip([0.2, 0.3, 0.5]) {
            let share = *c as f64 / 30_000.0;
            assert!((share - w).abs() < 0.015, "{counts:?}");
        }
        assert_eq!(r.index(&[]), 0);
        assert_eq!(r.pick(&[]), "");
        assert_eq!(r.pick(&[("only", 1.0)]), "only");
    }
}

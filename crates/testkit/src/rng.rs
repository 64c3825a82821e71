//! A seeded generator for synthetic test and bench data: SplitMix64 (Steele, Lea and Flood,
//! 2014), with the uniform and normal draws the drift bench and the `vigil ml` CLI tests make.
//!
//! The stream is part of the contract: `scripts/bench_drift_evidently.py` redraws the drift
//! bench's dataset from the same seed with numpy, so `next_u64`, `uniform` and `normal` must keep
//! giving the same values. Not for anything but synthetic data.

/// SplitMix64: one 64-bit state advanced by a fixed odd constant and mixed on output.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, centred in their step so that neither end (and no
    /// `ln 0` in [`SplitMix64::normal`]) can come out.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal by Box-Muller, the cosine half only: two uniforms per value.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_splitmix64() {
        // The first outputs for seed 0 (Vigna's reference implementation).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        let u = SplitMix64::new(7).uniform();
        assert!(u > 0.0 && u < 1.0);
    }
}

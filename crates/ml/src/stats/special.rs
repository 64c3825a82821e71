//! Special functions the tests' p-values need: `erf`/`erfc`, the normal CDF (`ndtr`), `ln Γ`,
//! the regularized upper incomplete gamma `Q(a, x)` and the χ² survival function.
//!
//! Written for accuracy in the deep tail rather than speed: a χ² p-value of 1e-239 must still be
//! right to 1e-6 relative, so every `exp` of a large exponent is formed from a logarithm whose
//! cancelling parts (`a·ln x − x − ln Γ(a)` for large `a`) are combined analytically first.
//! Results follow scipy's domain conventions (NaN outside the domain), because the callers
//! reproduce scipy and decide themselves what a NaN means for a drift score.

use std::f64::consts::{FRAC_2_SQRT_PI, PI};

/// `ln(2π)/2`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Relative accuracy the series and continued fractions iterate to.
const EPS: f64 = 1e-17;

/// Iteration cap for the series and continued fractions; generous, they converge in
/// O(√a) steps.
const MAX_ITER: usize = 1_000_000;

/// Stands in for a zero denominator in the continued fractions (modified Lentz).
const TINY: f64 = 1e-300;

/// The error function.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    let r = if ax < 2.0 {
        erf_series(ax)
    } else {
        1.0 - erfc_cf(ax)
    };
    r.copysign(x)
}

/// The complementary error function `1 − erf(x)`, accurate in the upper tail.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x >= 2.0 {
        erfc_cf(x)
    } else if x > -2.0 {
        1.0 - erf(x)
    } else {
        2.0 - erfc_cf(-x)
    }
}

/// `erf(x)` for `0 ≤ x < 2` from `2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(2n+1)!!`: every term is positive,
/// so nothing cancels.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut k = 0.0;
    while term > sum * EPS {
        k += 1.0;
        term *= 2.0 * x2 / (2.0 * k + 1.0);
        sum += term;
    }
    FRAC_2_SQRT_PI * (-x2).exp() * sum
}

/// `erfc(x)` for `x ≥ 2` from the continued fraction
/// `e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))`.
fn erfc_cf(x: f64) -> f64 {
    // f₀ = b₀ = x, then terms aₖ = k/2, bₖ = x.
    let f = lentz(x, x, 0.0, |k| (k / 2.0, x));
    (-x * x).exp() / (f * PI.sqrt())
}

/// Evaluates a continued fraction `… + a₁/(b₁ + a₂/(b₂ + …))` by the modified Lentz method,
/// starting from the state `(f, c, d)` after its leading term and calling `term(k)` for
/// `(aₖ, bₖ)`, k = 1, 2, …, until a step changes `f` by less than [`EPS`] relative (or
/// [`MAX_ITER`] steps).
fn lentz(mut f: f64, mut c: f64, mut d: f64, mut term: impl FnMut(f64) -> (f64, f64)) -> f64 {
    for k in 1..MAX_ITER {
        let (a, b) = term(k as f64);
        d = b + a * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + a / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

/// The standard normal CDF, computed as scipy's `ndtr` (cephes) does: `0.5 + 0.5·erf(x/√2)`
/// near zero, else `0.5·erfc(|x|/√2)` reflected. Reproducing the shape matters for the Z-test:
/// `2·(1 − ndtr(|z|))` is exactly 0 once `0.5·erfc` drops below half an ulp of 1 (|z| ≳ 8.3).
pub fn ndtr(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < 1.0 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

/// `ln Γ(x)` for `x > 0` (NaN for `x ≤ 0` or NaN, +inf for +inf).
///
/// Stirling's series from 15 up, the recurrence `Γ(x) = Γ(x+n)/(x(x+1)…(x+n−1))` below.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    if x >= 15.0 {
        return (x - 0.5) * x.ln() - x + LN_SQRT_2PI + stirling_remainder(x);
    }
    let mut shifted = x;
    let mut product = 1.0;
    while shifted < 15.0 {
        product *= shifted;
        shifted += 1.0;
    }
    ln_gamma(shifted) - product.ln()
}

/// `ln Γ(x) − ((x−½)·ln x − x + ln√(2π))` for `x ≥ 15`: Σ B₂ₖ/(2k(2k−1)x^(2k−1)), 7 terms
/// (the 8th is below 1e-20 at x = 15).
pub(crate) fn stirling_remainder(x: f64) -> f64 {
    // B_2k / (2k (2k-1)) for k = 1..7.
    const C: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
    ];
    let r = 1.0 / x;
    let r2 = r * r;
    let mut acc = 0.0;
    for c in C.iter().rev() {
        acc = acc * r2 + c;
    }
    acc * r
}

/// `ln(x^a·e^(−x)/Γ(a))`, the prefactor of both incomplete-gamma expansions.
///
/// For large `a` the three terms are each ~a·ln a and cancel to O(ln a); they are combined
/// through Stirling's formula as `a·(ln(x/a) − (x−a)/a) + ½·ln a − ln√(2π) − R(a)` so that only
/// the small remainder is ever rounded.
fn ln_gamma_prefactor(a: f64, x: f64) -> f64 {
    if a < 15.0 {
        return a * x.ln() - x - ln_gamma(a);
    }
    let t = (x - a) / a;
    let log_ratio_minus_t = if t.abs() < 0.5 {
        t.ln_1p() - t
    } else {
        (x.ln() - a.ln()) - t
    };
    a * log_ratio_minus_t + 0.5 * a.ln() - LN_SQRT_2PI - stirling_remainder(a)
}

/// The regularized upper incomplete gamma function `Q(a, x) = Γ(a, x)/Γ(a)` (scipy's
/// `gammaincc`, cephes `igamc`).
///
/// Domain as cephes: NaN for NaN input, `a < 0` or `x < 0`; `Q(0, x>0) = 0`, `Q(0, 0) = NaN`;
/// `Q(a, 0) = 1`; `Q(a, ∞) = 0`. Series for `P = 1 − Q` when `x < a + 1`, Legendre's continued
/// fraction otherwise; both scaled by the log-space prefactor, so `Q` far in the tail (1e-300)
/// keeps its relative accuracy.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() || a < 0.0 || x < 0.0 {
        return f64::NAN;
    }
    if a == 0.0 {
        return if x > 0.0 { 0.0 } else { f64::NAN };
    }
    if x == 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    if a.is_infinite() {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_cf(a, x)
    }
}

/// `P(a, x)` by its power series; converges for any `x`, used for `x < a + 1`.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = a;
    for _ in 0..MAX_ITER {
        n += 1.0;
        term *= x / n;
        sum += term;
        if term < sum * EPS {
            break;
        }
    }
    (ln_gamma_prefactor(a, x) - a.ln()).exp() * sum
}

/// `Q(a, x)` by Legendre's continued fraction
/// `1/(x+1−a − 1·(1−a)/(x+3−a − 2·(2−a)/(x+5−a − …)))`, used for `x ≥ a + 1`.
fn gamma_q_cf(a: f64, x: f64) -> f64 {
    // The leading 1/b₀ taken as the first step (Numerical Recipes' `gcf`): f = d = 1/b₀ and
    // c = 1/TINY, then terms aᵢ = −i·(i−a), bᵢ = b₀ + 2i.
    let mut b = x + 1.0 - a;
    let first = 1.0 / b;
    let h = lentz(first, 1.0 / TINY, first, |i| {
        b += 2.0;
        (-i * (i - a), b)
    });
    ln_gamma_prefactor(a, x).exp() * h
}

/// Survival function of the χ² distribution with `df` degrees of freedom (scipy's `chdtrc`):
/// `Q(df/2, x/2)`; 1 for `x < 0`, NaN for `df = 0` at `x = 0` as scipy.
pub fn chi2_sf(df: f64, x: f64) -> f64 {
    if x < 0.0 {
        return 1.0;
    }
    gamma_q(df / 2.0, x / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn erf_erfc_reference_values() {
        // Values from mpmath at 30 digits.
        assert!(close(erf(0.5), 0.520_499_877_813_046_5, 1e-15));
        assert!(close(erf(1.5), 0.966_105_146_475_310_7, 1e-15));
        assert!(close(erfc(2.0), 0.004_677_734_981_047_266, 1e-14));
        assert!(close(erfc(5.0), 1.537_459_794_428_034_8e-12, 1e-13));
        assert!(close(erfc(10.0), 2.088_487_583_762_545e-45, 1e-13));
        assert!(close(erfc(-1.0), 1.842_700_792_949_715, 1e-15));
        assert_eq!(erfc(40.0), 0.0);
        assert!(erf(f64::NAN).is_nan());
    }

    #[test]
    fn ndtr_tail_is_exactly_one() {
        assert!(close(ndtr(1.959_963_984_540_054), 0.975, 1e-14));
        assert_eq!(2.0 * (1.0 - ndtr(8.5)), 0.0);
        assert!(2.0 * (1.0 - ndtr(8.0)) > 0.0);
    }

    #[test]
    fn ln_gamma_reference_values() {
        // The recurrence from 15 down leaves a few 1e-15 absolute near the zeros at 1 and 2.
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(0.5), 0.572_364_942_924_700_1, 1e-15));
        assert!(close(ln_gamma(100.0), 359.134_205_369_575_4, 1e-15));
        assert!(close(ln_gamma(3.5), 1.200_973_602_347_074_3, 1e-14));
    }

    #[test]
    fn gamma_q_deep_tail_and_domain() {
        // scipy.special.gammaincc values.
        assert!(close(
            gamma_q(2.0, 19.373_305_371_606_748),
            7.858_540_137_655_595e-8,
            1e-10
        ));
        assert!(close(gamma_q(0.5, 1.0), 0.157_299_207_050_285_13, 1e-14));
        assert!(close(gamma_q(10.0, 5.0), 0.968_171_942_693_795_2, 1e-14));
        // Q(1, x) = e^-x far in the tail.
        assert!(close(gamma_q(1.0, 550.0), (-550.0f64).exp(), 1e-12));
        assert!(close(
            gamma_q(5000.0, 5100.0),
            0.079_328_881_077_618_98,
            1e-8
        ));
        assert!(gamma_q(0.0, 0.0).is_nan());
        assert_eq!(gamma_q(0.0, 1.0), 0.0);
        assert_eq!(gamma_q(3.0, 0.0), 1.0);
        assert_eq!(gamma_q(3.0, f64::INFINITY), 0.0);
        assert!(chi2_sf(0.0, 0.0).is_nan());
    }
}

//! The benchmark workload (`shared/bench/loadgen`) rebuilt as [`Batch`]es, so storage tests and
//! benches measure on data shaped like the peer comparison: per (model, version, instance) unit 2
//! prediction counters, 10 cumulative histogram buckets, `_sum`, `_count` and an accuracy gauge
//! with 6 decimals; plus drift gauges per model and feature. Every value is a pure function of
//! (seed, series, step), computed exactly as the loadgen does.

use vigil_model::{Batch, Labels, Sample, SeriesSamples};

#[inline]
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform [0,1) from (seed, a, b, c).
#[inline]
fn unif(seed: u64, a: u64, b: u64, c: u64) -> f64 {
    let h = splitmix(seed ^ splitmix(a ^ splitmix(b ^ splitmix(c))));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Abramowitz-Stegun 7.1.26, as in the loadgen.
fn erf(x: f64) -> f64 {
    let s = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    s * y
}

fn norm_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// The loadgen's literal approximation of 2π; the exact constant would change the values.
#[allow(clippy::approx_constant)]
const LOADGEN_TWO_PI: f64 = 6.283;

const LE: [f64; 10] = [
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    f64::INFINITY,
];
const LE_STR: [&str; 10] = [
    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
];
const MODEL_BASE: [&str; 10] = [
    "fraud-detector",
    "recommender",
    "churn-predictor",
    "search-ranker",
    "ad-ctr",
    "image-classifier",
    "spam-filter",
    "demand-forecast",
    "sentiment",
    "ner-tagger",
];
const PER_UNIT: usize = 15;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Pred { err: bool },
    Bucket(u8),
    HistSum,
    HistCount,
    Accuracy,
    Drift,
}

#[derive(Debug, Clone)]
struct SeriesDef {
    labels: Labels,
    kind: Kind,
    id: u64,
    unit: u64,
    model: u64,
    mv: u64,
}

/// Parameters, with the loadgen's defaults.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadConfig {
    /// Target series count (rounded up to whole instances, as the loadgen does).
    pub series: usize,
    pub models: usize,
    pub versions: usize,
    pub features: usize,
    pub seed: u64,
    pub interval_ms: i64,
    /// Timestamp of step 0.
    pub start_ms: i64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            series: 10_000,
            models: 20,
            versions: 2,
            features: 10,
            seed: 42,
            interval_ms: 10_000,
            start_ms: 1_795_456_810_000,
        }
    }
}

/// The generated series set.
#[derive(Debug, Clone)]
pub struct Workload {
    cfg: WorkloadConfig,
    series: Vec<SeriesDef>,
    model_mu: Vec<f64>,
    model_sigma: Vec<f64>,
}

fn model_name(m: usize) -> String {
    let base = MODEL_BASE
        .get(m % MODEL_BASE.len())
        .copied()
        .unwrap_or("model");
    format!("{base}-{:02}", m / MODEL_BASE.len())
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap_or_default()
}

impl Workload {
    pub fn new(cfg: WorkloadConfig) -> Workload {
        let m = cfg.models.max(1);
        let v = cfg.versions.max(1);
        let f = cfg.features;
        let fixed = m * f;
        let per_inst = m * v * PER_UNIT;
        let instances = if cfg.series > fixed {
            (cfg.series - fixed).div_ceil(per_inst).max(1)
        } else {
            1
        };
        let mut series = Vec::with_capacity(per_inst * instances + fixed);
        let mut unit: u64 = 0;
        for mi in 0..m {
            let mname = model_name(mi);
            for vi in 0..v {
                let ver = format!("v{}", vi + 1);
                let mv = (mi * v + vi) as u64;
                for _ in 0..instances {
                    let inst = format!("pod-{unit:06}:8080");
                    let mut push = |l: Labels, kind: Kind| {
                        let id = series.len() as u64;
                        series.push(SeriesDef {
                            labels: l,
                            kind,
                            id,
                            unit,
                            model: mi as u64,
                            mv,
                        });
                    };
                    let base = [
                        ("model_name", mname.as_str()),
                        ("model_version", ver.as_str()),
                        ("instance", inst.as_str()),
                    ];
                    for (st, err) in [("success", false), ("error", true)] {
                        let mut p = base.to_vec();
                        p.push(("__name__", "ml_model_predictions_total"));
                        p.push(("status", st));
                        push(labels(&p), Kind::Pred { err });
                    }
                    for (k, le) in LE_STR.iter().enumerate() {
                        let mut p = base.to_vec();
                        p.push(("__name__", "ml_model_inference_duration_seconds_bucket"));
                        p.push(("le", le));
                        push(labels(&p), Kind::Bucket(k as u8));
                    }
                    for (name, kind) in [
                        ("ml_model_inference_duration_seconds_sum", Kind::HistSum),
                        ("ml_model_inference_duration_seconds_count", Kind::HistCount),
                        ("ml_model_accuracy", Kind::Accuracy),
                    ] {
                        let mut p = base.to_vec();
                        p.push(("__name__", name));
                        push(labels(&p), kind);
                    }
                    unit += 1;
                }
            }
        }
        for mi in 0..m {
            let mname = model_name(mi);
            for fi in 0..f {
                let feat = format!("feature_{fi:02}");
                let id = series.len() as u64;
                series.push(SeriesDef {
                    labels: labels(&[
                        ("__name__", "ml_data_drift_score"),
                        ("model_name", &mname),
                        ("feature_name", &feat),
                    ]),
                    kind: Kind::Drift,
                    id,
                    unit: (1u64 << 40) + (mi * 10_000 + fi) as u64,
                    model: mi as u64,
                    mv: 0,
                });
            }
        }
        let seed = cfg.seed;
        let model_mu = (0..m)
            .map(|mi| 0.02 * 40f64.powf(unif(seed, 4, mi as u64, 0)))
            .collect();
        let model_sigma = (0..m)
            .map(|mi| 0.4 + 0.6 * unif(seed, 5, mi as u64, 0))
            .collect();
        Workload {
            cfg,
            series,
            model_mu,
            model_sigma,
        }
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn labels(&self, i: usize) -> Option<&Labels> {
        self.series.get(i).map(|s| &s.labels)
    }

    pub fn timestamp(&self, step: usize) -> i64 {
        self.cfg.start_ms + step as i64 * self.cfg.interval_ms
    }

    fn counter(&self, rate: f64, key: u64, step: usize, offset: f64) -> f64 {
        let dt = self.cfg.interval_ms as f64 / 1000.0;
        let t = step as f64 * dt;
        let jitter = 0.5 * rate * dt * unif(self.cfg.seed, 9, key, step as u64);
        (offset + rate * t + jitter).floor()
    }

    /// The value of series `i` at `step`.
    pub fn value(&self, i: usize, step: usize) -> f64 {
        let Some(s) = self.series.get(i) else {
            return 0.0;
        };
        let seed = self.cfg.seed;
        let ok_rate = 5.0 + 45.0 * unif(seed, 1, s.unit, 0);
        let err_rate =
            ok_rate * (0.001 + 0.08 * unif(seed, 2, s.unit, 0) * unif(seed, 3, s.model, 0));
        let versions = self.cfg.versions.max(1) as u64;
        match s.kind {
            Kind::Pred { err } => {
                let rate = if err { err_rate } else { ok_rate };
                let off = (1000.0 * unif(seed, 6, s.id, 0)).floor();
                self.counter(rate, s.id, step, off)
            }
            Kind::Bucket(_) | Kind::HistSum | Kind::HistCount => {
                let count = self.counter(ok_rate + err_rate, (1u64 << 50) + s.unit, step, 0.0);
                let vshift = if s.mv % versions == 1 { 0.8 } else { 1.0 };
                let model = s.model as usize;
                let mu = self.model_mu.get(model).copied().unwrap_or(0.1) * vshift;
                let sigma = self.model_sigma.get(model).copied().unwrap_or(0.5);
                match s.kind {
                    Kind::Bucket(k) => {
                        let le = LE.get(usize::from(k)).copied().unwrap_or(f64::INFINITY);
                        if le.is_infinite() {
                            count
                        } else {
                            (count * norm_cdf((le.ln() - mu.ln()) / sigma)).floor()
                        }
                    }
                    Kind::HistSum => {
                        let mean = mu * (sigma * sigma / 2.0).exp();
                        ((count * mean) * 1000.0).round() / 1000.0
                    }
                    _ => count,
                }
            }
            Kind::Accuracy => {
                let base = 0.78 + 0.19 * unif(seed, 7, s.mv, 0);
                let phase = LOADGEN_TWO_PI * unif(seed, 8, s.unit, 0);
                let v = base
                    + 0.01 * ((step as f64) / 60.0 * LOADGEN_TWO_PI + phase).sin()
                    + 0.004 * (unif(seed, 10, s.id, step as u64) - 0.5);
                (v * 1e6).round() / 1e6
            }
            Kind::Drift => {
                let base = 0.95 * unif(seed, 11, s.unit, 0);
                let v = base
                    + 0.04 * ((step as f64) / 90.0 * LOADGEN_TWO_PI).sin()
                    + 0.01 * (unif(seed, 12, s.id, step as u64) - 0.5);
                (v.clamp(0.0, 1.0) * 1e6).round() / 1e6
            }
        }
    }

    /// One step of every series in `series_lo..series_hi` as a batch (the live remote_write
    /// shape: one sample per series).
    pub fn batch(&self, series_lo: usize, series_hi: usize, step: usize) -> Batch {
        let hi = series_hi.min(self.series.len());
        let t = self.timestamp(step);
        Batch {
            series: (series_lo..hi)
                .filter_map(|i| {
                    Some(SeriesSamples {
                        labels: self.series.get(i)?.labels.clone(),
                        samples: vec![Sample::new(t, self.value(i, step))],
                    })
                })
                .collect(),
            metadata: Vec::new(),
        }
    }

    /// Every step, in requests of about `per_request` samples: for each step, consecutive
    /// series groups (the order a single remote_write shard would send).
    pub fn batches(&self, steps: usize, per_request: usize) -> impl Iterator<Item = Batch> + '_ {
        let per = per_request.max(1);
        let n = self.series.len();
        (0..steps).flat_map(move |step| {
            (0..n.div_ceil(per)).map(move |g| self.batch(g * per, (g + 1) * per, step))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_loadgen() {
        let w = Workload::new(WorkloadConfig {
            series: 10_000,
            ..WorkloadConfig::default()
        });
        assert_eq!(w.series_count(), 10_400);
        let b = w.batch(0, 15, 3);
        assert_eq!(b.series.len(), 15);
        // Buckets are cumulative in `le`.
        let buckets: Vec<f64> = (2..12).map(|i| w.value(i, 5)).collect();
        assert!(buckets.windows(2).all(|p| p[0] <= p[1]), "{buckets:?}");
        // Counters are monotone in time.
        assert!((0..20).all(|s| w.value(0, s) <= w.value(0, s + 1)));
    }
}

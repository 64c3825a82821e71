//! The data set both servers receive for the PromQL differential test: three hours of an
//! ML-serving fleet at 15 s resolution, deterministic (seeded), pushed by remote_write.
//!
//! Shaped by what the comparison needs, not only by realism:
//! - Sample timestamps are `base + 15 s·i + 100..900 ms ± 40 ms`, so no sample ever falls on a
//!   whole second. Every query time, range, offset and subquery step in the corpus is a whole
//!   number of seconds, so no sample sits on a window boundary, where Prometheus 2.42 (closed
//!   `[t-r, t]`) and 3.x (left-open `(t-r, t]`) would disagree.
//! - Gauge values are multiples of a power of two (and counters are integers), so sums of a few
//!   of them are exact whatever the summation order: plain, Kahan and incremental-mean
//!   summation then agree to the last bit instead of differing near zero.
//! - Counters that start, or restart, stay at exactly 0 for a 90 s warm-up: Prometheus 2.51
//!   changed the order in which `rate()` applies its "extrapolate to zero" limit and its "series
//!   starts inside the window" limit (commit 7f912db15a); the two orders agree when the first
//!   sample in the window is 0, also for subqueries with steps up to 1 m over a counter.
//! - Drift scores have a +0.25 bias, so their averages are never exactly 0: 2.42 averages by
//!   incremental mean, 3.x by a direct (Kahan) sum when it does not overflow; both round
//!   alike except where the true mean is 0 and 2.42 leaves a residue like -7e-17.
//!
//! What is in it: request counters with a restart (reset to 0 after a 45 s gap with staleness
//! markers) and a network partition (10 min of staleness markers, counters continuing), classic
//! histograms (`_bucket{le}` up to `+Inf`, `_sum`, `_count`), a canary that starts at 1 h and
//! is removed at 2 h 15 m (staleness markers), a training run that stops at 2 h 42 m 30 s
//! without markers, gauges with zeros, negatives, NaN, +Inf and -Inf, an info metric whose
//! version changes, and deploy timestamps for the date functions.

use vigil_model::{Labels, Sample, SeriesSamples, STALE_NAN};

pub const STEP_MS: i64 = 15_000;
/// Three hours.
pub const STEPS: usize = 720;

const BUCKETS: [&str; 11] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
];
const BATCH_SIZES: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// Steps a (re)started pod is scraped before it gets traffic: counters stay 0.
const WARMUP_STEPS: u32 = 6;

/// splitmix64, seeded by name: every series is reproducible on its own.
struct Rng(u64);

impl Rng {
    fn new(seed: &str) -> Rng {
        // FNV-1a of the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [lo, hi].
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// `v` rounded to a multiple of 2^-bits; never -0 (Prometheus's API writes it as 0).
fn quantize(v: f64, bits: i32) -> f64 {
    let s = 2f64.powi(bits);
    (v * s).round() / s + 0.0
}

/// When one source (a scrape target, or a job pushing its own series) produces samples.
struct Source {
    /// Per-source clock: offset and jitter of every sample time.
    rng: Rng,
    offset_ms: i64,
    /// First and one-past-last step with samples.
    start: usize,
    end: usize,
    /// Whether the source writes staleness markers at `end` (a removed target) or just stops
    /// (a pushing job that finished).
    stale_at_end: bool,
    /// Steps [from, to) where scrapes fail: `up` is 0, every other series gets a staleness
    /// marker at `from` and nothing until `to`.
    gap: Option<(usize, usize)>,
    /// Whether the process restarted during the gap (counters begin again at 0).
    restart: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// A regular sample.
    Sample,
    /// Staleness marker for every series but `up` (failed scrape, first step of the gap).
    GapStart,
    /// Inside the gap: only `up` (= 0).
    InGap,
    /// The target was removed: markers for every series including `up`.
    Removed,
    Nothing,
}

impl Source {
    fn new(name: &str, start: usize, end: usize) -> Source {
        let mut rng = Rng::new(&format!("clock/{name}"));
        let offset_ms = rng.int(100, 900);
        Source {
            rng,
            offset_ms,
            start,
            end,
            stale_at_end: false,
            gap: None,
            restart: false,
        }
    }

    fn at(&self, i: usize) -> At {
        if i == self.end && self.stale_at_end {
            return At::Removed;
        }
        if i < self.start || i >= self.end {
            return At::Nothing;
        }
        match self.gap {
            Some((from, _)) if i == from => At::GapStart,
            Some((from, to)) if i > from && i < to => At::InGap,
            _ => At::Sample,
        }
    }

    /// The sample time of step `i`: never on a whole second.
    fn time(&mut self, base_ms: i64, i: usize) -> i64 {
        base_ms + i as i64 * STEP_MS + self.offset_ms + self.rng.int(-40, 40)
    }
}

/// Series under construction, by label set.
#[derive(Default)]
struct Out(Vec<SeriesSamples>);

impl Out {
    fn series(&mut self, pairs: &[(&str, &str)]) -> usize {
        let labels = Labels::from_pairs(pairs.iter().copied()).expect("valid labels");
        if let Some(i) = self.0.iter().position(|s| s.labels == labels) {
            return i;
        }
        self.0.push(SeriesSamples {
            labels,
            samples: Vec::new(),
        });
        self.0.len() - 1
    }

    fn push(&mut self, series: usize, t: i64, v: f64) {
        self.0[series].samples.push(Sample::new(t, v));
    }
}

struct Model {
    name: &'static str,
    region: [&'static str; 2],
    /// Requests per step at the daily mean.
    rate: f64,
    /// Typical latency in seconds.
    latency: f64,
    gpu: bool,
    tokens: bool,
}

const MODELS: [Model; 5] = [
    Model {
        name: "fraud-detector",
        region: ["eu-west-1", "eu-west-1"],
        rate: 40.0,
        latency: 0.018,
        gpu: false,
        tokens: false,
    },
    Model {
        name: "recsys-ranker",
        region: ["us-east-1", "eu-west-1"],
        rate: 25.0,
        latency: 0.06,
        gpu: false,
        tokens: false,
    },
    Model {
        name: "llm-chat",
        region: ["us-east-1", "us-east-1"],
        rate: 6.0,
        latency: 0.9,
        gpu: true,
        tokens: true,
    },
    Model {
        name: "image-classifier",
        region: ["ap-south-1", "ap-south-1"],
        rate: 12.0,
        latency: 0.12,
        gpu: true,
        tokens: false,
    },
    Model {
        name: "llm-chat-canary",
        region: ["us-east-1", "us-east-1"],
        rate: 2.0,
        latency: 1.1,
        gpu: true,
        tokens: true,
    },
];

/// One serving pod: its scrape target and the state of its counters and gauges.
fn serving_target(out: &mut Out, base_ms: i64, m: &Model, idx: usize) {
    let instance = format!("{}-{idx}:8080", m.name);
    let region = m.region[idx];
    let mut src = Source::new(&instance, 0, STEPS);
    match (m.name, idx) {
        ("llm-chat-canary", _) => {
            src.start = 240;
            src.end = 540;
            src.stale_at_end = true;
        }
        ("recsys-ranker", 1) => {
            src.gap = Some((330, 333));
            src.restart = true;
        }
        ("image-classifier", 0) => src.gap = Some((600, 640)),
        _ => {}
    }
    let mut rng = Rng::new(&format!("values/{instance}"));
    let base = [
        ("job", "ml-serving"),
        ("instance", instance.as_str()),
        ("model", m.name),
        ("region", region),
    ];
    let with = |extra: &[(&'static str, &'static str)], name: &'static str| -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = vec![("__name__", name)];
        v.extend(base.iter().copied());
        v.extend(extra.iter().copied());
        v
    };
    let up = out.series(&[
        ("__name__", "up"),
        ("job", "ml-serving"),
        ("instance", instance.as_str()),
    ]);
    let statuses = ["200", "400", "500"];
    let requests: Vec<usize> = statuses
        .iter()
        .map(|s| out.series(&with(&[("status", s)], "ml_requests_total")))
        .collect();
    let buckets: Vec<usize> = BUCKETS
        .iter()
        .map(|le| out.series(&with(&[("le", le)], "ml_inference_duration_seconds_bucket")))
        .collect();
    let hsum = out.series(&with(&[], "ml_inference_duration_seconds_sum"));
    let hcount = out.series(&with(&[], "ml_inference_duration_seconds_count"));
    let queue = out.series(&with(&[], "ml_queue_depth"));
    let batch = out.series(&with(&[], "ml_batch_size"));
    let memory: Vec<usize> = ["rss", "cache"]
        .iter()
        .map(|k| out.series(&with(&[("kind", k)], "ml_memory_bytes")))
        .collect();
    let mut gauges_gpu = Vec::new();
    if m.gpu {
        for g in ["0", "1"] {
            let lab = |name| {
                vec![
                    ("__name__", name),
                    ("job", "ml-serving"),
                    ("instance", instance.as_str()),
                    ("gpu", g),
                ]
            };
            gauges_gpu.push((
                out.series(&lab("ml_gpu_utilization_ratio")),
                out.series(&lab("ml_gpu_temperature_celsius")),
            ));
        }
    }
    let tokens: Vec<usize> = if m.tokens {
        ["input", "output"]
            .iter()
            .map(|d| out.series(&with(&[("direction", d)], "ml_tokens_total")))
            .collect()
    } else {
        Vec::new()
    };
    let counters: Vec<usize> = requests
        .iter()
        .chain(&buckets)
        .chain([&hsum, &hcount])
        .chain(&tokens)
        .copied()
        .collect();
    let gauges: Vec<usize> = [queue, batch]
        .into_iter()
        .chain(memory.iter().copied())
        .chain(gauges_gpu.iter().flat_map(|(u, t)| [*u, *t]))
        .collect();

    let mut req = [0f64; 3];
    let mut bucket_counts = [0f64; 11];
    let mut sum = 0f64;
    let mut tok = [0f64; 2];
    let mut q = 3f64;
    let mut bs = 8f64;
    let mut rss = 1.2e9 + rng.int(0, 1000) as f64 * 1e6;
    let mut fresh = true;
    let mut warmup = 0;
    for i in 0..STEPS + 1 {
        let at = src.at(i);
        if at == At::Nothing && i >= src.end {
            break;
        }
        if at == At::Nothing {
            continue;
        }
        let t = src.time(base_ms, i);
        if src.restart && src.gap.is_some_and(|(_, to)| i + 1 == to) {
            // The process restarted: counters begin at 0 when it is next scraped.
            fresh = true;
            req = [0.0; 3];
            bucket_counts = [0.0; 11];
            sum = 0.0;
            tok = [0.0; 2];
            rss = 1.1e9;
        }
        if fresh {
            warmup = WARMUP_STEPS;
        }
        // Traffic: a slow daily-like wave, plus noise; llm-chat has a burst of 500s.
        if !fresh && warmup == 0 {
            let wave = 1.0 + 0.3 * (i as f64 / 90.0).sin();
            let n = (m.rate * wave * (0.5 + rng.unit())).round();
            let mut n500 = if rng.unit() < 0.3 {
                rng.int(0, 2) as f64
            } else {
                0.0
            };
            if m.name == "llm-chat" && (450..470).contains(&i) {
                n500 += 3.0;
            }
            let n400 = if rng.unit() < 0.2 { 1.0 } else { 0.0 };
            let total = n + n400 + n500;
            req[0] += n;
            req[1] += n400;
            req[2] += n500;
            for _ in 0..total as usize {
                // Log-uniform between latency/4 and latency·4.
                let obs = quantize(m.latency * 2f64.powf(rng.unit() * 4.0 - 2.0), 16);
                sum += obs;
                for (b, le) in BUCKETS.iter().enumerate() {
                    let bound: f64 = if *le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().expect("bucket bound")
                    };
                    if obs <= bound {
                        bucket_counts[b] += 1.0;
                    }
                }
            }
            if m.tokens {
                tok[0] += total * rng.int(50, 500) as f64;
                tok[1] += total * rng.int(20, 800) as f64;
            }
        }
        q = if rng.unit() < 0.12 {
            0.0
        } else {
            (q + rng.int(-3, 3) as f64).clamp(0.0, 40.0)
        };
        if rng.unit() < 0.05 {
            bs = BATCH_SIZES[rng.int(0, 5) as usize];
        }
        rss += rng.int(-2, 5) as f64 * 1_048_576.0;
        match at {
            At::Sample => {
                if !fresh {
                    warmup = warmup.saturating_sub(1);
                }
                fresh = false;
                out.push(up, t, 1.0);
                for (s, v) in requests.iter().zip(req) {
                    out.push(*s, t, v);
                }
                for (s, v) in buckets.iter().zip(bucket_counts) {
                    out.push(*s, t, v);
                }
                out.push(hsum, t, sum);
                out.push(hcount, t, bucket_counts[10]);
                for (s, v) in tokens.iter().zip(tok) {
                    out.push(*s, t, v);
                }
                out.push(queue, t, q);
                out.push(batch, t, bs);
                out.push(memory[0], t, rss);
                out.push(memory[1], t, 4.0e8 + rng.int(0, 255) as f64 * 65536.0);
                for (u, temp) in &gauges_gpu {
                    let util = quantize(0.25 + 0.7 * rng.unit(), 16);
                    out.push(*u, t, util);
                    out.push(*temp, t, quantize(48.0 + 30.0 * util + 4.0 * rng.unit(), 4));
                }
            }
            At::GapStart | At::InGap => {
                out.push(up, t, 0.0);
                if at == At::GapStart {
                    for s in counters.iter().chain(&gauges) {
                        out.push(*s, t, STALE_NAN);
                    }
                }
            }
            At::Removed => {
                for s in counters.iter().chain(&gauges).chain([&up]) {
                    out.push(*s, t, STALE_NAN);
                }
            }
            At::Nothing => {}
        }
    }
}

/// A series pushed by a job of its own (not a scrape target): `value(i)` for steps in
/// [start, end), `None` skips the step.
fn pushed(
    out: &mut Out,
    base_ms: i64,
    labels: &[(&str, &str)],
    (start, end): (usize, usize),
    stale_at_end: bool,
    mut value: impl FnMut(usize) -> Option<f64>,
) {
    let key: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut src = Source::new(&key.join(","), start, end);
    src.stale_at_end = stale_at_end;
    let s = out.series(labels);
    for i in start..(end + 1).min(STEPS) {
        match src.at(i) {
            At::Sample => {
                let t = src.time(base_ms, i);
                if let Some(v) = value(i) {
                    out.push(s, t, v);
                }
            }
            At::Removed => {
                let t = src.time(base_ms, i);
                out.push(s, t, STALE_NAN);
            }
            _ => {}
        }
    }
}

/// Every series of the data set, samples in time order; `base_ms` is the first step's time,
/// a whole minute.
pub fn generate(base_ms: i64) -> Vec<SeriesSamples> {
    let mut out = Out::default();
    for m in &MODELS {
        let pods = if m.name == "llm-chat-canary" { 1 } else { 2 };
        for idx in 0..pods {
            serving_target(&mut out, base_ms, m, idx);
        }
    }
    let all = (0, STEPS);
    for (k, m) in MODELS.iter().take(4).enumerate() {
        let mut rng = Rng::new(&format!("drift/{}", m.name));
        let phase = k as f64 * 1.3;
        pushed(
            &mut out,
            base_ms,
            &[
                ("__name__", "ml_model_drift_score"),
                ("job", "ml-monitor"),
                ("model", m.name),
            ],
            all,
            false,
            |i| {
                Some(quantize(
                    0.25 + 0.6 * (i as f64 / 37.0 + phase).sin() + 0.1 * (rng.unit() - 0.5),
                    20,
                ))
            },
        );
    }
    let mut rng = Rng::new("loss/r1");
    pushed(
        &mut out,
        base_ms,
        &[
            ("__name__", "ml_training_loss"),
            ("job", "ml-training"),
            ("run", "r1"),
        ],
        all,
        false,
        |i| {
            Some(match i {
                300..=304 => f64::NAN,
                332 | 410 => f64::INFINITY,
                _ => quantize(2.0 * (-(i as f64) / 250.0).exp() + 0.05 * rng.unit(), 12),
            })
        },
    );
    let mut rng = Rng::new("loss/r2");
    pushed(
        &mut out,
        base_ms,
        &[
            ("__name__", "ml_training_loss"),
            ("job", "ml-training"),
            ("run", "r2"),
        ],
        (100, 650),
        false,
        |i| {
            Some(quantize(
                3.0 * (-((i - 100) as f64) / 200.0).exp() + 0.05 * rng.unit(),
                12,
            ))
        },
    );
    let mut rng = Rng::new("reward/r1");
    pushed(
        &mut out,
        base_ms,
        &[
            ("__name__", "ml_reward"),
            ("job", "ml-training"),
            ("run", "r1"),
        ],
        all,
        false,
        |i| {
            Some(match i {
                496 => f64::NEG_INFINITY,
                620 => f64::NAN,
                _ => quantize(5.0 * (i as f64 / 50.0).sin() + rng.unit(), 8),
            })
        },
    );
    for m in &MODELS {
        let canary = m.name == "llm-chat-canary";
        let life = if canary { (240, 540) } else { all };
        for state in ["desired", "available"] {
            pushed(
                &mut out,
                base_ms,
                &[
                    ("__name__", "ml_replicas"),
                    ("job", "ml-controller"),
                    ("model", m.name),
                    ("state", state),
                ],
                life,
                canary,
                |i| {
                    let desired = match m.name {
                        "llm-chat-canary" => 1.0,
                        "llm-chat" if (240..540).contains(&i) => 3.0,
                        _ => 2.0,
                    };
                    let down = match m.name {
                        "recsys-ranker" => (330..340).contains(&i),
                        "image-classifier" => (600..645).contains(&i),
                        "llm-chat" => (240..262).contains(&i),
                        _ => false,
                    };
                    Some(match (state, down) {
                        ("available", true) => desired - 1.0,
                        _ => desired,
                    })
                },
            );
        }
    }
    let infos = [
        ("fraud-detector", "v1", "xgboost", (0, 200), false),
        ("fraud-detector", "v2", "xgboost", (200, STEPS), false),
        ("recsys-ranker", "v7", "pytorch", all, false),
        ("llm-chat", "v3", "vllm", all, false),
        ("image-classifier", "v12", "onnx", all, false),
        ("llm-chat-canary", "v4", "vllm", (240, 540), true),
    ];
    for (model, version, framework, life, stale) in infos {
        pushed(
            &mut out,
            base_ms,
            &[
                ("__name__", "ml_model_info"),
                ("job", "ml-controller"),
                ("model", model),
                ("version", version),
                ("framework", framework),
            ],
            life,
            stale,
            |_| Some(1.0),
        );
    }
    let base_s = base_ms / 1000;
    let deploys: [(&str, i64, i64); 4] = [
        // (model, deployed before the data, deployed at step 200 or never)
        (
            "fraud-detector",
            base_s - 3 * 86_400 + 1_234,
            base_s + 200 * 15,
        ),
        // 2024-02-29T01:02:03Z: a leap day.
        ("recsys-ranker", 1_709_168_523, 0),
        // 2023-12-31T23:59:59Z: the last second of a year.
        ("llm-chat", 1_704_067_199, 0),
        ("image-classifier", base_s - 40 * 86_400 - 7_777, 0),
    ];
    for (model, before, after) in deploys {
        pushed(
            &mut out,
            base_ms,
            &[
                ("__name__", "ml_last_deploy_timestamp_seconds"),
                ("job", "ml-controller"),
                ("model", model),
            ],
            all,
            false,
            |i| {
                Some(if after != 0 && i >= 200 {
                    after
                } else {
                    before
                } as f64)
            },
        );
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_ordered_and_off_whole_seconds() {
        let base = 1_700_000_040_000;
        let data = generate(base);
        assert!(data.len() > 200, "{} series", data.len());
        for s in &data {
            assert!(
                s.samples.windows(2).all(|w| w[0].t < w[1].t),
                "{}",
                s.labels
            );
            assert!(s.samples.iter().all(|x| x.t % 1000 != 0), "{}", s.labels);
        }
        assert_eq!(generate(base), data, "deterministic");
    }
}

//! The simulated fleet: two models (`fraud`, a binary classifier, and `recommender`, a
//! regressor), their feature generators, the delayed ground truth, the service metrics, and the
//! two injected incidents (feature drift and an accuracy drop).
//!
//! Owns: what the data looks like. Does not own: time or transport. [`Fleet::advance`] is told
//! the instant to generate up to, so the live loop feeds it the wall clock, the backfill feeds
//! it past instants, and tests step it without sleeping; the events it returns are sent by
//! [`super::send`].
//!
//! The numbers are chosen so that Vigil's Evidently-compatible defaults react visibly: before
//! the drift every feature is stable; after it, four of the six fraud features move past the
//! default thresholds (Wasserstein distance normed ≥ 0.1 for numerical columns, Jensen-Shannon
//! distance ≥ 0.1 for categorical ones) so the dataset drift share is ≥ 0.5, and two of the five
//! recommender features do. The score is drawn from the truth, not from the features, so drift
//! and the accuracy drop are independent knobs.

use std::collections::VecDeque;
use std::sync::LazyLock;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use vigil_model::{Batch, Timestamp};

use super::rng::Rng;
use super::service::Service;

/// One feature, prediction or label value, serialised as plain JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Num(f64),
    Bool(bool),
    Str(&'static str),
}

/// One prediction event, as a line of `POST /api/v1/ml/predictions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub model: &'static str,
    pub version: &'static str,
    pub id: String,
    /// When the prediction was made; serialised as Unix seconds with milliseconds.
    #[serde(serialize_with = "ms_as_secs")]
    pub timestamp: Timestamp,
    #[serde(serialize_with = "as_map")]
    pub features: Vec<(&'static str, Value)>,
    pub prediction: Value,
    /// The classifier's probability of the positive class; absent for the regressor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// One ground-truth event, as a line of `POST /api/v1/ml/labels`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    pub model: &'static str,
    pub id: String,
    pub label: Value,
    /// When the truth became known (the prediction's time plus the label delay).
    #[serde(serialize_with = "ms_as_secs")]
    pub timestamp: Timestamp,
}

fn ms_as_secs<S: Serializer>(ms: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*ms as f64 / 1000.0)
}

fn as_map<S: Serializer>(features: &[(&'static str, Value)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(features.len()))?;
    for (name, value) in features {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

/// Which incidents are in effect at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Phase {
    /// Seconds since feature drift began, when it has.
    pub drift_for: Option<f64>,
    /// Whether the accuracy drop is in effect.
    pub dropped: bool,
}

impl Phase {
    /// The name the status line shows.
    pub fn name(self) -> &'static str {
        match (self.drift_for.is_some(), self.dropped) {
            (false, false) => "baseline",
            (true, false) => "drifting",
            (false, true) => "accuracy dropped",
            (true, true) => "drifting, accuracy dropped",
        }
    }
}

/// When the incidents start, as absolute instants; `None` is never.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Schedule {
    pub drift_at: Option<Timestamp>,
    pub drop_at: Option<Timestamp>,
}

impl Schedule {
    /// The phase at `t`.
    pub fn phase(&self, t: Timestamp) -> Phase {
        Phase {
            drift_for: self
                .drift_at
                .filter(|d| t >= *d)
                .map(|d| (t - d) as f64 / 1000.0),
            dropped: self.drop_at.is_some_and(|d| t >= d),
        }
    }
}

/// What one model produced for one request before it is dressed as events.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub features: Vec<(&'static str, Value)>,
    pub prediction: Value,
    pub score: Option<f64>,
    pub truth: Value,
}

/// The two simulated models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Fraud,
    Recommender,
}

const MERCHANTS: [(&str, f64); 8] = [
    ("grocery", 0.30),
    ("restaurants", 0.18),
    ("retail", 0.15),
    ("travel", 0.08),
    ("electronics", 0.09),
    ("gas", 0.10),
    ("entertainment", 0.06),
    ("jewelry", 0.04),
];
/// After the drift: a shift towards online electronics and travel (Jensen-Shannon ≈ 0.2).
const MERCHANTS_DRIFTED: [(&str, f64); 8] = [
    ("grocery", 0.15),
    ("restaurants", 0.12),
    ("retail", 0.13),
    ("travel", 0.15),
    ("electronics", 0.25),
    ("gas", 0.07),
    ("entertainment", 0.08),
    ("jewelry", 0.05),
];
const MERCHANTS_FRAUD: [(&str, f64); 8] = [
    ("grocery", 0.05),
    ("restaurants", 0.05),
    ("retail", 0.10),
    ("travel", 0.20),
    ("electronics", 0.30),
    ("gas", 0.05),
    ("entertainment", 0.05),
    ("jewelry", 0.20),
];
const COUNTRIES: [(&str, f64); 6] = [
    ("US", 0.40),
    ("GB", 0.15),
    ("DE", 0.15),
    ("FR", 0.12),
    ("IN", 0.10),
    ("BR", 0.08),
];
const COUNTRIES_FRAUD: [(&str, f64); 6] = [
    ("US", 0.25),
    ("GB", 0.10),
    ("DE", 0.10),
    ("FR", 0.10),
    ("IN", 0.20),
    ("BR", 0.25),
];
/// The category that appears with the drift, at this share of all transactions.
const NEW_COUNTRY: &str = "XX";
const NEW_COUNTRY_SHARE: f64 = 0.2;

const SEGMENTS: [(&str, f64); 4] = [
    ("new", 0.20),
    ("casual", 0.45),
    ("power", 0.25),
    ("churning", 0.10),
];
const SEGMENT_EFFECT: [(&str, f64); 4] = [
    ("new", 0.0),
    ("casual", 0.1),
    ("power", 0.5),
    ("churning", -0.8),
];
const ITEM_CATEGORIES: [(&str, f64); 6] = [
    ("movies", 0.30),
    ("music", 0.25),
    ("books", 0.15),
    ("games", 0.12),
    ("podcasts", 0.10),
    ("news", 0.08),
];
const ITEM_EFFECT: [(&str, f64); 6] = [
    ("movies", 0.1),
    ("music", 0.2),
    ("books", 0.3),
    ("games", -0.1),
    ("podcasts", 0.0),
    ("news", -0.4),
];
const DEVICES: [(&str, f64); 3] = [("ios", 0.45), ("android", 0.40), ("web", 0.15)];
const DEVICES_DRIFTED: [(&str, f64); 3] = [("ios", 0.22), ("android", 0.18), ("web", 0.60)];

/// Share of transactions that are fraud.
const FRAUD_RATE: f64 = 0.02;
/// The classifier's latent score is N(shift, 1); it flags above this. With fraud at N(1.81, 1)
/// and legitimate at N(0, 1), ROC AUC = Φ(1.81/√2) ≈ 0.90 and accuracy ≈ 0.97.
const FLAG_AT: f64 = 2.15;
const FRAUD_SHIFT: f64 = 1.8125;
/// After the drop, legitimate transactions score N(1.3, 1) (≈ 20% flagged) and fraud barely
/// higher: accuracy ≈ 0.79, AUC ≈ 0.56.
const DROPPED_LEGIT_SHIFT: f64 = 1.3;
const DROPPED_FRAUD_SHIFT: f64 = 1.5;
/// Amount medians; the drift multiplies every amount's distribution by 3 (mean ×3).
const AMOUNT_MEDIAN: f64 = 45.0;
const AMOUNT_MEDIAN_FRAUD: f64 = 180.0;
const AMOUNT_DRIFT: f64 = 3.0;
/// Popularity median; the drift moves recommendations towards the long tail (×0.4).
const POPULARITY_MEDIAN: f64 = 20.0;
const POPULARITY_DRIFT: f64 = 0.4;
/// Seconds over which the recommender's slow requests ramp up after the drift.
const SLOWDOWN_RAMP_SECS: f64 = 120.0;
const SLOW_SHARE: f64 = 0.25;

fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Weight of each hour of the day, `[legitimate, fraud]`: legitimate traffic peaks
/// mid-afternoon, fraud at night. Drawn from a fixed table, not from the event's timestamp, so
/// that comparing windows taken at different times of day does not read as drift. Computed once:
/// every fraud draw reads it.
static HOUR_WEIGHTS: LazyLock<[[f64; 24]; 2]> =
    LazyLock::new(|| [hour_weights(false), hour_weights(true)]);

fn hour_weights(fraud: bool) -> [f64; 24] {
    let mut w = [0.0; 24];
    let (peak, width) = if fraud { (3.0, 3.0) } else { (14.0, 4.0) };
    for (h, slot) in w.iter_mut().enumerate() {
        let d = (h as f64 - peak).abs();
        let d = d.min(24.0 - d);
        *slot = 1.0 + 3.0 * (-(d / width).powi(2)).exp();
    }
    w
}

fn effect(table: &[(&str, f64)], key: &str) -> f64 {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0.0, |(_, e)| *e)
}

impl Model {
    /// Both models, in the order the fleet runs them.
    pub const ALL: [Model; 2] = [Model::Fraud, Model::Recommender];

    /// The `model` field and `model_name` label.
    pub fn name(self) -> &'static str {
        match self {
            Model::Fraud => "fraud",
            Model::Recommender => "recommender",
        }
    }

    /// The `version` field and `model_version` label.
    pub fn version(self) -> &'static str {
        match self {
            Model::Fraud => "v3",
            Model::Recommender => "2024-06",
        }
    }

    /// One request: features, the model's output and the (later) truth.
    pub fn draw(self, rng: &mut Rng, phase: Phase) -> Draw {
        match self {
            Model::Fraud => draw_fraud(rng, phase),
            Model::Recommender => draw_recommender(rng, phase),
        }
    }

    /// Seconds one request takes to serve.
    pub fn latency(self, rng: &mut Rng, phase: Phase) -> f64 {
        match self {
            Model::Fraud => rng.lognormal(0.040, 0.35),
            Model::Recommender => {
                // After the drift, a growing share of requests hits a slow path (cache misses on
                // long-tail items): p95 climbs past 1 s within a minute or so.
                let slow_share = phase
                    .drift_for
                    .map_or(0.0, |s| SLOW_SHARE * (s / SLOWDOWN_RAMP_SECS).min(1.0));
                if rng.bernoulli(slow_share) {
                    rng.lognormal(1.6, 0.3)
                } else {
                    rng.lognormal(0.120, 0.4)
                }
            }
        }
    }

    /// Share of requests that fail.
    pub fn error_ratio(self, phase: Phase) -> f64 {
        match (self, phase.dropped) {
            (Model::Recommender, true) => 0.08,
            _ => 0.01,
        }
    }
}

fn draw_fraud(rng: &mut Rng, phase: Phase) -> Draw {
    let drifted = phase.drift_for.is_some();
    let fraud = rng.bernoulli(FRAUD_RATE);
    let amount_scale = if drifted { AMOUNT_DRIFT } else { 1.0 };
    let amount = if fraud {
        rng.lognormal(AMOUNT_MEDIAN_FRAUD * amount_scale, 1.1)
    } else {
        rng.lognormal(AMOUNT_MEDIAN * amount_scale, 1.0)
    };
    let hour = rng.index(&HOUR_WEIGHTS[usize::from(fraud)]);
    let age_mean = match (fraud, drifted) {
        (false, false) => 500.0,
        (false, true) => 150.0,
        (true, false) => 20.0,
        (true, true) => 10.0,
    };
    let account_age_days = rng.exponential(age_mean).floor();
    let merchant = match (fraud, drifted) {
        (true, _) => rng.pick(&MERCHANTS_FRAUD),
        (false, false) => rng.pick(&MERCHANTS),
        (false, true) => rng.pick(&MERCHANTS_DRIFTED),
    };
    let country = if drifted && rng.bernoulli(NEW_COUNTRY_SHARE) {
        NEW_COUNTRY
    } else if fraud {
        rng.pick(&COUNTRIES_FRAUD)
    } else {
        rng.pick(&COUNTRIES)
    };
    let is_new_device = rng.bernoulli(if fraud { 0.6 } else { 0.08 });

    let shift = match (fraud, phase.dropped) {
        (false, false) => 0.0,
        (true, false) => FRAUD_SHIFT,
        (false, true) => DROPPED_LEGIT_SHIFT,
        (true, true) => DROPPED_FRAUD_SHIFT,
    };
    let z = rng.gaussian(shift, 1.0);
    let score = round_to(1.0 / (1.0 + (-2.5 * (z - FLAG_AT)).exp()), 4);
    let features = vec![
        ("amount", Value::Num(round_to(amount, 2))),
        // Both are small non-negative integers drawn above; the conversions are exact.
        ("hour", Value::Int(i64::try_from(hour).unwrap_or(0))),
        ("account_age_days", Value::Int(account_age_days as i64)),
        ("merchant_category", Value::Str(merchant)),
        ("country", Value::Str(country)),
        ("is_new_device", Value::Bool(is_new_device)),
    ];
    Draw {
        features,
        prediction: Value::Int(i64::from(score >= 0.5)),
        score: Some(score),
        truth: Value::Int(i64::from(fraud)),
    }
}

fn draw_recommender(rng: &mut Rng, phase: Phase) -> Draw {
    let drifted = phase.drift_for.is_some();
    let segment = rng.pick(&SEGMENTS);
    let category = rng.pick(&ITEM_CATEGORIES);
    let popularity_median = POPULARITY_MEDIAN * if drifted { POPULARITY_DRIFT } else { 1.0 };
    let popularity = rng.lognormal(popularity_median, 0.8);
    let session = rng.exponential(420.0);
    let device = rng.pick(if drifted { &DEVICES_DRIFTED } else { &DEVICES });

    let latent = 3.3
        + effect(&SEGMENT_EFFECT, segment)
        + effect(&ITEM_EFFECT, category)
        + 0.25 * (popularity / POPULARITY_MEDIAN).ln()
        + rng.gaussian(0.0, 0.8);
    let truth = latent.round().clamp(1.0, 5.0);
    // Before the drop the model is off by about 0.4 on average; after it, biased low and
    // noisy (stale embeddings): mean absolute error about 1.25.
    let error = if phase.dropped {
        rng.gaussian(-1.4, 1.2)
    } else {
        rng.gaussian(0.0, 0.55)
    };
    let prediction = round_to((truth + error).clamp(1.0, 5.0), 2);
    let features = vec![
        ("user_segment", Value::Str(segment)),
        ("item_category", Value::Str(category)),
        ("item_popularity", Value::Num(round_to(popularity, 2))),
        ("session_length_s", Value::Num(round_to(session, 1))),
        ("device", Value::Str(device)),
    ];
    Draw {
        features,
        prediction: Value::Num(prediction),
        score: None,
        // 1..=5 after the clamp: exact.
        truth: Value::Int(truth as i64),
    }
}

/// How the fleet is set up.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub seed: u64,
    /// Prediction events per second per model (positive, finite).
    pub rate: f64,
    /// Where generation begins (the start of the history when backfilling).
    pub start: Timestamp,
    /// How long after a prediction its label is sent.
    pub label_delay_ms: i64,
    /// Share of predictions that ever get a label.
    pub label_share: f64,
    /// Part of every event id, so that ids of two runs do not collide in the same Vigil.
    pub run_tag: String,
}

/// The events one [`Fleet::advance`] produced.
#[derive(Debug, Default)]
pub struct Tick {
    pub predictions: Vec<Prediction>,
    pub labels: Vec<Label>,
}

/// One model's stream.
#[derive(Debug)]
struct Stream {
    model: Model,
    rng: Rng,
    seq: u64,
    /// Fractional events owed from earlier steps, so any step length keeps the rate exact.
    carry: f64,
    /// Labels not yet due, oldest first (due times only grow: one stream, one delay).
    pending: VecDeque<Label>,
    service: Service,
}

/// The fleet-wide settings a stream needs to generate one request.
#[derive(Debug)]
struct Context {
    schedule: Schedule,
    label_delay_ms: i64,
    label_share: f64,
    run_tag: String,
}

impl Stream {
    /// One request at `t`: service metrics, the prediction event, and its label if it gets one.
    fn generate(&mut self, ctx: &Context, t: Timestamp, tick: &mut Tick) {
        let phase = ctx.schedule.phase(t);
        let model = self.model;
        let draw = model.draw(&mut self.rng, phase);
        let latency = model.latency(&mut self.rng, phase);
        self.service.observe(latency, true);
        // Failed requests produce no event; one is added per success with probability
        // p / (1 - p), so that errors are share p of all requests.
        let p = model.error_ratio(phase);
        if self.rng.bernoulli(p / (1.0 - p)) {
            let latency = model.latency(&mut self.rng, phase);
            self.service.observe(latency, false);
        }
        let id = format!("{}-{}-{:06}", model.name(), ctx.run_tag, self.seq);
        self.seq += 1;
        if self.rng.bernoulli(ctx.label_share) {
            self.pending.push_back(Label {
                model: model.name(),
                id: id.clone(),
                label: draw.truth,
                timestamp: t + ctx.label_delay_ms,
            });
        }
        tick.predictions.push(Prediction {
            model: model.name(),
            version: model.version(),
            id,
            timestamp: t,
            features: draw.features,
            prediction: draw.prediction,
            score: draw.score,
        });
    }
}

/// The whole simulated fleet, stepped by the caller's clock.
#[derive(Debug)]
pub struct Fleet {
    streams: Vec<Stream>,
    cursor: Timestamp,
    rate: f64,
    ctx: Context,
}

impl Fleet {
    /// A fleet at `config.start` with no incident scheduled.
    pub fn new(config: FleetConfig) -> Self {
        let streams = Model::ALL
            .iter()
            .enumerate()
            .map(|(i, model)| Stream {
                model: *model,
                // One stream per model so that either model's data does not depend on the other.
                rng: Rng::new(config.seed ^ (0x5eed_0000 + i as u64)),
                seq: 0,
                carry: 0.0,
                pending: VecDeque::new(),
                service: Service::default(),
            })
            .collect();
        Fleet {
            streams,
            cursor: config.start,
            rate: config.rate,
            ctx: Context {
                schedule: Schedule::default(),
                label_delay_ms: config.label_delay_ms,
                label_share: config.label_share,
                run_tag: config.run_tag,
            },
        }
    }

    /// Sets when the incidents start (the live run sets it once the backfill is done).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.ctx.schedule = schedule;
    }

    /// The instant generation has reached.
    pub fn cursor(&self) -> Timestamp {
        self.cursor
    }

    /// The phase at `t`.
    pub fn phase(&self, t: Timestamp) -> Phase {
        self.ctx.schedule.phase(t)
    }

    /// Labels waiting for their delay to pass.
    pub fn pending_labels(&self) -> usize {
        self.streams.iter().map(|s| s.pending.len()).sum()
    }

    /// Generates the predictions made in `[cursor, to)` and releases the labels due by `to`.
    /// A `to` at or before the cursor only releases labels.
    pub fn advance(&mut self, to: Timestamp) -> Tick {
        let mut tick = Tick::default();
        let from = self.cursor;
        if to > from {
            let span = (to - from) as f64;
            for stream in &mut self.streams {
                stream.carry += self.rate * span / 1000.0;
                let n = stream.carry.floor();
                stream.carry -= n;
                // n ≤ rate × step, bounded by the validated rate.
                let n = n as u64;
                for i in 0..n {
                    // Spread evenly over the step with jitter, so timestamps stay ordered.
                    let slot = (i as f64 + stream.rng.uniform()) / n as f64;
                    let t = from + (slot * span) as i64;
                    stream.generate(&self.ctx, t, &mut tick);
                }
            }
            self.cursor = to;
        }
        for stream in &mut self.streams {
            let due = stream.pending.partition_point(|l| l.timestamp <= to);
            tick.labels.extend(stream.pending.drain(..due));
        }
        tick
    }

    /// Appends the service metrics of every model, as of now, at `at` to `batch`.
    pub fn service_metrics(&self, at: Timestamp, batch: &mut Batch) {
        for stream in &self.streams {
            let m = stream.model;
            stream.service.append(m.name(), m.version(), at, batch);
        }
    }
}

#[cfg(test)]
mod tests;

//! Tests of the fleet's statistics: each incident moves the data by the intended amount, the
//! drift clears Evidently's default thresholds, and delayed labels keep their delay.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::demo::service::BUCKETS;

const T0: Timestamp = 1_795_500_000_000;

fn config(seed: u64) -> FleetConfig {
    FleetConfig {
        seed,
        rate: 50.0,
        start: T0,
        label_delay_ms: 30_000,
        label_share: 0.9,
        run_tag: "test".to_owned(),
    }
}

/// Draws `n` requests of `model` in `phase`.
fn draws(model: Model, phase: Phase, n: usize, seed: u64) -> Vec<Draw> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| model.draw(&mut rng, phase)).collect()
}

fn feature(d: &Draw, name: &str) -> Value {
    d.features
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no feature {name}"))
}

fn num(v: Value) -> f64 {
    match v {
        Value::Int(i) => i as f64,
        Value::Num(x) => x,
        other => panic!("not numerical: {other:?}"),
    }
}

fn cat(v: Value) -> String {
    match v {
        Value::Str(s) => s.to_owned(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not categorical: {other:?}"),
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// scipy's `wasserstein_distance` between two equally sized samples, divided by the reference's
/// standard deviation: Evidently's `wasserstein` stattest (threshold 0.1).
fn wasserstein_normed(reference: &[f64], current: &[f64]) -> f64 {
    let mut r = reference.to_vec();
    let mut c = current.to_vec();
    r.sort_by(f64::total_cmp);
    c.sort_by(f64::total_cmp);
    let w = r.iter().zip(&c).map(|(a, b)| (a - b).abs()).sum::<f64>() / r.len() as f64;
    let m = mean(&r);
    let sd = (r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / r.len() as f64).sqrt();
    w / sd
}

/// scipy's `jensenshannon` (natural log) between category frequencies: Evidently's
/// `jensenshannon` stattest (threshold 0.1).
fn jensen_shannon(reference: &[String], current: &[String]) -> f64 {
    let mut counts: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for r in reference {
        counts.entry(r).or_default().0 += 1.0;
    }
    for c in current {
        counts.entry(c).or_default().1 += 1.0;
    }
    let (nr, nc) = (reference.len() as f64, current.len() as f64);
    let kl = |p: f64, m: f64| if p > 0.0 { p * (p / m).ln() } else { 0.0 };
    let mut js = 0.0;
    for (r, c) in counts.values() {
        let (p, q) = (r / nr, c / nc);
        let m = (p + q) / 2.0;
        js += (kl(p, m) + kl(q, m)) / 2.0;
    }
    js.sqrt()
}

/// Evidently's default drift statistic for one column (reference > 1000 rows) and whether it
/// flags drift.
fn drifted(reference: &[Draw], current: &[Draw], name: &str) -> (f64, bool) {
    let stat = match feature(&reference[0], name) {
        Value::Int(_) | Value::Num(_) => {
            let r: Vec<f64> = reference.iter().map(|d| num(feature(d, name))).collect();
            let c: Vec<f64> = current.iter().map(|d| num(feature(d, name))).collect();
            wasserstein_normed(&r, &c)
        }
        Value::Str(_) | Value::Bool(_) => {
            let r: Vec<String> = reference.iter().map(|d| cat(feature(d, name))).collect();
            let c: Vec<String> = current.iter().map(|d| cat(feature(d, name))).collect();
            jensen_shannon(&r, &c)
        }
    };
    (stat, stat >= 0.1)
}

/// Neither incident.
const BASELINE: Phase = Phase {
    drift_for: None,
    dropped: false,
};

/// Drift long under way, accuracy as before.
const DRIFTING: Phase = Phase {
    drift_for: Some(3600.0),
    dropped: false,
};

/// Drift long under way, accuracy dropped.
const DEGRADED: Phase = Phase {
    drift_for: Some(3600.0),
    dropped: true,
};

#[test]
fn same_seed_same_events_other_seed_other_events() {
    let run = |seed| {
        let mut fleet = Fleet::new(config(seed));
        fleet.set_schedule(Schedule {
            drift_at: Some(T0 + 10_000),
            drop_at: Some(T0 + 20_000),
        });
        let mut lines = Vec::new();
        for s in 1..=60 {
            let tick = fleet.advance(T0 + s * 1000);
            for p in &tick.predictions {
                lines.push(serde_json::to_string(p).expect("serialises"));
            }
            for l in &tick.labels {
                lines.push(serde_json::to_string(l).expect("serialises"));
            }
        }
        let mut metrics = Batch::new();
        fleet.service_metrics(T0 + 60_000, &mut metrics);
        (lines, metrics)
    };
    let (a, ma) = run(42);
    let (b, mb) = run(42);
    let (c, _) = run(43);
    assert_eq!(a, b);
    assert_eq!(ma, mb);
    assert_ne!(a, c);
    assert!(a.len() > 6000, "{}", a.len());
}

#[test]
fn rate_is_exact_for_any_step_length() {
    let mut fleet = Fleet::new(FleetConfig {
        rate: 7.5,
        ..config(1)
    });
    let mut per_model: HashMap<&str, usize> = HashMap::new();
    let mut t = T0;
    for step in [1, 333, 1000, 4667, 17, 53_983].iter().cycle().take(60) {
        t += step;
        for p in fleet.advance(t).predictions {
            assert!(p.timestamp >= t - step && p.timestamp < t);
            *per_model.entry(p.model).or_default() += 1;
        }
    }
    let expected = (7.5 * (t - T0) as f64 / 1000.0).floor() as usize;
    assert_eq!(per_model.get("fraud"), Some(&expected));
    assert_eq!(per_model.get("recommender"), Some(&expected));
}

#[test]
fn fraud_drift_moves_amount_threefold_and_adds_a_country() {
    let before = draws(Model::Fraud, BASELINE, 10_000, 1);
    let after = draws(Model::Fraud, DRIFTING, 10_000, 2);
    let amount = |ds: &[Draw]| {
        mean(
            &ds.iter()
                .map(|d| num(feature(d, "amount")))
                .collect::<Vec<_>>(),
        )
    };
    let ratio = amount(&after) / amount(&before);
    assert!((ratio - 3.0).abs() < 0.3, "amount mean ratio {ratio}");

    let share = |ds: &[Draw], c: &str| {
        ds.iter()
            .filter(|d| matches!(feature(d, "country"), Value::Str(x) if x == c))
            .count() as f64
            / ds.len() as f64
    };
    assert_eq!(share(&before, "XX"), 0.0);
    let xx = share(&after, "XX");
    assert!((xx - 0.2).abs() < 0.015, "XX share {xx}");
}

#[test]
fn fraud_drift_clears_evidently_defaults_on_most_columns() {
    let reference = draws(Model::Fraud, BASELINE, 10_000, 1);
    let same = draws(Model::Fraud, BASELINE, 10_000, 2);
    let current = draws(Model::Fraud, DRIFTING, 10_000, 3);
    let names: Vec<&str> = reference[0].features.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), 6);
    let mut flagged = Vec::new();
    for name in &names {
        let (stat, drift) = drifted(&reference, &same, name);
        assert!(!drift, "{name} flagged without drift ({stat})");
        let (stat, drift) = drifted(&reference, &current, name);
        if drift {
            flagged.push(*name);
        } else {
            assert!(
                stat < 0.05,
                "{name} moved ({stat}) without clearing the threshold"
            );
        }
    }
    assert_eq!(
        flagged,
        ["amount", "account_age_days", "merchant_category", "country"]
    );
    // Evidently's dataset drift: share of drifted columns ≥ 0.5, even counting the score and
    // prediction columns (which the drift does not move) as not drifted.
    assert!(flagged.len() as f64 / (names.len() + 2) as f64 >= 0.5);
}

#[test]
fn recommender_drift_moves_device_mix_and_popularity() {
    let reference = draws(Model::Recommender, BASELINE, 10_000, 1);
    let same = draws(Model::Recommender, BASELINE, 10_000, 2);
    let current = draws(Model::Recommender, DRIFTING, 10_000, 3);
    let mut flagged = Vec::new();
    for (name, _) in &reference[0].features {
        assert!(
            !drifted(&reference, &same, name).1,
            "{name} flagged without drift"
        );
        if drifted(&reference, &current, name).1 {
            flagged.push(*name);
        }
    }
    assert_eq!(flagged, ["item_popularity", "device"]);
    let web = current
        .iter()
        .filter(|d| feature(d, "device") == Value::Str("web"))
        .count() as f64
        / current.len() as f64;
    assert!((web - 0.6).abs() < 0.015, "web share {web}");
    let pop = |ds: &[Draw]| {
        mean(
            &ds.iter()
                .map(|d| num(feature(d, "item_popularity")))
                .collect::<Vec<_>>(),
        )
    };
    let ratio = pop(&current) / pop(&reference);
    assert!((ratio - 0.4).abs() < 0.04, "popularity ratio {ratio}");
}

fn binary(v: Value) -> bool {
    v == Value::Int(1)
}

/// Mann-Whitney ROC AUC of `score` against `truth` (no ties handling needed at 4 decimals for
/// a test bound this loose).
fn roc_auc(ds: &[Draw]) -> f64 {
    let mut scored: Vec<(f64, bool)> = ds
        .iter()
        .map(|d| (d.score.expect("fraud has a score"), binary(d.truth)))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    for (i, (_, t)) in scored.iter().enumerate() {
        if *t {
            rank_sum += (i + 1) as f64;
            pos += 1.0;
        }
    }
    let neg = scored.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

fn accuracy(ds: &[Draw]) -> f64 {
    ds.iter().filter(|d| d.prediction == d.truth).count() as f64 / ds.len() as f64
}

#[test]
fn fraud_accuracy_drops_below_alert_threshold() {
    let before = draws(Model::Fraud, BASELINE, 20_000, 7);
    let acc = accuracy(&before);
    let auc = roc_auc(&before);
    assert!(acc >= 0.95, "accuracy before {acc}");
    assert!((auc - 0.9).abs() < 0.04, "roc_auc before {auc}");
    let positives = before.iter().filter(|d| binary(d.truth)).count() as f64 / 20_000.0;
    assert!((positives - 0.02).abs() < 0.004, "fraud rate {positives}");
    for d in &before {
        let score = d.score.expect("score");
        assert!((0.0..=1.0).contains(&score));
        assert_eq!(binary(d.prediction), score >= 0.5);
    }

    let after = draws(Model::Fraud, DEGRADED, 20_000, 8);
    let acc = accuracy(&after);
    assert!(acc < 0.85, "accuracy after {acc}");
    let legit_flagged = after
        .iter()
        .filter(|d| !binary(d.truth) && binary(d.prediction))
        .count() as f64
        / after.iter().filter(|d| !binary(d.truth)).count() as f64;
    assert!((legit_flagged - 0.2).abs() < 0.02, "{legit_flagged}");
}

fn mae(ds: &[Draw]) -> f64 {
    mean(
        &ds.iter()
            .map(|d| (num(d.prediction) - num(d.truth)).abs())
            .collect::<Vec<_>>(),
    )
}

#[test]
fn recommender_mae_rises_past_one() {
    let before = draws(Model::Recommender, BASELINE, 20_000, 9);
    let m = mae(&before);
    assert!((m - 0.4).abs() < 0.05, "mae before {m}");
    // Drift alone leaves the model as good as it was.
    let m = mae(&draws(Model::Recommender, DRIFTING, 20_000, 10));
    assert!((m - 0.4).abs() < 0.05, "mae while drifting {m}");
    let after = draws(Model::Recommender, DEGRADED, 20_000, 11);
    let m = mae(&after);
    assert!(m > 1.1, "mae after {m}");
    for d in before.iter().chain(&after) {
        assert!((1.0..=5.0).contains(&num(d.prediction)));
        assert!(matches!(d.truth, Value::Int(1..=5)), "{:?}", d.truth);
    }
}

#[test]
fn labels_arrive_label_delay_after_their_prediction_for_most_predictions() {
    let mut fleet = Fleet::new(config(5));
    let mut predicted: HashMap<String, Timestamp> = HashMap::new();
    let mut labelled = 0usize;
    let mut prev = T0;
    for s in 1..=120 {
        let now = T0 + s * 1000;
        let tick = fleet.advance(now);
        for p in tick.predictions {
            predicted.insert(p.id, p.timestamp);
        }
        for l in tick.labels {
            let at = predicted
                .get(&l.id)
                .copied()
                .expect("label of a known prediction");
            assert_eq!(l.timestamp, at + 30_000, "{}", l.id);
            // Released in the first step that reached its due time, never earlier.
            assert!(l.timestamp <= now && l.timestamp > prev, "{}", l.id);
            labelled += 1;
        }
        prev = now;
    }
    let due = predicted.values().filter(|t| **t + 30_000 <= prev).count();
    let share = labelled as f64 / due as f64;
    assert!((share - 0.9).abs() < 0.02, "labelled share {share}");
    assert!(fleet.pending_labels() > 0);
}

#[test]
fn events_serialise_as_the_ingest_api_expects() {
    let mut fleet = Fleet::new(config(3));
    let tick = fleet.advance(T0 + 40_000);
    let fraud = tick
        .predictions
        .iter()
        .find(|p| p.model == "fraud")
        .expect("a fraud prediction");
    let line = serde_json::to_string(fraud).expect("ser");
    assert!(
        line.starts_with(r#"{"model":"fraud","version":"v3","id":"fraud-test-"#),
        "{line}"
    );
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(v["model"], "fraud");
    assert_eq!(v["version"], "v3");
    assert!(v["id"].as_str().expect("id").starts_with("fraud-test-"));
    let ts = v["timestamp"].as_f64().expect("float timestamp");
    assert!((ts - fraud.timestamp as f64 / 1000.0).abs() < 1e-6);
    assert!((1_795_500_000.0..1_795_500_040.0).contains(&ts));
    let f = v["features"].as_object().expect("features object");
    let keys: Vec<&str> = f.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert!(f["amount"].is_f64() || f["amount"].is_u64());
    assert!(f["hour"].as_u64().is_some_and(|h| h < 24));
    assert!(f["account_age_days"].is_u64());
    assert!(f["merchant_category"].is_string());
    assert!(f["country"].is_string());
    assert!(f["is_new_device"].is_boolean());
    assert!(matches!(v["prediction"].as_u64(), Some(0 | 1)));
    assert!(v["score"]
        .as_f64()
        .is_some_and(|s| (0.0..=1.0).contains(&s)));

    let rec = tick
        .predictions
        .iter()
        .find(|p| p.model == "recommender")
        .expect("a recommender prediction");
    let v: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(rec).expect("ser")).expect("json");
    assert_eq!(v["version"], "2024-06");
    assert!(v["prediction"]
        .as_f64()
        .is_some_and(|p| (1.0..=5.0).contains(&p)));
    assert!(v.get("score").is_none());
    let f = v["features"].as_object().expect("features object");
    assert!(["ios", "android", "web"].contains(&f["device"].as_str().expect("device")));
    assert!(f["item_popularity"].is_number() && f["session_length_s"].is_number());
    assert!(f["user_segment"].is_string() && f["item_category"].is_string());

    let label = tick.labels.first().expect("labels due after 40 s");
    let line = serde_json::to_string(label).expect("ser");
    assert!(line.starts_with(r#"{"model":""#), "{line}");
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "label", "model", "timestamp"]);
    assert!(v["label"].is_u64());
    assert!(v["timestamp"].is_f64());
}

#[test]
fn phases_follow_the_schedule() {
    let s = Schedule {
        drift_at: Some(T0 + 600_000),
        drop_at: None,
    };
    assert_eq!(s.phase(T0).name(), "baseline");
    assert_eq!(s.phase(T0 + 600_000).drift_for, Some(0.0));
    assert_eq!(s.phase(T0 + 660_000).name(), "drifting");
    let s = Schedule {
        drift_at: Some(T0),
        drop_at: Some(T0 + 1),
    };
    assert_eq!(s.phase(T0).name(), "drifting");
    assert_eq!(s.phase(T0 + 1).name(), "drifting, accuracy dropped");
    assert_eq!(Schedule::default().phase(i64::MAX).name(), "baseline");
}

fn p95(model: Model, phase: Phase) -> f64 {
    let mut rng = Rng::new(12);
    let mut xs: Vec<f64> = (0..20_000)
        .map(|_| model.latency(&mut rng, phase))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs[xs.len() * 95 / 100]
}

#[test]
fn recommender_latency_climbs_past_one_second_after_drift() {
    let fraud = p95(Model::Fraud, BASELINE);
    assert!((0.05..0.1).contains(&fraud), "fraud p95 {fraud}");
    assert!(p95(Model::Fraud, DEGRADED) < 0.1);
    let before = p95(Model::Recommender, BASELINE);
    assert!(before < 0.5, "recommender p95 before {before}");
    let after = p95(Model::Recommender, DRIFTING);
    assert!(after > 1.0, "recommender p95 after {after}");
}

#[test]
fn service_metrics_count_every_request_and_errors_rise_after_the_drop() {
    let mut fleet = Fleet::new(FleetConfig {
        rate: 200.0,
        ..config(4)
    });
    fleet.set_schedule(Schedule {
        drift_at: None,
        drop_at: Some(T0 + 100_000),
    });
    let mut batch = Batch::new();
    let mut sent: HashMap<&str, usize> = HashMap::new();
    for s in 1..=200 {
        for p in fleet.advance(T0 + s * 1000).predictions {
            *sent.entry(p.model).or_default() += 1;
        }
        if s % 100 == 0 {
            fleet.service_metrics(T0 + s * 1000, &mut batch);
        }
    }
    let series = |model: &str, name: &str, label: Option<(&str, &str)>| -> Vec<f64> {
        batch
            .series
            .iter()
            .find(|s| {
                s.labels.get("model_name") == Some(model)
                    && s.labels.metric_name() == Some(name)
                    && label.is_none_or(|(n, v)| s.labels.get(n) == Some(v))
            })
            .map(|s| s.samples.iter().map(|x| x.v).collect())
            .expect("series present")
    };
    for model in ["fraud", "recommender"] {
        let ok = series(model, "ml_model_predictions_total", Some(("status", "ok")));
        assert_eq!(ok[1] as usize, sent[model]);
        let count = series(model, "ml_model_inference_duration_seconds_count", None);
        let inf = series(
            model,
            "ml_model_inference_duration_seconds_bucket",
            Some(("le", "+Inf")),
        );
        assert_eq!(count, inf);
        // Per push, buckets are cumulative in `le`; per bucket, counters only grow.
        for push in 0..2 {
            let mut prev = 0.0;
            for le in BUCKETS
                .iter()
                .map(|b| b.to_string())
                .chain(["+Inf".to_owned()])
            {
                let v = series(
                    model,
                    "ml_model_inference_duration_seconds_bucket",
                    Some(("le", &le)),
                );
                assert!(v[push] >= prev, "{model} le={le}");
                assert!(v[1] >= v[0]);
                prev = v[push];
            }
        }
        let errors = series(
            model,
            "ml_model_predictions_total",
            Some(("status", "error")),
        );
        let oks = series(model, "ml_model_predictions_total", Some(("status", "ok")));
        let before = errors[0] / (errors[0] + oks[0]);
        let after = (errors[1] - errors[0]) / (errors[1] - errors[0] + oks[1] - oks[0]);
        assert!(
            (before - 0.01).abs() < 0.005,
            "{model} error ratio before {before}"
        );
        let want = if model == "recommender" { 0.08 } else { 0.01 };
        assert!(
            (after - want).abs() < 0.01,
            "{model} error ratio after {after}"
        );
    }
}

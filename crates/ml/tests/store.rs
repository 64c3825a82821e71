//! The event store and monitors through the crate's API: events in, series out.

use std::collections::BTreeMap;

use vigil_ml::{Column, MlConfig, MlStore, RawMlConfig};
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};
use vigil_model::Batch;

const MIN: i64 = 60_000;

/// A small deterministic generator (xorshift) with a normal by Box-Muller.
struct Gen(u64);

impl Gen {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn config(yaml: &str) -> MlConfig {
    let raw: RawMlConfig = serde_yaml_ng::from_str(yaml).expect("yaml");
    raw.validate().expect("valid")
}

fn event(id: usize, ts: i64, amount: f64, country: &str, score: f64) -> PredictionEvent {
    PredictionEvent {
        model: "fraud".into(),
        version: "v1".into(),
        id: Some(format!("e{id}")),
        timestamp_ms: Some(ts),
        features: vec![
            ("amount".into(), FeatureValue::Number(amount)),
            ("country".into(), FeatureValue::Text(country.into())),
        ],
        prediction: Outcome::Number(if score >= 0.5 { 1.0 } else { 0.0 }),
        score: Some(score),
        probabilities: Vec::new(),
        label: None,
    }
}

/// `n` events spread over `[from, from + span)`, amounts ~ N(shift, 1).
fn events(
    g: &mut Gen,
    first_id: usize,
    n: usize,
    from: i64,
    span: i64,
    shift: f64,
    new_country: bool,
) -> Vec<PredictionEvent> {
    (0..n)
        .map(|i| {
            let ts =
                from + span * i64::try_from(i).expect("small") / i64::try_from(n).expect("small");
            let c = if new_country && i % 3 == 0 {
                "XX"
            } else {
                ["DE", "FR", "US"][i % 3]
            };
            event(first_id + i, ts, shift + g.normal(), c, g.unit())
        })
        .collect()
}

fn series(batch: &Batch) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in &batch.series {
        let name = s
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(",");
        out.entry(name)
            .or_default()
            .extend(s.samples.iter().map(|x| (x.t, x.v)));
    }
    out
}

fn value(s: &BTreeMap<String, Vec<(i64, f64)>>, metric: &str, extra: &str) -> Option<f64> {
    s.iter()
        .find(|(k, _)| k.contains(&format!("__name__={metric},")) && k.contains(extra))
        .and_then(|(_, v)| v.last().map(|x| x.1))
}

#[test]
fn rolling_reference_detects_a_shift_and_writes_every_series() {
    let store = MlStore::new(config(
        "defaults: {window: 10m, interval: 1m, reference_window: 1h}\n",
    ));
    let mut g = Gen(7);
    let now = 1_800_000_000_000i64;
    // An hour of reference, then ten minutes shifted by two standard deviations with a new
    // category.
    let r = store
        .ingest_predictions(
            &events(&mut g, 0, 3_000, now - 70 * MIN, 60 * MIN, 0.0, false),
            now,
        )
        .expect("in-memory store");
    assert_eq!((r.accepted, r.errors.len()), (3_000, 0), "{:?}", r.errors);
    let r = store
        .ingest_predictions(
            &events(&mut g, 10_000, 1_500, now - 10 * MIN, 10 * MIN, 2.0, true),
            now,
        )
        .expect("in-memory store");
    assert_eq!(r.accepted, 1_500);

    let s = series(&store.evaluate(now));
    for (k, v) in &s {
        assert!(v.iter().all(|x| x.1.is_finite()), "{k}: {v:?}");
    }
    assert_eq!(
        value(&s, "ml_predictions_total", "model_version=v1"),
        Some(4_500.0)
    );
    assert_eq!(
        value(&s, "ml_feature_drift_detected", "feature_name=amount"),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "ml_feature_drift_detected", "feature_name=country"),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "ml_dataset_drift_detected", "model_name=fraud"),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "ml_dataset_drift_share", "model_name=fraud"),
        Some(1.0)
    );
    assert!(
        s.keys()
            .any(|k| k.contains("ml_feature_drift_score") && k.contains("method=wasserstein")),
        "{:?}",
        s.keys()
    );
    let new_cat =
        value(&s, "ml_feature_new_category_ratio", "feature_name=country").expect("ratio");
    assert!((new_cat - 1.0 / 3.0).abs() < 0.01, "{new_cat}");
    assert_eq!(
        value(&s, "ml_feature_missing_ratio", "feature_name=amount"),
        Some(0.0)
    );
    assert!(
        value(&s, "ml_feature_out_of_range_ratio", "feature_name=amount").is_some_and(|r| r > 0.0)
    );
    assert!(value(&s, "ml_data_freshness_seconds", "fraud").is_some_and(|f| f < 1.0));
    assert_eq!(
        value(&s, "ml_prediction_score_count", "fraud"),
        Some(4_500.0)
    );
    assert_eq!(
        value(&s, "ml_prediction_score_bucket", "le=+Inf"),
        Some(4_500.0)
    );
}

#[test]
fn same_distribution_does_not_drift() {
    let store = MlStore::new(config(
        "defaults: {window: 10m, interval: 1m, reference_window: 1h}\n",
    ));
    let mut g = Gen(11);
    let now = 1_800_000_000_000i64;
    store
        .ingest_predictions(
            &events(&mut g, 0, 3_000, now - 70 * MIN, 60 * MIN, 0.0, false),
            now,
        )
        .expect("in-memory store");
    store
        .ingest_predictions(
            &events(&mut g, 10_000, 1_500, now - 10 * MIN, 10 * MIN, 0.0, false),
            now,
        )
        .expect("in-memory store");
    let s = series(&store.evaluate(now));
    assert_eq!(
        value(&s, "ml_feature_drift_detected", "feature_name=amount"),
        Some(0.0)
    );
    assert_eq!(value(&s, "ml_dataset_drift_detected", "fraud"), Some(0.0));
}

#[test]
fn uploaded_reference_is_used_and_reported() {
    let store = MlStore::new(config("defaults: {window: 10m}\n"));
    let mut g = Gen(3);
    let now = 1_800_000_000_000i64;
    let amounts: Vec<Option<f64>> = (0..2_000).map(|_| Some(g.normal())).collect();
    let summary = store
        .set_reference(
            "fraud",
            None,
            vec![Column::numerical("amount", amounts)],
            now,
        )
        .expect("reference");
    assert_eq!((summary.rows, summary.columns), (2_000, 1));
    store
        .ingest_predictions(
            &events(&mut g, 0, 500, now - 5 * MIN, 5 * MIN, 3.0, false),
            now,
        )
        .expect("in-memory store");
    let reports = store.drift_report("fraud", None, now).expect("report");
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(
        (r.reference, r.reference_rows, r.current_rows),
        ("uploaded", 2_000, 500)
    );
    let d = r.drift.as_ref().expect("drift");
    // Only the uploaded columns are compared.
    assert_eq!(d.features.len(), 1);
    assert!(d.features[0].drift_detected);
    assert!(store.drift_report("nope", None, now).is_err());
}

#[test]
fn delayed_labels_land_in_their_prediction_window_as_revisions() {
    let store = MlStore::new(config("defaults: {window: 10m, performance_window: 5m}\n"));
    let now = 1_800_000_000_000i64;
    let w0 = (now - 20 * MIN).div_euclid(5 * MIN) * 5 * MIN;
    // Four predictions in one window: scores 0.9, 0.8 (predicted 1), 0.2, 0.1 (predicted 0).
    let preds: Vec<PredictionEvent> = [0.9, 0.8, 0.2, 0.1]
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            event(
                i,
                w0 + 1_000 * i64::try_from(i).expect("small"),
                0.0,
                "DE",
                s,
            )
        })
        .collect();
    store
        .ingest_predictions(&preds, now - 15 * MIN)
        .expect("in-memory store");
    let label = |id: &str, l: f64| LabelEvent {
        model: None,
        id: id.into(),
        label: Outcome::Number(l),
        timestamp_ms: None,
    };
    // Two labels: both right.
    // A label naming its model counts against that model's join ratio even when unmatched.
    let mut unknown = label("nope", 1.0);
    unknown.model = Some("fraud".into());
    let r = store
        .ingest_labels(&[label("e0", 1.0), label("e2", 0.0), unknown], now - MIN)
        .expect("in-memory store");
    assert_eq!((r.joined, r.unmatched), (2, 1));
    let s = series(&store.evaluate(now - MIN));
    let end = w0 + 5 * MIN;
    let acc = s
        .iter()
        .find(|(k, _)| k.contains("__name__=ml_model_accuracy,"))
        .map(|(_, v)| v.clone())
        .expect("accuracy");
    assert_eq!(acc, vec![(end - 1_000, 1.0)]);
    assert_eq!(value(&s, "ml_labels_coverage_ratio", "fraud"), Some(0.5));
    assert_eq!(value(&s, "ml_labels_join_ratio", "fraud"), Some(2.0 / 3.0));
    // Nothing new: nothing written again.
    let s = series(&store.evaluate(now - MIN + 1));
    assert!(!s.keys().any(|k| k.contains("ml_model_accuracy")));
    // Two more labels, one wrong: a second revision one millisecond later.
    store
        .ingest_labels(&[label("e1", 0.0), label("e3", 0.0)], now)
        .expect("in-memory store");
    let s = series(&store.evaluate(now));
    let acc = s
        .iter()
        .find(|(k, _)| k.contains("__name__=ml_model_accuracy,"))
        .map(|(_, v)| v.clone())
        .expect("accuracy");
    assert_eq!(acc, vec![(end - 999, 0.75)]);
    assert_eq!(value(&s, "ml_model_roc_auc", "fraud"), Some(1.0));
    // A label for an already labelled prediction finds nothing.
    let r = store
        .ingest_labels(&[label("e1", 1.0)], now)
        .expect("in-memory store");
    assert_eq!(r.unmatched, 1);
}

#[test]
fn a_refused_event_changes_nothing() {
    let store = MlStore::new(config("limits: {max_categories_per_feature: 3}\n"));
    let now = 1_800_000_000_000i64;
    let mut good = event(0, now, 1.0, "DE", 0.5);
    let mut mistyped = event(1, now, 1.0, "DE", 0.5);
    mistyped.features[0].1 = FeatureValue::Text("lots".into());
    let mut too_many = event(2, now, 1.0, "DE", 0.5);
    too_many.features[1].1 = FeatureValue::Text("C4".into());
    let r = store
        .ingest_predictions(&[good.clone(), mistyped], now)
        .expect("in-memory store");
    assert_eq!(r.accepted, 1);
    assert_eq!(
        r.errors.iter().map(|(i, e)| format!("{i}: {e}")).collect::<Vec<_>>(),
        vec!["1: field \"features.amount\": expected a number (the feature is numerical), got a string"]
    );
    good.id = Some("x".into());
    for c in ["FR", "US"] {
        good.features[1].1 = FeatureValue::Text(c.into());
        assert!(store
            .ingest_predictions(&[good.clone()], now)
            .expect("in-memory store")
            .errors
            .is_empty());
    }
    let r = store
        .ingest_predictions(&[too_many], now)
        .expect("in-memory store");
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0]
            .1
            .to_string()
            .contains("distinct values limit of 3"),
        "{}",
        r.errors[0].1
    );
    assert_eq!(store.models()[0].versions[0].predictions_total, 3);
    let mut future = event(9, now + 3_600_000, 1.0, "DE", 0.5);
    future.model = "fraud".into();
    assert!(store
        .ingest_predictions(&[future], now)
        .expect("in-memory store")
        .errors[0]
        .1
        .to_string()
        .contains("ahead"));
}

#[test]
fn regression_models_get_error_metrics() {
    let store = MlStore::new(config("defaults: {performance_window: 1m}\n"));
    let now = 1_800_000_000_000i64;
    let t = now - 10 * MIN;
    let w = t.div_euclid(MIN) * MIN;
    let evs: Vec<PredictionEvent> = [(3.0, 4.0), (2.0, 2.0), (5.0, 3.0)]
        .iter()
        .enumerate()
        .map(|(i, &(p, l))| PredictionEvent {
            model: "rec".into(),
            version: String::new(),
            id: None,
            timestamp_ms: Some(w + i64::try_from(i).expect("small")),
            features: Vec::new(),
            prediction: Outcome::Number(p),
            score: None,
            probabilities: Vec::new(),
            label: Some(Outcome::Number(l)),
        })
        .collect();
    let r = store
        .ingest_predictions(&evs, now)
        .expect("in-memory store");
    assert_eq!((r.accepted, r.joined), (3, 3));
    let s = series(&store.evaluate(now));
    assert_eq!(value(&s, "ml_model_mae", "rec"), Some(1.0));
    assert_eq!(
        value(&s, "ml_model_rmse", "rec"),
        Some((5.0f64 / 3.0).sqrt())
    );
    assert_eq!(value(&s, "ml_prediction_value_count", "rec"), Some(3.0));
    // A class label for a regressor is refused, naming the field.
    let mut bad = evs[0].clone();
    bad.label = Some(Outcome::Class("good".into()));
    let r = store
        .ingest_predictions(&[bad], now)
        .expect("in-memory store");
    assert_eq!(
        r.errors[0].1.to_string(),
        "field \"label\": expected a number for a regression model, got \"good\""
    );
}

#[test]
fn a_refused_event_leaves_no_feature_or_category_behind() {
    let store = MlStore::new(config("limits: {max_categories_per_feature: 1}\n"));
    let now = 1_800_000_000_000i64;
    assert!(store
        .ingest_predictions(&[event(0, now, 1.0, "DE", 0.5)], now)
        .expect("in-memory store")
        .errors
        .is_empty());
    // A new feature before the over-limit category, and a new class: all refused together.
    let mut e = event(1, now, 1.0, "FR", 0.5);
    e.features
        .insert(0, ("extra".into(), FeatureValue::Text("x".into())));
    let r = store
        .ingest_predictions(&[e], now)
        .expect("in-memory store");
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let m = &store.models()[0];
    let names: Vec<&str> = m.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["amount", "country"]);
    assert_eq!(m.features[1].categories, 1);
    assert_eq!(m.versions[0].predictions_total, 1);
}

/// Regression: every new version name created a version that lived as long as its model, so
/// events naming ever new versions grew the store (and its series) without bound.
#[test]
fn new_versions_beyond_the_limit_are_refused() {
    let store = MlStore::new(config("limits: {max_versions_per_model: 2}\n"));
    let now = 1_800_000_000_000i64;
    let versioned = |id: usize, v: &str| {
        let mut e = event(id, now, 1.0, "DE", 0.5);
        e.version = v.into();
        e
    };
    let r = store
        .ingest_predictions(
            &[versioned(0, "v1"), versioned(1, "v2"), versioned(2, "v3")],
            now,
        )
        .expect("in-memory store");
    assert_eq!(r.accepted, 2);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, 2);
    assert_eq!(r.errors[0].1.kind(), vigil_model::ErrorKind::LimitExceeded);
    assert!(
        r.errors[0].1.to_string().contains("versions per model"),
        "{}",
        r.errors[0].1
    );
    // Known versions are still accepted; the refused one left nothing behind.
    let r = store
        .ingest_predictions(&[versioned(3, "v1")], now)
        .expect("in-memory store");
    assert_eq!(r.accepted, 1);
    let versions: Vec<String> = store.models()[0]
        .versions
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(versions, ["v1", "v2"]);
}

//! Property tests: arbitrary bytes never panic any ML decoder, and generated events survive
//! being written as JSON text (array and JSON lines) and read back.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vigil_model::civil::{format_rfc3339, Fraction};
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::super::{
    decode_labels, decode_otlp_logs, decode_predictions, MlDecodeLimits, MlDecoded,
};

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1000i32..1000).prop_map(f64::from),
        Just(0.5),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[\"\\\\\n\r\t /é☃\u{0}\u{1f}]{0,6}",
        any::<String>()
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_][a-zA-Z0-9_.]{0,10}", "[\"\\\\ é\n]{1,4}"]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        finite().prop_map(Outcome::Number),
        text().prop_map(Outcome::Class)
    ]
}

fn feature() -> impl Strategy<Value = FeatureValue> {
    prop_oneof![
        Just(FeatureValue::Missing),
        finite().prop_map(FeatureValue::Number),
        text().prop_map(FeatureValue::Text),
        any::<bool>().prop_map(FeatureValue::Bool),
    ]
}

/// A timestamp in ms, and whether to write it as RFC 3339 (else as Unix seconds).
fn timestamp() -> impl Strategy<Value = Option<(i64, bool)>> {
    prop::option::of((-62_167_219_200_000i64..=253_402_300_799_999, any::<bool>()))
}

/// An id, and whether to write it as a JSON integer (else as a string).
fn id() -> impl Strategy<Value = Option<(String, bool)>> {
    prop::option::of(prop_oneof![
        "[a-zA-Z0-9\"-]{1,12}".prop_map(|s| (s, false)),
        any::<u64>().prop_map(|n| (n.to_string(), true)),
        any::<i64>().prop_map(|n| (n.to_string(), true)),
    ])
}

/// How a generated event is written: timestamp as RFC 3339 (else Unix seconds), id as an
/// integer.
#[derive(Debug, Clone, Copy)]
struct Writing {
    rfc3339: bool,
    id_as_int: bool,
}

prop_compose! {
    fn prediction()(
        model in "[a-z][a-z0-9_-]{0,12}",
        version in prop_oneof![Just(String::new()), "v[0-9]{1,3}"],
        id in id(),
        ts in timestamp(),
        features in prop::collection::btree_map(name(), feature(), 0..12),
        prediction in outcome(),
        score in prop::option::of(finite()),
        probabilities in prop::collection::btree_map(name(), finite(), 0..4),
        label in prop::option::of(outcome()),
    ) -> (PredictionEvent, Writing) {
        let writing = Writing {
            rfc3339: ts.is_some_and(|(_, rfc)| rfc),
            id_as_int: id.as_ref().is_some_and(|(_, int)| *int),
        };
        (PredictionEvent {
            model,
            version,
            id: id.map(|(s, _)| s),
            timestamp_ms: ts.map(|(ms, _)| ms),
            features: features.into_iter().collect(),
            prediction,
            score,
            probabilities: probabilities.into_iter().collect(),
            label,
        }, writing)
    }
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("strings and finite numbers serialize")
}

fn write_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Number(n) => json(n),
        Outcome::Class(c) => json(c),
    }
}

fn write_timestamp(ms: i64, rfc3339: bool) -> String {
    if rfc3339 {
        json(&format_rfc3339(ms, Fraction::Millis))
    } else if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        json(&(ms as f64 / 1000.0))
    }
}

/// One event as a JSON object, with an unknown field.
fn write_prediction(e: &PredictionEvent, w: Writing) -> String {
    let mut fields = vec![
        format!("\"model\":{}", json(&e.model)),
        format!("\"prediction\":{}", write_outcome(&e.prediction)),
    ];
    if !e.version.is_empty() {
        fields.push(format!("\"version\":{}", json(&e.version)));
    }
    if let Some(id) = &e.id {
        let id = if w.id_as_int { id.clone() } else { json(id) };
        fields.push(format!("\"id\":{id}"));
    }
    if let Some(ms) = e.timestamp_ms {
        fields.push(format!("\"timestamp\":{}", write_timestamp(ms, w.rfc3339)));
    }
    let features: Vec<String> = e
        .features
        .iter()
        .map(|(k, v)| {
            let v = match v {
                FeatureValue::Missing => "null".to_string(),
                FeatureValue::Number(n) => json(n),
                FeatureValue::Text(t) => json(t),
                FeatureValue::Bool(b) => b.to_string(),
            };
            format!("{}:{v}", json(k))
        })
        .collect();
    fields.push(format!("\"features\":{{{}}}", features.join(",")));
    if let Some(s) = e.score {
        fields.push(format!("\"score\":{}", json(&s)));
    }
    let probs: Vec<String> = e
        .probabilities
        .iter()
        .map(|(k, p)| format!("{}:{}", json(k), json(p)))
        .collect();
    fields.push(format!("\"probabilities\":{{{}}}", probs.join(",")));
    if let Some(l) = &e.label {
        fields.push(format!("\"label\":{}", write_outcome(l)));
    }
    fields.push("\"unknown\":[{\"x\":1}]".into());
    format!("{{{}}}", fields.join(","))
}

/// Bytes drawn mostly from JSON tokens and the event fields, so that random input gets past the
/// first byte.
fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        " ",
        "\n",
        "\r\n",
        "\"model\"",
        "\"m\"",
        "\"prediction\"",
        "\"features\"",
        "\"probabilities\"",
        "\"timestamp\"",
        "\"score\"",
        "\"label\"",
        "\"id\"",
        "\"version\"",
        "\"a\"",
        "1",
        "-1.5e3",
        "1e400",
        "0.5",
        "true",
        "null",
        "\"NaN\"",
        "\"2026-11-24T10:00:00Z\"",
        "\"2026-11-24T10:00:00+01:00\"",
        "1700000000.123",
        "\u{feff}",
        "é",
        "\u{0}",
        "\\u00e9",
        "\\ud800",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat().into_bytes())
}

fn check_positions<T>(body: &[u8], d: &MlDecoded<T>) {
    let lines = body.split(|&b| b == b'\n').count();
    for e in &d.errors {
        assert!(e.line >= 1 && e.line <= lines, "{e:?} in {lines} lines");
        assert!(e.index >= 1, "{e:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn json_decoders_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = MlDecodeLimits::default();
        check_positions(&body, &decode_predictions(&body, &limits));
        check_positions(&body, &decode_labels(&body, &limits));
    }

    #[test]
    fn json_decoders_never_panic_on_jsonish_bytes(body in jsonish_bytes()) {
        let limits = MlDecodeLimits { max_features_per_event: 2, max_errors_reported: 3, ..MlDecodeLimits::default() };
        check_positions(&body, &decode_predictions(&body, &limits));
        check_positions(&body, &decode_labels(&body, &limits));
        let mut array = b"[".to_vec();
        array.extend_from_slice(&body);
        check_positions(&array, &decode_predictions(&array, &limits));
    }

    #[test]
    fn otlp_decoders_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = MlDecodeLimits::default();
        let _ = decode_otlp_logs(&body, false, &limits);
        let _ = decode_otlp_logs(&body, true, &limits);
    }

    #[test]
    fn predictions_round_trip_through_json(events in prop::collection::vec(prediction(), 1..6)) {
        let objects: Vec<String> = events.iter().map(|(e, w)| write_prediction(e, *w)).collect();
        let want: Vec<PredictionEvent> = events.into_iter().map(|(e, _)| e).collect();
        let limits = MlDecodeLimits::default();
        for body in [objects.join("\n"), format!("[\n  {}\n]", objects.join(",\n  "))] {
            let d = decode_predictions(body.as_bytes(), &limits);
            prop_assert_eq!(&d.errors, &[]);
            prop_assert_eq!(&d.events, &want);
        }
    }

    #[test]
    fn labels_round_trip_through_json(
        labels in prop::collection::vec(("[a-zA-Z0-9-]{1,12}", outcome(), prop::option::of("[a-z]{1,8}"), timestamp()), 1..6),
    ) {
        let want: Vec<LabelEvent> = labels
            .iter()
            .map(|(id, label, model, ts)| LabelEvent {
                model: model.clone(),
                id: id.clone(),
                label: label.clone(),
                timestamp_ms: ts.map(|(ms, _)| ms),
            })
            .collect();
        let body: Vec<String> = labels
            .iter()
            .map(|(id, label, model, ts)| {
                let mut o: BTreeMap<&str, String> = BTreeMap::new();
                o.insert("id", json(id));
                o.insert("label", write_outcome(label));
                if let Some(m) = model {
                    o.insert("model", json(m));
                }
                if let Some((ms, rfc)) = ts {
                    o.insert("timestamp", write_timestamp(*ms, *rfc));
                }
                let fields: Vec<String> = o.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            })
            .collect();
        let limits = MlDecodeLimits::default();
        for body in [body.join("\n"), format!("[{}]", body.join(","))] {
            let d = decode_labels(body.as_bytes(), &limits);
            prop_assert_eq!(&d.errors, &[]);
            prop_assert_eq!(&d.events, &want);
        }
    }
}

//! OTLP log records → prediction events: requests built with the prost types and encoded with
//! prost, the same requests as OTLP/JSON text, and every per-record error.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AV, AnyValue, ArrayValue, KeyValue,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use vigil_model::ml::{FeatureValue, Outcome, PredictionEvent};

use super::super::{decode_otlp_log_events, decode_otlp_logs, MlDecodeLimits};
use crate::otlp::tests::{kv, s};
use crate::CodecError;

const T_NS: u64 = 1_700_000_000_123_456_789;
const T_MS: i64 = 1_700_000_000_123;

fn empty(key: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: None,
        ..Default::default()
    }
}

fn record(time: u64, observed: u64, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: observed,
        attributes,
        body: Some(AnyValue {
            value: Some(AV::StringValue("prediction made".into())),
        }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, scopes: Vec<Vec<LogRecord>>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: scopes
                .into_iter()
                .map(|log_records| ScopeLogs {
                    log_records,
                    ..Default::default()
                })
                .collect(),
            schema_url: String::new(),
        }],
    }
}

/// The request of [`JSON_BODY`], built with the prost types.
fn sample_request() -> ExportLogsServiceRequest {
    request(
        vec![
            s("service.name", "scoring"),
            s("ml.model", "fraud"),
            s("ml.version", "v3"),
        ],
        vec![
            vec![
                record(
                    T_NS,
                    0,
                    vec![
                        s("ml.prediction_id", "p-1"),
                        kv("ml.prediction", AV::BoolValue(true)),
                        kv("ml.score", AV::DoubleValue(0.91)),
                        kv("ml.probability.fraud", AV::DoubleValue(0.91)),
                        kv("ml.probability.ok", AV::IntValue(0)),
                        kv("ml.feature.amount", AV::DoubleValue(12.5)),
                        s("ml.feature.country", "DE"),
                        kv("ml.feature.n", AV::IntValue(3)),
                        kv("ml.feature.new_user", AV::BoolValue(false)),
                        kv("ml.feature.ratio", AV::DoubleValue(f64::NAN)),
                        empty("ml.feature.age"),
                        s("http.route", "/score"),
                    ],
                ),
                // The record's own `ml.model` wins over the resource's; the version does not.
                record(
                    0,
                    T_NS,
                    vec![
                        s("ml.model", "churn"),
                        kv("ml.prediction_id", AV::IntValue(42)),
                        kv("ml.prediction", AV::DoubleValue(0.25)),
                        kv("ml.label", AV::IntValue(1)),
                    ],
                ),
            ],
            vec![record(0, 0, vec![s("ml.prediction", "b")])],
        ],
    )
}

fn sample_events() -> Vec<PredictionEvent> {
    vec![
        PredictionEvent {
            model: "fraud".into(),
            version: "v3".into(),
            id: Some("p-1".into()),
            timestamp_ms: Some(T_MS),
            features: vec![
                ("amount".into(), FeatureValue::Number(12.5)),
                ("country".into(), FeatureValue::Text("DE".into())),
                ("n".into(), FeatureValue::Number(3.0)),
                ("new_user".into(), FeatureValue::Bool(false)),
                ("ratio".into(), FeatureValue::Missing),
                ("age".into(), FeatureValue::Missing),
            ],
            prediction: Outcome::Class("true".into()),
            score: Some(0.91),
            probabilities: vec![("fraud".into(), 0.91), ("ok".into(), 0.0)],
            label: None,
        },
        PredictionEvent {
            model: "churn".into(),
            version: "v3".into(),
            id: Some("42".into()),
            timestamp_ms: Some(T_MS),
            features: Vec::new(),
            prediction: Outcome::Number(0.25),
            score: None,
            probabilities: Vec::new(),
            label: Some(Outcome::Number(1.0)),
        },
        PredictionEvent {
            model: "fraud".into(),
            version: "v3".into(),
            id: None,
            timestamp_ms: None,
            features: Vec::new(),
            prediction: Outcome::Class("b".into()),
            score: None,
            probabilities: Vec::new(),
            label: None,
        },
    ]
}

const JSON_BODY: &str = r#"{
  "resourceLogs": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "scoring"}},
      {"key": "ml.model", "value": {"stringValue": "fraud"}},
      {"key": "ml.version", "value": {"stringValue": "v3"}}
    ]},
    "scopeLogs": [
      {"scope": {"name": "ml-logger", "version": "1"}, "logRecords": [
        {"timeUnixNano": "1700000000123456789", "severityNumber": 9, "severityText": "INFO",
         "body": {"stringValue": "prediction made"},
         "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "attributes": [
          {"key": "ml.prediction_id", "value": {"stringValue": "p-1"}},
          {"key": "ml.prediction", "value": {"boolValue": true}},
          {"key": "ml.score", "value": {"doubleValue": 0.91}},
          {"key": "ml.probability.fraud", "value": {"doubleValue": "0.91"}},
          {"key": "ml.probability.ok", "value": {"intValue": "0"}},
          {"key": "ml.feature.amount", "value": {"doubleValue": 12.5}},
          {"key": "ml.feature.country", "value": {"stringValue": "DE"}},
          {"key": "ml.feature.n", "value": {"intValue": 3}},
          {"key": "ml.feature.new_user", "value": {"boolValue": false}},
          {"key": "ml.feature.ratio", "value": {"doubleValue": "NaN"}},
          {"key": "ml.feature.age"},
          {"key": "http.route", "value": {"stringValue": "/score"}},
          {"key": "raw", "value": {"bytesValue": "aGkh"}}
        ]},
        {"observedTimeUnixNano": 1700000000123456789, "attributes": [
          {"key": "ml.model", "value": {"stringValue": "churn"}},
          {"key": "ml.prediction_id", "value": {"intValue": "42"}},
          {"key": "ml.prediction", "value": {"doubleValue": 0.25}},
          {"key": "ml.label", "value": {"intValue": 1}}
        ]}
      ]},
      {"logRecords": [{"attributes": [{"key": "ml.prediction", "value": {"stringValue": "b"}}]}],
       "futureField": true}
    ]
  }]
}"#;

#[test]
fn records_map_to_events() {
    let d = decode_otlp_log_events(&sample_request(), &MlDecodeLimits::default());
    assert_eq!(d.errors, []);
    assert_eq!(d.ignored, 0);
    assert_eq!(d.events, sample_events());
}

#[test]
fn protobuf_and_json_bodies_decode_alike() {
    let limits = MlDecodeLimits::default();
    let body = sample_request().encode_to_vec();
    let d = decode_otlp_logs(&body, false, &limits).expect("protobuf");
    assert_eq!(d.events, sample_events());
    let d = decode_otlp_logs(JSON_BODY.as_bytes(), true, &limits).expect("json");
    assert_eq!(d.errors, []);
    assert_eq!(d.events, sample_events());
    // Empty requests in either encoding.
    assert_eq!(
        decode_otlp_logs(b"", false, &limits).expect("empty").events,
        []
    );
    assert_eq!(
        decode_otlp_logs(b"{}", true, &limits)
            .expect("empty")
            .events,
        []
    );
}

#[test]
fn records_without_a_model_are_ignored() {
    let req = request(
        vec![s("service.name", "web")],
        vec![vec![
            record(T_NS, 0, vec![s("http.route", "/")]),
            record(T_NS, 0, vec![s("ml.prediction", "x")]),
            record(
                T_NS,
                0,
                vec![s("ml.model", "m"), kv("ml.prediction", AV::IntValue(1))],
            ),
        ]],
    );
    let d = decode_otlp_log_events(&req, &MlDecodeLimits::default());
    assert_eq!(d.ignored, 2);
    assert_eq!(d.errors, []);
    assert_eq!(d.events.len(), 1);
}

fn record_error(attributes: Vec<KeyValue>) -> String {
    let req = request(
        vec![s("ml.model", "m")],
        vec![vec![
            record(0, 0, vec![kv("ml.prediction", AV::IntValue(1))]),
            record(0, 0, attributes),
        ]],
    );
    let d = decode_otlp_log_events(&req, &MlDecodeLimits::default());
    assert_eq!(d.events.len(), 1);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    let e = d.errors.first().expect("one error");
    assert_eq!((e.line, e.index), (0, 2));
    e.to_string()
}

#[test]
fn record_errors_name_the_record_and_attribute() {
    let p = || kv("ml.prediction", AV::IntValue(1));
    let at = "resource_logs[0].scope_logs[0].log_records[1]";
    let list = || AV::ArrayValue(ArrayValue { values: Vec::new() });
    for (attrs, want) in [
        (vec![], r#"attribute "ml.prediction": is required"#.to_string()),
        (
            vec![empty("ml.prediction")],
            r#"attribute "ml.prediction": must be an int, double, string or bool, got no value"#.into(),
        ),
        (
            vec![kv("ml.prediction", AV::DoubleValue(f64::INFINITY))],
            r#"attribute "ml.prediction": must be an int, double, string or bool (finite), got inf"#.into(),
        ),
        (
            vec![p(), kv("ml.label", list())],
            r#"attribute "ml.label": must be an int, double, string or bool (finite), got an array"#.into(),
        ),
        (
            vec![p(), s("ml.model", "")],
            r#"attribute "ml.model": must be a non-empty string, got """#.into(),
        ),
        (
            vec![p(), kv("ml.model", AV::IntValue(3))],
            r#"attribute "ml.model": must be a non-empty string, got 3"#.into(),
        ),
        (
            vec![p(), s("ml.model", &"x".repeat(201))],
            r#"attribute "ml.model": is 201 bytes, over the limit of 200"#.into(),
        ),
        (
            vec![p(), kv("ml.version", AV::IntValue(3))],
            r#"attribute "ml.version": must be a string, got 3"#.into(),
        ),
        (
            vec![p(), kv("ml.prediction_id", AV::DoubleValue(1.5))],
            r#"attribute "ml.prediction_id": must be a non-empty string or an int, got 1.5"#.into(),
        ),
        (
            vec![p(), s("ml.score", "high")],
            r#"attribute "ml.score": must be a finite double or an int, got "high""#.into(),
        ),
        (
            vec![p(), kv("ml.score", AV::DoubleValue(f64::NAN))],
            r#"attribute "ml.score": must be a finite double or an int, got NaN"#.into(),
        ),
        (
            vec![p(), kv("ml.probability.a", AV::BoolValue(true))],
            r#"attribute "ml.probability.a": must be a finite double or an int, got true"#.into(),
        ),
        (
            vec![p(), kv("ml.feature.", AV::IntValue(1))],
            r#"attribute "ml.feature.": has an empty name after the prefix"#.into(),
        ),
        (
            vec![p(), kv("ml.feature.x", AV::BytesValue(vec![1]))],
            r#"attribute "ml.feature.x": must be an int, double, string, bool or empty, got bytes"#.into(),
        ),
        (
            vec![p(), kv("ml.feature.x", AV::IntValue(1)), kv("ml.feature.x", AV::IntValue(2))],
            r#"attribute "ml.feature.x": appears more than once"#.into(),
        ),
        (
            vec![p(), p()],
            r#"attribute "ml.prediction": appears more than once"#.into(),
        ),
    ] {
        assert_eq!(record_error(attrs), format!("{at}: {want}"));
    }
}

#[test]
fn record_limits() {
    let limits = MlDecodeLimits {
        max_features_per_event: 1,
        max_events_per_body: 2,
        max_name_bytes: 3,
        max_string_bytes: 4,
        ..MlDecodeLimits::default()
    };
    let p = || kv("ml.prediction", AV::IntValue(1));
    let req = request(
        vec![s("ml.model", "m")],
        vec![vec![
            record(
                0,
                0,
                vec![
                    p(),
                    kv("ml.feature.a", AV::IntValue(1)),
                    kv("ml.feature.b", AV::IntValue(1)),
                ],
            ),
            record(0, 0, vec![p(), s("ml.feature.abcd", "x")]),
            record(0, 0, vec![p(), s("ml.feature.a", "abcde")]),
            record(0, 0, vec![p()]),
        ]],
    );
    let d = decode_otlp_log_events(&req, &limits);
    assert_eq!(d.events, []);
    let got: Vec<_> = d.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "resource_logs[0].scope_logs[0].log_records[0]: attribute \"ml.feature.*\": 2 \
             attributes, over the limit of 1 per event",
            "resource_logs[0].scope_logs[0].log_records[1]: attribute \"ml.feature.abcd\": name \
             is 4 bytes, over the limit of 3",
            "resource_logs[0].scope_logs[0].log_records[2]: more than 2 ML events in one \
             request; this record and the rest were not read",
        ]
    );
}

#[test]
fn invalid_bodies_are_decode_errors() {
    let limits = MlDecodeLimits::default();
    for (body, json) in [
        (&b"\xff\xff\xff"[..], false),
        (&b"\x0a\x05\x0a"[..], false),
        (&b"not json"[..], true),
        (&b"[]"[..], true),
    ] {
        match decode_otlp_logs(body, json, &limits) {
            Err(
                e @ CodecError::Decode {
                    protocol: "otlp_logs",
                    ..
                },
            ) => {
                assert_eq!(e.kind(), vigil_model::ErrorKind::InvalidInput);
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let err = |body: &str| {
        decode_otlp_logs(body.as_bytes(), true, &limits)
            .expect_err("invalid")
            .to_string()
    };
    assert_eq!(
        err(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{"timeUnixNano":"soon"}]}]}]}"#),
        "otlp_logs: cannot decode body: resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano: \
         expected an unsigned 64-bit integer (number or decimal string), got \"soon\""
    );
    assert_eq!(
        err(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"a","value":{"intValue":1,"doubleValue":1}}]}]}]}]}"#),
        "otlp_logs: cannot decode body: resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value: \
         both \"intValue\" and \"doubleValue\" are set; they are alternatives"
    );
    assert_eq!(
        err(
            r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"doubleValue":"x"}}]}}]}"#
        ),
        "otlp_logs: cannot decode body: resourceLogs[0].resource.attributes[0].value.doubleValue: \
         expected a number, or \"NaN\", \"Infinity\", \"-Infinity\", got \"x\""
    );
    assert_eq!(
        err(r#"{"resourceLogs":{}}"#),
        "otlp_logs: cannot decode body: resourceLogs: expected an array, got an object"
    );
}

#[test]
fn json_bytes_values_are_base64_as_for_metrics() {
    let body = |bytes: &str| {
        format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"attributes":[
                {{"key":"ml.model","value":{{"stringValue":"m"}}}},
                {{"key":"ml.prediction","value":{{"intValue":1}}}},
                {{"key":"raw","value":{{"bytesValue":"{bytes}"}}}}]}}]}}]}}]}}"#
        )
    };
    let limits = MlDecodeLimits::default();
    let d = decode_otlp_logs(body("aGkh").as_bytes(), true, &limits).expect("base64");
    assert_eq!((d.events.len(), d.errors.len()), (1, 0));
    // The OTLP/JSON readers are the metrics ones: bytes that are not base64 are refused the
    // same way, naming the JSON path.
    assert_eq!(
        decode_otlp_logs(body("!!").as_bytes(), true, &limits)
            .expect_err("not base64")
            .to_string(),
        "otlp_logs: cannot decode body: resourceLogs[0].scopeLogs[0].logRecords[0].attributes[2]\
         .value.bytesValue: expected base64"
    );
}

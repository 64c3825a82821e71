//! Tests of the JSON event decoders: fields, framing, line numbers, every error message, limits.
//! OTLP logs, the property tests, and framing edge cases (bodies not all UTF-8, one-line arrays)
//! are in `tests/`.

use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::{decode_labels, decode_predictions, EventError, MlDecodeLimits, MlDecoded};

mod framing;
mod otlp;
mod props;

fn limits() -> MlDecodeLimits {
    MlDecodeLimits::default()
}

fn predictions(body: &str) -> MlDecoded<PredictionEvent> {
    decode_predictions(body.as_bytes(), &limits())
}

/// The one event of a one-line body, which must be valid.
fn one(body: &str) -> PredictionEvent {
    let d = predictions(body);
    assert_eq!(d.errors, [], "{body}");
    assert_eq!(d.events.len(), 1, "{body}");
    d.events.into_iter().next().expect("one event")
}

/// The displayed errors of a body.
fn errors(body: &str) -> Vec<String> {
    predictions(body)
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The one displayed error of a one-event body.
fn error(body: &str) -> String {
    let d = predictions(body);
    assert_eq!(d.events, [], "{body}");
    assert_eq!(d.errors.len(), 1, "{body}: {:?}", d.errors);
    d.errors
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn label_error(body: &str) -> String {
    let d = decode_labels(body.as_bytes(), &limits());
    assert_eq!(d.events, [], "{body}");
    d.errors
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn minimal(model: &str, prediction: Outcome) -> PredictionEvent {
    PredictionEvent {
        model: model.into(),
        version: String::new(),
        id: None,
        timestamp_ms: None,
        features: Vec::new(),
        prediction,
        score: None,
        probabilities: Vec::new(),
        label: None,
    }
}

const FULL: &str = r#"{"model":"fraud","version":"v3","id":"p-1","timestamp":1700000000.5,"features":{"amount":12.5,"country":"DE","new_user":true,"age":null,"n":3},"prediction":"fraud","score":0.91,"probabilities":{"fraud":0.91,"ok":0.09},"label":false}"#;

fn full_event() -> PredictionEvent {
    PredictionEvent {
        model: "fraud".into(),
        version: "v3".into(),
        id: Some("p-1".into()),
        timestamp_ms: Some(1_700_000_000_500),
        features: vec![
            ("amount".into(), FeatureValue::Number(12.5)),
            ("country".into(), FeatureValue::Text("DE".into())),
            ("new_user".into(), FeatureValue::Bool(true)),
            ("age".into(), FeatureValue::Missing),
            ("n".into(), FeatureValue::Number(3.0)),
        ],
        prediction: Outcome::Class("fraud".into()),
        score: Some(0.91),
        probabilities: vec![("fraud".into(), 0.91), ("ok".into(), 0.09)],
        label: Some(Outcome::Class("false".into())),
    }
}

#[test]
fn every_field_is_read() {
    assert_eq!(one(FULL), full_event());
    assert_eq!(
        one(r#"{"model":"m","prediction":1}"#),
        minimal("m", Outcome::Number(1.0))
    );
    let e = one(r#"{"model":"m","prediction":true,"id":42,"label":-2.5}"#);
    assert_eq!(e.prediction, Outcome::Class("true".into()));
    assert_eq!(e.id.as_deref(), Some("42"));
    assert_eq!(e.label, Some(Outcome::Number(-2.5)));
    assert_eq!(
        one(r#"{"model":"m","prediction":0,"id":-7}"#).id.as_deref(),
        Some("-7")
    );
    assert_eq!(
        one(r#"{"model":"m","prediction":0,"id":18446744073709551615}"#)
            .id
            .as_deref(),
        Some("18446744073709551615")
    );
}

#[test]
fn nulls_are_absent_and_unknown_fields_ignored() {
    let e = one(
        r#"{"model":"m","prediction":"a","version":null,"id":null,"timestamp":null,"features":null,
            "score":null,"probabilities":null,"label":null,"explanation":{"shap":[1,2,{"x":[]}]},
            "tags":["a"],"future":null}"#
            .replace('\n', "")
            .as_str(),
    );
    assert_eq!(e, minimal("m", Outcome::Class("a".into())));
}

#[test]
fn escaped_strings_and_keys_are_decoded() {
    let e = one(r#"{"mo\u0064el":"a\"b","prediction":"\u00e9","features":{"f\nx":"t\\u"}}"#);
    assert_eq!(e.model, "a\"b");
    assert_eq!(e.prediction, Outcome::Class("é".into()));
    assert_eq!(
        e.features,
        [("f\nx".to_string(), FeatureValue::Text("t\\u".into()))]
    );
}

#[test]
fn nan_and_inf_strings_are_text_features() {
    let e = one(
        r#"{"model":"m","prediction":1,"features":{"a":"NaN","b":"inf","c":"-Infinity","d":1e308}}"#,
    );
    assert_eq!(
        e.features,
        [
            ("a".to_string(), FeatureValue::Text("NaN".into())),
            ("b".to_string(), FeatureValue::Text("inf".into())),
            ("c".to_string(), FeatureValue::Text("-Infinity".into())),
            ("d".to_string(), FeatureValue::Number(1e308)),
        ]
    );
    // JSON has no NaN literal, and a number past f64's range is not JSON serde_json accepts.
    assert_eq!(
        error(r#"{"model":"m","prediction":1,"features":{"a":NaN}}"#),
        "line 1: invalid JSON: expected value at column 45"
    );
    assert_eq!(
        error(r#"{"model":"m","prediction":1,"features":{"a":1e400}}"#),
        "line 1: invalid JSON: number out of range at column 49"
    );
}

#[test]
fn timestamps() {
    let ts = |t: &str| {
        one(&format!(
            r#"{{"model":"m","prediction":1,"timestamp":{t}}}"#
        ))
        .timestamp_ms
    };
    assert_eq!(ts("1700000000"), Some(1_700_000_000_000));
    assert_eq!(ts("1700000000.123"), Some(1_700_000_000_123));
    assert_eq!(ts("1700000000.1236"), Some(1_700_000_000_124));
    assert_eq!(ts("-1.5"), Some(-1500));
    assert_eq!(ts("0"), Some(0));
    assert_eq!(ts(r#""2026-11-24T10:00:00Z""#), Some(1_795_514_400_000));
    assert_eq!(ts(r#""2026-11-24T10:00:00.123Z""#), Some(1_795_514_400_123));
    assert_eq!(ts(r#""2026-11-24T10:00:00.1Z""#), Some(1_795_514_400_100));
    // Nanoseconds are truncated to milliseconds.
    assert_eq!(
        ts(r#""2026-11-24T10:00:00.123999999Z""#),
        Some(1_795_514_400_123)
    );
    assert_eq!(
        ts(r#""2026-11-24T11:30:00+01:30""#),
        Some(1_795_514_400_000)
    );
    assert_eq!(
        ts(r#""2026-11-24T05:00:00-05:00""#),
        Some(1_795_514_400_000)
    );
    assert_eq!(ts(r#""2026-11-24t10:00:00z""#), Some(1_795_514_400_000));
    assert_eq!(ts(r#""2026-11-24 10:00:00Z""#), Some(1_795_514_400_000));
    assert_eq!(ts(r#""2024-02-29T00:00:00Z""#), Some(1_709_164_800_000));
    assert_eq!(ts(r#""1969-12-31T23:59:59.999Z""#), Some(-1));
    assert_eq!(ts(r#""0000-01-01T00:00:00Z""#), Some(-62_167_219_200_000));
    assert_eq!(
        ts(r#""9999-12-31T23:59:59.999Z""#),
        Some(253_402_300_799_999)
    );
    assert_eq!(ts("253402300799"), Some(253_402_300_799_000));
    assert_eq!(ts("-62167219200"), Some(-62_167_219_200_000));

    let types =
        r#"must be Unix seconds (a number) or an RFC 3339 time such as "2026-11-24T10:00:00Z""#;
    for (t, got) in [
        (r#""yesterday""#, r#""yesterday""#),
        (r#""2026-11-24T10:00:00""#, r#""2026-11-24T10:00:00""#),
        (r#""2026-11-24""#, r#""2026-11-24""#),
        (r#""2023-02-29T00:00:00Z""#, r#""2023-02-29T00:00:00Z""#),
        (r#""2026-13-01T00:00:00Z""#, r#""2026-13-01T00:00:00Z""#),
        (r#""2026-11-24T24:00:00Z""#, r#""2026-11-24T24:00:00Z""#),
        (r#""2016-12-31T23:59:60Z""#, r#""2016-12-31T23:59:60Z""#),
        (r#""2026-11-24T10:00:00.Z""#, r#""2026-11-24T10:00:00.Z""#),
        (
            r#""2026-11-24T10:00:00+1:00""#,
            r#""2026-11-24T10:00:00+1:00""#,
        ),
        (
            r#""2026-11-24T10:00:00+24:00""#,
            r#""2026-11-24T10:00:00+24:00""#,
        ),
        (
            r#""2026-11-24T10:00:00Zjunk""#,
            r#""2026-11-24T10:00:00Zjunk""#,
        ),
        (r#""+026-11-24T10:00:00Z""#, r#""+026-11-24T10:00:00Z""#),
        (r#""1700000000""#, r#""1700000000""#),
        ("true", "true"),
        ("[1]", "an array"),
        ("{}", "an object"),
    ] {
        assert_eq!(
            error(&format!(
                r#"{{"model":"m","prediction":1,"timestamp":{t}}}"#
            )),
            format!(r#"line 1: field "timestamp": {types}, got {got}"#),
            "{t}"
        );
    }
    for (t, got) in [
        ("1700000000123", "1700000000123"),
        ("253402300800", "253402300800"),
        ("-62167219201", "-62167219201"),
        ("1.7e12", "1700000000000.0"),
        ("-1e300", "-1e300"),
    ] {
        assert_eq!(
            error(&format!(
                r#"{{"model":"m","prediction":1,"timestamp":{t}}}"#
            )),
            format!(
                "line 1: field \"timestamp\": must be in the years 0000-9999 as Unix seconds \
                 (not milliseconds), got {got}"
            ),
            "{t}"
        );
    }
}

#[test]
fn field_errors_have_exact_messages() {
    let long = "x".repeat(201);
    let value = "v".repeat(4097);
    for (body, want) in [
        (r#"{"prediction":1}"#, r#"field "model": is required"#),
        (r#"{"model":"m"}"#, r#"field "prediction": is required"#),
        (
            r#"{"model":"","prediction":1}"#,
            r#"field "model": must not be empty"#,
        ),
        (
            r#"{"model":7,"prediction":1}"#,
            r#"field "model": must be a non-empty string, got 7"#,
        ),
        (
            r#"{"model":null,"prediction":1}"#,
            r#"field "model": must be a non-empty string, got null"#,
        ),
        (
            &format!(r#"{{"model":"{long}","prediction":1}}"#),
            r#"field "model": is 201 bytes, over the limit of 200"#,
        ),
        (
            r#"{"model":"m","prediction":null}"#,
            r#"field "prediction": must be a number, string or bool, got null"#,
        ),
        (
            r#"{"model":"m","prediction":[1]}"#,
            r#"field "prediction": must be a number, string or bool, got an array"#,
        ),
        (
            &format!(r#"{{"model":"m","prediction":"{value}"}}"#),
            r#"field "prediction": is 4097 bytes, over the limit of 4096"#,
        ),
        (
            r#"{"model":"m","prediction":1,"label":{}}"#,
            r#"field "label": must be a number, string or bool, got an object"#,
        ),
        (
            r#"{"model":"m","prediction":1,"version":2}"#,
            r#"field "version": must be a string, got 2"#,
        ),
        (
            &format!(r#"{{"model":"m","prediction":1,"version":"{value}"}}"#),
            r#"field "version": is 4097 bytes, over the limit of 4096"#,
        ),
        (
            r#"{"model":"m","prediction":1,"id":1.5}"#,
            r#"field "id": must be a string or an integer, got 1.5"#,
        ),
        (
            r#"{"model":"m","prediction":1,"id":true}"#,
            r#"field "id": must be a string or an integer, got true"#,
        ),
        (
            r#"{"model":"m","prediction":1,"id":""}"#,
            r#"field "id": must not be empty"#,
        ),
        (
            r#"{"model":"m","prediction":1,"score":"0.5"}"#,
            r#"field "score": must be a number, got "0.5""#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":[1,2]}"#,
            r#"field "features": must be an object mapping feature names to values, got an array"#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":"a=1"}"#,
            r#"field "features": must be an object mapping feature names to values, got "a=1""#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":{"amount":[1]}}"#,
            r#"field "features.amount": must be a number, string, bool or null, got an array"#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":{"amount":{"v":1}}}"#,
            r#"field "features.amount": must be a number, string, bool or null, got an object"#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":{"":1}}"#,
            r#"field "features": feature names must not be empty"#,
        ),
        (
            &format!(r#"{{"model":"m","prediction":1,"features":{{"{long}":1}}}}"#),
            &format!(
                r#"field "features": feature name "{}"… is 201 bytes, over the limit of 200"#,
                "x".repeat(40)
            ),
        ),
        (
            &format!(r#"{{"model":"m","prediction":1,"features":{{"note":"{value}"}}}}"#),
            r#"field "features.note": is 4097 bytes, over the limit of 4096"#,
        ),
        (
            r#"{"model":"m","prediction":1,"features":{"a":1,"b":2,"a":3}}"#,
            r#"field "features.a": appears more than once"#,
        ),
        (
            r#"{"model":"m","prediction":1,"probabilities":[0.5]}"#,
            r#"field "probabilities": must be an object mapping class names to numbers, got an array"#,
        ),
        (
            r#"{"model":"m","prediction":1,"probabilities":{"a":"high"}}"#,
            r#"field "probabilities.a": must be a number, got "high""#,
        ),
        (
            r#"{"model":"m","prediction":1,"probabilities":{"a":null}}"#,
            r#"field "probabilities.a": must be a number, got null"#,
        ),
        (
            r#"{"model":"m","prediction":1,"probabilities":{"":1}}"#,
            r#"field "probabilities": class names must not be empty"#,
        ),
        (
            r#"{"model":"m","prediction":1,"probabilities":{"a":0.5,"a":0.5}}"#,
            r#"field "probabilities.a": appears more than once"#,
        ),
        (
            r#"{"model":"m","prediction":1,"model":"n"}"#,
            r#"field "model": appears more than once"#,
        ),
        (
            r#"{"model":"m","prediction":1,"score":1,"score":2}"#,
            r#"field "score": appears more than once"#,
        ),
        ("[[1,2]]", "each event must be a JSON object, got an array"),
        ("42", "each event must be a JSON object, got 42"),
        (
            r#""event""#,
            r#"each event must be a JSON object, got "event""#,
        ),
        ("null", "each event must be a JSON object, got null"),
    ] {
        assert_eq!(error(body), format!("line 1: {want}"), "{body}");
    }
    // Only the first problem of an event is reported.
    assert_eq!(
        error(r#"{"model":1,"prediction":null,"features":[]}"#),
        r#"line 1: field "model": must be a non-empty string, got 1"#
    );
}

#[test]
fn event_errors_carry_their_parts() {
    let d = predictions("\n{\"model\":\"m\",\"prediction\":1,\"features\":{\"amount\":[]}}\n");
    assert_eq!(
        d.errors,
        [EventError {
            line: 2,
            index: 1,
            field: Some("features.amount".into()),
            message: "must be a number, string, bool or null, got an array".into(),
        }]
    );
    assert_eq!(
        d.errors.first().map(ToString::to_string).as_deref(),
        Some(
            r#"line 2: field "features.amount": must be a number, string, bool or null, got an array"#
        )
    );
    assert_eq!(d.error_count(), 1);
}

#[test]
fn label_events() {
    let d = decode_labels(
        br#"{"id":"p-1","label":"fraud","timestamp":"2026-11-24T10:00:00Z","model":"fraud"}
{"id":17,"label":0.5}
{"id":"p-3","label":true,"model":null,"extra":[1]}"#,
        &limits(),
    );
    assert_eq!(d.errors, []);
    assert_eq!(
        d.events,
        [
            LabelEvent {
                model: Some("fraud".into()),
                id: "p-1".into(),
                label: Outcome::Class("fraud".into()),
                timestamp_ms: Some(1_795_514_400_000),
            },
            LabelEvent {
                model: None,
                id: "17".into(),
                label: Outcome::Number(0.5),
                timestamp_ms: None,
            },
            LabelEvent {
                model: None,
                id: "p-3".into(),
                label: Outcome::Class("true".into()),
                timestamp_ms: None,
            },
        ]
    );
    for (body, want) in [
        (r#"{"label":1}"#, r#"field "id": is required"#),
        (r#"{"id":"a"}"#, r#"field "label": is required"#),
        (
            r#"{"id":null,"label":1}"#,
            r#"field "id": must be a string or an integer, got null"#,
        ),
        (
            r#"{"id":"a","label":null}"#,
            r#"field "label": must be a number, string or bool, got null"#,
        ),
        (
            r#"{"id":[],"label":1}"#,
            r#"field "id": must be a string or an integer, got an array"#,
        ),
        (
            r#"{"id":"a","label":1,"model":""}"#,
            r#"field "model": must not be empty"#,
        ),
        (
            r#"{"id":"a","label":1,"model":false}"#,
            r#"field "model": must be a non-empty string, got false"#,
        ),
        (
            r#"{"id":"a","label":1,"timestamp":"soon"}"#,
            r#"field "timestamp": must be Unix seconds (a number) or an RFC 3339 time such as "2026-11-24T10:00:00Z", got "soon""#,
        ),
        (
            r#"{"id":"a","label":1,"id":"b"}"#,
            r#"field "id": appears more than once"#,
        ),
        ("[[]]", "each event must be a JSON object, got an array"),
    ] {
        assert_eq!(label_error(body), format!("line 1: {want}"), "{body}");
    }
}

#[test]
fn arrays_and_json_lines_give_the_same_events() {
    let events = [
        FULL,
        r#"{"model":"m","prediction":1}"#,
        r#"{"model":"m2","version":"1","prediction":"b","features":{"x":-0.5}}"#,
    ];
    let jsonl = events.join("\n");
    let crlf = format!("\r\n{}\r\n\r\n", events.join("\r\n\n  \t\n"));
    let array = format!("[{}]", events.join(","));
    let pretty = format!("  [\n  {}\n  ]\n", events.join(",\n\n  "));
    let want = predictions(&jsonl);
    assert_eq!(want.errors, []);
    assert_eq!(want.events.len(), 3);
    assert_eq!(want.events.first(), Some(&full_event()));
    for body in [crlf, array, pretty] {
        let got = predictions(&body);
        assert_eq!(got.events, want.events, "{body}");
        assert_eq!(got.errors, [], "{body}");
    }
}

#[test]
fn line_numbers_in_pretty_printed_arrays() {
    let body = r#"[
  {
    "model": "m",
    "prediction": 1
  },
  {
    "model": "m",
    "prediction": 2,
    "features": {
      "amount": [1, 2]
    }
  },
  {"model": "m", "prediction": 3}, {"prediction": 4},
  {
    "model": "m",
    "prediction": 5,
  },
  7
]"#;
    let d = predictions(body);
    assert_eq!(
        d.events
            .iter()
            .map(|e| e.prediction.class_text().into_owned())
            .collect::<Vec<_>>(),
        ["1", "3"]
    );
    let got: Vec<_> = d
        .errors
        .iter()
        .map(|e| (e.line, e.index, e.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (
                6,
                2,
                r#"line 6: field "features.amount": must be a number, string, bool or null, got an array"#
                    .to_string()
            ),
            (13, 4, r#"line 13: field "model": is required"#.to_string()),
            (
                14,
                5,
                "line 14: invalid JSON: trailing comma at line 17 column 3".to_string()
            ),
            (
                18,
                6,
                "line 18: each event must be a JSON object, got 7".to_string()
            ),
        ]
    );
}

#[test]
fn broken_json_lines_cost_one_line() {
    let body = "{\"model\":\"m\",\"prediction\":1}\n\
                {\"model\":\"m\",\"prediction\":2,}\n\
                {\"model\":\"m\",\n\
                \"prediction\": 3}\n\
                not json\n\
                {\"model\":\"m\",\"prediction\":4} {\"model\":\"m\",\"prediction\":5}\n\
                {\"model\":\"m\",\"prediction\":6}";
    let d = predictions(body);
    assert_eq!(d.events.len(), 2);
    assert_eq!(
        errors(body),
        [
            "line 2: invalid JSON: trailing comma at column 29",
            "line 3: invalid JSON: EOF while parsing a value at column 13 (each line must hold \
             one whole event; send a JSON array to spread events over several lines)",
            "line 4: invalid JSON: trailing characters at column 13",
            "line 5: invalid JSON: expected ident at column 2",
            "line 6: invalid JSON: trailing characters at column 30",
        ]
    );
    let indices: Vec<_> = d.errors.iter().map(|e| e.index).collect();
    assert_eq!(indices, [2, 3, 4, 5, 6]);
}

#[test]
fn broken_arrays_keep_the_events_before() {
    let ok = r#"{"model":"m","prediction":1}"#;
    for (body, events, want) in [
        (
            format!("[{ok},\n{ok}"),
            2,
            "line 2: invalid JSON: unterminated array: expected ',' or ']' at line 2 column 29",
        ),
        (
            format!("[{ok},\n{{\"model\":\"m\",\"prediction\":1"),
            1,
            "line 2: invalid JSON: unterminated object at line 2 column 1",
        ),
        (
            format!("[{ok},\n{{\"model\":\"m\",\"prediction\":\"a}}]"),
            1,
            "line 2: invalid JSON: unterminated string at line 2 column 27",
        ),
        (
            format!("[{ok},\n"),
            1,
            "line 2: invalid JSON: unterminated array: expected an event at line 2 column 1",
        ),
        (
            format!("[{ok},\n]"),
            1,
            "line 2: invalid JSON: trailing comma before ']' at line 2 column 1",
        ),
        (
            format!("[{ok} {ok}]"),
            1,
            "line 1: invalid JSON: expected ',' or ']' after an event at line 1 column 31",
        ),
        (
            format!("[{ok}]\n{ok}"),
            1,
            "line 2: invalid JSON: trailing characters after the array at line 2 column 1",
        ),
        (
            format!("[{ok},,{ok}]"),
            1,
            "line 1: invalid JSON: expected an event at line 1 column 31",
        ),
    ] {
        let d = predictions(&body);
        assert_eq!(d.events.len(), events, "{body}");
        assert_eq!(errors(&body), [want], "{body}");
    }
    // An element whose inside is broken costs that element only.
    let body = format!("[{ok}, {{\"model\": tru}}, {ok}]");
    assert_eq!(predictions(&body).events.len(), 2);
    assert_eq!(
        errors(&body),
        ["line 1: invalid JSON: expected ident at line 1 column 45"]
    );
}

#[test]
fn empty_bodies_hold_no_events() {
    for body in [
        "",
        "  \n\r\n\t",
        "[]",
        " [ \n ] \n",
        "\u{feff}[]",
        "\u{feff}\n",
    ] {
        let d = predictions(body);
        assert_eq!(d, MlDecoded::default(), "{body:?}");
    }
    let d = predictions("\u{feff}{\"model\":\"m\",\"prediction\":1}");
    assert_eq!(d.events.len(), 1);
}

#[test]
fn per_event_limits() {
    let l = MlDecodeLimits {
        max_features_per_event: 2,
        max_string_bytes: 3,
        max_name_bytes: 2,
        ..MlDecodeLimits::default()
    };
    let err = |body: &str| {
        decode_predictions(body.as_bytes(), &l)
            .errors
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    assert_eq!(
        err(r#"{"model":"m","prediction":1,"features":{"a":1,"b":2,"c":3}}"#),
        r#"line 1: field "features": has more than 2 entries, over the limit per event"#
    );
    assert_eq!(
        err(r#"{"model":"m","prediction":1,"probabilities":{"a":1,"b":2,"c":3}}"#),
        r#"line 1: field "probabilities": has more than 2 entries, over the limit per event"#
    );
    assert_eq!(
        err(r#"{"model":"mmm","prediction":1}"#),
        r#"line 1: field "model": is 3 bytes, over the limit of 2"#
    );
    assert_eq!(
        err(r#"{"model":"m","prediction":1,"id":"abcd"}"#),
        r#"line 1: field "id": is 4 bytes, over the limit of 3"#
    );
    assert_eq!(
        err(r#"{"model":"m","prediction":1,"probabilities":{"abc":1}}"#),
        r#"line 1: field "probabilities": class name "abc" is 3 bytes, over the limit of 2"#
    );
    let d = decode_predictions(
        br#"{"model":"m","prediction":1,"features":{"a":"abc","b":1},"probabilities":{"a":1,"b":0}}"#,
        &l,
    );
    assert_eq!(d.errors, []);
}

#[test]
fn per_body_limits() {
    let ok = r#"{"model":"m","prediction":1}"#;
    let bad = r#"{"model":"m"}"#;
    let l = MlDecodeLimits {
        max_events_per_body: 3,
        max_errors_reported: 2,
        ..MlDecodeLimits::default()
    };
    for body in [
        [ok, ok, ok, ok, ok].join("\n"),
        format!("[{}]", [ok, ok, ok, ok, ok].join(",\n")),
    ] {
        let d = decode_predictions(body.as_bytes(), &l);
        assert_eq!(d.events.len(), 3);
        assert_eq!(
            d.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["line 4: more than 3 events in one body; this event and the rest were not read"]
        );
        assert_eq!(d.errors.first().map(|e| e.index), Some(4));
    }
    let d = decode_predictions([bad, ok, bad, bad].join("\n").as_bytes(), &l);
    assert_eq!(d.events.len(), 1);
    assert_eq!(d.errors.len(), 2);
    assert_eq!(d.more_errors, 1);
    assert_eq!(d.error_count(), 3);
    let none = MlDecodeLimits {
        max_errors_reported: 0,
        ..l
    };
    let d = decode_predictions(bad.as_bytes(), &none);
    assert_eq!((d.errors.len(), d.more_errors), (0, 1));
}

#[test]
fn many_features_use_the_set_for_duplicates() {
    let mut body = String::from(r#"{"model":"m","prediction":1,"features":{"#);
    for i in 0..40 {
        body.push_str(&format!("\"f{i}\":{i},"));
    }
    body.push_str(r#""f7":0}}"#);
    assert_eq!(
        error(&body),
        r#"line 1: field "features.f7": appears more than once"#
    );
    let e = one(&body.replace(r#""f7":0"#, r#""g":0"#));
    assert_eq!(e.features.len(), 41);
    assert_eq!(
        e.features.last(),
        Some(&("g".to_string(), FeatureValue::Number(0.0)))
    );
}

#[test]
fn class_text_compares_predictions_with_labels() {
    let p = one(r#"{"model":"m","prediction":1,"label":"1"}"#);
    assert_eq!(
        Some(p.prediction.class_text()),
        p.label.as_ref().map(Outcome::class_text)
    );
    let p = one(r#"{"model":"m","prediction":1.0,"label":1}"#);
    assert_eq!(p.prediction, p.label.clone().expect("label"));
}

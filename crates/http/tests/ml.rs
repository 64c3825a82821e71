//! Vigil's ML API over the router, without a network: events in with partial success, labels
//! joined, references uploaded, the model list and drift reports out, OTLP log records.

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{call, call_full, get, post, state, START_MS};
use serde_json::Value;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `n` prediction events of model `fraud` as JSON lines, ids `p0…`, one second apart before
/// the test clock, `amount` drawn around `mean`.
fn predictions(n: usize, mean: f64) -> String {
    let mut out = String::new();
    for i in 0..n {
        let t = (START_MS - 1_000 * (n - i) as i64) as f64 / 1000.0;
        let amount = mean + ((i * 7919) % 100) as f64 / 10.0;
        let country = ["DE", "FR", "US"][i % 3];
        out.push_str(&format!(
            "{{\"model\":\"fraud\",\"version\":\"v1\",\"id\":\"p{i}\",\"timestamp\":{t},\"features\":{{\"amount\":{amount},\"country\":\"{country}\"}},\"prediction\":{},\"score\":0.{}}}\n",
            i % 2,
            i % 10
        ));
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

#[tokio::test]
async fn predictions_are_counted_and_listed() {
    let st = state();
    let (s, body) = post(&st, "/api/v1/ml/predictions", predictions(50, 100.0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["accepted"], 50);
    assert_eq!(v["data"]["rejected"], 0);

    let (s, body) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    let m = &v["data"][0];
    assert_eq!(m["name"], "fraud");
    assert_eq!(m["task"], "classification");
    assert_eq!(m["versions"][0]["name"], "v1");
    assert_eq!(m["versions"][0]["predictions_total"], 50);
    assert_eq!(m["pending_labels"], 50);
    let features: Vec<&str> = m["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(features, ["amount", "country"]);
}

#[tokio::test]
async fn gzip_bodies_and_json_arrays_are_accepted() {
    let st = state();
    let lines = predictions(20, 10.0);
    let array = format!("[{}]", lines.trim_end().replace('\n', ","));
    let (s, body) = call(
        &st,
        Request::post("/api/v1/ml/predictions")
            .header("Content-Encoding", "gzip")
            .body(Body::from(gzip(array.as_bytes())))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["accepted"], 20);

    let (s, body) = call(
        &st,
        Request::post("/api/v1/ml/predictions")
            .header("Content-Encoding", "br")
            .body(Body::from(array))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unsupported Content-Encoding"), "{body}");
}

#[tokio::test]
async fn bad_events_are_named_and_the_rest_kept() {
    let st = state();
    let body = concat!(
        "{\"model\":\"fraud\",\"id\":\"a\",\"features\":{\"amount\":1.5},\"prediction\":1}\n",
        "{\"model\":\"fraud\",\"id\":\"b\",\"features\":{\"amount\":2.5}}\n",
        "{\"model\":\"fraud\",\"id\":\"c\",\"features\":{\"amount\":[1]},\"prediction\":0}\n",
        // Mistyped against what the store already knows: amount is numerical.
        "{\"model\":\"fraud\",\"id\":\"d\",\"features\":{\"amount\":\"high\"},\"prediction\":0}\n",
        "{\"model\":\"fraud\",\"id\":\"e\",\"features\":{\"amount\":3.5},\"prediction\":0}\n",
    );
    let (s, out) = post(&st, "/api/v1/ml/predictions", body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    let v = json(&out);
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    assert_eq!(v["data"]["accepted"], 2);
    assert_eq!(v["data"]["rejected"], 3);
    let errors = v["data"]["errors"].as_array().expect("errors");
    let lines: Vec<i64> = errors.iter().filter_map(|e| e["line"].as_i64()).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(errors[0]["field"], "prediction");
    assert_eq!(errors[1]["field"], "features.amount");
    // The store's refusal names the line and the field too.
    assert_eq!(errors[2]["field"], "features.amount", "{out}");
    let msg = v["error"].as_str().expect("error");
    assert!(
        msg.starts_with("3 of 5 events rejected; first: line 2: field \"prediction\""),
        "{msg}"
    );
    let (_, models) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(
        json(&models)["data"][0]["versions"][0]["predictions_total"],
        2
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_whole() {
    let st = state();
    st.limits.write().decode.max_body_bytes = 100;
    let (s, body) = post(&st, "/api/v1/ml/predictions", predictions(10, 1.0)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("over the limit of 100 bytes"), "{body}");
    let (_, models) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(json(&models)["data"], serde_json::json!([]));
}

#[tokio::test]
async fn labels_join_their_predictions() {
    let st = state();
    let (s, _) = post(&st, "/api/v1/ml/predictions", predictions(10, 1.0)).await;
    assert_eq!(s, StatusCode::OK);
    let labels = "{\"id\":\"p1\",\"label\":1}\n{\"id\":\"p2\",\"label\":0}\n{\"id\":\"nope\",\"label\":1}\n{\"label\":1}\n";
    let (s, out) = post(&st, "/api/v1/ml/labels", labels).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    let v = json(&out);
    assert_eq!(v["data"]["accepted"], 3);
    assert_eq!(v["data"]["joined"], 2);
    assert_eq!(v["data"]["unmatched"], 1);
    assert_eq!(v["data"]["errors"][0]["line"], 4);
    assert_eq!(v["data"]["errors"][0]["field"], "id");
    let (_, models) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(json(&models)["data"][0]["pending_labels"], 8);
}

#[tokio::test]
async fn reference_upload_and_drift_report() {
    let st = state();
    let mut csv = String::from("amount,country\n");
    for i in 0..200 {
        csv.push_str(&format!("{},{}\n", 10 + i % 20, ["DE", "FR", "US"][i % 3]));
    }
    let (s, body) = call(
        &st,
        Request::put("/api/v1/ml/models/fraud/reference?version=v1")
            .header("content-type", "text/csv")
            .body(Body::from(csv))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["data"]["model"], "fraud");
    assert_eq!(v["data"]["version"], "v1");
    assert_eq!(v["data"]["rows"], 200);
    assert_eq!(v["data"]["columns"], 2);

    // Current events far from the reference's amounts: drifted.
    let (s, _) = post(&st, "/api/v1/ml/predictions", predictions(200, 500.0)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = get(
        &st,
        &format!("/api/v1/ml/models/fraud/drift?at={}", START_MS / 1000),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    let report = &v["data"][0];
    assert_eq!(report["version"], "v1");
    assert_eq!(report["reference"], "uploaded");
    assert_eq!(report["reference_rows"], 200);
    assert_eq!(report["current_rows"], 200);
    let features = report["drift"]["features"].as_array().expect("features");
    let amount = features
        .iter()
        .find(|f| f["name"] == "amount")
        .expect("amount");
    assert_eq!(amount["drift_detected"], true, "{amount}");
    let country = features
        .iter()
        .find(|f| f["name"] == "country")
        .expect("country");
    assert_eq!(country["drift_detected"], false, "{country}");
    assert!(report["drift"]["dataset"]["n_features"] == 2, "{report}");

    let (s, body) = get(&st, "/api/v1/ml/models/nope/drift").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = get(&st, "/api/v1/ml/models/fraud/drift?at=yesterday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn references_need_not_have_every_configured_feature() {
    let st = state();
    let mut cfg = vigil_ml::MlConfig::default();
    for (name, kind) in [
        ("is_new_device", vigil_ml::ColumnKind::Categorical),
        ("zip", vigil_ml::ColumnKind::Categorical),
    ] {
        cfg.defaults.features.insert(
            name.to_owned(),
            vigil_ml::config::FeatureConfig {
                kind: Some(kind),
                ..Default::default()
            },
        );
    }
    st.ml.set_config(cfg);
    // `zip` is configured categorical and present with digits: read as categories; the
    // configured `is_new_device` is not in the file, which is fine.
    let (s, body) = call(
        &st,
        Request::put("/api/v1/ml/models/fraud/reference")
            .body(Body::from("amount,zip\n1.5,10115\n2.5,75001\n"))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["columns"], 2, "{body}");
}

#[tokio::test]
async fn malformed_references_say_where() {
    let st = state();
    let (s, body) = call(
        &st,
        Request::put("/api/v1/ml/models/fraud/reference")
            .body(Body::from("a,b\n1,2\n3\n"))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("line 3"), "{body}");
    let (s, body) = call(
        &st,
        Request::put("/api/v1/ml/models/fraud/reference")
            .body(Body::from("a,b\n"))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (_, models) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(json(&models)["data"], serde_json::json!([]), "{models}");
}

#[tokio::test]
async fn otlp_log_records_carry_prediction_events() {
    let st = state();
    let t = (START_MS * 1_000_000).to_string();
    let attr = |k: &str, v: &str| format!("{{\"key\":\"{k}\",\"value\":{v}}}");
    let record = |id: &str, prediction: &str| {
        format!(
            "{{\"timeUnixNano\":\"{t}\",\"attributes\":[{},{},{},{}]}}",
            attr("ml.prediction_id", &format!("{{\"stringValue\":\"{id}\"}}")),
            attr("ml.feature.amount", "{\"doubleValue\":12.5}"),
            attr("ml.feature.country", "{\"stringValue\":\"DE\"}"),
            prediction
        )
    };
    let body = format!(
        // The second resource has no `ml.model`: its plain log record is not an ML event.
        "{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":[{}]}},\"scopeLogs\":[{{\"logRecords\":[{},{}]}}]}},{{\"scopeLogs\":[{{\"logRecords\":[{{\"body\":{{\"stringValue\":\"plain log\"}}}}]}}]}}]}}",
        attr("ml.model", "{\"stringValue\":\"fraud\"}"),
        record("o1", &attr("ml.prediction", "{\"intValue\":\"1\"}")),
        record("o2", &attr("ml.score", "{\"doubleValue\":0.5}")),
    );
    let (s, ct, out) = call_full(
        &st,
        Request::post("/v1/logs")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(ct, "application/json");
    let v = json(&out);
    assert_eq!(v["partialSuccess"]["rejectedLogRecords"], "1", "{out}");
    assert!(
        v["partialSuccess"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("ml.prediction")),
        "{out}"
    );
    let (_, models) = get(&st, "/api/v1/ml/models").await;
    assert_eq!(
        json(&models)["data"][0]["versions"][0]["predictions_total"],
        1,
        "{models}"
    );

    let (s, _, out) = call_full(
        &st,
        Request::post("/v1/logs")
            .header("content-type", "application/json")
            .body(Body::from("{\"resourceLogs\":"))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    assert!(json(&out)["message"].is_string(), "{out}");
}

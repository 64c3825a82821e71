//! ML monitoring end to end on the real binary: the README's Python example and the
//! OpenTelemetry SDK's log exporters as clients, monitors writing series that PromQL reads,
//! delayed-label metrics landing at their prediction-time window, reports, and acknowledged
//! events surviving `kill -9`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{client, python, wait_for, Vigil};
use serde_json::Value;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

fn config(dir: &Path, text: &str) -> String {
    let p = dir.join("vigil.yml");
    std::fs::write(&p, text).expect("write config");
    p.display().to_string()
}

fn get_json(v: &Vigil, path: &str) -> Value {
    client()
        .get(v.url(path))
        .send()
        .expect("get")
        .json()
        .expect("json")
}

fn query(v: &Vigil, q: &str, at: Option<f64>) -> Vec<Value> {
    let mut params = vec![("query", q.to_owned())];
    if let Some(t) = at {
        params.push(("time", format!("{t:.3}")));
    }
    let body: Value = client()
        .get(v.url("/api/v1/query"))
        .query(&params)
        .send()
        .expect("query")
        .json()
        .expect("json");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn model<'a>(models: &'a Value, name: &str) -> Option<&'a Value> {
    models["data"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

/// `n` events of model `m`: `amount` around `mean`, `country` from three, one per 100 ms
/// ending at `end_s`.
fn events(n: usize, mean: f64, end_s: f64, id_prefix: &str) -> String {
    let mut out = String::new();
    for i in 0..n {
        let t = end_s - 0.1 * (n - i) as f64;
        let amount = mean + ((i * 7919) % 100) as f64 / 10.0;
        out.push_str(&format!(
            "{{\"model\":\"m\",\"version\":\"v1\",\"id\":\"{id_prefix}{i}\",\"timestamp\":{t:.3},\"features\":{{\"amount\":{amount},\"country\":\"{}\"}},\"prediction\":{},\"score\":0.{}}}\n",
            ["DE", "FR", "US"][i % 3],
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

/// The README's Python block, run with the test venv against a real server.
#[test]
fn readme_python_example_works() {
    let Some(py) = python() else { return };
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README");
    let start = readme
        .find("<!-- ml-python-example")
        .and_then(|i| readme[i..].find("```python\n").map(|j| i + j + 10))
        .expect("README has the marked Python example");
    let end = start + readme[start..].find("```").expect("block end");
    let code = &readme[start..end];
    assert!(
        code.lines().count() <= 12,
        "the example stays short:\n{code}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let code = code.replace("http://127.0.0.1:9900", &v.url(""));
    let out = Command::new(py)
        .arg("-c")
        .arg(&code)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("200 {'status': 'success'"), "{stdout}");
    let models = get_json(&v, "/api/v1/ml/models");
    let fraud = model(&models, "fraud").expect("fraud listed");
    assert_eq!(fraud["versions"][0]["predictions_total"], 1);
    // The label found its prediction.
    assert_eq!(fraud["pending_labels"], 0, "{fraud}");
}

/// OTLP log records with `ml.*` attributes, from the OpenTelemetry Python SDK's HTTP and gRPC
/// log exporters.
#[test]
fn otel_sdk_log_records_become_prediction_events() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let script = r#"
import logging, sys
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
kind, url = sys.argv[1], sys.argv[2]
if kind == "http":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    exporter = OTLPLogExporter(endpoint=url)
else:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    exporter = OTLPLogExporter(endpoint=url, insecure=True)
provider = LoggerProvider(resource=Resource.create({"service.name": "fraud-api", "ml.model": "otel-" + kind}))
provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
log = logging.getLogger("predictions")
log.addHandler(LoggingHandler(logger_provider=provider))
log.setLevel(logging.INFO)
log.propagate = False
for i in range(20):
    log.info("prediction", extra={"ml.version": "v1", "ml.prediction_id": f"{kind}-{i}",
        "ml.prediction": i % 2, "ml.score": 0.05 * i, "ml.feature.amount": 10.0 + i,
        "ml.feature.country": ["DE", "FR"][i % 2]})
# A plain log line without ml.model on its record: its resource has one, so it is an ML event
# without a prediction, refused and counted.
log.info("plain log line")
provider.shutdown()
"#;
    let http = format!("http://{}/v1/logs", v.otlp_http.expect("otlp http"));
    let grpc = format!("http://{}", v.otlp_grpc.expect("otlp grpc"));
    for (kind, url) in [("http", &http), ("grpc", &grpc)] {
        let out = Command::new(&py)
            .args(["-c", script, kind, url])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let models = get_json(&v, "/api/v1/ml/models");
    for kind in ["http", "grpc"] {
        let m = model(&models, &format!("otel-{kind}"))
            .unwrap_or_else(|| panic!("otel-{kind} missing: {models}"));
        assert_eq!(m["versions"][0]["name"], "v1");
        assert_eq!(m["versions"][0]["predictions_total"], 20, "{m}");
        let features: Vec<&str> = m["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert_eq!(features, ["amount", "country"], "{m}");
    }
    let metrics = v.metrics_text();
    assert!(
        metrics.contains("vigil_ml_events_total{api=\"otlp_logs\",outcome=\"accepted\"} 40"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vigil_ml_events_total{api=\"otlp_logs\",outcome=\"rejected\"} 2"),
        "{metrics}"
    );
}

/// Monitors write their series; delayed labels land at the prediction-time window; the drift
/// report and the model list answer; acknowledged events and the uploaded reference survive
/// `kill -9`.
#[test]
fn monitors_write_series_and_events_survive_kill9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        dir.path(),
        "ml:\n  defaults:\n    window: 10m\n    interval: 1s\n    reference_window: 20m\n    performance_window: 1m\n    label_horizon: 30m\n",
    );
    let data = dir.path().join("data");
    let mut v = Vigil::start(&data, &["--config", &cfg]);
    let now = now_s();
    // Reference-like traffic 20 to 15 minutes ago, drifted traffic in the last minute (gzip).
    let old = events(3000, 100.0, now - 900.0, "old");
    let r = client()
        .post(v.url("/api/v1/ml/predictions"))
        .body(old)
        .send()
        .expect("post");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    let new = events(500, 400.0, now, "new");
    let r = client()
        .post(v.url("/api/v1/ml/predictions"))
        .header("content-encoding", "gzip")
        .body(gzip(new.as_bytes()))
        .send()
        .expect("post");
    let body: Value = r.json().expect("json");
    assert_eq!(body["data"]["accepted"], 500, "{body}");
    // Labels for old predictions: every prediction right but one in ten.
    let labels: String = (0..3000)
        .map(|i| {
            let label = if i % 10 == 0 { 1 - i % 2 } else { i % 2 };
            format!("{{\"id\":\"old{i}\",\"label\":{label}}}\n")
        })
        .collect();
    let r = client()
        .post(v.url("/api/v1/ml/labels"))
        .body(labels)
        .send()
        .expect("post");
    let body: Value = r.json().expect("json");
    assert_eq!(body["data"]["joined"], 3000, "{body}");

    // Drift series, from the rolling reference.
    let drift = wait_for(Duration::from_secs(20), || {
        let r = query(&v, "ml_feature_drift_detected{model_name=\"m\"}", None);
        (r.len() == 2).then_some(r)
    })
    .expect("drift series written");
    let detected = |feature: &str| {
        drift
            .iter()
            .find(|s| s["metric"]["feature_name"] == feature)
            .map(|s| s["value"][1].clone())
    };
    assert_eq!(detected("amount"), Some(Value::from("1")), "{drift:?}");
    assert_eq!(detected("country"), Some(Value::from("0")), "{drift:?}");
    for name in [
        "ml_feature_drift_score",
        "ml_dataset_drift_share",
        "ml_feature_missing_ratio",
        "ml_predictions_total",
        "ml_data_freshness_seconds",
        "ml_prediction_score_bucket",
    ] {
        assert!(
            !query(&v, &format!("{name}{{model_name=\"m\"}}"), None).is_empty(),
            "{name} missing"
        );
    }
    // Accuracy of the old predictions' windows, written at those windows (15–20 minutes ago,
    // inside the metric store's out-of-order window), not now.
    let acc = wait_for(Duration::from_secs(20), || {
        let r = query(
            &v,
            "last_over_time(ml_model_accuracy{model_name=\"m\"}[10m])",
            Some(now - 900.0),
        );
        r.first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|x| x.parse::<f64>().ok())
    })
    .expect("accuracy written at the prediction-time window");
    assert!((acc - 0.9).abs() < 0.02, "accuracy {acc}");
    assert!(
        query(
            &v,
            "last_over_time(ml_model_accuracy{model_name=\"m\"}[5m])",
            None
        )
        .is_empty(),
        "accuracy belongs to the old windows, not to now"
    );

    // An uploaded reference replaces the rolling one.
    let mut csv = String::from("amount,country\n");
    for i in 0..1000 {
        csv.push_str(&format!("{},{}\n", 400 + i % 10, ["DE", "FR", "US"][i % 3]));
    }
    // Through the CLI, as a user uploads one.
    let file = dir.path().join("train.csv");
    std::fs::write(&file, csv).expect("write csv");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["ml", "reference", "upload"])
        .arg(&file)
        .args(["--model", "m", "--url", &v.url("")])
        .output()
        .expect("run vigil ml reference upload");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = get_json(&v, "/api/v1/ml/models/m/drift");
    let version = &report["data"][0];
    assert_eq!(version["reference"], "uploaded", "{report}");
    assert_eq!(version["reference_rows"], 1000);
    let amount = version["drift"]["features"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "amount"))
        .cloned()
        .expect("amount in the report");
    assert!(amount["method"].is_string() && amount["threshold"].is_number());
    // Both windows' histograms over the same bins, for a UI.
    let edges = amount["edges"].as_array().map_or(0, Vec::len);
    assert!(edges > 1, "{amount}");
    assert_eq!(
        amount["reference_counts"].as_array().map(Vec::len),
        Some(edges - 1)
    );
    assert_eq!(
        amount["current_counts"].as_array().map(Vec::len),
        Some(edges - 1)
    );

    // kill -9, restart on the same data: every acknowledged event and the reference are back.
    let before = get_json(&v, "/api/v1/ml/models");
    v.kill9();
    let v = Vigil::start(&data, &["--config", &cfg]);
    let after = get_json(&v, "/api/v1/ml/models");
    let (b, a) = (
        model(&before, "m").expect("m before"),
        model(&after, "m").expect("m after restart"),
    );
    assert_eq!(
        a["versions"][0]["predictions_total"], 3500,
        "after restart: {a}"
    );
    assert_eq!(a["pending_labels"], b["pending_labels"]);
    assert_eq!(a["references"][0]["rows"], 1000, "{a}");
    let report = get_json(&v, "/api/v1/ml/models/m/drift");
    assert_eq!(report["data"][0]["reference"], "uploaded", "{report}");
}

/// Refused events name their line and field; the rest of the request is kept; limits are
/// clear errors.
#[test]
fn bad_events_and_limits_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        dir.path(),
        "ml:\n  limits:\n    max_models: 1\n    max_features_per_event: 3\n",
    );
    let v = Vigil::start(dir.path(), &["--config", &cfg]);
    let body = concat!(
        "{\"model\":\"a\",\"features\":{\"x\":1},\"prediction\":1}\n",
        "{\"model\":\"a\",\"features\":{\"x\":\"one\"},\"prediction\":1}\n",
        "{\"model\":\"b\",\"features\":{\"x\":1},\"prediction\":1}\n",
        "{\"model\":\"a\",\"features\":{\"w\":1,\"x\":1,\"y\":2,\"z\":3},\"prediction\":1}\n",
        "{\"model\":\"a\",\"features\":{\"x\":NaN},\"prediction\":1}\n",
    );
    let r = client()
        .post(v.url("/api/v1/ml/predictions"))
        .body(body)
        .send()
        .expect("post");
    assert_eq!(r.status(), 400);
    let out: Value = r.json().expect("json");
    assert_eq!(out["data"]["accepted"], 1, "{out}");
    assert_eq!(out["data"]["rejected"], 4, "{out}");
    let errors = out["data"]["errors"].as_array().expect("errors");
    let line = |n: i64| {
        errors
            .iter()
            .find(|e| e["line"] == n)
            .unwrap_or_else(|| panic!("line {n} not reported: {out}"))
    };
    assert_eq!(line(2)["field"], "features.x");
    assert!(
        line(3)["error"]
            .as_str()
            .is_some_and(|e| e.contains("models limit of 1")),
        "{out}"
    );
    assert!(
        line(4)["error"].as_str().is_some_and(|e| e.contains("3")),
        "{out}"
    );
    assert!(line(5)["error"].is_string(), "{out}");
}

//! Push ingest end to end against the real binary: remote_write, text import, OTLP/HTTP JSON,
//! limits and bad bodies, durability across kill -9.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{client, export, Vigil};
use serde_json::Value;
use vigil_model::{Batch, Labels, Sample, SeriesSamples};

const T0: i64 = 1_700_000_000_000;

fn batch(series: usize, samples: usize, start: i64) -> Batch {
    let mut b = Batch::new();
    for s in 0..series {
        let labels = Labels::from_pairs([
            ("__name__", "test_metric".to_owned()),
            ("series", s.to_string()),
            ("job", "e2e".to_owned()),
        ])
        .expect("labels");
        let samples = (0..samples)
            .map(|i| Sample::new(start + i as i64 * 1000, (s * 1000 + i) as f64 + 0.25))
            .collect();
        b.series.push(SeriesSamples { labels, samples });
    }
    b
}

fn values_of(line: &Value) -> Vec<f64> {
    line["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[test]
fn remote_write_round_trip_and_read_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let b = batch(3, 10, T0);
    let r = v.remote_write(&b);
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());

    let lines = export(&v, r#"test_metric{job="e2e"}"#);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let s: usize = line["metric"]["series"]
            .as_str()
            .expect("series")
            .parse()
            .expect("int");
        let want: Vec<f64> = (0..10).map(|i| (s * 1000 + i) as f64 + 0.25).collect();
        assert_eq!(values_of(line), want);
        let ts: Vec<i64> = line["timestamps"]
            .as_array()
            .expect("ts")
            .iter()
            .map(|t| t.as_i64().expect("i64"))
            .collect();
        assert_eq!(ts, (0..10).map(|i| T0 + i * 1000).collect::<Vec<_>>());
    }

    let c = client();
    let series: Value = c
        .get(v.url("/api/v1/series"))
        .query(&[("match[]", "test_metric")])
        .send()
        .expect("series")
        .json()
        .expect("json");
    assert_eq!(series["status"], "success");
    assert_eq!(series["data"].as_array().expect("data").len(), 3);
    let labels: Value = c
        .get(v.url("/api/v1/labels"))
        .send()
        .expect("labels")
        .json()
        .expect("json");
    assert_eq!(
        labels["data"],
        serde_json::json!(["__name__", "job", "series"])
    );
    let vals: Value = c
        .get(v.url("/api/v1/label/series/values"))
        .query(&[("limit", "2")])
        .send()
        .expect("values")
        .json()
        .expect("json");
    assert_eq!(vals["data"], serde_json::json!(["0", "1"]));
    assert_eq!(vals["warnings"][0], "results truncated due to limit");
    let status: Value = c
        .get(v.url("/api/v1/status/tsdb"))
        .send()
        .expect("status")
        .json()
        .expect("json");
    assert_eq!(status["data"]["headStats"]["numSeries"], 3);
    assert_eq!(
        status["data"]["seriesCountByMetricName"][0]["name"],
        "test_metric"
    );

    // Form-encoded POST works like GET.
    let series_post: Value = c
        .post(v.url("/api/v1/series"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("match%5B%5D=test_metric%7Bseries%3D%221%22%7D")
        .send()
        .expect("series post")
        .json()
        .expect("json");
    assert_eq!(series_post["data"].as_array().expect("data").len(), 1);

    let metrics = v.metrics_text();
    assert!(
        metrics.contains("vigil_samples_ingested_total{protocol=\"remote_write\"} 30"),
        "{metrics}"
    );
}

#[test]
fn bad_bodies_get_clear_errors_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vigil.yml");
    std::fs::write(
        &cfg,
        "limits:\n  max_body_size: 64KiB\n  max_labels_per_series: 5\n",
    )
    .expect("write");
    let data = dir.path().join("data");
    let v = Vigil::start(&data, &["--config", cfg.to_str().expect("utf8")]);
    assert_eq!(v.remote_write(&batch(1, 5, T0)).status().as_u16(), 204);

    let c = client();
    let r = c
        .post(v.url("/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .body("not snappy at all")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    assert!(!r.text().expect("text").is_empty());

    let r = c
        .post(v.url("/api/v1/write"))
        .body(vec![0u8; 100 * 1024])
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 413);
    assert!(r.text().expect("text").contains("limit"));

    let mut wide = Batch::new();
    let mut pairs: Vec<(String, String)> =
        (0..8).map(|i| (format!("l{i}"), "x".to_owned())).collect();
    pairs.push(("__name__".into(), "too_wide".into()));
    wide.push(
        Labels::from_pairs(pairs).expect("labels"),
        Sample::new(T0, 1.0),
    );
    wide.series.extend(batch(1, 1, T0 + 10_000).series);
    let r = v.remote_write(&wide);
    assert_eq!(r.status().as_u16(), 400);
    let msg = r.text().expect("text");
    assert!(
        msg.contains("too_wide{") && msg.contains("more than the limit of 5"),
        "{msg}"
    );

    // The earlier data and the valid part of the mixed request are stored.
    let lines = export(&v, r#"test_metric{series="0"}"#);
    assert_eq!(lines.len(), 1);
    assert_eq!(values_of(&lines[0]).len(), 6);
    let r = c
        .get(v.url("/api/v1/series"))
        .query(&[("match[]", "up{")])
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().expect("json");
    assert_eq!(body["errorType"], "bad_data");
}

#[test]
fn import_prometheus_text_with_extra_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let body = "# TYPE batch_rows counter\nbatch_rows_total{stage=\"load\"} 42 1700000000000\nbatch_ok 1 1700000000000\n";
    let r = client()
        .post(v.url("/api/v1/import/prometheus"))
        .query(&[
            ("extra_label", "job=nightly"),
            ("extra_label", "instance=etl-1"),
        ])
        .body(body)
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());
    let lines = export(&v, r#"{job="nightly"}"#);
    assert_eq!(lines.len(), 2);
    let rows = lines
        .iter()
        .find(|l| l["metric"]["__name__"] == "batch_rows_total")
        .expect("rows");
    assert_eq!(rows["metric"]["instance"], "etl-1");
    assert_eq!(values_of(rows), vec![42.0]);

    let r = client()
        .post(v.url("/api/v1/import/prometheus"))
        .body("ok 1\nbroken{ 2\n")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().expect("text").contains("line 2"));
}

#[test]
fn otlp_http_json_on_both_ports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let body = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"service.instance.id","value":{"stringValue":"pod-1"}}]},"scopeMetrics":[{"scope":{"name":"demo"},"metrics":[{"name":"queue.depth","unit":"1","gauge":{"dataPoints":[{"asInt":"7","timeUnixNano":"1700000000000000000"}]}}]}]}]}"#;
    for base in [
        v.url(""),
        format!("http://{}", v.otlp_http.expect("otlp http")),
    ] {
        let r = client()
            .post(format!("{base}/v1/metrics"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .expect("post");
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap_or_default());
    }
    let lines = export(&v, r#"{job="checkout"}"#);
    assert!(!lines.is_empty(), "nothing stored under job=checkout");
    assert!(lines.iter().any(|l| l["metric"]["instance"] == "pod-1"));

    let r = client()
        .post(v.url("/v1/metrics"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    let status: Value = r.json().expect("status json");
    assert_eq!(status["code"], 3);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = Vigil::start(dir.path(), &[]);
    let url = v.url("/api/v1/write");
    let acked: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let acked = acked.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let c = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            // Bounded: at most 2000 requests of 100 series × 1 sample.
            for step in 0..2000i64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let ts = T0 + step * 1000;
                let body = vigil_codec::remote_write::encode(&batch(100, 1, ts));
                match c
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .body(body)
                    .send()
                {
                    Ok(r) if r.status().as_u16() == 204 => acked.lock().expect("lock").push(ts),
                    _ => break,
                }
            }
        })
    };
    let got_some = common::wait_for(Duration::from_secs(30), || {
        (acked.lock().expect("lock").len() >= 200).then_some(())
    });
    v.kill9();
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(
        got_some.is_some(),
        "writer made too little progress before the kill"
    );
    let acked = acked.lock().expect("lock").clone();

    let v = Vigil::start(dir.path(), &[]);
    let lines = export(&v, "test_metric");
    assert_eq!(lines.len(), 100, "every series is back");
    for line in &lines {
        let ts: std::collections::HashSet<i64> = line["timestamps"]
            .as_array()
            .expect("ts")
            .iter()
            .map(|t| t.as_i64().expect("i64"))
            .collect();
        for t in &acked {
            assert!(
                ts.contains(t),
                "acknowledged sample at {t} of {} lost",
                line["metric"]
            );
        }
    }
    eprintln!(
        "kill -9: {} acknowledged requests, all {} samples found after restart",
        acked.len(),
        acked.len() * 100
    );
}

#[test]
fn sigterm_shuts_down_cleanly_and_data_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = Vigil::start(dir.path(), &[]);
    assert_eq!(v.remote_write(&batch(2, 20, T0)).status().as_u16(), 204);
    assert!(v.stop(), "clean exit on SIGTERM; log:\n{}", v.log_text());
    let v = Vigil::start(dir.path(), &[]);
    let lines = export(&v, "test_metric");
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| values_of(l).len() == 20));
}

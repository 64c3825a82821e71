//! Compatibility with real clients and real peers: Python `prometheus_client` scraped,
//! `prometheus-node-exporter` scraped, the OpenTelemetry Python SDK pushing over OTLP/HTTP and
//! gRPC, Debian's Prometheus 2.42 remote_writing to Vigil and scraping the same exposition
//! bodies as Vigil. `scripts/test.sh` installs every peer; without them these tests print
//! `skipped: …` (and fail when VIGIL_REQUIRE_PEERS=1).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    client, export, free_port, peer, python, start_prometheus, wait_for, Proc, StaticServer, Vigil,
};
use serde_json::Value;

type Series = BTreeMap<String, String>;

fn labels_of(v: &Value) -> Series {
    v.as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string label").to_owned()))
        .collect()
}

/// Parses a value as Prometheus or Vigil's export writes it.
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "StaleNaN" => None,
            "NaN" => Some(f64::NAN),
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// Last non-stale value of every exported series.
fn vigil_latest(v: &Vigil, selector: &str) -> BTreeMap<Series, f64> {
    export(v, selector)
        .iter()
        .filter_map(|l| {
            let last = l["values"].as_array()?.iter().rev().find_map(num)?;
            Some((labels_of(&l["metric"]), last))
        })
        .collect()
}

fn config_file(dir: &std::path::Path, text: &str) -> String {
    let p = dir.join("vigil.yml");
    std::fs::write(&p, text).expect("write config");
    p.display().to_string()
}

#[test]
fn python_prometheus_client_is_scraped_exactly() {
    let Some(py) = python() else { return };
    let script = r#"
import json, sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, start_http_server
reg = CollectorRegistry()
c = Counter('ml_requests', 'Requests served', ['model', 'status'], registry=reg)
g = Gauge('ml_queue_depth', 'Queue depth', ['model'], registry=reg)
h = Histogram('ml_latency_seconds', 'Latency', ['model'], buckets=[0.01, 0.1, 1.0], registry=reg)
s = Summary('ml_payload_bytes', 'Payload size', ['model'], registry=reg)
c.labels('fraud', 'ok').inc(41)
c.labels('fraud', 'error').inc(2.5)
g.labels('fraud').set(-3.25)
for v in (0.005, 0.05, 0.5, 5):
    h.labels('fraud').observe(v)
s.labels('fraud').observe(1024)
s.labels('fraud').observe(2048)
server, _ = start_http_server(0, addr='127.0.0.1', registry=reg)
expected = [{"name": smp.name, "labels": smp.labels, "value": smp.value} for fam in reg.collect() for smp in fam.samples]
print(json.dumps({"port": server.server_port, "samples": expected}), flush=True)
sys.stdin.read()
"#;
    let mut child = Command::new(py)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn python");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let _stdin = child.stdin.take();
    let _py = Proc(child);
    let info: Value = serde_json::from_str(&line).expect("python output");
    let port = info["port"].as_u64().expect("port");

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_file(
        dir.path(),
        &format!("scrape_configs:\n  - job_name: py\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    );
    let v = Vigil::start(&dir.path().join("data"), &["--config", &cfg]);
    let expected = info["samples"].as_array().expect("samples");
    let stored = wait_for(Duration::from_secs(20), || {
        let m = vigil_latest(&v, r#"{job="py"}"#);
        (m.len() >= expected.len()).then_some(m)
    })
    .unwrap_or_else(|| {
        panic!(
            "scrape did not store the samples: {:?}",
            vigil_latest(&v, r#"{job="py"}"#)
        )
    });

    for e in expected {
        let mut want: Series = labels_of(&e["labels"]);
        want.insert(
            "__name__".into(),
            e["name"].as_str().expect("name").to_owned(),
        );
        want.insert("job".into(), "py".into());
        want.insert("instance".into(), format!("127.0.0.1:{port}"));
        let got = stored
            .get(&want)
            .unwrap_or_else(|| panic!("series {want:?} missing; stored: {:?}", stored.keys()));
        let wv = e["value"].as_f64().expect("value");
        assert!(same(*got, wv), "{want:?}: stored {got}, exposed {wv}");
    }
    let up = stored
        .iter()
        .find(|(l, _)| l.get("__name__").map(String::as_str) == Some("up"))
        .expect("up series");
    assert_eq!(*up.1, 1.0);
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert!(
            stored
                .keys()
                .any(|l| l.get("__name__").map(String::as_str) == Some(name)),
            "{name} missing"
        );
    }
    let targets: Value = client()
        .get(v.url("/api/v1/targets"))
        .send()
        .expect("targets")
        .json()
        .expect("json");
    let t = &targets["data"]["activeTargets"][0];
    assert_eq!(t["health"], "up", "{t}");
    assert_eq!(t["scrapeUrl"], format!("http://127.0.0.1:{port}/metrics"));
    eprintln!(
        "prometheus_client: {} exposed samples stored exactly",
        expected.len()
    );
}

#[test]
fn node_exporter_is_scraped() {
    let Some(bin) = peer("VIGIL_NODE_EXPORTER", "/usr/bin/prometheus-node-exporter") else {
        return;
    };
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node exporter");
    let _ne = Proc(child);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_file(
        dir.path(),
        &format!("scrape_configs:\n  - job_name: node\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    );
    let v = Vigil::start(&dir.path().join("data"), &["--config", &cfg]);
    let up = wait_for(Duration::from_secs(20), || {
        vigil_latest(&v, r#"up{job="node"}"#)
            .into_values()
            .next()
            .filter(|u| *u == 1.0)
    });
    assert_eq!(
        up,
        Some(1.0),
        "node exporter not scraped; log:\n{}",
        v.log_text()
    );
    let scraped = vigil_latest(&v, r#"scrape_samples_scraped{job="node"}"#)
        .into_values()
        .next()
        .expect("scraped");
    let nodes = vigil_latest(&v, r#"{__name__=~"node_.+",job="node"}"#);
    assert!(
        scraped > 100.0 && nodes.len() > 100,
        "scraped {scraped}, node_ series {}",
        nodes.len()
    );
    eprintln!(
        "node exporter: {scraped} samples per scrape, {} node_* series",
        nodes.len()
    );
}

fn run_otel(py: &std::path::Path, mode: &str, endpoint: &str, instance: &str) {
    let script = r#"
import sys
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import View, ExplicitBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource
mode, endpoint, instance = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == 'http':
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    exporter = OTLPMetricExporter(endpoint=endpoint)
else:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True)
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3600000)
resource = Resource.create({"service.name": "fraud-api", "service.namespace": "ml", "service.instance.id": instance, "deployment.environment": "prod"})
provider = MeterProvider(resource=resource, metric_readers=[reader],
    views=[View(instrument_name="inference.duration", aggregation=ExplicitBucketHistogramAggregation([0.01, 0.1, 1.0]))])
meter = provider.get_meter("fraud.scorer", "1.2.0")
meter.create_counter("predictions", unit="{prediction}", description="Predictions made").add(5, {"model": "fraud", "outcome": "ok"})
meter.create_gauge("model.accuracy", unit="1").set(0.93, {"model": "fraud"})
h = meter.create_histogram("inference.duration", unit="s")
for v in (0.005, 0.05, 0.5, 2.0):
    h.record(v, {"model": "fraud"})
ok = provider.force_flush(10000)
provider.shutdown()
sys.exit(0 if ok else 3)
"#;
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args([mode, endpoint, instance])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "otel {mode} export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Failed to export"), "otel {mode}: {err}");
}

#[test]
fn opentelemetry_sdk_pushes_over_http_and_grpc() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let http = format!("http://{}/v1/metrics", v.otlp_http.expect("otlp http"));
    let grpc = format!("http://{}", v.otlp_grpc.expect("otlp grpc"));
    run_otel(&py, "http", &http, "pod-http");
    run_otel(&py, "grpc", &grpc, "pod-grpc");
    for instance in ["pod-http", "pod-grpc"] {
        let sel = format!(r#"{{job="ml/fraud-api",instance="{instance}"}}"#);
        let got = vigil_latest(&v, &sel);
        let find = |name: &str, extra: &[(&str, &str)]| -> f64 {
            *got.iter()
                .find(|(l, _)| {
                    l.get("__name__").map(String::as_str) == Some(name)
                        && extra
                            .iter()
                            .all(|(k, val)| l.get(*k).map(String::as_str) == Some(*val))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{instance}: {name}{extra:?} missing; stored {:?}",
                        got.keys()
                    )
                })
                .1
        };
        assert_eq!(
            find(
                "predictions_total",
                &[("model", "fraud"), ("outcome", "ok")]
            ),
            5.0
        );
        assert_eq!(find("model_accuracy_ratio", &[("model", "fraud")]), 0.93);
        assert_eq!(
            find("inference_duration_seconds_bucket", &[("le", "0.01")]),
            1.0
        );
        assert_eq!(
            find("inference_duration_seconds_bucket", &[("le", "0.1")]),
            2.0
        );
        assert_eq!(
            find("inference_duration_seconds_bucket", &[("le", "1")]),
            3.0
        );
        assert_eq!(
            find("inference_duration_seconds_bucket", &[("le", "+Inf")]),
            4.0
        );
        assert_eq!(find("inference_duration_seconds_count", &[]), 4.0);
        assert!((find("inference_duration_seconds_sum", &[]) - 2.555).abs() < 1e-12);
        assert_eq!(
            find("target_info", &[("deployment_environment", "prod")]),
            1.0
        );
    }
}

/// Prometheus's raw samples for every series: `{__name__=~".+"}[1h]` at `at_ms`.
fn prometheus_raw(base: &str, at_ms: i64) -> BTreeMap<Series, Vec<(i64, f64)>> {
    let r: Value = client()
        .get(format!("{base}/api/v1/query"))
        .query(&[
            ("query", r#"{__name__=~".+"}[1h]"#),
            ("time", &format!("{}", at_ms as f64 / 1000.0)),
        ])
        .send()
        .expect("query")
        .json()
        .expect("json");
    assert_eq!(r["status"], "success", "{r}");
    r["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|s| {
            let pts = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    (
                        (p[0].as_f64().expect("t") * 1000.0).round() as i64,
                        num(&p[1]).expect("value"),
                    )
                })
                .collect();
            (labels_of(&s["metric"]), pts)
        })
        .collect()
}

#[test]
fn prometheus_remote_write_matches_prometheus_storage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(&dir.path().join("vigil"), &[]);
    let testdata = std::path::PathBuf::from(
        std::env::var("VIGIL_TESTDATA").unwrap_or_else(|_| "../../../shared/testdata".into()),
    );
    let body = match std::fs::read(testdata.join("exposition/alltypes.237mfs.prom.txt")) {
        Ok(b) => b,
        Err(e) => {
            assert!(!common::peers_required(), "testdata missing: {e}");
            eprintln!("skipped: exposition testdata not found ({e})");
            return;
        }
    };
    let target = StaticServer::start("text/plain; version=0.0.4", body);
    let prom_dir = dir.path().join("prom");
    std::fs::create_dir_all(&prom_dir).expect("mkdir");
    let cfg = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: expo\n    static_configs:\n      - targets: ['{}']\nremote_write:\n  - url: {}\n    queue_config:\n      batch_send_deadline: 1s\n",
        target.addr,
        v.url("/api/v1/write")
    );
    let Some((_prom, base)) = start_prometheus(&prom_dir, &cfg) else {
        return;
    };
    // Prometheus applies targets on a 5 s tick, then scrapes every second; compare everything
    // up to a cutoff once remote write has delivered it (it sends from its WAL, in order).
    std::thread::sleep(Duration::from_secs(12));
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let cutoff = now_ms - 2000;
    let compare = || -> Result<(usize, usize), String> {
        let reference = prometheus_raw(&base, cutoff);
        if reference.len() < 200 {
            return Err(format!("prometheus stored only {} series", reference.len()));
        }
        let mut ours: BTreeMap<Series, Vec<(i64, f64)>> = BTreeMap::new();
        let lines = client()
            .get(v.url("/api/v1/export"))
            .query(&[
                ("match[]", r#"{__name__=~".+"}"#),
                ("end", &format!("{}", cutoff as f64 / 1000.0)),
            ])
            .send()
            .map_err(|e| e.to_string())?
            .text()
            .map_err(|e| e.to_string())?;
        for l in lines.lines() {
            let l: Value = serde_json::from_str(l).map_err(|e| e.to_string())?;
            let pts: Vec<(i64, f64)> = l["timestamps"]
                .as_array()
                .expect("ts")
                .iter()
                .zip(l["values"].as_array().expect("values"))
                .filter_map(|(t, v)| Some((t.as_i64()?, num(v)?)))
                .collect();
            ours.insert(labels_of(&l["metric"]), pts);
        }
        let mut mismatches = Vec::new();
        let mut compared = 0usize;
        for (labels, pts) in &reference {
            match ours.get(labels) {
                None => mismatches.push(format!("missing series {labels:?}")),
                Some(got) => {
                    compared += pts.len();
                    if got.len() != pts.len()
                        || got
                            .iter()
                            .zip(pts)
                            .any(|(a, b)| a.0 != b.0 || !same(a.1, b.1))
                    {
                        mismatches.push(format!("{labels:?}: prometheus {pts:?} vigil {got:?}"));
                    }
                }
            }
        }
        let extra: Vec<_> = ours
            .keys()
            .filter(|k| !reference.contains_key(*k))
            .take(3)
            .collect();
        if !mismatches.is_empty() || !extra.is_empty() {
            return Err(format!(
                "{} mismatches, first: {:?}; only in vigil: {extra:?}",
                mismatches.len(),
                mismatches.first()
            ));
        }
        Ok((reference.len(), compared))
    };
    let mut last = Err(String::new());
    for _ in 0..30 {
        last = compare();
        if last.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let (series, compared) = last.expect("vigil holds exactly what prometheus stored");
    eprintln!("remote_write from prometheus 2.42: {series} series, {compared} samples identical");
}

/// Series and values that Prometheus 2.42 stores when scraping each exposition body, against
/// the same from Vigil's own scraper. Timestamps differ (separate scrapes); the bodies are static.
#[test]
fn exposition_bodies_scrape_like_prometheus() {
    let testdata = std::path::PathBuf::from(
        std::env::var("VIGIL_TESTDATA").unwrap_or_else(|_| "../../../shared/testdata".into()),
    );
    let dir_entries = match std::fs::read_dir(testdata.join("exposition")) {
        Ok(d) => d,
        Err(e) => {
            assert!(!common::peers_required(), "testdata missing: {e}");
            eprintln!("skipped: exposition testdata not found ({e})");
            return;
        }
    };
    let mut servers = Vec::new();
    for e in dir_entries {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let ct = if name.ends_with(".om.txt") {
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        } else {
            "text/plain; version=0.0.4; charset=utf-8"
        };
        servers.push((
            name,
            StaticServer::start(ct, std::fs::read(&p).expect("read body")),
        ));
    }
    servers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut jobs = String::new();
    for (i, (_, s)) in servers.iter().enumerate() {
        jobs.push_str(&format!(
            "  - job_name: body{i}\n    static_configs:\n      - targets: ['{}']\n",
            s.addr
        ));
    }
    let cfg = format!("global:\n  scrape_interval: 1s\nscrape_configs:\n{jobs}");
    let dir = tempfile::tempdir().expect("tempdir");
    let prom_dir = dir.path().join("prom");
    std::fs::create_dir_all(&prom_dir).expect("mkdir");
    let Some((_prom, base)) = start_prometheus(&prom_dir, &cfg) else {
        return;
    };
    let vcfg = config_file(dir.path(), &cfg);
    let v = Vigil::start(&dir.path().join("vigil"), &["--config", &vcfg]);
    // Prometheus applies discovered targets on a 5 s tick: wait until every job has been
    // scraped at least twice by both.
    let n = servers.len();
    let scraped_twice = wait_for(Duration::from_secs(40), || {
        let r: Value = client()
            .get(format!("{base}/api/v1/query"))
            .query(&[("query", "count(count_over_time(up[1m]) >= 2)")])
            .send()
            .ok()?
            .json()
            .ok()?;
        let prom_n = num(&r["data"]["result"][0]["value"][1])?;
        let ours = export(&v, "up")
            .iter()
            .filter(|l| l["values"].as_array().is_some_and(|a| a.len() >= 2))
            .count();
        (prom_n as usize == n && ours == n).then_some(())
    });
    assert!(
        scraped_twice.is_some(),
        "targets not scraped twice by both within 40 s"
    );
    let varying = ["scrape_duration_seconds", "scrape_series_added"];
    let mut total = 0;
    let prom_targets = client()
        .get(format!("{base}/api/v1/targets"))
        .send()
        .expect("targets")
        .text()
        .expect("text");
    for (i, (name, _)) in servers.iter().enumerate() {
        let job = format!("body{i}");
        let r: Value = client()
            .get(format!("{base}/api/v1/query"))
            .query(&[("query", format!(r#"{{job="{job}"}}"#))])
            .send()
            .expect("query")
            .json()
            .expect("json");
        let reference: BTreeMap<Series, f64> = r["data"]["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|s| (labels_of(&s["metric"]), num(&s["value"][1]).expect("value")))
            .collect();
        let ours = vigil_latest(&v, &format!(r#"{{job="{job}"}}"#));
        let ref_keys: BTreeSet<_> = reference.keys().collect();
        let our_keys: BTreeSet<_> = ours.keys().collect();
        let only_ref: Vec<_> = ref_keys.difference(&our_keys).take(5).collect();
        let only_ours: Vec<_> = our_keys.difference(&ref_keys).take(5).collect();
        assert!(
            only_ref.is_empty() && only_ours.is_empty(),
            "{name}: prometheus {} series, vigil {}; only in prometheus {only_ref:?}; only in vigil {only_ours:?}; prometheus targets: {prom_targets}",
            reference.len(),
            ours.len()
        );
        for (l, want) in &reference {
            let metric = l.get("__name__").map(String::as_str).unwrap_or("");
            if varying.contains(&metric) {
                continue;
            }
            let got = ours[l];
            assert!(
                same(got, *want),
                "{name}: {l:?} prometheus {want} vigil {got}"
            );
        }
        total += reference.len();
        eprintln!(
            "{name}: {} series identical to prometheus 2.42",
            reference.len()
        );
    }
    assert!(total > 250);
    let _ = std::io::stderr().flush();
}

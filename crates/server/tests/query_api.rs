//! Prometheus's query API end to end against the real binary: instant and range queries (GET
//! and form POST), their JSON shapes and error wording, format/parse/exemplars, metadata from
//! pushes and scrapes, the status endpoints, federation, the calls Grafana's Prometheus data
//! source makes, and the query limits (queueing beyond `max_concurrency`, `max_samples` → 422,
//! `timeout` → 503, limits applied by reload).

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{client, wait_for, StaticServer, Vigil};
use serde_json::{json, Value};
use vigil_model::{Batch, Labels, MetricMetadata, MetricType, Sample, SeriesSamples, STALE_NAN};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("clock after 1970")
}

/// Seconds as the API writes them (`1435781451.5`).
fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

struct Server {
    _dir: tempfile::TempDir,
    cfg: PathBuf,
    v: Vigil,
}

/// A server with `config` as its config file.
fn start(config: &str) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vigil.yml");
    std::fs::write(&cfg, config).expect("write config");
    let v = Vigil::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("utf8 path")],
    );
    Server { _dir: dir, cfg, v }
}

fn get(v: &Vigil, path: &str, q: &[(&str, &str)]) -> (u16, String) {
    let r = client().get(v.url(path)).query(q).send().expect("get");
    (r.status().as_u16(), r.text().expect("body"))
}

fn post(v: &Vigil, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = client().post(v.url(path)).form(form).send().expect("post");
    (r.status().as_u16(), r.text().expect("body"))
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("labels")
}

/// `vq_requests_total{job="api",instance="a"|"b"}`: one sample every 15 s over 4 minutes
/// ending at the returned time (`a`: 0, 10, 20 … 160; `b`: 1000 more), with its metadata.
fn push_requests(v: &Vigil) -> (i64, i64) {
    let last = now_ms() / 1000 * 1000;
    let first = last - 16 * 15_000;
    let mut b = Batch::new();
    for (inst, base) in [("a", 0.0), ("b", 1000.0)] {
        b.series.push(SeriesSamples {
            labels: labels(&[
                ("__name__", "vq_requests_total"),
                ("instance", inst),
                ("job", "api"),
            ]),
            samples: (0..=16)
                .map(|i| Sample::new(first + i * 15_000, base + 10.0 * i as f64))
                .collect(),
        });
    }
    b.metadata.push(MetricMetadata {
        metric_family: "vq_requests_total".into(),
        metric_type: MetricType::Counter,
        help: "Requests served.".into(),
        unit: String::new(),
    });
    let r = v.remote_write(&b);
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());
    (first, last)
}

/// `vq_load{series="0".."49"}`: one sample every 5 s over the last 50 minutes, enough for
/// queries that take a while to evaluate.
fn push_load(v: &Vigil) -> (i64, i64) {
    let last = now_ms() / 1000 * 1000;
    let n = 600;
    let first = last - (n - 1) * 5000;
    let mut b = Batch::new();
    for s in 0..50i64 {
        b.series.push(SeriesSamples {
            labels: labels(&[("__name__", "vq_load"), ("series", &s.to_string())]),
            samples: (0..n)
                .map(|i| Sample::new(first + i * 5000, (i * (s + 1)) as f64))
                .collect(),
        });
    }
    let r = v.remote_write(&b);
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());
    (first, last)
}

/// A query that takes a noticeable time on this data: a one-second-step subquery over 45
/// minutes of 50 series.
const SLOW_QUERY: &str = "max_over_time(sum(rate(vq_load[5m]))[45m:1s])";

fn assert_error(status_body: (u16, String), code: u16, error_type: &str, message: &str) {
    let (s, body) = status_body;
    assert_eq!(s, code, "{body}");
    assert_eq!(
        parse(&body),
        json!({"status": "error", "errorType": error_type, "error": message}),
        "{body}"
    );
}

#[test]
fn instant_and_range_queries_have_prometheus_shapes() {
    let srv = start("");
    let v = &srv.v;
    let (first, last) = push_requests(v);

    // Grafana's "Save & test" query, byte for byte as Prometheus answers it.
    let (s, body) = post(v, "/api/v1/query", &[("query", "1+1"), ("time", "4")]);
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
    let (s, body) = get(v, "/api/v1/query", &[("query", r#""hi""#), ("time", "1.5")]);
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"string","result":[1.5,"hi"]}}"#
    );

    let t = secs(last);
    let (s, body) = get(
        v,
        "/api/v1/query",
        &[("query", "sum(vq_requests_total)"), ("time", &t)],
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[{t},"1320"]}}]}}}}"#
        )
    );
    // Time defaults to now; a form POST works the same as GET.
    let (s, body) = post(v, "/api/v1/query", &[("query", "vq_requests_total")]);
    assert_eq!(s, 200, "{body}");
    let mut got: Vec<(String, String)> = parse(&body)["data"]["result"]
        .as_array()
        .expect("vector")
        .iter()
        .map(|r| {
            assert_eq!(r["metric"]["__name__"], "vq_requests_total");
            (
                r["metric"]["instance"]
                    .as_str()
                    .expect("instance")
                    .to_owned(),
                r["value"][1].as_str().expect("value string").to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("a".to_owned(), "160".to_owned()),
            ("b".to_owned(), "1160".to_owned())
        ]
    );

    // A range selector in an instant query is a matrix of raw samples.
    let (s, body) = get(
        v,
        "/api/v1/query",
        &[
            ("query", r#"vq_requests_total{instance="a"}[30s]"#),
            ("time", &t),
        ],
    );
    assert_eq!(s, 200, "{body}");
    let d = parse(&body)["data"].clone();
    assert_eq!(d["resultType"], "matrix");
    assert_eq!(
        d["result"][0]["values"],
        json!([[(last - 15_000) / 1000, "150"], [last / 1000, "160"]])
    );

    let range = [
        ("query", "sum(vq_requests_total)"),
        ("start", &secs(first)),
        ("end", &t),
        ("step", "1m"),
    ];
    for (s, body) in [
        get(v, "/api/v1/query_range", &range),
        post(v, "/api/v1/query_range", &range),
    ] {
        assert_eq!(s, 200, "{body}");
        let points: Vec<String> = (0..5)
            .map(|i| format!(r#"[{},"{}"]"#, secs(first + i * 60_000), 1000 + 80 * i))
            .collect();
        assert_eq!(
            body,
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
                points.join(",")
            )
        );
    }

    // `limit` truncates with Prometheus's warning; `stats` adds the statistics object.
    let (s, body) = get(
        v,
        "/api/v1/query",
        &[
            ("query", "vq_requests_total"),
            ("time", &t),
            ("limit", "1"),
            ("stats", "true"),
        ],
    );
    assert_eq!(s, 200, "{body}");
    let b = parse(&body);
    assert_eq!(b["data"]["result"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["warnings"], json!(["results truncated due to limit"]));
    assert!(
        b["data"]["stats"]["timings"]["execTotalTime"].is_number(),
        "{body}"
    );
    assert!(
        b["data"]["stats"]["samples"]["totalQueryableSamples"].is_number(),
        "{body}"
    );
}

#[test]
fn query_errors_are_worded_as_prometheus_words_them() {
    let srv = start("");
    let v = &srv.v;
    let e = |q: &[(&str, &str)], path: &str| get(v, path, q);
    let (s, body) = e(&[("query", "1+")], "/api/v1/query");
    assert_eq!(s, 400, "{body}");
    let b = parse(&body);
    assert_eq!(b["errorType"], "bad_data");
    let msg = b["error"].as_str().expect("error");
    assert!(
        msg.starts_with("invalid parameter \"query\": 1:") && msg.contains("parse error"),
        "{msg}"
    );
    assert_error(
        e(&[("query", "up"), ("time", "yesterday")], "/api/v1/query"),
        400,
        "bad_data",
        "invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp",
    );
    assert_error(
        e(&[("query", "up"), ("timeout", "abc")], "/api/v1/query"),
        400,
        "bad_data",
        "invalid parameter \"timeout\": cannot parse \"abc\" to a valid duration",
    );
    assert_error(
        e(&[("query", "up")], "/api/v1/query_range"),
        400,
        "bad_data",
        "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
    );
    assert_error(
        e(
            &[("query", "up"), ("start", "1"), ("end", "2")],
            "/api/v1/query_range",
        ),
        400,
        "bad_data",
        "invalid parameter \"step\": cannot parse \"\" to a valid duration",
    );
    assert_error(
        e(
            &[("query", "up"), ("start", "1"), ("end", "2"), ("step", "0")],
            "/api/v1/query_range",
        ),
        400,
        "bad_data",
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
    );
    assert_error(
        e(
            &[("query", "up"), ("start", "2"), ("end", "1"), ("step", "1")],
            "/api/v1/query_range",
        ),
        400,
        "bad_data",
        "invalid parameter \"end\": end timestamp must not be before start time",
    );
    assert_error(
        e(
            &[("query", "up"), ("start", "0"), ("end", "11001"), ("step", "1")],
            "/api/v1/query_range",
        ),
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    assert_error(
        e(
            &[("query", "up[5m]"), ("start", "1"), ("end", "2"), ("step", "1")],
            "/api/v1/query_range",
        ),
        400,
        "bad_data",
        "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
    );
    assert_error(
        e(&[("query", "up"), ("lookback_delta", "x")], "/api/v1/query"),
        400,
        "bad_data",
        "error parsing lookback delta duration: cannot parse \"x\" to a valid duration",
    );
    // RFC 3339 times and Prometheus durations are accepted wherever numbers are.
    let (s, body) = e(
        &[
            ("query", "1"),
            ("start", "2015-07-01T20:10:30.781Z"),
            ("end", "2015-07-01T22:10:51.781+02:00"),
            ("step", "15s"),
        ],
        "/api/v1/query_range",
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        parse(&body)["data"]["result"][0]["values"][0][0],
        json!(1435781430.781)
    );
}

#[test]
fn format_parse_and_exemplars() {
    let srv = start("");
    let v = &srv.v;
    let (s, body) = get(
        v,
        "/api/v1/format_query",
        &[("query", "sum(rate(foo[5m]))by(job)")],
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":"sum by (job) (rate(foo[5m]))"}"#
    );
    let (s, body) = post(v, "/api/v1/format_query", &[("query", "sum(")]);
    assert_eq!(s, 400, "{body}");
    assert!(
        parse(&body)["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid parameter \"query\": 1:")),
        "{body}"
    );

    let (s, body) = get(
        v,
        "/api/v1/parse_query",
        &[("query", r#"rate(up{job="a"}[5m]) > 1"#)],
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        parse(&body)["data"],
        json!({
            "type": "binaryExpr",
            "op": ">",
            "bool": false,
            "matching": null,
            "lhs": {
                "type": "call",
                "func": {"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"},
                "args": [{
                    "type": "matrixSelector",
                    "name": "up",
                    "range": 300000,
                    "offset": 0,
                    "timestamp": null,
                    "startOrEnd": null,
                    "matchers": [
                        {"name": "job", "type": "=", "value": "a"},
                        {"name": "__name__", "type": "=", "value": "up"},
                    ],
                }],
            },
            "rhs": {"type": "numberLiteral", "val": "1"},
        })
    );

    let (s, body) = post(
        v,
        "/api/v1/query_exemplars",
        &[("query", "up"), ("start", "1"), ("end", "2")],
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body, r#"{"status":"success","data":[]}"#);
    assert_error(
        get(
            v,
            "/api/v1/query_exemplars",
            &[("query", "up"), ("start", "2"), ("end", "1")],
        ),
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
    let (s, body) = get(v, "/api/v1/query_exemplars", &[("query", "up(")]);
    assert_eq!(s, 400, "{body}");
    assert!(
        parse(&body)["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("1:") && m.contains("parse error")),
        "{body}"
    );
}

#[test]
fn metadata_comes_from_pushes_and_scrapes() {
    let target = StaticServer::start(
        "text/plain; version=0.0.4",
        b"# HELP vq_up Whether the app is up.\n# TYPE vq_up gauge\nvq_up 1\n".to_vec(),
    );
    let srv = start(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{}']\n",
        target.addr
    ));
    let v = &srv.v;
    push_requests(v);
    let r = client()
        .post(v.url("/api/v1/import/prometheus"))
        .body("# HELP vq_imported_bytes Bytes imported.\n# TYPE vq_imported_bytes gauge\nvq_imported_bytes 3\n")
        .send()
        .expect("import");
    assert_eq!(r.status().as_u16(), 204);

    let all = wait_for(Duration::from_secs(15), || {
        let (s, body) = get(v, "/api/v1/metadata", &[]);
        assert_eq!(s, 200, "{body}");
        let d = parse(&body)["data"].clone();
        d.get("vq_up").is_some().then_some(d)
    })
    .expect("scraped metadata appears");
    assert_eq!(
        all["vq_up"],
        json!([{"type": "gauge", "help": "Whether the app is up.", "unit": ""}])
    );
    assert_eq!(
        all["vq_requests_total"],
        json!([{"type": "counter", "help": "Requests served.", "unit": ""}])
    );
    assert_eq!(all["vq_imported_bytes"][0]["type"], "gauge");

    let (_, body) = get(v, "/api/v1/metadata", &[("metric", "vq_requests_total")]);
    let d = parse(&body)["data"].clone();
    assert_eq!(d.as_object().map(|o| o.len()), Some(1), "{body}");
    let (_, body) = get(v, "/api/v1/metadata", &[("limit", "1")]);
    assert_eq!(parse(&body)["data"].as_object().map(|o| o.len()), Some(1));
    assert_eq!(
        get(v, "/api/v1/metadata", &[("limit", "0")]).1,
        r#"{"status":"success","data":{}}"#
    );
    assert_error(
        get(v, "/api/v1/metadata", &[("limit", "abc")]),
        400,
        "bad_data",
        "limit must be a number",
    );
    assert_error(
        get(v, "/api/v1/metadata", &[("limit_per_metric", "x")]),
        400,
        "bad_data",
        "limit_per_metric must be a number",
    );
}

#[test]
fn status_endpoints_report_build_runtime_flags_and_masked_config() {
    let srv = start(
        "global:\n  external_labels:\n    dc: eu\nquery:\n  timeout: 30s\nscrape_configs:\n  - job_name: secret\n    basic_auth:\n      username: me\n      password: hunter2\n    static_configs:\n      - targets: ['127.0.0.1:1']\n",
    );
    let v = &srv.v;
    let (s, body) = get(v, "/api/v1/status/buildinfo", &[]);
    assert_eq!(s, 200, "{body}");
    let d = &parse(&body)["data"];
    for k in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(d[k].is_string(), "{k} in {body}");
    }
    assert_eq!(d["version"], "3.0.0");
    assert_eq!(d["vigilVersion"], env!("CARGO_PKG_VERSION"));

    let (s, body) = get(v, "/api/v1/status/runtimeinfo", &[]);
    assert_eq!(s, 200, "{body}");
    let d = &parse(&body)["data"];
    assert_eq!(d["reloadConfigSuccess"], true);
    assert_eq!(d["storageRetention"], "15d");
    for k in [
        "startTime",
        "CWD",
        "serverTime",
        "lastConfigTime",
        "goroutineCount",
        "GOMAXPROCS",
    ] {
        assert!(!d[k].is_null(), "{k} in {body}");
    }

    let (s, body) = get(v, "/api/v1/status/flags", &[]);
    assert_eq!(s, 200, "{body}");
    let d = &parse(&body)["data"];
    assert_eq!(d["query.timeout"], "30s");
    assert_eq!(d["config"], srv.cfg.display().to_string());

    let (s, body) = get(v, "/api/v1/status/config", &[]);
    assert_eq!(s, 200, "{body}");
    let yaml = parse(&body)["data"]["yaml"]
        .as_str()
        .expect("yaml")
        .to_owned();
    assert!(
        yaml.contains("dc: eu") && yaml.contains("username: me"),
        "{yaml}"
    );
    assert!(
        yaml.contains("password: <secret>") && !yaml.contains("hunter2"),
        "{yaml}"
    );

    // A failed reload is reported by runtimeinfo, and the old config stays.
    std::fs::write(&srv.cfg, "query:\n  timeout: never\n").expect("write");
    let r = client().post(v.url("/-/reload")).send().expect("reload");
    assert_eq!(r.status().as_u16(), 500);
    let (_, body) = get(v, "/api/v1/status/runtimeinfo", &[]);
    assert_eq!(parse(&body)["data"]["reloadConfigSuccess"], false);
    let (_, body) = get(v, "/api/v1/status/config", &[]);
    assert!(body.contains("dc: eu"), "{body}");
}

#[test]
fn federate_serves_latest_samples_with_external_labels() {
    let srv = start("global:\n  external_labels:\n    dc: eu\n");
    let v = &srv.v;
    let now = now_ms() / 1000 * 1000;
    let mut b = Batch::new();
    let mut add = |pairs: &[(&str, &str)], samples: Vec<Sample>| {
        b.series.push(SeriesSamples {
            labels: labels(pairs),
            samples,
        })
    };
    add(
        &[("__name__", "vq_fed"), ("instance", "i1"), ("job", "j")],
        vec![
            Sample::new(now - 30_000, 1.0),
            Sample::new(now - 15_000, 1234567.0),
        ],
    );
    add(
        &[("__name__", "vq_fed"), ("dc", "us"), ("job", "j")],
        vec![Sample::new(now - 15_000, 0.5)],
    );
    // Last sample a staleness marker: left out. Last sample older than the lookback: left out.
    add(
        &[("__name__", "vq_fed"), ("job", "stale")],
        vec![
            Sample::new(now - 30_000, 1.0),
            Sample::new(now - 15_000, STALE_NAN),
        ],
    );
    add(
        &[("__name__", "vq_fed"), ("job", "old")],
        vec![Sample::new(now - 600_000, 1.0)],
    );
    add(
        &[("__name__", "vq_agg:rate5m"), ("job", "j")],
        vec![Sample::new(now - 15_000, f64::INFINITY)],
    );
    let r = v.remote_write(&b);
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());

    let r = client()
        .get(v.url("/federate"))
        .query(&[
            ("match[]", "vq_fed"),
            ("match[]", r#"{__name__=~"vq_agg:.*"}"#),
        ])
        .send()
        .expect("federate");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let t = now - 15_000;
    assert_eq!(
        r.text().expect("body"),
        format!(
            "# TYPE vq_agg:rate5m untyped\n\
             vq_agg:rate5m{{job=\"j\",dc=\"eu\",instance=\"\"}} +Inf {t}\n\
             # TYPE vq_fed untyped\n\
             vq_fed{{dc=\"us\",job=\"j\",instance=\"\"}} 0.5 {t}\n\
             vq_fed{{instance=\"i1\",job=\"j\",dc=\"eu\"}} 1.234567e+06 {t}\n"
        )
    );
    let r = client().get(v.url("/federate")).send().expect("federate");
    assert_eq!(r.status().as_u16(), 400);
    let r = client()
        .get(v.url("/federate"))
        .query(&[("match[]", "up(")])
        .send()
        .expect("federate");
    assert_eq!(r.status().as_u16(), 400);
}

#[test]
fn grafana_datasource_calls_succeed() {
    let srv = start("");
    let v = &srv.v;
    let (first, last) = push_requests(v);
    let (start_s, end_s) = (
        (first / 1000 - 60).to_string(),
        (last / 1000 + 1).to_string(),
    );
    let range = [("start", start_s.as_str()), ("end", end_s.as_str())];

    // Save & test: an instant `1+1` by form POST at time 4, then buildinfo for the flavour.
    let (s, body) = post(v, "/api/v1/query", &[("query", "1+1"), ("time", "4")]);
    assert_eq!(s, 200, "{body}");
    let (s, body) = get(v, "/api/v1/status/buildinfo", &[]);
    assert_eq!(s, 200, "{body}");
    let d = &parse(&body)["data"];
    assert!(d["version"]
        .as_str()
        .is_some_and(|x| x.split('.').count() == 3));
    assert!(
        d.get("features").is_none(),
        "no features: Grafana treats it as Prometheus"
    );

    // Metric browser and autocompletion.
    let (s, body) = post(v, "/api/v1/labels", &range);
    assert_eq!(s, 200, "{body}");
    assert_eq!(parse(&body)["data"], json!(["__name__", "instance", "job"]));
    let (s, body) = get(v, "/api/v1/label/__name__/values", &range);
    assert_eq!(s, 200, "{body}");
    assert_eq!(parse(&body)["data"], json!(["vq_requests_total"]));
    let mut q = range.to_vec();
    q.push(("match[]", "vq_requests_total"));
    let (s, body) = get(v, "/api/v1/label/instance/values", &q);
    assert_eq!(s, 200, "{body}");
    assert_eq!(parse(&body)["data"], json!(["a", "b"]));
    q.push(("limit", "40000"));
    let (s, body) = post(v, "/api/v1/series", &q);
    assert_eq!(s, 200, "{body}");
    assert_eq!(parse(&body)["data"].as_array().map(Vec::len), Some(2));
    let (s, body) = post(v, "/api/v1/labels", &q);
    assert_eq!(s, 200, "{body}");
    let (s, body) = get(v, "/api/v1/metadata", &[]);
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        parse(&body)["data"]["vq_requests_total"][0]["type"],
        "counter"
    );

    // Panels: range and instant queries by form POST with the datasource's query timeout,
    // exemplars, and the query editor's format button.
    let step = "15";
    let (s, body) = post(
        v,
        "/api/v1/query_range",
        &[
            ("query", "rate(vq_requests_total[1m])"),
            ("start", &secs(first + 60_000)),
            ("end", &secs(last)),
            ("step", step),
            ("timeout", "60s"),
        ],
    );
    assert_eq!(s, 200, "{body}");
    let d = parse(&body)["data"].clone();
    assert_eq!(d["resultType"], "matrix");
    assert_eq!(d["result"].as_array().map(Vec::len), Some(2), "{body}");
    let (s, body) = post(
        v,
        "/api/v1/query",
        &[
            ("query", "sum by (job) (vq_requests_total)"),
            ("time", &secs(last)),
            ("timeout", "60s"),
        ],
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        parse(&body)["data"]["result"][0]["metric"],
        json!({"job": "api"})
    );
    let (s, body) = post(
        v,
        "/api/v1/query_exemplars",
        &[
            ("query", "vq_requests_total"),
            ("start", &start_s),
            ("end", &end_s),
        ],
    );
    assert_eq!(s, 200, "{body}");
    let (s, body) = get(
        v,
        "/api/v1/format_query",
        &[("query", "sum(vq_requests_total)by(job)")],
    );
    assert_eq!(s, 200, "{body}");
}

#[test]
fn queries_beyond_max_concurrency_wait_for_a_slot() {
    let srv = start("query:\n  max_concurrency: 1\n");
    let v = &srv.v;
    let (_, last) = push_load(v);
    let t = secs(last);
    let url = v.url("/api/v1/query");
    let run = |url: String, t: String| {
        std::thread::spawn(move || {
            let r = client()
                .post(url)
                .form(&[("query", SLOW_QUERY), ("time", &t), ("stats", "true")])
                .send()
                .expect("query");
            (r.status().as_u16(), r.text().expect("body"))
        })
    };
    let a = run(url.clone(), t.clone());
    let b = run(url, t);
    let results = [a.join().expect("thread a"), b.join().expect("thread b")];
    let mut queued = Vec::new();
    let mut evals = Vec::new();
    for (s, body) in &results {
        assert_eq!(*s, 200, "{body}");
        let timings = parse(body)["data"]["stats"]["timings"].clone();
        queued.push(timings["execQueueTime"].as_f64().expect("queue time"));
        evals.push(timings["evalTotalTime"].as_f64().expect("eval time"));
    }
    let (q, e) = (
        queued.iter().copied().fold(0.0, f64::max),
        evals.iter().copied().fold(f64::INFINITY, f64::min),
    );
    eprintln!("queue times {queued:?}, eval times {evals:?}");
    // One query waited while the other held the only slot.
    assert!(
        e > 0.02,
        "the query must take a while to show queueing: {evals:?}"
    );
    assert!(q > e / 4.0, "queue times {queued:?}, eval times {evals:?}");

    // The request's `timeout` shortens the configured one.
    let (s, body) = get(
        v,
        "/api/v1/query",
        &[
            ("query", SLOW_QUERY),
            ("time", &secs(last)),
            ("timeout", "0.001"),
        ],
    );
    assert_eq!(s, 503, "{body}");
    assert_eq!(parse(&body)["errorType"], "timeout");
}

#[test]
fn configured_timeout_gives_503() {
    let srv = start("query:\n  timeout: 1ms\n");
    let v = &srv.v;
    let (_, last) = push_load(v);
    let (s, body) = get(
        v,
        "/api/v1/query",
        &[("query", SLOW_QUERY), ("time", &secs(last))],
    );
    assert_eq!(s, 503, "{body}");
    let b = parse(&body);
    assert_eq!(b["status"], "error");
    assert_eq!(b["errorType"], "timeout");
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("query timed out in")),
        "{body}"
    );
}

#[test]
fn samples_limit_is_an_execution_error_and_reload_lifts_it() {
    let srv = start("query:\n  max_samples: 100\n");
    let v = &srv.v;
    let (_, last) = push_load(v);
    let q = [
        ("query", r#"count_over_time(vq_load{series="0"}[20m])"#),
        ("time", &secs(last)),
    ];
    assert_error(
        get(v, "/api/v1/query", &q),
        422,
        "execution",
        "query processing would load too many samples into memory in query execution",
    );
    let m = v.metrics_text();
    assert!(
        m.contains(r#"vigil_queries_total{kind="instant",outcome="execution"} 1"#),
        "{m}"
    );
    std::fs::write(&srv.cfg, "query:\n  max_samples: 1000000\n").expect("write");
    let r = client().post(v.url("/-/reload")).send().expect("reload");
    assert_eq!(r.status().as_u16(), 200);
    let (s, body) = get(v, "/api/v1/query", &q);
    assert_eq!(s, 200, "{body}");
    assert_eq!(parse(&body)["data"]["result"][0]["value"][1], "240");
}

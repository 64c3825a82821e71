//! End-to-end scraping against a local HTTP server: stored samples, report series, staleness,
//! label handling, limits, failures, compression, auth, reloads. Intervals are 200 ms; every
//! wait is bounded.

mod common;

use std::time::Duration;

use common::{eventually, map, serve, Harness};
use vigil_model::is_stale_nan;
use vigil_scrape::TargetHealth;

fn job(name: &str, addr: &str, extra: &str) -> String {
    format!(
        "  - job_name: {name}\n    scrape_interval: 200ms\n    static_configs:\n      - targets: ['{addr}']\n{extra}"
    )
}

fn config(jobs: &[String]) -> String {
    format!("scrape_configs:\n{}", jobs.concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_samples_and_report_series() {
    let srv = serve(
        "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 7\n",
    )
    .await;
    let h = Harness::new();
    let addr = srv.address();
    h.apply(&config(&[job("app", &addr, "")])).await;
    let t = [("job", "app"), ("instance", addr.as_str())];

    eventually("the scraped sample", || {
        h.values("http_requests_total", &[("code", "200"), t[0], t[1]])
            .contains(&7.0)
    })
    .await;
    eventually("up = 1", || h.values("up", &t).contains(&1.0)).await;
    assert_eq!(h.values("scrape_samples_scraped", &t).first(), Some(&1.0));
    assert_eq!(
        h.values("scrape_samples_post_metric_relabeling", &t)
            .first(),
        Some(&1.0)
    );
    assert_eq!(h.values("scrape_series_added", &t).first(), Some(&1.0));
    let durations = h.values("scrape_duration_seconds", &t);
    assert!(
        durations.iter().all(|d| *d >= 0.0 && *d < 5.0),
        "{durations:?}"
    );
    // Exactly the target labels are attached.
    let (labels, _) = h.series("http_requests_total", &[]).remove(0);
    assert_eq!(
        labels.to_string(),
        format!("http_requests_total{{code=\"200\", instance=\"{addr}\", job=\"app\"}}")
    );

    let status = h.manager.targets();
    assert_eq!(status.active_targets.len(), 1);
    let at = &status.active_targets[0];
    assert_eq!(at.health, TargetHealth::Up);
    assert_eq!(at.last_error, "");
    assert!(at.last_scrape.is_some());
    assert_eq!(at.scrape_pool, "app");
    assert_eq!(at.scrape_url, format!("http://{addr}/metrics"));
    assert_eq!(at.global_url, at.scrape_url);
    assert_eq!(at.scrape_interval, "200ms");
    assert_eq!(at.scrape_timeout, "200ms");
    assert_eq!(at.labels, map(&[("instance", &addr), ("job", "app")]));
    assert_eq!(
        at.discovered_labels,
        map(&[
            ("__address__", &addr),
            ("__metrics_path__", "/metrics"),
            ("__scheme__", "http"),
            ("__scrape_interval__", "200ms"),
            ("__scrape_timeout__", "200ms"),
            ("job", "app"),
        ])
    );
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(json["activeTargets"][0]["health"], "up");
    assert_eq!(
        json["activeTargets"][0]["scrapeUrl"],
        format!("http://{addr}/metrics")
    );

    let meta = h.manager.metadata();
    assert_eq!(meta.len(), 1);
    let m = meta[0]
        .metadata
        .iter()
        .find(|m| m.metric_family == "http_requests_total")
        .expect("metadata kept");
    assert_eq!(m.metric_type.as_str(), "counter");
    assert_eq!(m.help, "Requests served.");

    let req = srv.seen().remove(0);
    assert_eq!(req.path_and_query, "/metrics");
    let header = |n: &str| {
        req.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        header("accept"),
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    );
    assert_eq!(header("x-prometheus-scrape-timeout-seconds"), "0.2");
    assert_eq!(header("accept-encoding"), "gzip");
    assert!(
        header("user-agent").starts_with("Vigil/"),
        "{}",
        header("user-agent")
    );

    let text = h.metrics_text();
    assert!(
        text.contains("vigil_scrape_targets{scrape_pool=\"app\",state=\"active\"} 1"),
        "{text}"
    );
    assert!(text.contains("vigil_scrape_scrapes_total"), "{text}");
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disappearing_series_get_stale_markers() {
    let srv = serve("a 1\nb 2\n").await;
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("b scraped", || h.values("b", &[]).contains(&2.0)).await;
    srv.set_body("a 1\n");
    eventually("b marked stale", || h.last_is_stale("b", &[])).await;
    // a keeps being scraped and is never stale.
    let before = h.values("a", &[]).len();
    eventually("a scraped again", || h.values("a", &[]).len() > before + 1).await;
    assert!(!h.has_stale("a", &[]));
    // Once stale, b gets no further markers.
    let n = h.values("b", &[]).len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.values("b", &[]).len(), n);
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_target_gets_stale_markers() {
    let srv = serve("m 1\n").await;
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("m scraped", || h.values("m", &[]).contains(&1.0)).await;
    eventually("up scraped", || h.values("up", &[]).contains(&1.0)).await;
    h.apply("scrape_configs: []\n").await;
    // apply() returns once the removed loop has written its markers.
    assert!(h.last_is_stale("m", &[]), "{:?}", h.values("m", &[]));
    for name in [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert!(
            h.last_is_stale(name, &[]),
            "{name}: {:?}",
            h.values(name, &[])
        );
    }
    assert!(h.manager.targets().active_targets.is_empty());
    let n = h.values("m", &[]).len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.values("m", &[]).len(), n, "no scrapes after removal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_writes_no_stale_markers() {
    let srv = serve("m 1\n").await;
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("m scraped", || h.values("m", &[]).contains(&1.0)).await;
    h.manager.stop().await;
    assert!(!h.has_stale("m", &[]));
    assert!(h.manager.targets().active_targets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_labels_and_exported_prefix() {
    let srv = serve("m{job=\"inner\",instance=\"x\",a=\"1\"} 1\n").await;
    let h = Harness::new();
    let addr = srv.address();
    h.apply(&config(&[
        job("plain", &addr, ""),
        job("honored", &addr, "    honor_labels: true\n"),
    ]))
    .await;
    eventually("plain scraped", || {
        !h.series("m", &[("job", "plain")]).is_empty()
    })
    .await;
    eventually("honored scraped", || {
        !h.series("m", &[("job", "inner")]).is_empty()
    })
    .await;
    let (plain, _) = h.series("m", &[("job", "plain")]).remove(0);
    assert_eq!(
        plain.to_string(),
        format!("m{{a=\"1\", exported_instance=\"x\", exported_job=\"inner\", instance=\"{addr}\", job=\"plain\"}}")
    );
    let (honored, _) = h.series("m", &[("job", "inner")]).remove(0);
    assert_eq!(
        honored.to_string(),
        "m{a=\"1\", instance=\"x\", job=\"inner\"}"
    );
    // Report series always carry the target's own labels.
    eventually("up for honored", || {
        h.values("up", &[("job", "honored"), ("instance", &addr)])
            .contains(&1.0)
    })
    .await;
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_limit_fails_the_scrape() {
    let srv = serve("a 1\nb 2\n").await;
    let h = Harness::new();
    h.apply(&config(&[job(
        "app",
        &srv.address(),
        "    sample_limit: 1\n",
    )]))
    .await;
    eventually("scrape failed", || {
        h.manager.targets().active_targets.first().is_some_and(|t| {
            t.last_error == "sample limit exceeded" && t.health == TargetHealth::Down
        })
    })
    .await;
    eventually("up = 0", || h.values("up", &[]).contains(&0.0)).await;
    assert_eq!(h.values("scrape_samples_scraped", &[]).first(), Some(&2.0));
    assert!(h.series("a", &[]).is_empty());
    assert!(h.series("b", &[]).is_empty());
    assert!(h
        .metrics_text()
        .contains("vigil_scrape_failures_total{reason=\"sample_limit\"}"));
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_body_reports_parser_error() {
    let srv = serve("ok 1\n").await;
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("ok scraped", || h.values("ok", &[]).contains(&1.0)).await;
    srv.set_body("ok 1\nbroken{a=} 1\n");
    eventually("parse failure reported", || {
        h.manager.targets().active_targets.first().is_some_and(|t| {
            t.health == TargetHealth::Down && t.last_error.starts_with("line 2, column ")
        })
    })
    .await;
    eventually("up = 0", || h.values("up", &[]).contains(&0.0)).await;
    // A failed scrape marks everything of the previous scrape stale.
    eventually("ok stale", || h.has_stale("ok", &[])).await;
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_are_reported() {
    let srv = serve("m 1\n").await;
    srv.update(|s| s.status = 500);
    let big = serve(&"x 1\n".repeat(100)).await;
    let h = Harness::new();
    h.apply(&config(&[
        job("status", &srv.address(), ""),
        job("big", &big.address(), "    body_size_limit: 64B\n"),
        // Nothing listens on port 1.
        job("refused", "127.0.0.1:1", ""),
    ]))
    .await;
    let error_of = |pool: &str| {
        h.manager
            .targets()
            .active_targets
            .iter()
            .find(|t| t.scrape_pool == pool)
            .map(|t| t.last_error.clone())
            .unwrap_or_default()
    };
    eventually("500 reported", || {
        error_of("status") == "server returned HTTP status 500 Internal Server Error"
    })
    .await;
    eventually("body limit reported", || {
        error_of("big") == "body size limit exceeded"
    })
    .await;
    eventually("connection failure reported", || {
        error_of("refused").starts_with("Get \"http://127.0.0.1:1/metrics\": ")
    })
    .await;
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bodies_are_decoded() {
    let srv = serve("zipped 42\n").await;
    srv.update(|s| s.gzip = true);
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("gzip body stored", || {
        h.values("zipped", &[]).contains(&42.0)
    })
    .await;
    assert!(
        srv.seen().iter().any(|s| s.gzipped),
        "the server compressed"
    );
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_bodies_are_parsed() {
    let srv =
        serve("# TYPE om gauge\n# HELP om An OpenMetrics gauge.\nom 3 1700000000.5\n# EOF\n").await;
    srv.update(|s| {
        s.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8".to_owned();
    });
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("om stored", || !h.series("om", &[]).is_empty()).await;
    let (_, samples) = h.series("om", &[]).remove(0);
    // honor_timestamps: the exposed timestamp is kept.
    assert_eq!(samples[0].t, 1_700_000_000_500);
    assert_eq!(samples[0].v, 3.0);
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_headers_are_sent() {
    let srv = serve("m 1\n").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").expect("write token");
    let addr = srv.address();
    let h = Harness::new();
    h.apply(&config(&[
        job(
            "basic",
            &addr,
            "    metrics_path: /basic\n    basic_auth:\n      username: user\n      password: pass\n",
        ),
        job(
            "bearer",
            &addr,
            &format!(
                "    metrics_path: /bearer\n    authorization:\n      credentials_file: {}\n",
                token.display()
            ),
        ),
    ]))
    .await;
    let auth_for = |path: &str| {
        srv.seen()
            .iter()
            .find(|s| s.path_and_query == path)
            .and_then(|s| s.headers.get("authorization").cloned())
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    };
    eventually("both scraped", || {
        auth_for("/basic").is_some() && auth_for("/bearer").is_some()
    })
    .await;
    assert_eq!(auth_for("/basic").as_deref(), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(auth_for("/bearer").as_deref(), Some("Bearer s3cret"));
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_and_relabelled_targets() {
    let srv = serve("m 1\n").await;
    let addr = srv.address();
    let h = Harness::new();
    // Blackbox style: the listed target becomes a parameter, the address is rewritten.
    h.apply(&format!(
        "scrape_configs:\n  - job_name: probe\n    scrape_interval: 200ms\n    metrics_path: /probe\n    params:\n      module: [http_2xx]\n    static_configs:\n      - targets: ['https://example.com', 'drop.me']\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: drop.me\n        action: drop\n      - source_labels: [__address__]\n        target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: {addr}\n"
    ))
    .await;
    eventually("probe scraped", || {
        srv.seen()
            .iter()
            .any(|s| s.path_and_query == "/probe?module=http_2xx&target=https%3A%2F%2Fexample.com")
    })
    .await;
    eventually("stored with relabelled instance", || {
        !h.series(
            "m",
            &[("instance", "https://example.com"), ("job", "probe")],
        )
        .is_empty()
    })
    .await;
    let status = h.manager.targets();
    assert_eq!(status.active_targets.len(), 1);
    assert_eq!(status.dropped_targets.len(), 1);
    assert_eq!(
        status.dropped_targets[0]
            .discovered_labels
            .get("__address__")
            .map(String::as_str),
        Some("drop.me")
    );
    assert_eq!(status.dropped_target_counts.get("probe"), Some(&1));
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_relabelling_drops_series() {
    let srv = serve("keep_me 1\ndrop_me 2\n").await;
    let h = Harness::new();
    h.apply(&config(&[job(
        "app",
        &srv.address(),
        "    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: drop_.*\n        action: drop\n",
    )]))
    .await;
    eventually("kept series", || h.values("keep_me", &[]).contains(&1.0)).await;
    eventually("report", || {
        !h.values("scrape_samples_post_metric_relabeling", &[])
            .is_empty()
    })
    .await;
    assert!(h.series("drop_me", &[]).is_empty());
    assert_eq!(h.values("scrape_samples_scraped", &[]).first(), Some(&2.0));
    assert_eq!(
        h.values("scrape_samples_post_metric_relabeling", &[])
            .first(),
        Some(&1.0)
    );
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_loops_and_hands_over_state() {
    let srv = serve("m 1\n").await;
    let other = serve("n 1\n").await;
    let addr = srv.address();
    let h = Harness::new();
    let a = job("a", &addr, "");
    h.apply(&config(std::slice::from_ref(&a))).await;
    eventually("a scraped", || h.values("m", &[("job", "a")]).len() >= 2).await;
    let first_scrape = h.manager.targets().active_targets[0].last_scrape;

    // Same pool plus a new one: a's loop carries on.
    h.apply(&config(&[a.clone(), job("b", &other.address(), "")]))
        .await;
    eventually("b scraped", || !h.values("n", &[]).is_empty()).await;
    let status = h.manager.targets();
    assert_eq!(status.active_targets.len(), 2);
    let a_status = status
        .active_targets
        .iter()
        .find(|t| t.scrape_pool == "a")
        .expect("a active");
    assert!(a_status.last_scrape.is_some() && a_status.last_scrape >= first_scrape);

    // Changing a's interval restarts its loop but its series continue: no stale marker.
    let a2 = a.replace("scrape_interval: 200ms", "scrape_interval: 300ms");
    h.apply(&config(&[a2, job("b", &other.address(), "")]))
        .await;
    let n = h.values("m", &[("job", "a")]).len();
    eventually("a scraped after reload", || {
        h.values("m", &[("job", "a")]).len() > n + 1
    })
    .await;
    assert_eq!(
        h.manager
            .targets()
            .active_targets
            .iter()
            .find(|t| t.scrape_pool == "a")
            .map(|t| t.scrape_interval.clone()),
        Some("300ms".to_owned())
    );
    assert!(
        !h.has_stale("m", &[("job", "a")]),
        "{:?}",
        h.values("m", &[("job", "a")])
    );
    assert!(!h.has_stale("up", &[("job", "a")]));

    // Changing a target label changes the series: the old ones go stale.
    let a3 = a.replace("targets:", "labels: {env: prod}\n        targets:");
    h.apply(&config(&[a3, job("b", &other.address(), "")]))
        .await;
    assert!(h.last_is_stale("m", &[("job", "a"), ("env", "")]));
    eventually("new series", || {
        !h.values("m", &[("env", "prod")]).is_empty()
    })
    .await;
    assert!(!h.has_stale("n", &[]), "b untouched");
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_limit_fails_every_target() {
    let srv = serve("m 1\n").await;
    let h = Harness::new();
    let addr = srv.address();
    h.apply(&format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 200ms\n    target_limit: 1\n    static_configs:\n      - targets: ['{addr}', 'localhost:{}']\n",
        srv.addr.port()
    ))
    .await;
    eventually("both fail", || {
        let t = h.manager.targets().active_targets;
        t.len() == 2
            && t.iter()
                .all(|t| t.last_error == "target_limit exceeded (number of targets: 2, limit: 1)")
    })
    .await;
    assert!(h.series("m", &[]).is_empty());
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_markers_are_stale_nan() {
    let srv = serve("a 1\n").await;
    let h = Harness::new();
    h.apply(&config(&[job("app", &srv.address(), "")])).await;
    eventually("a scraped", || h.values("a", &[]).contains(&1.0)).await;
    srv.set_body("");
    eventually("a stale", || h.last_is_stale("a", &[])).await;
    let v = *h.values("a", &[]).last().expect("sample");
    assert!(v.is_nan() && is_stale_nan(v));
    h.manager.stop().await;
}

#[test]
fn manager_is_shareable_across_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<vigil_scrape::ScrapeManager>();
    let h = Harness::new();
    let s = common::settings("scrape_configs: []\n");
    send(&h.manager.apply(&s));
    send(&h.manager.stop());
}

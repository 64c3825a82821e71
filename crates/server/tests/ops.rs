//! Operating the server: reload by SIGHUP and HTTP, the out-of-order window, a damaged WAL.

mod common;

use std::time::Duration;

use common::{client, export, wait_for, StaticServer, Vigil};
use serde_json::Value;
use vigil_model::{Batch, Labels, Sample};

fn job_names(v: &Vigil) -> Vec<String> {
    let t: Value = client()
        .get(v.url("/api/v1/targets"))
        .send()
        .expect("targets")
        .json()
        .expect("json");
    let mut jobs: Vec<String> = t["data"]["activeTargets"]
        .as_array()
        .expect("active")
        .iter()
        .map(|t| t["labels"]["job"].as_str().expect("job").to_owned())
        .collect();
    jobs.sort();
    jobs
}

fn scrape_config(jobs: &[(&str, std::net::SocketAddr)]) -> String {
    let mut s = String::from("global:\n  scrape_interval: 1s\nscrape_configs:\n");
    for (j, a) in jobs {
        s.push_str(&format!(
            "  - job_name: {j}\n    static_configs:\n      - targets: ['{a}']\n"
        ));
    }
    s
}

#[test]
fn sighup_and_http_reload_apply_good_configs_and_keep_the_old_one_on_errors() {
    let target = StaticServer::start("text/plain; version=0.0.4", b"app_up 1\n".to_vec());
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vigil.yml");
    std::fs::write(&cfg, scrape_config(&[("a", target.addr)])).expect("write");
    let v = Vigil::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("utf8")],
    );
    assert_eq!(job_names(&v), ["a"]);
    wait_for(Duration::from_secs(10), || {
        (!export(&v, r#"app_up{job="a"}"#).is_empty()).then_some(())
    })
    .expect("job a scraped");

    std::fs::write(
        &cfg,
        scrape_config(&[("a", target.addr), ("b", target.addr)]),
    )
    .expect("write");
    v.signal("HUP");
    wait_for(Duration::from_secs(10), || {
        (job_names(&v) == ["a", "b"]).then_some(())
    })
    .expect("SIGHUP applied job b");

    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: c\n    scrape_interval: often\n",
    )
    .expect("write");
    let r = client().post(v.url("/-/reload")).send().expect("reload");
    assert_eq!(r.status().as_u16(), 500);
    let msg = r.text().expect("text");
    assert!(msg.contains(&format!("{}:3:", cfg.display())), "{msg}");
    assert_eq!(
        job_names(&v),
        ["a", "b"],
        "a failed reload keeps the previous targets"
    );

    std::fs::write(&cfg, scrape_config(&[("b", target.addr)])).expect("write");
    let r = client().post(v.url("/-/reload")).send().expect("reload");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(job_names(&v), ["b"]);
    // Data scraped before the reloads is still there.
    assert!(!export(&v, r#"app_up{job="a"}"#).is_empty());
}

fn one(name: &str, t: i64) -> Batch {
    let mut b = Batch::new();
    b.push(
        Labels::from_pairs([("__name__", name)]).expect("labels"),
        Sample::new(t, 1.0),
    );
    b
}

fn post(v: &Vigil, b: &Batch) -> (u16, String) {
    let r = v.remote_write(b);
    (r.status().as_u16(), r.text().expect("text"))
}

#[test]
fn out_of_order_window_accepts_late_samples_and_rejects_older_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = Vigil::start(dir.path(), &[]);
    let t = 1_700_000_000_000;
    assert_eq!(post(&v, &one("now_metric", t)).0, 204);
    // 30 minutes late: inside the default 1 h window, written at the time it belongs to.
    assert_eq!(post(&v, &one("late_metric", t - 30 * 60_000)).0, 204);
    assert_eq!(post(&v, &one("now_metric", t - 10 * 60_000)).0, 204);
    // Two hours late: refused, named, counted.
    let (code, msg) = post(&v, &one("ancient_metric", t - 2 * 3_600_000));
    assert_eq!(code, 400);
    assert!(
        msg.contains("ancient_metric") && msg.contains("out-of-order"),
        "{msg}"
    );
    let lines = export(&v, "now_metric");
    assert_eq!(
        lines[0]["timestamps"],
        serde_json::json!([t - 10 * 60_000, t])
    );
    assert_eq!(export(&v, "late_metric").len(), 1);
    assert!(export(&v, "ancient_metric").is_empty());
    let metrics = v.metrics_text();
    assert!(
        metrics.contains(
            r#"vigil_samples_rejected_total{protocol="remote_write",reason="too_old"} 1"#
        ),
        "{metrics}"
    );
}

#[test]
fn damaged_wal_is_reported_and_the_readable_part_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = Vigil::start(dir.path(), &[]);
    let t = 1_700_000_000_000;
    for i in 0..10 {
        assert_eq!(post(&v, &one("before_damage", t + i * 1000)).0, 204);
    }
    assert_eq!(post(&v, &one("last_write", t + 20_000)).0, 204);
    v.kill9();
    // Flip a byte in the last record of the newest segment: its CRC no longer matches.
    let wal = dir.path().join("metrics").join("wal");
    let mut segs: Vec<_> = std::fs::read_dir(&wal)
        .expect("wal dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && std::fs::metadata(p).map(|m| m.len() > 8).unwrap_or(false))
        .collect();
    segs.sort();
    let seg = segs.last().expect("a written segment").clone();
    let mut bytes = std::fs::read(&seg).expect("read segment");
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    std::fs::write(&seg, bytes).expect("write segment");

    let v = Vigil::start(dir.path(), &[]);
    let lines = export(&v, "before_damage");
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["values"].as_array().expect("values").len(),
        10,
        "records before the damage are replayed"
    );
    let log = v.log_text();
    assert!(
        log.contains("wal") && log.contains("checksum mismatch"),
        "the damage is reported: {log}"
    );
    let metrics = v.metrics_text();
    assert!(
        metrics.contains("vigil_wal_corruptions_total 1"),
        "{metrics}"
    );
    // And the server keeps working.
    assert_eq!(post(&v, &one("after_restart", t + 30_000)).0, 204);
}

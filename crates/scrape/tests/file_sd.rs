//! file_sd: targets from JSON/YAML files, re-read on change, broken files keep old targets.

mod common;

use std::time::Duration;

use common::{eventually, serve, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_rereads_on_change() {
    let srv = serve("m 1\n").await;
    let addr = srv.address();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("targets.json");
    let write = |content: String| {
        // Write then rename, as config management tools do, so the poller never sees half a file.
        let tmp = dir.path().join("targets.json.tmp");
        std::fs::write(&tmp, content).expect("write");
        std::fs::rename(&tmp, &file).expect("rename");
    };
    write(format!(
        r#"[{{"targets": ["{addr}"], "labels": {{"env": "a"}}}}]"#
    ));

    let h = Harness::new();
    h.apply(&format!(
        "scrape_configs:\n  - job_name: sd\n    scrape_interval: 200ms\n    file_sd_configs:\n      - files: ['{}/*.json']\n",
        dir.path().display()
    ))
    .await;
    // The files are read before apply() returns.
    let status = h.manager.targets();
    assert_eq!(status.active_targets.len(), 1);
    let t = &status.active_targets[0];
    assert_eq!(t.labels.get("env").map(String::as_str), Some("a"));
    assert_eq!(
        t.discovered_labels
            .get("__meta_filepath")
            .map(String::as_str),
        Some(file.to_str().expect("utf8 path"))
    );
    assert!(!t.labels.contains_key("__meta_filepath"));
    eventually("env=a scraped", || {
        !h.series("m", &[("env", "a")]).is_empty()
    })
    .await;

    // A change is picked up by polling.
    write(format!(
        r#"[{{"targets": ["{addr}"], "labels": {{"env": "b"}}}}]"#
    ));
    eventually("env=b scraped", || {
        !h.series("m", &[("env", "b")]).is_empty()
    })
    .await;
    assert!(h.last_is_stale("m", &[("env", "a")]), "old series stale");

    // A broken file keeps the previous targets and counts an error.
    write("[{\"targets\": ".to_owned());
    eventually("read error counted", || {
        h.metrics_text()
            .contains("vigil_scrape_file_sd_read_errors_total 1")
    })
    .await;
    let scraped = h.values("m", &[("env", "b")]).len();
    eventually("still scraping env=b", || {
        h.values("m", &[("env", "b")]).len() > scraped
    })
    .await;
    assert_eq!(h.manager.targets().active_targets.len(), 1);

    // A YAML file in the same pattern set joins; an empty JSON list removes the target.
    write("[]".to_owned());
    eventually("target removed", || {
        h.manager.targets().active_targets.is_empty()
    })
    .await;
    assert!(h.last_is_stale("m", &[("env", "b")]));
    let n = h.values("m", &[]).len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(h.values("m", &[]).len(), n, "no scrapes after removal");
    h.manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_files_and_deleted_files() {
    let srv = serve("m 1\n").await;
    let addr = srv.address();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("t.yml");
    std::fs::write(
        &file,
        format!("- targets: ['{addr}']\n  labels:\n    rack: 7\n"),
    )
    .expect("write");
    let h = Harness::new();
    h.apply(&format!(
        "scrape_configs:\n  - job_name: sd\n    scrape_interval: 200ms\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
        file.display()
    ))
    .await;
    eventually("rack=7 scraped", || {
        !h.series("m", &[("rack", "7")]).is_empty()
    })
    .await;
    std::fs::remove_file(&file).expect("remove");
    eventually("target removed", || {
        h.manager.targets().active_targets.is_empty()
    })
    .await;
    assert!(h.last_is_stale("m", &[("rack", "7")]));
    h.manager.stop().await;
}

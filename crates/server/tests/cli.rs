//! The command line as a user meets it.

use std::process::Command;

fn vigil(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .expect("run vigil");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_and_help() {
    let (ok, out, _) = vigil(&["--version"]);
    assert!(ok);
    assert!(out.starts_with("vigil "), "{out}");
    let (ok, out, _) = vigil(&["--help"]);
    assert!(ok);
    assert!(out.contains("serve") && out.contains("check"), "{out}");
    let (ok, out, _) = vigil(&["serve", "--help"]);
    assert!(ok);
    for flag in [
        "--config",
        "--data-dir",
        "--listen",
        "--otlp-grpc-listen",
        "--otlp-http-listen",
        "--retention.time",
        "--retention.size",
    ] {
        assert!(out.contains(flag), "serve --help lacks {flag}: {out}");
    }
}

#[test]
fn check_config_reports_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.yml");
    std::fs::write(
        &good,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['localhost:9100']\n",
    )
    .expect("write");
    let (ok, out, err) = vigil(&["check", "config", good.to_str().expect("utf8")]);
    assert!(ok, "{out}{err}");

    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "scrape_configs:\n  - job_name: node\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(unclosed'\n",
    )
    .expect("write");
    let (ok, _, err) = vigil(&["check", "config", bad.to_str().expect("utf8")]);
    assert!(!ok);
    let expected_prefix = format!("{}:5: ", bad.display());
    assert!(
        err.starts_with(&expected_prefix),
        "want {expected_prefix}…, got {err}"
    );

    let typo = dir.path().join("typo.yml");
    std::fs::write(&typo, "global:\n  scrape_intervall: 15s\n").expect("write");
    let (ok, _, err) = vigil(&["check", "config", typo.to_str().expect("utf8")]);
    assert!(!ok);
    assert!(err.starts_with(&format!("{}:2: ", typo.display())), "{err}");
    assert!(err.contains("scrape_intervall"), "{err}");
}

#[test]
fn serve_refuses_bad_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "storage:\n  wal_fsync: sometimes\n").expect("write");
    let data = dir.path().join("data");
    let (ok, _, err) = vigil(&[
        "serve",
        "--config",
        bad.to_str().expect("utf8"),
        "--data-dir",
        data.to_str().expect("utf8"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
}

//! Conformance with `promtool` 2.42 (Debian's `/usr/bin/promtool`) on Prometheus's own promtool
//! test data (`$VIGIL_TESTDATA/promtool`, else `../shared/testdata/promtool` beside the
//! repository) and on this crate's own cases (`testdata/promtool`).
//!
//! Every unit-test file (one with `tests:`) runs through [`run_rule_tests`] and through
//! `promtool test rules`: the exit statuses must agree, and for failing files so must the names
//! of the failing test groups (the `name:` lines of the reports). Every rule file runs through
//! [`check_rule_files`] and `promtool check rules`: the exit statuses must agree.
//!
//! Without the test data the test prints `skipped: …`. Without promtool it prints `skipped: …`
//! too, unless `VIGIL_REQUIRE_PEERS=1`, when it fails. Each promtool run is bounded in time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_rules::{check_rule_files, run_rule_tests};

const PROMTOOL: &str = "/usr/bin/promtool";
const TIMEOUT: Duration = Duration::from_secs(120);

fn testdata() -> Option<PathBuf> {
    let base = match std::env::var_os("VIGIL_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    };
    let dir = base.join("promtool");
    dir.is_dir().then_some(dir)
}

/// Runs promtool with `args` in `dir`, killing it (by its own handle) past the time limit.
/// Returns whether it exited 0, and its combined output.
fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out_path = std::env::temp_dir().join(format!(
        "vigil-rules-promtool-{}-{}.out",
        std::process::id(),
        args.join("_").replace('/', "_")
    ));
    let out_file = std::fs::File::create(&out_path).expect("create output file");
    let err_file = out_file.try_clone().expect("clone output file");
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .expect("start promtool");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for promtool") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("promtool {args:?} ran longer than {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    (status.success(), text)
}

/// Names of the failing test groups in a report (`    name: NAME,` lines).
fn failing_names(report: &str) -> BTreeSet<String> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("    name: "))
        .map(|n| n.trim_end_matches(',').to_owned())
        .collect()
}

fn is_unit_test_file(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("tests:"))
}

#[test]
fn promtool_testdata_agrees_with_promtool() {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promtool")];
    match testdata() {
        Some(dir) => dirs.push(dir),
        None => println!("skipped: upstream promtool test data not found (set VIGIL_TESTDATA)"),
    }
    if !Path::new(PROMTOOL).is_file() {
        if std::env::var("VIGIL_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("{PROMTOOL} not found and VIGIL_REQUIRE_PEERS=1");
        }
        println!("skipped: {PROMTOOL} not found (Debian package prometheus)");
        return;
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in &dirs {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read test data dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    let (mut pass, mut fail) = (0, Vec::new());
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = path.parent().expect("a file in a folder");
        let text = std::fs::read_to_string(path).expect("read test data file");
        let mut ours = Vec::new();
        let (kind, our_ok, (their_ok, theirs)) = if is_unit_test_file(&text) {
            let ok = run_rule_tests(&[path], &mut ours);
            ("test", ok, promtool(dir, &["test", "rules", &name]))
        } else {
            let ok = check_rule_files(&[path], &mut ours);
            ("check", ok, promtool(dir, &["check", "rules", &name]))
        };
        let ours = String::from_utf8_lossy(&ours).into_owned();
        let mut problems = Vec::new();
        if our_ok != their_ok {
            problems.push(format!(
                "vigil {} but promtool {}",
                if our_ok { "passed" } else { "failed" },
                if their_ok { "passed" } else { "failed" }
            ));
        }
        if kind == "test" && !their_ok && failing_names(&ours) != failing_names(&theirs) {
            problems.push(format!(
                "failing tests differ: vigil {:?}, promtool {:?}",
                failing_names(&ours),
                failing_names(&theirs)
            ));
        }
        let verdict = if their_ok { "ok" } else { "fails" };
        if problems.is_empty() {
            pass += 1;
            println!("PASS {kind} {name} ({verdict} in both)");
        } else {
            println!(
                "FAIL {kind} {name}: {}\n--- vigil:\n{ours}--- promtool:\n{theirs}",
                problems.join("; ")
            );
            fail.push(name);
        }
    }
    println!(
        "promtool conformance: {pass} passed, {} failed, of {} files",
        fail.len(),
        files.len()
    );
    assert!(fail.is_empty(), "files disagreeing with promtool: {fail:?}");
}

//! Vigil's Alertmanager core against the real thing: Debian's `amtool` (0.25).
//!
//! - every file of `tests/configs/*.yml` through `amtool check-config` and `check_config_file`:
//!   accept/reject must agree, and for accepted files the counts amtool prints;
//! - the routing tree of `tests/configs/routing/tree.yml` printed by `amtool config routes
//!   show` (matcher parsing, sorting and printing) and the receivers of each label set of
//!   `cases.tsv` from `amtool config routes test`.
//!
//! Without amtool the tests print `skipped: …` and pass (the file names still give the
//! expected verdicts), unless `VIGIL_REQUIRE_PEERS=1`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_alertmanager::{check_config_file, parse, parse_matcher, Route, RoutingTree};
use vigil_model::{Labels, MatchOp};

const AMTOOL: &str = "/usr/bin/amtool";
const TIMEOUT: Duration = Duration::from_secs(20);

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// amtool's path, or `None` after printing why the comparison is skipped.
fn amtool() -> Option<&'static str> {
    if Path::new(AMTOOL).exists() {
        return Some(AMTOOL);
    }
    if std::env::var("VIGIL_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{AMTOOL} is missing and VIGIL_REQUIRE_PEERS=1");
    }
    println!("skipped: {AMTOOL} not found (apt-get install prometheus-alertmanager)");
    None
}

struct Output {
    success: bool,
    stdout: String,
}

/// Runs a command with a deadline; on timeout the child (and only it) is killed.
fn run(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(AMTOOL)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn amtool");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait amtool") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("amtool {args:?} took longer than {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut stdout).expect("read stdout");
    }
    Output {
        success: status.success(),
        stdout,
    }
}

/// The `Found:` block of amtool's output.
fn found_block(stdout: &str) -> String {
    stdout
        .lines()
        .skip_while(|l| *l != "Found:")
        .take_while(|l| !l.starts_with("  "))
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn check_config_agrees_with_amtool() {
    let dir = configs_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("configs dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "corpus shrank: {}", files.len());
    let tool = amtool();
    let mut disagreements = Vec::new();
    let mut agreed = 0;
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let ours = check_config_file(f);
        let expected_ok = name.starts_with("ok_");
        match tool {
            None => {
                if ours.is_ok() != expected_ok {
                    disagreements.push(format!("{name}: expected ok={expected_ok}, got {ours:?}"));
                } else {
                    agreed += 1;
                }
            }
            Some(_) => {
                let out = run(&["check-config", &name], &dir);
                if out.success != ours.is_ok() {
                    disagreements.push(format!(
                        "{name}: amtool success={} vs ours {ours:?}\n{}",
                        out.success, out.stdout
                    ));
                    continue;
                }
                if out.success != expected_ok {
                    disagreements
                        .push(format!("{name}: name says ok={expected_ok}, both disagree"));
                    continue;
                }
                if let Ok(summary) = &ours {
                    let theirs = found_block(&out.stdout);
                    if theirs != summary.to_string() {
                        disagreements.push(format!(
                            "{name}: counts differ\namtool:\n{theirs}ours:\n{summary}"
                        ));
                        continue;
                    }
                }
                agreed += 1;
            }
        }
    }
    println!("check-config: {agreed} of {} files agree", files.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// `amtool config routes show`'s tree (treeprint's layout, which pads with no-break spaces
/// under a `│`), from our routing tree.
fn print_tree(t: &RoutingTree) -> String {
    fn slug(r: &Route) -> String {
        let mut s = if r.matchers.is_empty() {
            "default-route".to_owned()
        } else {
            r.matchers.to_string()
        };
        if r.continue_matching {
            s.push_str("  continue: true");
        }
        s.push_str("  receiver: ");
        s.push_str(&r.opts.receiver);
        s
    }
    fn walk(t: &RoutingTree, r: &Route, prefix: &str, last: bool, out: &mut String) {
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&slug(r));
        out.push('\n');
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
        for (i, c) in r.children.iter().enumerate() {
            let c = t.get(*c).expect("child");
            walk(t, c, &child_prefix, i + 1 == r.children.len(), out);
        }
    }
    let mut out = String::from("Routing tree:\n.\n");
    walk(t, t.root(), "", true, &mut out);
    out
}

fn parse_label_args(args: &[&str]) -> Labels {
    let pairs: Vec<(String, String)> = args
        .iter()
        .map(|a| {
            let m = parse_matcher(a).expect("label");
            assert_eq!(m.op, MatchOp::Equal, "{a}");
            (m.name.clone(), m.value.clone())
        })
        .collect();
    Labels::from_pairs(pairs).expect("labels")
}

#[test]
fn routing_agrees_with_amtool() {
    let dir = configs_dir().join("routing");
    let text = std::fs::read_to_string(dir.join("tree.yml")).expect("tree.yml");
    let config = parse(&text).expect("tree.yml is valid");
    let cases = std::fs::read_to_string(dir.join("cases.tsv")).expect("cases.tsv");
    let Some(_) = amtool() else {
        // Still exercise the parser on every case.
        for line in cases.lines().filter(|l| !l.is_empty()) {
            let args: Vec<&str> = line.split('\t').collect();
            assert!(!config
                .route
                .receivers_for(&parse_label_args(&args))
                .is_empty());
        }
        return;
    };
    let shown = run(
        &["config", "routes", "show", "--config.file=tree.yml"],
        &dir,
    );
    assert!(shown.success);
    assert_eq!(
        print_tree(&config.route).trim_end(),
        shown.stdout.trim_end()
    );

    let mut disagreements = Vec::new();
    let mut n = 0;
    for line in cases.lines().filter(|l| !l.is_empty()) {
        n += 1;
        let args: Vec<&str> = line.split('\t').collect();
        let mut cmd = vec!["config", "routes", "test", "--config.file=tree.yml"];
        cmd.extend(args.iter().copied());
        let out = run(&cmd, &dir);
        assert!(out.success, "amtool refused {line:?}");
        let ours = config
            .route
            .receivers_for(&parse_label_args(&args))
            .join(",");
        if out.stdout.trim_end() != ours {
            disagreements.push(format!(
                "{line:?}: amtool {:?}, ours {ours:?}",
                out.stdout.trim_end()
            ));
        }
    }
    println!(
        "routes test: {} of {n} label sets agree",
        n - disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn matcher_printing_agrees_with_amtool() {
    // `routes show` prints each route's parsed matchers, so escaping, sorting and match_re
    // anchoring are compared here.
    let dir = configs_dir();
    let Some(_) = amtool() else {
        return;
    };
    for name in [
        "ok_matchers_syntax.yml",
        "ok_route_tree.yml",
        "ok_match_re_anchoring.yml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("config");
        let config = parse(&text).expect("valid");
        let shown = run(
            &["config", "routes", "show", &format!("--config.file={name}")],
            &dir,
        );
        assert!(shown.success, "{name}");
        assert_eq!(
            print_tree(&config.route).trim_end(),
            shown.stdout.trim_end(),
            "{name}"
        );
    }
}

#[test]
fn known_differences_are_still_the_only_ones() {
    // Each file documents one deliberate difference: (file, amtool accepts, our reason).
    let cases = [
        // Vigil refuses integrations it cannot send through instead of never notifying.
        (
            "opsgenie_receiver.yml",
            true,
            Some("opsgenie_configs in receiver \"ops\" is not supported by Vigil"),
        ),
        // After YAML parsing a quoted "true" cannot be told from a plain one.
        ("quoted_bool.yml", false, None),
    ];
    let dir = configs_dir().join("differences");
    let tool = amtool();
    for (name, amtool_accepts, our_reason) in cases {
        let ours = check_config_file(&dir.join(name));
        match our_reason {
            Some(reason) => {
                let e = ours.expect_err(name);
                assert!(e.to_string().contains(reason), "{name}: {e}");
            }
            None => assert!(ours.is_ok(), "{name}: {ours:?}"),
        }
        if tool.is_some() {
            let out = run(&["check-config", name], &dir);
            assert_eq!(
                out.success, amtool_accepts,
                "{name}: amtool changed its mind"
            );
        }
    }
}

#[test]
fn status_original_is_accepted_by_amtool() {
    // `alertmanagerStatus.config.original` is what amtool parses when it has no --config.file.
    let dir = configs_dir();
    let Some(_) = amtool() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).expect("dir") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if !name.starts_with("ok_") || !name.ends_with(".yml") {
            continue;
        }
        let config = parse(&std::fs::read_to_string(&p).expect("read")).expect("valid");
        let out_path = tmp.path().join(&name);
        std::fs::write(&out_path, config.original()).expect("write");
        let out = run(&["check-config", &name], tmp.path());
        assert!(
            out.success,
            "{name}: masked original refused:\n{}\n{}",
            config.original(),
            out.stdout
        );
        checked += 1;
    }
    println!("status original: {checked} files re-parsed by amtool");
}

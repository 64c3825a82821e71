//! Helpers for the peer tests: locating the real tools and running them with a time limit.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Returns the tool's path, or `None` after printing why the test is skipped. With
/// `VIGIL_REQUIRE_PEERS=1` a missing tool fails the test instead.
pub fn peer(path: &str) -> Option<&str> {
    if Path::new(path).exists() {
        return Some(path);
    }
    if std::env::var("VIGIL_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{path} is required (VIGIL_REQUIRE_PEERS=1) but missing");
    }
    println!("skipped: {path} not installed");
    None
}

pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdout/stderr captured, killing it (by its own handle) after `limit`.
pub fn run(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("spawning {cmd:?}: {e}"),
    };
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish within {limit:?}");
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    Output {
        success: status.success(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Compares pairs of (case name, theirs, ours), prints every difference and a summary line,
/// and returns the number of differences.
pub fn report(kind: &str, results: &[(String, String, String)]) -> usize {
    let mut differing = 0;
    for (name, theirs, ours) in results {
        if theirs != ours {
            differing += 1;
            println!("DIFF {kind} {name}\n  theirs: {theirs:?}\n  ours:   {ours:?}");
        }
    }
    println!(
        "{kind}: {} identical, {differing} differing",
        results.len() - differing
    );
    differing
}

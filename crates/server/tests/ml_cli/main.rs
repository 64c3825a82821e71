//! `vigil ml drift` and `vigil ml reference upload`, run as the real binary.
//!
//! CSV inputs are written at test time from a seeded generator; the Parquet inputs are committed
//! fixtures written by the real pandas and pyarrow (`testdata/ml_cli/`, see its README). The
//! upload tests answer the CLI from a one-request HTTP server on 127.0.0.1:0 that records what
//! it received. The shared drift fixtures' dataset cases, when present, are run through the CLI
//! and compared with Evidently's report.

mod drift;
mod fixtures;
mod upload;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A finished `vigil` process.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary under test with `args` and waits for it.
fn vigil(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .expect("run vigil");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A committed fixture of `testdata/ml_cli/`.
fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/ml_cli")
        .join(name)
}

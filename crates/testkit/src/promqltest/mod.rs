//! A runner for Prometheus's promqltest scripts (`promql/promqltest/testdata/*.test`).
//!
//! Owns: the script parser ([`parse_script`]: `load`, `clear`, `eval instant|range`, the legacy
//! `eval_fail|_warn|_info|_ordered` forms, `expect …` lines, expected results in the expanding
//! series notation), result comparison with upstream's rules ([`compare_result`]), and
//! [`run_file`], which drives any [`Engine`] and reports pass / fail / skip per case.
//!
//! Does not own: PromQL. The runner never parses expressions; it only scans them for
//! experimental syntax. Anything it cannot represent (native histograms, `load_with_nhcb`,
//! start timestamps, experimental syntax) becomes an explicit `unsupported` reason and the case
//! is reported as skipped, never dropped; a line it cannot parse at all is an error.
//!
//! Shaped as data + trait so the PromQL engine can be developed against upstream's conformance
//! scripts before it exists: the engine crate implements [`Engine`], this crate knows only
//! the model.

mod compare;
mod error;
mod parse;
mod run;
mod script;
mod series;

pub use compare::{almost_equal, compare_result, Grid, QueryValue, DEFAULT_EPSILON};
pub use error::PromqlTestError;
pub use parse::parse_script;
pub use run::{run_case, run_file, run_script, Annotations, Engine, FileReport, Summary};
pub use script::{
    AnnotationExpect, Command, EvalCase, EvalKind, Expectation, Expected, ExpectedSeries, Load,
    MessageMatch, Outcome, Script, UnsupportedSeries,
};
pub use series::{
    expand_values, parse_duration, parse_number, parse_series_line, SeqValue, SeriesLine,
};

/// Where the upstream scripts live: `$VIGIL_TESTDATA/promql`, else `shared/testdata/promql`
/// beside the workspace. `None` when absent.
pub fn testdata_dir() -> Option<std::path::PathBuf> {
    let dir = match std::env::var_os("VIGIL_TESTDATA") {
        Some(d) => std::path::PathBuf::from(d).join("promql"),
        None => {
            // Cargo's runtime value first: a target dir shared by clones at different paths can hold
            // a binary built elsewhere, whose compile-time path is stale.
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../../shared/testdata/promql")
        }
    };
    dir.is_dir().then_some(dir)
}

/// The upstream scripts (`*.test` in [`testdata_dir`]), sorted by name; `None`, after saying so
/// on stdout, when the test data is absent.
///
/// # Errors
/// The directory cannot be read.
pub fn script_files() -> Result<Option<Vec<std::path::PathBuf>>, PromqlTestError> {
    let Some(dir) = testdata_dir() else {
        println!(
            "skipped: promql test data not found ($VIGIL_TESTDATA/promql or ../shared/testdata/promql)"
        );
        return Ok(None);
    };
    let entries = std::fs::read_dir(&dir).map_err(|source| PromqlTestError::Io {
        file: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    Ok(Some(files))
}

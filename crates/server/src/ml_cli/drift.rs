//! `vigil ml drift`: Evidently's data drift report for two dataset files.
//!
//! The files are read in parallel (each is parsed whole, as every test needs a column's
//! values), the columns both share are handed to `vigil_ml::dataset_drift`, and its result is
//! printed as a table or, with `--json`, exactly as it serialises.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::Args;
use vigil_ml::{
    dataset_drift, Column, ColumnDrift, DatasetDrift, DriftOptions, Format, Method, TableLimits,
    TypeOverrides,
};

use super::{format_name, read_columns};

/// Exit status of `--fail-on-drift` when the dataset drifts (1 is an error, 2 bad flags).
const EXIT_DRIFT: u8 = 3;

/// Flags of `vigil ml drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference dataset: CSV or Parquet.
    #[arg(long, value_name = "FILE")]
    pub reference: PathBuf,
    /// The current dataset: CSV or Parquet.
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,
    /// Print the report as one JSON object: `features` (one object per column: name, type,
    /// method, score, score_kind, threshold, drift_detected, sizes, histogram; `error` instead
    /// of a score when a column cannot be tested) and `dataset` (n_features, n_drifted,
    /// share_drifted, drift_share_threshold, drift_detected).
    #[arg(long)]
    pub json: bool,
    /// Columns to compare as categories whatever their values look like (comma-separated).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns to compare as numbers; a value that is neither missing nor a number is an error
    /// (comma-separated).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub numerical: Vec<String>,
    /// The stat test for every column, named as Evidently names it; `auto` picks per column as
    /// Evidently does. ks, wasserstein and anderson apply to numerical columns only.
    #[arg(long, value_name = "METHOD", default_value = "auto", value_parser = method_parser())]
    pub method: Method,
    /// The threshold for every column [default: the method's: 0.05 for ks, chisquare and z;
    /// 0.1 for the others]. p-value tests drift below it, distances at or above it.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// The dataset drifts when at least this share of the compared columns drifts.
    #[arg(long = "drift-share", value_name = "X", default_value_t = 0.5)]
    pub drift_share: f64,
    /// Compare only these columns (comma-separated); each must be in both files.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Exit with status 3 when the dataset drifts (the report is printed all the same).
    #[arg(long = "fail-on-drift")]
    pub fail_on_drift: bool,
}

fn method_parser() -> impl clap::builder::TypedValueParser<Value = Method> {
    PossibleValuesParser::new(Method::ALL.map(Method::name)).try_map(|s| s.parse::<Method>())
}

/// One file's columns and how it was read, for the report's header.
struct Side {
    path: PathBuf,
    format: Format,
    columns: Vec<Column>,
}

impl Side {
    fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    fn names(&self) -> HashSet<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn describe(&self) -> String {
        format!(
            "{} ({}, {} rows, {} columns)",
            self.path.display(),
            format_name(self.format),
            self.rows(),
            self.columns.len()
        )
    }
}

pub fn run(args: DriftArgs) -> Result<ExitCode> {
    check_flags(&args)?;
    // A column may be in only one of the two files; `select_columns` refuses a name in
    // neither.
    let types = TypeOverrides {
        categorical: args.categorical.clone(),
        numerical: args.numerical.clone(),
        absent_ok: true,
    };
    let limits = TableLimits::default();
    let read = |path: &Path| -> Result<Side> {
        let (columns, format) = read_columns(path, &types, &limits)?;
        Ok(Side {
            path: path.to_path_buf(),
            format,
            columns,
        })
    };
    // Two files, two cores: parse both at once.
    let (reference, current) = std::thread::scope(|s| {
        let reference = s.spawn(|| read(&args.reference));
        let current = read(&args.current);
        let reference = reference
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (reference, current)
    });
    let (reference, current) = (reference?, current?);

    let selected = select_columns(&args, &reference, &current)?;
    warn_kind_mismatches(&selected, &reference, &current);
    let opts = DriftOptions {
        method: args.method,
        threshold: args.threshold,
    };
    let report = dataset_drift(&selected, &current.columns, |_| opts, args.drift_share);

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &report).context("cannot write the report")?;
        writeln!(out).context("cannot write the report")?;
    } else {
        print_report(&mut out, &reference, &current, &report).context("cannot write the report")?;
    }
    out.flush().context("cannot write the report")?;
    if args.fail_on_drift && report.dataset.drift_detected {
        return Ok(ExitCode::from(EXIT_DRIFT));
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks what can be checked before reading anything.
fn check_flags(args: &DriftArgs) -> Result<()> {
    if let Some(t) = args.threshold {
        if !t.is_finite() {
            bail!("--threshold must be a finite number, got {t}");
        }
    }
    if !(0.0..=1.0).contains(&args.drift_share) {
        bail!(
            "--drift-share must be between 0 and 1, got {}",
            args.drift_share
        );
    }
    for name in &args.categorical {
        if args.numerical.contains(name) {
            bail!("column {name:?} is named in both --categorical and --numerical");
        }
    }
    for (flag, list) in [
        ("--categorical", &args.categorical),
        ("--numerical", &args.numerical),
        ("--columns", &args.columns),
    ] {
        if list.iter().any(String::is_empty) {
            bail!("{flag} has an empty column name");
        }
    }
    Ok(())
}

/// The reference columns to test, in the reference's order: those in both files (and in
/// `--columns` when given). Columns in only one file are named on stderr.
fn select_columns<'a>(
    args: &DriftArgs,
    reference: &'a Side,
    current: &Side,
) -> Result<Vec<&'a Column>> {
    let (in_ref, in_cur) = (reference.names(), current.names());
    for (flag, list) in [
        ("--categorical", &args.categorical),
        ("--numerical", &args.numerical),
    ] {
        for name in list {
            if !in_ref.contains(name.as_str()) && !in_cur.contains(name.as_str()) {
                bail!(
                    "column {name:?} ({flag}) is in neither {} nor {}",
                    reference.path.display(),
                    current.path.display()
                );
            }
        }
    }
    for name in &args.columns {
        for (side, names) in [(reference, &in_ref), (current, &in_cur)] {
            if !names.contains(name.as_str()) {
                bail!(
                    "column {name:?} (--columns) is not in {}",
                    side.path.display()
                );
            }
        }
    }
    if args.columns.is_empty() {
        for (side, other) in [(reference, &in_cur), (current, &in_ref)] {
            let only: Vec<&str> = side
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .filter(|n| !other.contains(n))
                .collect();
            if !only.is_empty() {
                eprintln!(
                    "vigil: skipped, only in {}: {}",
                    side.path.display(),
                    only.join(", ")
                );
            }
        }
    }
    Ok(reference
        .columns
        .iter()
        .filter(|c| in_cur.contains(c.name.as_str()))
        .filter(|c| args.columns.is_empty() || args.columns.contains(&c.name))
        .collect())
}

/// A column read as numbers from one file and as categories from the other gets an error in
/// the report; say how to compare it.
fn warn_kind_mismatches(selected: &[&Column], reference: &Side, current: &Side) {
    for r in selected {
        let Some(c) = current.columns.iter().find(|c| c.name == r.name) else {
            continue;
        };
        if r.kind() != c.kind() {
            eprintln!(
                "vigil: column {:?} is {} in {} but {} in {}; name it in --categorical to \
                 compare it as categories",
                r.name,
                r.kind().name(),
                reference.path.display(),
                c.kind().name(),
                current.path.display()
            );
        }
    }
}

/// The human report: where the data came from, one row per feature, errors, the verdict.
fn print_report(
    out: &mut impl std::io::Write,
    reference: &Side,
    current: &Side,
    report: &DatasetDrift,
) -> std::io::Result<()> {
    writeln!(out, "reference: {}", reference.describe())?;
    writeln!(out, "current:   {}", current.describe())?;
    writeln!(out)?;
    let header = [
        "feature",
        "type",
        "method",
        "score",
        "threshold",
        "drift",
        "reference",
        "current",
    ]
    .map(String::from);
    let rows: Vec<[String; 8]> = report.features.iter().map(row).collect();
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            // Names and words left-aligned, numbers right-aligned.
            let right = matches!(i, 3 | 4 | 6 | 7);
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            if i > 0 {
                line.push_str("  ");
            }
            if right {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    let errors: Vec<&ColumnDrift> = report
        .features
        .iter()
        .filter(|f| f.error.is_some())
        .collect();
    if !errors.is_empty() {
        writeln!(out)?;
        for f in errors {
            let why = f.error.as_deref().unwrap_or_default();
            writeln!(out, "not tested: {}: {why}", f.name)?;
        }
    }
    let d = &report.dataset;
    writeln!(out)?;
    writeln!(
        out,
        "dataset drift: {} ({} of {} features drifted, share {} {} drift share {})",
        if d.drift_detected {
            "DETECTED"
        } else {
            "not detected"
        },
        d.n_drifted,
        d.n_features,
        number(d.share_drifted),
        if d.share_drifted >= d.drift_share_threshold {
            ">="
        } else {
            "<"
        },
        number(d.drift_share_threshold),
    )
}

fn row(f: &ColumnDrift) -> [String; 8] {
    let size = |clean: usize, rows: usize| {
        if clean == rows {
            rows.to_string()
        } else {
            format!("{clean} (+{} null)", rows.saturating_sub(clean))
        }
    };
    [
        f.name.clone(),
        f.kind.name().to_string(),
        f.method.name().to_string(),
        f.score.map_or_else(|| "-".to_string(), number),
        number(f.threshold),
        match (f.error.is_some(), f.drift_detected) {
            (true, _) => "error",
            (false, true) => "yes",
            (false, false) => "no",
        }
        .to_string(),
        size(f.n_reference_clean, f.n_reference),
        size(f.n_current_clean, f.n_current),
    ]
}

/// Four significant digits, scientific below 1e-4 and from 1e6 on (p-values reach 1e-300).
fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    // magnitude is in [-4, 5], so the digit count is in [0, 7].
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.05), "0.05");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(0.0684094932600098), "0.06841");
        assert_eq!(number(0.000123456), "0.0001235");
        assert_eq!(number(1.8236738783640463e-50), "1.824e-50");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.0 / 3.0), "0.3333");
        assert_eq!(number(8.13), "8.13");
        assert_eq!(number(123456.0), "123456");
        assert_eq!(number(2.5e7), "2.500e7");
        assert_eq!(number(f64::INFINITY), "inf");
    }
}

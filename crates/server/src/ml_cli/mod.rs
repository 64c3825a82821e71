//! `vigil ml`: ML monitoring from the command line, without a running server or Python.
//!
//! Owns: the flags of `vigil ml drift` (an offline data drift report between two dataset
//! files, as Evidently's `DataDriftPreset` gives one) and `vigil ml reference upload` (a
//! reference dataset sent to a running Vigil), reading dataset files, and exit statuses.
//!
//! Does not own: the statistics, the method choice or the dataset decision (`vigil_ml::drift`),
//! nor parsing CSV and Parquet (`vigil_ml::table`). The command only reads files, picks the
//! columns both files share and prints what `vigil_ml::dataset_drift` returns, so the offline
//! report and the server's drift series are the same numbers for the same rows.

mod drift;
mod upload;

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use vigil_ml::{read_table_bytes, Column, Format, TableLimits, TypeOverrides};

/// Flags of `vigil ml`.
#[derive(Debug, Args)]
pub struct MlArgs {
    #[command(subcommand)]
    pub command: MlCommand,
}

#[derive(Debug, Subcommand)]
pub enum MlCommand {
    /// Data drift report between a reference and a current dataset file (CSV or Parquet), with
    /// Evidently's methods, thresholds and dataset decision.
    ///
    /// Every column present in both files is compared (columns in only one are named on stderr
    /// and skipped). The method defaults to Evidently's automatic choice: for a reference of at
    /// most 1000 non-null values, K-S for numbers with more than 5 distinct values, chi-square
    /// for 3-5 values or categories, the Z-test for at most 2; for larger references the normed
    /// Wasserstein distance for numbers with more than 5 distinct values, Jensen-Shannon
    /// otherwise. The dataset drifts when the share of drifted columns is at least
    /// --drift-share.
    ///
    /// Files: the format is recognised from the content (Parquet's `PAR1` magic, CSV
    /// otherwise). CSV needs a header row; an empty field is a missing value, as are pandas'
    /// NA strings in numerical columns. A CSV column is numerical when every value is a number,
    /// categorical otherwise; a Parquet column follows its stored type.
    ///
    /// Limits per file (the server's defaults): 256 MiB, 1,000,000 rows, 1,000 columns,
    /// 20,000,000 values, 10,000 distinct categories per column.
    ///
    /// Exit status: 0 when the report was produced, drift or not; 3 with --fail-on-drift when
    /// the dataset drifts; 1 when a file cannot be read (the message names the file and the
    /// line, row or column); 2 for bad flags.
    #[command(long_about)]
    Drift(drift::DriftArgs),
    /// Reference datasets kept by a running Vigil.
    Reference(ReferenceArgs),
}

#[derive(Debug, Args)]
pub struct ReferenceArgs {
    #[command(subcommand)]
    pub command: ReferenceCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReferenceCommand {
    /// Upload a CSV or Parquet file as a model's drift reference
    /// (`PUT {url}/api/v1/ml/models/{model}/reference`).
    ///
    /// The file is read locally first, with the server's limits (256 MiB, 1,000,000 rows,
    /// 1,000 columns, 20,000,000 values, 10,000 categories per column), so a malformed file is
    /// reported with its line without a round trip. Exit status 0 when the server stored the
    /// reference, 1 otherwise.
    // `--version` is the model's version here, not the program's.
    #[command(long_about, disable_version_flag = true)]
    Upload(upload::UploadArgs),
}

/// Runs `vigil ml …`; the exit status is the command's (see each command's help).
///
/// # Errors
/// When a file cannot be read or the request fails; the message says which and why.
pub fn run(args: MlArgs) -> Result<ExitCode> {
    match args.command {
        MlCommand::Drift(a) => drift::run(a),
        MlCommand::Reference(ReferenceArgs {
            command: ReferenceCommand::Upload(a),
        }) => upload::run(a),
    }
}

/// A dataset file read whole: its bytes and the format they sniff as.
struct DatasetFile {
    /// Shared, so that reading it again (or sending it) copies nothing.
    bytes: bytes::Bytes,
    format: Format,
}

/// Reads `path`, refusing a file above the table limit: by its size before reading it, and by
/// what was read for a file whose size is unknown (a device or pipe reports 0) or grows.
fn read_file(path: &Path, limits: &TableLimits) -> Result<DatasetFile> {
    let cannot_read = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    if usize::try_from(size).map_or(true, |s| s > limits.max_bytes) {
        bail!(
            "{}: the file is {size} bytes, more than the limit of {} bytes",
            path.display(),
            limits.max_bytes
        );
    }
    let max = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    if bytes.len() > limits.max_bytes {
        bail!(
            "{}: more than the limit of {} bytes",
            path.display(),
            limits.max_bytes
        );
    }
    let format = Format::sniff(&bytes);
    Ok(DatasetFile {
        bytes: bytes.into(),
        format,
    })
}

/// Reads a dataset file's columns.
fn read_columns(
    path: &Path,
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<(Vec<Column>, Format)> {
    let file = read_file(path, limits)?;
    let columns = read_table_bytes(file.bytes, file.format, types, limits)
        .with_context(|| path.display().to_string())?;
    Ok((columns, file.format))
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV",
        Format::Parquet => "Parquet",
    }
}

/// A duration flag: humantime's syntax (`30s`, `5m`), above zero.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be above 0".into());
    }
    Ok(d)
}

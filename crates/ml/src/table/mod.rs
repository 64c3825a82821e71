//! Dataset files: a CSV or Parquet table read into [`Column`]s for the drift statistics.
//!
//! Owns: turning the bytes of a reference or current dataset (`vigil ml drift --reference …`,
//! `PUT /api/v1/ml/models/{model}/reference`) into named numerical or categorical columns, the way
//! Evidently sees a pandas DataFrame read from the same file: `csv.rs` parses RFC 4180 text,
//! `parquet.rs` decodes Parquet's flat columns, and `detect.rs` decides each column's kind.
//!
//! Does not own: where the bytes come from (a file, an HTTP body) or what is computed from the
//! columns. Everything is synchronous and in memory: a dataset is read whole because every drift
//! test needs all of a column's values, and [`TableLimits`] bound what an untrusted body can make
//! the server allocate.
//!
//! Why one entry point with an explicit [`Format`]: the HTTP handler knows the body's content type
//! and the CLI knows the file name, and both can fall back to [`Format::sniff`].
//!
//! # CSV
//!
//! A header row is required; names must be unique and non-empty. Quoting is RFC 4180's; CRLF or
//! LF line ends; blank lines are skipped (pandas' `skip_blank_lines`); a leading UTF-8 byte order
//! mark is dropped. A column is numerical when every non-missing value parses as a number, else
//! categorical (booleans included, as text); an all-missing column is numerical, as pandas reads
//! it as all-NaN `float64`. Numbers with few distinct values stay numerical: Evidently changes
//! the stat test for them, not the kind. An empty field is missing in every column; in a
//! numerical column [`NA_VALUES`] (pandas' default `na_values`) are missing too, but in a
//! categorical column they stay text, because a category named `NA` or `None` is data to a
//! drift test (pandas would make them NaN in every column).
//!
//! # Parquet
//!
//! A column's kind follows its stored type, as pandas' dtype after `read_parquet` would, not its
//! values: a string column holding digits is still categorical.
//!
//! | stored as                                   | kind        | value                        |
//! |---------------------------------------------|-------------|------------------------------|
//! | INT32, INT64, signed or unsigned            | numerical   | the integer                  |
//! | `DECIMAL` (INT32, INT64, binary up to 16 B) | numerical   | the decimal, correctly rounded |
//! | FLOAT, DOUBLE                               | numerical   | the number; NaN is missing   |
//! | INT32 `DATE`                                | numerical   | days since 1970-01-01        |
//! | INT64 `TIMESTAMP`, INT96                    | numerical   | seconds since the Unix epoch |
//! | INT32, INT64 `TIME`                         | numerical   | seconds since midnight       |
//! | BOOLEAN                                     | categorical | `True` / `False`             |
//! | BYTE_ARRAY (`STRING`, `ENUM`, `JSON`, none) | categorical | the UTF-8 text               |
//!
//! Dates and timestamps are numerical so that drift in *when* things happen is measured as a
//! distance, not as thousands of one-off categories. Forced categorical (`--categorical`), they
//! become text as pandas' `to_csv` writes single values: `2024-01-31`,
//! `2024-01-31 12:00:00[.fraction]` (UTC for UTC-adjusted timestamps, no zone suffix), `12:00:00`;
//! numbers become their shortest round-trip text (`1.5`, `3`, `1e-05`), booleans `True`/`False`
//! as pandas writes them to CSV, so a table read from Parquet and from pandas' CSV of the same
//! frame give the same columns. A string column forced numerical parses as a CSV cell does
//! ([`NA_VALUES`] are missing).
//!
//! Multiple row groups are read in order. Nested or repeated columns, FIXED_LEN_BYTE_ARRAY
//! without `DECIMAL` (UUID, FLOAT16) and brotli compression are errors naming the column (or the
//! codec); columns named `__index_level_N__` (a pandas index as pyarrow stores it) are skipped.

mod csv;
mod detect;
mod parquet;

pub use detect::NA_VALUES;

use std::fmt;

use bytes::Bytes;
use vigil_model::ErrorKind;

use crate::Column;

/// A dataset file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// Apache Parquet, flat columns only.
    Parquet,
}

/// The four bytes a Parquet file starts and ends with (Parquet format spec, "File Format").
const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

impl Format {
    /// Guesses the format from the content: Parquet when the bytes start and end with `PAR1`
    /// (and are long enough to also hold the 4-byte footer length), CSV otherwise.
    ///
    /// A truncated Parquet file has lost its trailing `PAR1` and so sniffs as CSV; the CSV
    /// reader then fails on it (usually with invalid UTF-8 on line 1), so name the format
    /// explicitly when it is known.
    pub fn sniff(bytes: &[u8]) -> Format {
        let magic = PARQUET_MAGIC.as_slice();
        if bytes.len() >= 12 && bytes.starts_with(magic) && bytes.ends_with(magic) {
            Format::Parquet
        } else {
            Format::Csv
        }
    }
}

/// Columns whose kind is forced instead of detected (`--categorical` / `--numerical`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeOverrides {
    /// Columns read as categories, whatever their values look like.
    pub categorical: Vec<String>,
    /// Columns read as numbers; a value that is neither missing nor a number is an error.
    pub numerical: Vec<String>,
    /// Whether a name above that the table does not have is passed over rather than an error:
    /// a model's configured features need not all be in its reference, and one of two files
    /// compared may lack a column.
    pub absent_ok: bool,
}

/// Bounds on what one table may make the reader allocate; exceeding one is an error
/// ([`ErrorKind::LimitExceeded`]), never a crash.
///
/// The defaults suit an HTTP body from an untrusted client: a 1,000,000-row reference window of
/// up to 20 features fits. The CLI, reading the operator's own files, may raise them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// Largest input, in bytes (default 256 MiB). For Parquet it also bounds the text
    /// decoded from string columns, which compression can make much larger than the file.
    pub max_bytes: usize,
    /// Most data rows, header excluded (default 1,000,000).
    pub max_rows: usize,
    /// Most columns (default 1,000).
    pub max_columns: usize,
    /// Most values, rows × columns (default 20,000,000, about 320 MB of numbers). Parquet's
    /// run-length encoding can describe millions of rows in a few bytes, so the row and column
    /// limits alone do not bound memory.
    pub max_cells: usize,
    /// Most distinct values in one categorical column (default 10,000); beyond that a column is
    /// an identifier rather than a category, and χ² over it says nothing.
    pub max_categories_per_column: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        TableLimits {
            max_bytes: 256 << 20,
            max_rows: 1_000_000,
            max_columns: 1_000,
            max_cells: 20_000_000,
            max_categories_per_column: 10_000,
        }
    }
}

/// Where in the input a problem is: a CSV line, a Parquet row, or the Parquet schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A 1-based physical line of a CSV file (a quoted field can span lines; a record is
    /// located by the line it starts on).
    Line(u64),
    /// A 1-based data row of a Parquet file, counted across row groups.
    Row(u64),
    /// The Parquet file's schema.
    Schema,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(n) => write!(f, "row {n}"),
            Location::Schema => f.write_str("schema"),
        }
    }
}

/// Why a table could not be read; each variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The input is larger than [`TableLimits::max_bytes`].
    #[error("input is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// Parquet string columns decode to more text than [`TableLimits::max_bytes`].
    #[error("column {column:?}: decoded text exceeds the limit of {limit} bytes")]
    TextTooLarge { column: String, limit: usize },
    /// More data rows than [`TableLimits::max_rows`].
    #[error("{at}: more than {limit} rows")]
    TooManyRows { at: Location, limit: usize },
    /// More columns than [`TableLimits::max_columns`].
    #[error("{columns} columns, more than the limit of {limit}")]
    TooManyColumns { columns: usize, limit: usize },
    /// More values than [`TableLimits::max_cells`].
    #[error("{rows} rows × {columns} columns is more than the limit of {limit} values")]
    TooManyCells {
        rows: usize,
        columns: usize,
        limit: usize,
    },
    /// A categorical column with more distinct values than
    /// [`TableLimits::max_categories_per_column`].
    #[error("column {column:?}: more than {limit} distinct categories")]
    TooManyCategories { column: String, limit: usize },
    /// A CSV input without even a header row.
    #[error("no header row: the input is empty")]
    NoHeader,
    /// A column without a name (the 1-based position says which).
    #[error("{at}: column {position} has an empty name")]
    EmptyColumnName { at: Location, position: usize },
    /// Two columns with one name (1-based positions).
    #[error("{at}: column name {name:?} appears twice, as columns {first} and {second}")]
    DuplicateColumnName {
        at: Location,
        name: String,
        first: usize,
        second: usize,
    },
    /// A CSV record whose field count differs from the header's.
    #[error("line {line}: {found} fields, but the header has {expected}")]
    FieldCount {
        line: u64,
        expected: usize,
        found: usize,
    },
    /// A CSV line that is not UTF-8.
    #[error("line {line}: invalid UTF-8")]
    InvalidUtf8 { line: u64 },
    /// Any other CSV syntax error.
    #[error("line {line}: {reason}")]
    Csv { line: u64, reason: String },
    /// An override names a column the table does not have.
    #[error("column {name:?}, named {kind}, is not in the table")]
    UnknownColumn { name: String, kind: &'static str },
    /// An override names a column both categorical and numerical.
    #[error("column {name:?} is named both categorical and numerical")]
    ConflictingKinds { name: String },
    /// A value in a numerical column that is neither missing nor a number.
    #[error("{at}, column {column:?}: {value:?} is not a number")]
    NotNumeric {
        at: Location,
        column: String,
        value: String,
    },
    /// A Parquet string value that is not UTF-8.
    #[error("{at}, column {column:?}: invalid UTF-8")]
    InvalidText { at: Location, column: String },
    /// A Parquet column this reader cannot turn into a flat numerical or categorical column.
    #[error("column {column:?}: {reason}")]
    UnsupportedColumn { column: String, reason: String },
    /// A Parquet file that is malformed, truncated, or uses a feature this build lacks
    /// (brotli compression, encryption).
    #[error("parquet: {reason}")]
    Parquet { reason: String },
}

impl TableError {
    /// The kind the http crate maps to a status code: limits are `LimitExceeded`, everything
    /// else is the client's input (`InvalidInput`); a damaged upload is not damaged storage.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TableError::TooLarge { .. }
            | TableError::TextTooLarge { .. }
            | TableError::TooManyRows { .. }
            | TableError::TooManyColumns { .. }
            | TableError::TooManyCells { .. }
            | TableError::TooManyCategories { .. } => ErrorKind::LimitExceeded,
            TableError::NoHeader
            | TableError::EmptyColumnName { .. }
            | TableError::DuplicateColumnName { .. }
            | TableError::FieldCount { .. }
            | TableError::InvalidUtf8 { .. }
            | TableError::Csv { .. }
            | TableError::UnknownColumn { .. }
            | TableError::ConflictingKinds { .. }
            | TableError::NotNumeric { .. }
            | TableError::InvalidText { .. }
            | TableError::UnsupportedColumn { .. }
            | TableError::Parquet { .. } => ErrorKind::InvalidInput,
        }
    }
}

/// Reads a whole table, one [`Column`] per column in file order.
///
/// Column kinds: a column named in `types` has that kind. Otherwise a CSV column is numerical
/// when every non-missing value parses as a number (integers and floats, by Rust's correctly
/// rounding `str::parse::<f64>`, surrounding ASCII whitespace ignored) and categorical if not
/// (`true`/`false` included); a column with no values is numerical. A Parquet column follows its
/// stored type (numbers, decimals, dates and timestamps are numerical; booleans and strings
/// categorical; see the module docs of `parquet.rs` for the full mapping).
///
/// Missing values (`None`): an empty CSV field, quoted or not, in any column; in a numerical
/// CSV column also [`NA_VALUES`] and `inf`/`-inf`/`NaN` (non-finite numbers are missing, as in
/// [`Column::numerical`]); a Parquet null, or a NaN float. Categorical values are the text as
/// written (`"1.0"` stays `"1.0"`, `"NA"` in a categorical column is a category).
///
/// # Errors
///
/// [`TableError`] when the input exceeds `limits`, is malformed, or disagrees with `types`
/// (an unknown column, a column named in both lists, a non-number in a numerical column); the
/// error names the line, row or column.
pub fn read_table(
    bytes: &[u8],
    format: Format,
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    check_input(bytes.len(), types, limits)?;
    match format {
        Format::Csv => csv::read(bytes, types, limits),
        Format::Parquet => parquet::read(Bytes::copy_from_slice(bytes), types, limits),
    }
}

/// [`read_table`] for input already held as [`Bytes`]: the Parquet reader shares it instead of
/// copying it (a copy would double the peak memory of an upload), and reading the same input
/// again costs no copy either.
///
/// # Errors
///
/// As [`read_table`].
pub fn read_table_bytes(
    bytes: Bytes,
    format: Format,
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    check_input(bytes.len(), types, limits)?;
    match format {
        Format::Csv => csv::read(&bytes, types, limits),
        Format::Parquet => parquet::read(bytes, types, limits),
    }
}

/// What is checked before any input is read: its size and the overrides.
fn check_input(len: usize, types: &TypeOverrides, limits: &TableLimits) -> Result<(), TableError> {
    if len > limits.max_bytes {
        return Err(TableError::TooLarge {
            size: len,
            limit: limits.max_bytes,
        });
    }
    detect::check_overrides(types)
}

/// Checks header names: none empty, none repeated.
fn check_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    at: Location,
) -> Result<(), TableError> {
    let mut seen = std::collections::HashMap::new();
    for (i, name) in names.into_iter().enumerate() {
        let position = i + 1;
        if name.is_empty() {
            return Err(TableError::EmptyColumnName { at, position });
        }
        if let Some(first) = seen.insert(name, position) {
            return Err(TableError::DuplicateColumnName {
                at,
                name: name.to_owned(),
                first,
                second: position,
            });
        }
    }
    Ok(())
}

/// Checks the column count against the limits (rows × columns is [`row_limit`]'s).
fn check_shape(columns: usize, limits: &TableLimits) -> Result<(), TableError> {
    if columns > limits.max_columns {
        return Err(TableError::TooManyColumns {
            columns,
            limit: limits.max_columns,
        });
    }
    Ok(())
}

/// The most rows a table of `columns` columns may have: `max_rows`, lowered by `max_cells`.
fn row_limit(columns: usize, limits: &TableLimits) -> usize {
    match limits.max_cells.checked_div(columns) {
        Some(by_cells) => limits.max_rows.min(by_cells),
        None => limits.max_rows,
    }
}

/// The error for a table that has more rows than [`row_limit`] allows.
fn too_many_rows(at: Location, rows: usize, columns: usize, limits: &TableLimits) -> TableError {
    if rows > limits.max_rows {
        TableError::TooManyRows {
            at,
            limit: limits.max_rows,
        }
    } else {
        TableError::TooManyCells {
            rows,
            columns,
            limit: limits.max_cells,
        }
    }
}

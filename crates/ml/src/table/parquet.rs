//! Parquet tables: flat columns decoded with the `parquet` crate's column readers (no arrow).
//!
//! How stored types map to kinds and values is documented on the parent module, [`super`].
//!
//! Not supported, each an error naming the column: nested or repeated columns (lists, structs,
//! maps), FIXED_LEN_BYTE_ARRAY without `DECIMAL` (UUID, FLOAT16, INTERVAL), decimals wider
//! than 16 bytes. Columns named `__index_level_N__` are skipped: pyarrow stores a pandas frame's
//! unnamed non-default index under that name and `read_parquet` turns it back into the index.
//!
//! Malformed input is an error: the `parquet` crate reports most damage itself, column chunks
//! are checked to lie inside the file, and the crate's remaining panics on damaged pages are
//! caught and reported as [`TableError::Parquet`]. The crate allocates each page's declared
//! decompressed size (at most 2 GiB, an `i32`) before checking it, which the limits here cannot
//! prevent.

use ::parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{AsBytes, DataType};
use ::parquet::file::metadata::RowGroupMetaData;
use ::parquet::file::reader::FileReader;
use ::parquet::file::serialized_reader::SerializedFileReader;
use ::parquet::schema::types::ColumnDescriptor;
use bytes::Bytes;

use super::detect::{self, Choice};
use super::{check_names, check_shape, row_limit, too_many_rows, Location};
use super::{TableError, TableLimits, TypeOverrides};
use crate::{Column, ColumnKind, Values};

/// Records decoded per `read_records` call: bounds the scratch buffers, not the result.
const BATCH: usize = 8192;

/// Reads a Parquet table.
///
/// # Errors
///
/// See [`super::read_table`].
pub(super) fn read(
    bytes: Bytes,
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    // The `parquet` crate still panics on some damaged input instead of returning an error
    // (asserts and `expect`s in its metadata and page decoders; apache/arrow-rs#9742). Our own
    // code returns errors; this contains the crate's panics so a bad upload is a 400, not a dead
    // request thread. It relies on `panic = "unwind"`, the workspace's setting in every profile.
    // Nothing decoded survives a panic: the reader and the partial columns are dropped.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode(bytes, types, limits)
    }))
    .unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(corrupt(format!("malformed file ({why})")))
    })
}

/// [`read`] without the panic guard.
fn decode(
    bytes: Bytes,
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    let size = bytes.len();
    let file = SerializedFileReader::new(bytes).map_err(corrupt)?;
    let metadata = file.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let fields = schema.root_schema().get_fields();

    // (leaf index, name) of the columns read, in file order.
    let mut kept: Vec<(usize, &str)> = Vec::new();
    for (leaf, field) in fields.iter().enumerate() {
        let info = field.get_basic_info();
        if field.is_group() || (info.has_repetition() && info.repetition() == Repetition::REPEATED)
        {
            return Err(TableError::UnsupportedColumn {
                column: field.name().to_owned(),
                reason: "nested or repeated Parquet columns are not supported".to_owned(),
            });
        }
        if !is_pandas_index(field.name()) {
            kept.push((leaf, field.name()));
        }
    }
    // Every top-level field is primitive, so field i is leaf column i.
    if schema.num_columns() != fields.len() {
        return Err(corrupt("schema leaves do not match its fields"));
    }
    check_shape(kept.len(), limits)?;
    check_names(kept.iter().map(|(_, n)| *n), Location::Schema)?;
    let names: Vec<&str> = kept.iter().map(|(_, n)| *n).collect();
    let choices = detect::choices(&names, types)?;

    let rows = count_rows(metadata.row_groups(), schema.num_columns(), size)?;
    if rows > row_limit(kept.len(), limits) {
        let first_over = u64::try_from(limits.max_rows.saturating_add(1)).unwrap_or(u64::MAX);
        return Err(too_many_rows(
            Location::Row(first_over),
            rows,
            kept.len(),
            limits,
        ));
    }

    let mut text_budget = limits.max_bytes;
    kept.iter()
        .zip(choices)
        .map(|(&(leaf, name), choice)| {
            let column = Leaf {
                index: leaf,
                descr: &schema.column(leaf),
                name,
            };
            read_column(&file, column, choice, rows, &mut text_budget, limits)
        })
        .collect()
}

/// The file's row count, after checking each row group's metadata against the schema and the
/// file's length.
fn count_rows(
    groups: &[RowGroupMetaData],
    columns: usize,
    file_len: usize,
) -> Result<usize, TableError> {
    let mut rows: usize = 0;
    for rg in groups {
        if rg.num_columns() != columns {
            return Err(corrupt(
                "a row group's column count differs from the schema's",
            ));
        }
        // A column chunk outside the file would trip an assert in the crate's page reader.
        for chunk in rg.columns() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(chunk.compressed_size()).ok())
                .and_then(|(start, len)| start.checked_add(len))
                .is_some_and(|end| end <= file_len as u64);
            if !inside {
                return Err(corrupt(format!(
                    "column chunk {:?} lies outside the file",
                    chunk.column_path().string()
                )));
            }
        }
        let n = usize::try_from(rg.num_rows())
            .map_err(|_| corrupt("a row group has a negative row count"))?;
        rows = rows
            .checked_add(n)
            .ok_or_else(|| corrupt("row count overflows"))?;
    }
    Ok(rows)
}

/// One flat column of the file.
#[derive(Clone, Copy)]
struct Leaf<'a> {
    /// Its index among the schema's leaves.
    index: usize,
    descr: &'a ColumnDescriptor,
    name: &'a str,
}

/// Reads one column across all row groups.
fn read_column(
    file: &SerializedFileReader<Bytes>,
    leaf: Leaf<'_>,
    choice: Choice,
    rows: usize,
    text_budget: &mut usize,
    limits: &TableLimits,
) -> Result<Column, TableError> {
    let meaning = meaning(leaf.descr).map_err(|reason| TableError::UnsupportedColumn {
        column: leaf.name.to_owned(),
        reason,
    })?;
    let target = match choice {
        Choice::Auto => meaning.kind(),
        Choice::Categorical => ColumnKind::Categorical,
        Choice::Numerical => ColumnKind::Numerical,
    };
    let mut sink = Sink {
        name: leaf.name,
        meaning,
        values: match target {
            ColumnKind::Numerical => Values::Numerical(Vec::with_capacity(rows)),
            ColumnKind::Categorical => Values::Categorical(Vec::with_capacity(rows)),
        },
        rows: 0,
        text_budget,
        limit: limits.max_bytes,
    };
    let max_def = leaf.descr.max_def_level();
    for index in 0..file.num_row_groups() {
        let group = file.get_row_group(index).map_err(corrupt)?;
        // Checked non-negative by `count_rows`.
        let n = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
        match group.get_column_reader(leaf.index).map_err(corrupt)? {
            ColumnReader::BoolColumnReader(r) => {
                drain(r, max_def, n, |v| sink.push(v.map(|b| Stored::Bool(*b))))
            }
            ColumnReader::Int32ColumnReader(r) => drain(r, max_def, n, |v| {
                sink.push(v.map(|&x| Stored::Int(meaning.widen32(x))))
            }),
            ColumnReader::Int64ColumnReader(r) => drain(r, max_def, n, |v| {
                sink.push(v.map(|&x| Stored::Int(meaning.widen64(x))))
            }),
            ColumnReader::Int96ColumnReader(r) => drain(r, max_def, n, |v| {
                sink.push(v.map(|x| Stored::Int(i128::from(x.to_nanos()))))
            }),
            ColumnReader::FloatColumnReader(r) => {
                drain(r, max_def, n, |v| sink.push(v.map(|&x| Stored::F32(x))))
            }
            ColumnReader::DoubleColumnReader(r) => {
                drain(r, max_def, n, |v| sink.push(v.map(|&x| Stored::F64(x))))
            }
            ColumnReader::ByteArrayColumnReader(r) => drain(r, max_def, n, |v| {
                sink.push(v.map(|x| Stored::Bytes(x.as_bytes())))
            }),
            ColumnReader::FixedLenByteArrayColumnReader(r) => drain(r, max_def, n, |v| {
                sink.push(v.map(|x| Stored::Bytes(x.as_bytes())))
            }),
        }?;
    }
    sink.finish(limits)
}

/// Whether pyarrow named this column for a pandas index (`__index_level_0__`).
fn is_pandas_index(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|rest| rest.strip_suffix("__"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A `parquet` crate error as ours.
fn corrupt(error: impl ToString) -> TableError {
    TableError::Parquet {
        reason: error.to_string(),
    }
}

/// Reads `rows` records of one column chunk, calling `each` with every value (`None` = null).
fn drain<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    max_def: i16,
    rows: usize,
    mut each: impl FnMut(Option<&T::T>) -> Result<(), TableError>,
) -> Result<(), TableError> {
    let mut defs: Vec<i16> = Vec::new();
    let mut values: Vec<T::T> = Vec::new();
    let mut done = 0;
    while done < rows {
        defs.clear();
        values.clear();
        let want = (rows - done).min(BATCH);
        let (records, _, _) = reader
            .read_records(want, Some(&mut defs), None, &mut values)
            .map_err(corrupt)?;
        if records == 0 || records > want {
            return Err(corrupt(format!(
                "column chunk ends after {done} of its row group's {rows} rows"
            )));
        }
        if max_def == 0 {
            if values.len() != records {
                return Err(corrupt("a required column has fewer values than rows"));
            }
            for value in &values {
                each(Some(value))?;
            }
        } else {
            let mut present = values.iter();
            for &def in defs.iter().take(records) {
                if def == max_def {
                    let value = present
                        .next()
                        .ok_or_else(|| corrupt("fewer values than definition levels"))?;
                    each(Some(value))?;
                } else {
                    each(None)?;
                }
            }
        }
        done += records;
    }
    Ok(())
}

/// What a column's stored values mean, from its physical and logical types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// An integer; `unsigned` reinterprets the stored bits.
    Int { unsigned: bool },
    /// A decimal with `scale` digits after the point.
    Decimal { scale: u32 },
    /// Days since 1970-01-01.
    Date,
    /// Time of day in units of 1/`per_second` s.
    Time { per_second: i128 },
    /// Time since the Unix epoch in units of 1/`per_second` s.
    Timestamp { per_second: i128 },
    /// A binary float.
    Float,
    /// A boolean.
    Bool,
    /// UTF-8 text.
    Text,
}

impl Meaning {
    /// The kind the column has unless overridden.
    fn kind(self) -> ColumnKind {
        match self {
            Meaning::Bool | Meaning::Text => ColumnKind::Categorical,
            _ => ColumnKind::Numerical,
        }
    }

    fn widen32(self, x: i32) -> i128 {
        match self {
            Meaning::Int { unsigned: true } => i128::from(x.cast_unsigned()),
            _ => i128::from(x),
        }
    }

    fn widen64(self, x: i64) -> i128 {
        match self {
            Meaning::Int { unsigned: true } => i128::from(x.cast_unsigned()),
            _ => i128::from(x),
        }
    }
}

/// Units per second of a Parquet time unit.
fn per_second(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::MILLIS => 1_000,
        TimeUnit::MICROS => 1_000_000,
        TimeUnit::NANOS => 1_000_000_000,
    }
}

/// A column's [`Meaning`], or why it is not supported.
fn meaning(descr: &ColumnDescriptor) -> Result<Meaning, String> {
    let decimal = |scale: i32| match u32::try_from(scale) {
        Ok(scale) if scale <= 38 => Ok(Meaning::Decimal { scale }),
        _ => Err(format!("DECIMAL scale {scale} is outside 0..=38")),
    };
    let physical = descr.physical_type();
    match physical {
        PhysicalType::BOOLEAN => return Ok(Meaning::Bool),
        PhysicalType::FLOAT | PhysicalType::DOUBLE => return Ok(Meaning::Float),
        PhysicalType::INT96 => {
            return Ok(Meaning::Timestamp {
                per_second: 1_000_000_000,
            })
        }
        _ => {}
    }
    let integral = matches!(physical, PhysicalType::INT32 | PhysicalType::INT64);
    let by_logical = match descr.logical_type_ref() {
        Some(LogicalType::Decimal(d)) => Some(decimal(d.scale)?),
        Some(LogicalType::Integer(i)) if integral => Some(Meaning::Int {
            unsigned: !i.is_signed,
        }),
        Some(LogicalType::Date) if integral => Some(Meaning::Date),
        Some(LogicalType::Time(t)) if integral => Some(Meaning::Time {
            per_second: per_second(&t.unit),
        }),
        Some(LogicalType::Timestamp(t)) if integral => Some(Meaning::Timestamp {
            per_second: per_second(&t.unit),
        }),
        _ => None,
    };
    if let Some(m) = by_logical {
        return Ok(m);
    }
    // Files from writers older than the LogicalType field carry only the converted type.
    let by_converted = match descr.converted_type() {
        ConvertedType::DECIMAL => Some(decimal(descr.type_scale())?),
        ConvertedType::UINT_8
        | ConvertedType::UINT_16
        | ConvertedType::UINT_32
        | ConvertedType::UINT_64
            if integral =>
        {
            Some(Meaning::Int { unsigned: true })
        }
        ConvertedType::DATE if integral => Some(Meaning::Date),
        ConvertedType::TIME_MILLIS if integral => Some(Meaning::Time { per_second: 1_000 }),
        ConvertedType::TIME_MICROS if integral => Some(Meaning::Time {
            per_second: 1_000_000,
        }),
        ConvertedType::TIMESTAMP_MILLIS if integral => {
            Some(Meaning::Timestamp { per_second: 1_000 })
        }
        ConvertedType::TIMESTAMP_MICROS if integral => Some(Meaning::Timestamp {
            per_second: 1_000_000,
        }),
        _ => None,
    };
    match (by_converted, physical) {
        (Some(m), _) => Ok(m),
        (None, PhysicalType::INT32 | PhysicalType::INT64) => Ok(Meaning::Int { unsigned: false }),
        (None, PhysicalType::BYTE_ARRAY) => Ok(Meaning::Text),
        (None, _) => Err(
            "FIXED_LEN_BYTE_ARRAY without a DECIMAL annotation (UUID, FLOAT16, INTERVAL) is not \
             supported"
                .to_owned(),
        ),
    }
}

/// One stored value, widened.
#[derive(Debug, Clone, Copy)]
enum Stored<'a> {
    Int(i128),
    F32(f32),
    F64(f64),
    Bool(bool),
    Bytes(&'a [u8]),
}

/// Collects one column's values in its target kind.
struct Sink<'a> {
    name: &'a str,
    meaning: Meaning,
    values: Values,
    /// Rows pushed so far.
    rows: u64,
    /// Text bytes the remaining string values may still take.
    text_budget: &'a mut usize,
    /// [`TableLimits::max_bytes`], for the error.
    limit: usize,
}

impl Sink<'_> {
    fn push(&mut self, stored: Option<Stored<'_>>) -> Result<(), TableError> {
        self.rows += 1;
        let at = Location::Row(self.rows);
        let name = self.name;
        let bad = |why: Bad| match why {
            Bad::Utf8 => TableError::InvalidText {
                at,
                column: name.to_owned(),
            },
            Bad::Unsupported(reason) => TableError::UnsupportedColumn {
                column: name.to_owned(),
                reason,
            },
        };
        let meaning = self.meaning;
        match &mut self.values {
            Values::Numerical(out) => {
                let value = match stored {
                    None => None,
                    Some(s) if meaning.kind() == ColumnKind::Numerical => {
                        number(meaning, s).map_err(bad)?
                    }
                    // A string or boolean column forced numerical parses as CSV text does.
                    Some(s) => match text(meaning, s).map_err(bad)? {
                        None => None,
                        Some(t) => detect::number_in(name, &t, || at)?,
                    },
                };
                out.push(value);
            }
            Values::Categorical(out) => {
                let value = match stored {
                    None => None,
                    Some(s) => text(meaning, s).map_err(bad)?,
                };
                if let Some(t) = &value {
                    *self.text_budget = self.text_budget.checked_sub(t.len()).ok_or_else(|| {
                        TableError::TextTooLarge {
                            column: name.to_owned(),
                            limit: self.limit,
                        }
                    })?;
                }
                out.push(value);
            }
        }
        Ok(())
    }

    fn finish(self, limits: &TableLimits) -> Result<Column, TableError> {
        match self.values {
            Values::Numerical(v) => Ok(Column::numerical(self.name, v)),
            Values::Categorical(v) => {
                detect::check_categories(
                    self.name,
                    v.iter().flatten().map(String::as_str),
                    limits,
                )?;
                Ok(Column::categorical(self.name, v))
            }
        }
    }
}

/// Why a stored value could not be converted.
enum Bad {
    Utf8,
    Unsupported(String),
}

/// A numerically-typed stored value as a number (NaN and ±inf become missing later, in
/// [`Column::numerical`]).
fn number(meaning: Meaning, stored: Stored<'_>) -> Result<Option<f64>, Bad> {
    let int = match stored {
        Stored::F32(x) => return Ok(Some(f64::from(x))),
        Stored::F64(x) => return Ok(Some(x)),
        Stored::Int(i) => i,
        Stored::Bytes(b) => big_endian(b)?,
        Stored::Bool(_) => return Err(Bad::Unsupported("boolean read as a number".to_owned())),
    };
    Ok(Some(match meaning {
        // Through exact decimal text, so the result is the correctly rounded f64 a CSV reader
        // gets from the same digits.
        Meaning::Decimal { scale } => decimal_text(int, scale).parse::<f64>().unwrap_or(f64::NAN),
        Meaning::Time { per_second } | Meaning::Timestamp { per_second } => {
            let whole = int.div_euclid(per_second) as f64;
            whole + int.rem_euclid(per_second) as f64 / per_second as f64
        }
        _ => int as f64,
    }))
}

/// A stored value as text (`None` for a float NaN, which pandas also writes as missing).
fn text(meaning: Meaning, stored: Stored<'_>) -> Result<Option<String>, Bad> {
    let int = match stored {
        Stored::Bool(b) => return Ok(Some(if b { "True" } else { "False" }.to_owned())),
        Stored::F32(x) => return Ok((!x.is_nan()).then(|| float_text(format!("{x:?}")))),
        Stored::F64(x) => return Ok((!x.is_nan()).then(|| float_text(format!("{x:?}")))),
        Stored::Bytes(b) if meaning == Meaning::Text => {
            return std::str::from_utf8(b)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| Bad::Utf8)
        }
        Stored::Bytes(b) => big_endian(b)?,
        Stored::Int(i) => i,
    };
    Ok(Some(match meaning {
        Meaning::Decimal { scale } => decimal_text(int, scale),
        Meaning::Date => date_text(int),
        Meaning::Time { per_second } => clock_text(int, per_second),
        Meaning::Timestamp { per_second } => {
            let secs = int.div_euclid(per_second);
            format!(
                "{} {}",
                date_text(secs.div_euclid(86_400)),
                clock_text(int.rem_euclid(per_second * 86_400), per_second)
            )
        }
        _ => int.to_string(),
    }))
}

/// A float's shortest round-trip text (Rust's `Debug`, e.g. `1.5`, `2.0`, `1e-5`) respelt as
/// numpy writes it in pandas' `to_csv`: both switch to exponent form below 1e-4 and from 1e16,
/// but numpy signs the exponent and gives it at least two digits (`1e-05`, `1.5e+16`).
fn float_text(debug: String) -> String {
    let Some((mantissa, exponent)) = debug.split_once('e') else {
        return debug;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// A big-endian two's-complement integer of 1 to 16 bytes (Parquet's binary DECIMAL).
fn big_endian(bytes: &[u8]) -> Result<i128, Bad> {
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(Bad::Unsupported(format!(
            "a {}-byte DECIMAL value is outside 1..=16 bytes",
            bytes.len()
        )));
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xFF
    } else {
        0
    };
    let mut buf = [fill; 16];
    let start = 16 - bytes.len();
    if let Some(tail) = buf.get_mut(start..) {
        tail.copy_from_slice(bytes);
    }
    Ok(i128::from_be_bytes(buf))
}

/// `unscaled × 10^-scale` written exactly, as Python's `str(Decimal)` writes it: `123.45`,
/// `-0.05`, `7`.
fn decimal_text(unscaled: i128, scale: u32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Days since 1970-01-01 as `YYYY-MM-DD` in the proleptic Gregorian calendar.
fn date_text(days: i128) -> String {
    // Dates and timestamps are stored as at most an i64 (days, or units since the epoch), so
    // the day count fits an i64.
    let days = i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX });
    let (year, month, day) = vigil_model::civil::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A time of day given in units of 1/`per_second` s as `HH:MM:SS`, with the fraction's digits
/// (3, 6 or 9, the unit's) only when it is not zero.
fn clock_text(units: i128, per_second: i128) -> String {
    let secs = units.div_euclid(per_second);
    let frac = units.rem_euclid(per_second);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        let width = per_second.to_string().len() - 1;
        format!("{h:02}:{m:02}:{s:02}.{frac:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_exactly() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(
            decimal_text(i128::MIN, 38),
            "-1.70141183460469231731687303715884105728"
        );
        assert_eq!(decimal_text(5, 38).len(), 40);
    }

    #[test]
    fn big_endian_sign_extends() {
        assert!(matches!(big_endian(&[0xFF, 0xFE]), Ok(-2)));
        assert!(matches!(big_endian(&[0x01, 0x00]), Ok(256)));
        assert!(big_endian(&[]).is_err());
        assert!(big_endian(&[0; 17]).is_err());
    }

    #[test]
    fn dates_and_times_render_as_pandas_writes_them() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(19_753), "2024-01-31");
        assert_eq!(date_text(-1), "1969-12-31");
        assert_eq!(clock_text(45_296_000, 1_000), "12:34:56");
        assert_eq!(clock_text(45_296_500, 1_000), "12:34:56.500");
        let ts = Meaning::Timestamp {
            per_second: 1_000_000,
        };
        let text = text(ts, Stored::Int(1_706_702_400_000_001)).ok().flatten();
        assert_eq!(text.as_deref(), Some("2024-01-31 12:00:00.000001"));
    }

    #[test]
    fn forced_categorical_float_exponents_are_spelt_as_pandas_writes_them() {
        // pandas' to_csv writes numpy's text: `1e-05`, `1.5e+16`; Rust's Debug has `1e-5`.
        let float = |x: f64| text(Meaning::Float, Stored::F64(x)).ok().flatten();
        assert_eq!(float(1e-5).as_deref(), Some("1e-05"));
        assert_eq!(float(-2.5e-7).as_deref(), Some("-2.5e-07"));
        assert_eq!(float(1.5e16).as_deref(), Some("1.5e+16"));
        assert_eq!(float(1e300).as_deref(), Some("1e+300"));
        assert_eq!(float(5e-324).as_deref(), Some("5e-324"));
        assert_eq!(float(0.0001).as_deref(), Some("0.0001"));
        assert_eq!(
            float(9_999_999_999_999_998.0).as_deref(),
            Some("9999999999999998.0")
        );
        assert_eq!(float(f64::NEG_INFINITY).as_deref(), Some("-inf"));
        let single = text(Meaning::Float, Stored::F32(1e-5)).ok().flatten();
        assert_eq!(single.as_deref(), Some("1e-05"));
    }

    #[test]
    fn pandas_index_columns_are_recognised() {
        assert!(is_pandas_index("__index_level_0__"));
        assert!(is_pandas_index("__index_level_12__"));
        assert!(!is_pandas_index("__index_level___"));
        assert!(!is_pandas_index("index"));
    }
}

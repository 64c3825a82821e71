//! CSV tables: RFC 4180 text with a header row.
//!
//! Parsing is the `csv` crate's (quoted fields, `""` escapes, CRLF or LF line ends, blank lines
//! skipped as pandas' `skip_blank_lines` does); this module adds what a dataset needs on top:
//! a required header with unique, non-empty names, the same field count on every record, UTF-8
//! (a leading byte order mark is dropped, as Excel writes one), and the limits. An empty field,
//! quoted or not, is a missing value.
//!
//! Cells are kept as text, one arena per column, until the whole column is seen: a column is
//! numerical only if *every* value parses, and a column that turns out categorical keeps each
//! value's exact text (`"1.0"` stays `"1.0"`, not `"1"`).

use ::csv::{ByteRecord, ReaderBuilder};

use super::detect;
use super::{check_names, check_shape, row_limit, too_many_rows, Location};
use super::{TableError, TableLimits, TypeOverrides};
use crate::Column;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One column's cells as text: `text[ends[i-1]..ends[i]]` is row `i`'s field.
#[derive(Default)]
struct Cells {
    text: String,
    ends: Vec<usize>,
}

impl Cells {
    /// The cells in row order, an empty field as `None`.
    fn iter(&self) -> impl Iterator<Item = Option<&str>> + Clone + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| self.text.get(start..end).filter(|cell| !cell.is_empty()))
    }
}

/// Reads a CSV table.
///
/// # Errors
///
/// See [`super::read_table`].
pub(super) fn read(
    bytes: &[u8],
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = ByteRecord::new();

    if !next_record(&mut reader, &mut record)? {
        return Err(TableError::NoHeader);
    }
    let header_line = line_of(&record);
    let names = utf8_fields(&record, header_line)?;
    check_shape(names.len(), limits)?;
    check_names(names.iter().copied(), Location::Line(header_line))?;
    let choices = detect::choices(&names, types)?;
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();

    let width = names.len();
    let max_rows = row_limit(width, limits);
    let mut columns: Vec<Cells> = (0..width).map(|_| Cells::default()).collect();
    let mut lines: Vec<u64> = Vec::new();
    while next_record(&mut reader, &mut record)? {
        let line = line_of(&record);
        if record.len() != width {
            return Err(TableError::FieldCount {
                line,
                expected: width,
                found: record.len(),
            });
        }
        if lines.len() >= max_rows {
            return Err(too_many_rows(
                Location::Line(line),
                lines.len() + 1,
                width,
                limits,
            ));
        }
        // Straight into the arenas, without a per-row list of fields; an error abandons the
        // whole table, so a half-pushed row never matters.
        for (cells, field) in columns.iter_mut().zip(&record) {
            let field = std::str::from_utf8(field).map_err(|_| TableError::InvalidUtf8 { line })?;
            cells.text.push_str(field);
            cells.ends.push(cells.text.len());
        }
        lines.push(line);
    }

    let locate = |row: usize| Location::Line(lines.get(row).copied().unwrap_or(0));
    names
        .iter()
        .zip(&columns)
        .zip(choices)
        .map(|((name, cells), choice)| {
            detect::text_column(name, cells.iter(), choice, locate, limits)
        })
        .collect()
}

/// Reads the next record into `record`; false at the end of the input.
fn next_record(
    reader: &mut ::csv::Reader<&[u8]>,
    record: &mut ByteRecord,
) -> Result<bool, TableError> {
    reader
        .read_byte_record(record)
        .map_err(|e| TableError::Csv {
            line: e.position().map_or(0, ::csv::Position::line),
            reason: e.to_string(),
        })
}

/// The 1-based line a record starts on.
fn line_of(record: &ByteRecord) -> u64 {
    record.position().map_or(0, ::csv::Position::line)
}

/// The record's fields as UTF-8 text.
fn utf8_fields(record: &ByteRecord, line: u64) -> Result<Vec<&str>, TableError> {
    record
        .iter()
        .map(|field| std::str::from_utf8(field).map_err(|_| TableError::InvalidUtf8 { line }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_iterate_in_order_with_empty_as_missing() {
        let mut cells = Cells::default();
        for field in ["a", "", "bc"] {
            cells.text.push_str(field);
            cells.ends.push(cells.text.len());
        }
        let got: Vec<_> = cells.iter().collect();
        assert_eq!(got, vec![Some("a"), None, Some("bc")]);
    }
}

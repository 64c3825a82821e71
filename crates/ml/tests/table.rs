//! `read_table`: CSV and Parquet dataset files into columns.
//!
//! Parquet inputs come from the real pandas/pyarrow: small committed fixtures
//! (`testdata/table/`, see its README) and, when `VIGIL_PYTHON` names a Python with pandas and
//! pyarrow, files written at test time and checked against pandas' CSV of the same frame.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use vigil_ml::{
    read_table, Column, ColumnKind, Format, Location, TableError, TableLimits, TypeOverrides,
};
use vigil_model::ErrorKind;

fn csv(text: &str) -> Result<Vec<Column>, TableError> {
    csv_with(
        text.as_bytes(),
        &TypeOverrides::default(),
        &TableLimits::default(),
    )
}

fn csv_with(
    bytes: &[u8],
    types: &TypeOverrides,
    limits: &TableLimits,
) -> Result<Vec<Column>, TableError> {
    read_table(bytes, Format::Csv, types, limits)
}

fn num(name: &str, values: &[Option<f64>]) -> Column {
    Column::numerical(name, values.iter().copied())
}

fn cat(name: &str, values: &[Option<&str>]) -> Column {
    Column::categorical(name, values.iter().map(|v| v.map(str::to_owned)))
}

fn overrides(categorical: &[&str], numerical: &[&str]) -> TypeOverrides {
    TypeOverrides {
        categorical: categorical.iter().map(|s| s.to_string()).collect(),
        numerical: numerical.iter().map(|s| s.to_string()).collect(),
        ..TypeOverrides::default()
    }
}

/// The message of a failed read.
fn message(result: Result<Vec<Column>, TableError>) -> String {
    match result {
        Ok(columns) => panic!("expected an error, read {columns:?}"),
        Err(e) => e.to_string(),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/table")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parquet(bytes: &[u8], types: &TypeOverrides) -> Result<Vec<Column>, TableError> {
    read_table(bytes, Format::Parquet, types, &TableLimits::default())
}

// ---------------------------------------------------------------- CSV: values and detection

#[test]
fn csv_detects_numerical_and_categorical_columns() {
    let got = csv("i,f,s,b\n1,0.5,x,true\n-2,1e3,y,false\n3,.25,x,true\n").unwrap();
    assert_eq!(
        got,
        vec![
            num("i", &[Some(1.0), Some(-2.0), Some(3.0)]),
            num("f", &[Some(0.5), Some(1000.0), Some(0.25)]),
            cat("s", &[Some("x"), Some("y"), Some("x")]),
            cat("b", &[Some("true"), Some("false"), Some("true")]),
        ]
    );
}

#[test]
fn csv_numbers_are_correctly_rounded() {
    let got = csv("x\n0.1\n9007199254740993\n2.2250738585072011e-308\n").unwrap();
    assert_eq!(
        got,
        vec![num(
            "x",
            &[
                Some(0.1),
                Some(9007199254740992.0),
                Some(f64::from_bits(0x000F_FFFF_FFFF_FFFF))
            ]
        )]
    );
}

#[test]
fn csv_few_distinct_numbers_stay_numerical() {
    let got = csv("x\n0\n1\n0\n1\n").unwrap();
    assert_eq!(got[0].kind(), ColumnKind::Numerical);
}

#[test]
fn csv_one_word_makes_a_column_categorical_keeping_exact_text() {
    let got = csv("x\n1.0\n2\nthree\n").unwrap();
    assert_eq!(
        got,
        vec![cat("x", &[Some("1.0"), Some("2"), Some("three")])]
    );
}

#[test]
fn csv_missing_values() {
    let text = "n,c,all\n1,a,\n,,NA\nNA,NA,\nnan,None,\nNULL,x,\n-inf,y,\ninf,z,\n#N/A,w,\n";
    let got = csv(text).unwrap();
    assert_eq!(
        got,
        vec![
            // na_values are missing in a numerical column; ±inf become missing too.
            num("n", &[Some(1.0), None, None, None, None, None, None, None]),
            // An empty field is missing everywhere; "NA" and "None" stay text in categories.
            cat(
                "c",
                &[
                    Some("a"),
                    None,
                    Some("NA"),
                    Some("None"),
                    Some("x"),
                    Some("y"),
                    Some("z"),
                    Some("w")
                ]
            ),
            // Nothing but missing values: numerical.
            num("all", &[None; 8]),
        ]
    );
}

#[test]
fn csv_whitespace_around_numbers_is_ignored() {
    let got = csv("x,y\n 1 , a\n2\t,b\n").unwrap();
    assert_eq!(
        got,
        vec![
            num("x", &[Some(1.0), Some(2.0)]),
            cat("y", &[Some(" a"), Some("b")])
        ]
    );
}

#[test]
fn csv_header_only_gives_empty_numerical_columns() {
    let got = csv("a,b\n").unwrap();
    assert_eq!(got, vec![num("a", &[]), num("b", &[])]);
}

// ---------------------------------------------------------------- CSV: syntax

#[test]
fn csv_rfc4180_quoting() {
    let text = "name,note\n\"Smith, J\",\"said \"\"hi\"\"\"\n\"multi\nline\",\"\"\nplain,\"1\"\n";
    let got = csv(text).unwrap();
    assert_eq!(
        got,
        vec![
            cat(
                "name",
                &[Some("Smith, J"), Some("multi\nline"), Some("plain")]
            ),
            // A quoted empty field is missing too, as pandas reads it.
            cat("note", &[Some("said \"hi\""), None, Some("1")]),
        ]
    );
}

#[test]
fn csv_quoted_header_names() {
    let got = csv("\"a,b\",\"c\"\"d\"\n1,2\n").unwrap();
    assert_eq!(got[0].name, "a,b");
    assert_eq!(got[1].name, "c\"d");
}

#[test]
fn csv_byte_order_mark_and_crlf() {
    let got = csv("\u{FEFF}a,b\r\n1,x\r\n2,y\r\n").unwrap();
    assert_eq!(
        got,
        vec![
            num("a", &[Some(1.0), Some(2.0)]),
            cat("b", &[Some("x"), Some("y")])
        ]
    );
}

#[test]
fn csv_blank_lines_are_skipped_and_no_final_newline_is_fine() {
    let got = csv("a\n\n1\n\n2").unwrap();
    assert_eq!(got, vec![num("a", &[Some(1.0), Some(2.0)])]);
}

#[test]
fn csv_unicode_values() {
    let got = csv("ville\nZürich\n東京\n").unwrap();
    assert_eq!(got, vec![cat("ville", &[Some("Zürich"), Some("東京")])]);
}

// ---------------------------------------------------------------- CSV: errors

#[test]
fn csv_empty_input_has_no_header() {
    assert_eq!(csv(""), Err(TableError::NoHeader));
    assert_eq!(
        message(csv("\u{FEFF}")),
        "no header row: the input is empty"
    );
}

#[test]
fn csv_empty_header_name() {
    assert_eq!(
        message(csv("a,,c\n1,2,3\n")),
        "line 1: column 2 has an empty name"
    );
}

#[test]
fn csv_duplicate_header_name() {
    assert_eq!(
        message(csv("a,b,a\n1,2,3\n")),
        "line 1: column name \"a\" appears twice, as columns 1 and 3"
    );
}

#[test]
fn csv_wrong_field_count_names_the_line() {
    assert_eq!(
        message(csv("a,b\n1,2\n3\n")),
        "line 3: 1 fields, but the header has 2"
    );
    // The line a record starts on, counting the lines inside quoted fields.
    assert_eq!(
        message(csv("a,b\n\"x\ny\",2\n1,2,3\n")),
        "line 4: 3 fields, but the header has 2"
    );
}

#[test]
fn csv_invalid_utf8_names_the_line() {
    let err = csv_with(
        b"a\nok\n\xff\xfe\n",
        &TypeOverrides::default(),
        &TableLimits::default(),
    );
    assert_eq!(err, Err(TableError::InvalidUtf8 { line: 3 }));
    assert_eq!(message(err), "line 3: invalid UTF-8");
    let header = csv_with(
        b"\xc3(\n1\n",
        &TypeOverrides::default(),
        &TableLimits::default(),
    );
    assert_eq!(message(header), "line 1: invalid UTF-8");
}

// ---------------------------------------------------------------- overrides

#[test]
fn override_categorical_keeps_numbers_as_text() {
    let got = csv_with(
        b"zip,n\n01234,1\n98765,2\n,3\n",
        &overrides(&["zip"], &[]),
        &TableLimits::default(),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            cat("zip", &[Some("01234"), Some("98765"), None]),
            num("n", &[Some(1.0), Some(2.0), Some(3.0)])
        ]
    );
}

#[test]
fn override_numerical_accepts_numbers_and_missing() {
    let got = csv_with(
        b"x\n1\nNA\n\n",
        &overrides(&[], &["x"]),
        &TableLimits::default(),
    );
    // The blank line is skipped, "NA" is missing.
    assert_eq!(got, Ok(vec![num("x", &[Some(1.0), None])]));
}

#[test]
fn override_numerical_rejects_a_word_naming_line_column_and_value() {
    let err = csv_with(
        b"id,x\n1,2\n2,abc\n",
        &overrides(&[], &["x"]),
        &TableLimits::default(),
    );
    assert_eq!(
        err,
        Err(TableError::NotNumeric {
            at: Location::Line(3),
            column: "x".into(),
            value: "abc".into()
        })
    );
    assert_eq!(
        message(err),
        "line 3, column \"x\": \"abc\" is not a number"
    );
}

#[test]
fn override_of_an_unknown_column_is_an_error_naming_it() {
    let err = csv_with(
        b"a\n1\n",
        &overrides(&["nope"], &[]),
        &TableLimits::default(),
    );
    assert_eq!(
        message(err),
        "column \"nope\", named categorical, is not in the table"
    );
    let err = csv_with(
        b"a\n1\n",
        &overrides(&[], &["gone"]),
        &TableLimits::default(),
    );
    assert_eq!(
        message(err),
        "column \"gone\", named numerical, is not in the table"
    );
}

#[test]
fn override_naming_a_column_both_ways_is_an_error() {
    let err = csv_with(
        b"a\n1\n",
        &overrides(&["a"], &["a"]),
        &TableLimits::default(),
    );
    assert_eq!(
        message(err),
        "column \"a\" is named both categorical and numerical"
    );
}

// ---------------------------------------------------------------- limits

fn limits() -> TableLimits {
    TableLimits {
        max_bytes: 1_000,
        max_rows: 3,
        max_columns: 2,
        max_cells: 100,
        max_categories_per_column: 2,
    }
}

fn limited(text: &str) -> Result<Vec<Column>, TableError> {
    csv_with(text.as_bytes(), &TypeOverrides::default(), &limits())
}

#[test]
fn limit_bytes() {
    let big = format!("a\n{}", "1\n".repeat(600));
    let err = limited(&big);
    assert_eq!(
        message(err.clone()),
        "input is 1202 bytes, more than the limit of 1000"
    );
    assert_eq!(err.unwrap_err().kind(), ErrorKind::LimitExceeded);
}

#[test]
fn limit_rows() {
    assert!(limited("a\n1\n2\n3\n").is_ok());
    assert_eq!(
        message(limited("a\n1\n2\n3\n4\n")),
        "line 5: more than 3 rows"
    );
}

#[test]
fn limit_columns() {
    assert_eq!(
        message(limited("a,b,c\n1,2,3\n")),
        "3 columns, more than the limit of 2"
    );
}

#[test]
fn limit_cells() {
    let tight = TableLimits {
        max_cells: 4,
        ..limits()
    };
    let err = csv_with(b"a,b\n1,2\n3,4\n5,6\n", &TypeOverrides::default(), &tight);
    assert_eq!(
        message(err),
        "3 rows × 2 columns is more than the limit of 4 values"
    );
}

#[test]
fn limit_categories() {
    assert!(limited("c\nx\ny\nx\n").is_ok());
    let err = limited("c\nx\ny\nz\n");
    assert_eq!(
        message(err.clone()),
        "column \"c\": more than 2 distinct categories"
    );
    assert_eq!(err.unwrap_err().kind(), ErrorKind::LimitExceeded);
}

#[test]
fn input_errors_are_invalid_input() {
    assert_eq!(csv("").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(csv("a\n1,2\n").unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn default_limits_are_documented_values() {
    let d = TableLimits::default();
    assert_eq!(d.max_bytes, 256 << 20);
    assert_eq!(d.max_rows, 1_000_000);
    assert_eq!(d.max_columns, 1_000);
    assert_eq!(d.max_cells, 20_000_000);
    assert_eq!(d.max_categories_per_column, 10_000);
}

// ---------------------------------------------------------------- format sniffing

#[test]
fn sniff_tells_parquet_from_csv() {
    assert_eq!(Format::sniff(&fixture("mixed.parquet")), Format::Parquet);
    assert_eq!(Format::sniff(b"a,b\n1,2\n"), Format::Csv);
    assert_eq!(Format::sniff(b"PAR1"), Format::Csv);
    assert_eq!(Format::sniff(b""), Format::Csv);
    let truncated = fixture("mixed.parquet");
    assert_eq!(Format::sniff(&truncated[..100]), Format::Csv);
}

// ---------------------------------------------------------------- Parquet fixtures

/// Seconds since the epoch as the reader computes them from microseconds.
fn micros(us: i64) -> f64 {
    us.div_euclid(1_000_000) as f64 + us.rem_euclid(1_000_000) as f64 / 1e6
}

#[test]
fn parquet_stored_types_map_to_kinds() {
    let got = parquet(&fixture("mixed.parquet"), &TypeOverrides::default()).unwrap();
    assert_eq!(
        got,
        vec![
            num("int", &[Some(1.0), Some(-2.0), Some(3.0), Some(40.0)]),
            num("float", &[Some(0.5), None, Some(0.001), Some(2.0)]),
            cat("text", &[Some("a"), None, Some("b,c"), Some("NA")]),
            // Stored as strings: categorical although every value is a number.
            cat("digits", &[Some("1"), Some("2"), Some("3"), Some("4")]),
            cat(
                "flag",
                &[Some("True"), Some("False"), Some("True"), Some("True")]
            ),
            num("day", &[Some(19_753.0), None, Some(0.0), Some(-1.0)]),
            num(
                "when",
                &[
                    Some(1_706_702_400.0),
                    Some(micros(1_706_702_400_000_001)),
                    None,
                    Some(0.0)
                ]
            ),
            num("price", &[Some(123.45), Some(-0.05), None, Some(7.0)]),
            // __index_level_0__ (the pandas index) is skipped.
            num("small", &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]),
        ]
    );
}

#[test]
fn parquet_forced_categorical_renders_as_pandas_writes_csv() {
    let types = overrides(&["int", "float", "day", "when", "price"], &[]);
    let got = parquet(&fixture("mixed.parquet"), &types).unwrap();
    let by_name = |n: &str| got.iter().find(|c| c.name == n).cloned();
    assert_eq!(
        by_name("int"),
        Some(cat("int", &[Some("1"), Some("-2"), Some("3"), Some("40")]))
    );
    assert_eq!(
        by_name("float"),
        Some(cat(
            "float",
            &[Some("0.5"), None, Some("0.001"), Some("2.0")]
        ))
    );
    assert_eq!(
        by_name("day"),
        Some(cat(
            "day",
            &[
                Some("2024-01-31"),
                None,
                Some("1970-01-01"),
                Some("1969-12-31")
            ]
        ))
    );
    assert_eq!(
        by_name("when"),
        Some(cat(
            "when",
            &[
                Some("2024-01-31 12:00:00"),
                Some("2024-01-31 12:00:00.000001"),
                None,
                Some("1970-01-01 00:00:00")
            ]
        ))
    );
    assert_eq!(
        by_name("price"),
        Some(cat(
            "price",
            &[Some("123.45"), Some("-0.05"), None, Some("7.00")]
        ))
    );
}

#[test]
fn parquet_forced_numerical_parses_strings() {
    let got = parquet(&fixture("mixed.parquet"), &overrides(&[], &["digits"])).unwrap();
    assert_eq!(
        got.iter().find(|c| c.name == "digits"),
        Some(&num(
            "digits",
            &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
        ))
    );
    let err = parquet(&fixture("mixed.parquet"), &overrides(&[], &["text"]));
    assert_eq!(
        message(err),
        "row 1, column \"text\": \"a\" is not a number"
    );
    let err = parquet(&fixture("mixed.parquet"), &overrides(&[], &["flag"]));
    assert_eq!(
        message(err),
        "row 1, column \"flag\": \"True\" is not a number"
    );
}

#[test]
fn parquet_overrides_are_checked_against_the_schema() {
    let err = parquet(&fixture("mixed.parquet"), &overrides(&["nope"], &[]));
    assert_eq!(
        message(err),
        "column \"nope\", named categorical, is not in the table"
    );
    let err = parquet(&fixture("mixed.parquet"), &overrides(&["int"], &["int"]));
    assert_eq!(
        message(err),
        "column \"int\" is named both categorical and numerical"
    );
}

#[test]
fn parquet_int96_timestamps() {
    let got = parquet(&fixture("int96.parquet"), &TypeOverrides::default()).unwrap();
    assert_eq!(got, vec![num("ts", &[Some(1_706_702_400.5), None])]);
}

#[test]
fn parquet_nested_column_is_an_error_naming_it() {
    let err = parquet(&fixture("nested.parquet"), &TypeOverrides::default());
    assert_eq!(
        message(err),
        "column \"tags\": nested or repeated Parquet columns are not supported"
    );
}

#[test]
fn parquet_fixed_len_binary_is_an_error_naming_it() {
    let err = parquet(&fixture("fixed.parquet"), &TypeOverrides::default());
    assert_eq!(
        message(err),
        "column \"id\": FIXED_LEN_BYTE_ARRAY without a DECIMAL annotation (UUID, FLOAT16, \
         INTERVAL) is not supported"
    );
}

#[test]
fn parquet_brotli_is_a_clear_error() {
    let err = parquet(&fixture("brotli.parquet"), &TypeOverrides::default()).unwrap_err();
    assert!(matches!(err, TableError::Parquet { .. }), "{err}");
    assert!(err.to_string().to_lowercase().contains("brotli"), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn parquet_limits() {
    let bytes = fixture("mixed.parquet");
    let rows = TableLimits {
        max_rows: 3,
        ..TableLimits::default()
    };
    let err = read_table(&bytes, Format::Parquet, &TypeOverrides::default(), &rows);
    assert_eq!(message(err), "row 4: more than 3 rows");
    let columns = TableLimits {
        max_columns: 5,
        ..TableLimits::default()
    };
    let err = read_table(&bytes, Format::Parquet, &TypeOverrides::default(), &columns);
    assert_eq!(message(err), "9 columns, more than the limit of 5");
    let categories = TableLimits {
        max_categories_per_column: 2,
        ..TableLimits::default()
    };
    let err = read_table(
        &bytes,
        Format::Parquet,
        &TypeOverrides::default(),
        &categories,
    );
    assert_eq!(
        message(err),
        "column \"text\": more than 2 distinct categories"
    );
    let text = TableLimits {
        max_bytes: bytes.len(),
        ..TableLimits::default()
    };
    assert!(read_table(&bytes, Format::Parquet, &TypeOverrides::default(), &text).is_ok());
    let small = TableLimits {
        max_bytes: bytes.len() - 1,
        ..TableLimits::default()
    };
    let err = read_table(&bytes, Format::Parquet, &TypeOverrides::default(), &small);
    assert!(matches!(err, Err(TableError::TooLarge { .. })));
}

#[test]
fn parquet_every_truncation_is_an_error() {
    let bytes = fixture("mixed.parquet");
    for len in 0..bytes.len() {
        let got = parquet(&bytes[..len], &TypeOverrides::default());
        assert!(got.is_err(), "truncated to {len} bytes read as {got:?}");
    }
}

#[test]
fn parquet_random_bytes_are_an_error() {
    let mut noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(parquet(&noise, &TypeOverrides::default()).is_err());
    noise[..4].copy_from_slice(b"PAR1");
    let n = noise.len();
    noise[n - 4..].copy_from_slice(b"PAR1");
    assert!(parquet(&noise, &TypeOverrides::default()).is_err());
}

/// Found by mutating `mixed.parquet`: the `parquet` crate panics inside its page decoders
/// (`crash-dict`: a dictionary-encoded page without a dictionary page, "Decoder for dict should
/// have been set"; `crash-bitpack`: a bit-packed run longer than its page, "size <= src.len()").
/// The reader contains the panic and reports a malformed file.
#[test]
fn parquet_decoder_panics_become_errors() {
    for name in ["crash-dict.parquet", "crash-bitpack.parquet"] {
        let err = parquet(&fixture(name), &TypeOverrides::default()).unwrap_err();
        assert!(
            matches!(&err, TableError::Parquet { reason } if reason.starts_with("malformed file")),
            "{name}: {err}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}

#[test]
fn parquet_csv_bytes_are_an_error() {
    let err = parquet(b"a,b\n1,2\n", &TypeOverrides::default()).unwrap_err();
    assert!(matches!(err, TableError::Parquet { .. }), "{err}");
}

// ---------------------------------------------------------------- never a panic

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn csv_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = csv_with(&bytes, &TypeOverrides::default(), &TableLimits::default());
    }

    #[test]
    fn csv_arbitrary_text_never_panics(text in "[a-c0-9,\"\n\r .NA-]{0,200}") {
        let _ = csv(&text);
        let _ = csv_with(text.as_bytes(), &overrides(&[], &["a"]), &limits());
    }

    #[test]
    fn parquet_arbitrary_bytes_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        framed in any::<bool>(),
    ) {
        let bytes = if framed {
            [b"PAR1".as_slice(), &body, b"PAR1"].concat()
        } else {
            body
        };
        let _ = parquet(&bytes, &TypeOverrides::default());
    }

    #[test]
    fn parquet_damaged_file_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = fixture("mixed.parquet");
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = parquet(&bytes, &TypeOverrides::default());
        let _ = parquet(&bytes, &overrides(&["int", "day", "when", "price"], &["digits"]));
    }
}

// ---------------------------------------------------------------- real pandas/pyarrow

/// The Python named by `VIGIL_PYTHON` when it can import pandas and pyarrow.
fn peer_python() -> Option<PathBuf> {
    let python = std::env::var_os("VIGIL_PYTHON").map(PathBuf::from);
    let usable = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import pandas, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if usable {
        return python;
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_PEERS").as_deref() != Ok("1"),
        "VIGIL_REQUIRE_PEERS=1 but VIGIL_PYTHON ({python:?}) lacks pandas/pyarrow"
    );
    eprintln!("skipped: pandas/pyarrow not available (VIGIL_PYTHON)");
    None
}

#[test]
fn parquet_from_pandas_matches_pandas_csv() {
    let Some(python) = peer_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/table/write_frame.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let layouts = String::from_utf8(output.stdout).unwrap();

    let csv_bytes = std::fs::read(dir.path().join("frame.csv")).unwrap();
    assert_eq!(Format::sniff(&csv_bytes), Format::Csv);
    let from_csv = csv_with(
        &csv_bytes,
        &TypeOverrides::default(),
        &TableLimits::default(),
    )
    .unwrap();
    let kinds: Vec<_> = from_csv
        .iter()
        .map(|c| (c.name.as_str(), c.kind()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("int", ColumnKind::Numerical),
            ("float", ColumnKind::Numerical),
            ("text", ColumnKind::Categorical),
            ("flag", ColumnKind::Categorical),
            ("tiny", ColumnKind::Numerical),
            ("level", ColumnKind::Numerical),
        ]
    );
    assert!(from_csv.iter().all(|c| c.len() == 20_000));

    let mut checked = 0;
    for layout in layouts.trim().split(',') {
        let bytes = std::fs::read(dir.path().join(format!("{layout}.parquet"))).unwrap();
        assert_eq!(Format::sniff(&bytes), Format::Parquet, "{layout}");
        let from_parquet =
            parquet(&bytes, &TypeOverrides::default()).unwrap_or_else(|e| panic!("{layout}: {e}"));
        for (p, c) in from_parquet.iter().zip(&from_csv) {
            assert_eq!(p, c, "{layout}: column {}", c.name);
        }
        assert_eq!(from_parquet.len(), from_csv.len(), "{layout}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

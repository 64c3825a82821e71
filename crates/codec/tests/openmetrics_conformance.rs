//! The OpenMetrics parser test-suite (prometheus/OpenMetrics `tests/testdata/parsers`): every
//! case's `metrics` body must parse exactly when its `test.json` says `shouldParse`.
//!
//! Reads `$VIGIL_TESTDATA/openmetrics` (else `../shared/testdata/openmetrics` beside the
//! repository); prints totals and each failing case, and skips with a notice when the folder
//! is absent.

mod common;

use vigil_codec::exposition::{parse, Format};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    #[serde(rename = "type")]
    kind: String,
    file: String,
    should_parse: bool,
}

#[test]
fn openmetrics_parser_cases() {
    let Some(dir) = common::testdata("openmetrics") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read testdata dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("test.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut pass, mut fail, mut skipped) = (0, Vec::new(), 0);
    for name in &names {
        let case_dir = dir.join(name);
        let json = std::fs::read(case_dir.join("test.json")).expect("read test.json");
        let case: Case = serde_json::from_slice(&json).expect("test.json");
        if case.kind != "text" {
            skipped += 1;
            continue;
        }
        let body = std::fs::read(case_dir.join(&case.file)).expect("read body");
        let result = parse(&body, Format::OpenMetrics);
        if result.is_ok() == case.should_parse {
            pass += 1;
        } else {
            let why = match result {
                Ok(e) => format!("parsed ({} samples) but should fail", e.samples.len()),
                Err(e) => format!("failed but should parse: {e}"),
            };
            fail.push(format!("{name}: {why}"));
        }
    }
    println!(
        "openmetrics conformance: {pass} passed, {} failed, {skipped} skipped, of {} cases",
        fail.len(),
        names.len()
    );
    for f in &fail {
        println!("FAIL {f}");
    }
    assert!(!names.is_empty(), "no cases found in {}", dir.display());
    assert!(
        fail.is_empty(),
        "{} OpenMetrics cases mismatched",
        fail.len()
    );
}

//! The framing of JSON bodies where it once cost too much: bodies that are not all UTF-8 (read
//! byte by byte, the others as text) and arrays on one long line.

use super::super::decode_predictions;
use super::{limits, predictions};

/// Regression: each broken element of an array once looked for the start of its line from
/// scratch, so a one-line array of broken elements (what `json.dumps` writes) took quadratic
/// time, minutes for a few megabytes.
#[test]
fn one_line_array_of_broken_events_is_read_in_linear_time() {
    let broken = r#"{"model":tru},"#;
    let n = 100_000;
    let body = format!("[{}{{\"model\":\"m\",\"prediction\":1}}]", broken.repeat(n));
    let d = predictions(&body);
    assert_eq!(d.events.len(), 1);
    assert_eq!(d.error_count(), n as u64);
    // The element at byte 1 + 14 k fails at its 13th byte.
    let column = |k: usize| 1 + 14 * k + 13;
    assert_eq!(
        d.errors.last().map(ToString::to_string),
        Some(format!(
            "line 1: invalid JSON: expected ident at line 1 column {}",
            column(99)
        ))
    );
}

/// A body that is not all UTF-8 is read byte by byte (valid bodies are read as text): the bad
/// bytes cost their event only, in both framings.
#[test]
fn invalid_utf8_costs_its_event_only() {
    let ok = br#"{"model":"m","prediction":"\u00e9"}"#.as_slice();
    let bad = b"{\"model\":\"m\",\"prediction\":\"\xff\"}".as_slice();
    let jsonl = [ok, bad, ok].join(&b'\n');
    let array = [&b"["[..], ok, b",\n", bad, b",\n", ok, b"]"].concat();
    let valid = decode_predictions([ok, ok].join(&b'\n').as_slice(), &limits());
    for (body, want) in [
        (
            jsonl,
            "line 2: invalid JSON: invalid unicode code point at column 28",
        ),
        (
            array,
            "line 2: invalid JSON: invalid unicode code point at line 2 column 28",
        ),
    ] {
        let d = decode_predictions(&body, &limits());
        assert_eq!(d.events, valid.events);
        let errors: Vec<_> = d.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors, [want]);
    }
}

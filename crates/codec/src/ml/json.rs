//! The framing of JSON event bodies: a JSON array or JSON lines, each event located by line.
//!
//! Owns: telling the two framings apart, finding where each event starts and ends (so that
//! errors name the line an event starts on, for arrays too), skipping a broken event without
//! losing the rest, and the per-body limits. Each event's bytes then go through its own
//! `serde_json` deserializer and the visitors of `event`.
//!
//! Why a scanner for arrays instead of deserializing the array in one go: serde's sequence
//! access neither tells where an element started nor survives an element with broken JSON. The
//! scanner matches brackets outside strings (a plain byte loop, much cheaper than parsing), so a
//! broken element costs that element only. JSON lines need no scanner: a line is an event.

use super::event::{Ctx, Kind};
use super::{Collector, Invalid, MlDecodeLimits, MlDecoded};
use vigil_model::ml::{LabelEvent, PredictionEvent};

/// Decodes the body of `POST /api/v1/ml/predictions`: a JSON array of prediction events or JSON
/// lines (see the [module documentation](super) for the fields).
///
/// Never fails as a whole: valid events are returned, invalid ones reported one by one in
/// [`MlDecoded::errors`]; a body that stops being JSON is reported where it breaks, keeping the
/// events before.
pub fn decode_predictions(body: &[u8], limits: &MlDecodeLimits) -> MlDecoded<PredictionEvent> {
    decode(body, limits)
}

/// Decodes the body of `POST /api/v1/ml/labels`: a JSON array of label events or JSON lines.
///
/// Errors are reported as for [`decode_predictions`].
pub fn decode_labels(body: &[u8], limits: &MlDecodeLimits) -> MlDecoded<LabelEvent> {
    decode(body, limits)
}

const BOM: &[u8] = b"\xef\xbb\xbf";

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn decode<K: Kind>(body: &[u8], limits: &MlDecodeLimits) -> MlDecoded<K> {
    let mut c = Collector::new(limits);
    let mut ctx = Ctx::new(limits);
    // A byte order mark is not JSON, but Windows tools write one; it shifts no line.
    let body = body.strip_prefix(BOM).unwrap_or(body);
    match body.iter().position(|&b| !is_ws(b)) {
        None => {}
        Some(start) if body.get(start) == Some(&b'[') => array(body, start, &mut c, &mut ctx),
        Some(_) => lines(body, &mut c, &mut ctx),
    }
    c.out
}

/// Reads one event from exactly `bytes`.
fn parse<K: Kind>(
    bytes: &[u8],
    ctx: &mut Ctx<'_>,
) -> Result<Result<K, Invalid>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let event = K::parse(&mut de, ctx)?;
    de.end()?;
    Ok(event)
}

/// serde_json's message without its own position (which is relative to the event's bytes).
fn bare_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => full,
    }
}

/// JSON lines: one event per line, blank lines skipped.
fn lines<K: Kind>(body: &[u8], c: &mut Collector<'_, K>, ctx: &mut Ctx<'_>) {
    let mut index = 0;
    for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        let Some(start) = raw.iter().position(|&b| !is_ws(b)) else {
            continue;
        };
        let end = raw
            .iter()
            .rposition(|&b| !is_ws(b))
            .map_or(start, |e| e + 1);
        let text = raw.get(start..end).unwrap_or_default();
        index += 1;
        if c.over_event_limit(line, index) {
            return;
        }
        match parse::<K>(text, ctx) {
            Ok(event) => c.push(line, index, event),
            Err(e) => {
                let column = start + e.column().max(1);
                let mut message = format!("invalid JSON: {} at column {column}", bare_message(&e));
                if e.classify() == serde_json::error::Category::Eof {
                    message.push_str(
                        " (each line must hold one whole event; send a JSON array to spread \
                         events over several lines)",
                    );
                }
                c.error(line, index, Invalid::event(message));
            }
        }
    }
}

/// Line numbers of byte offsets, counted forward as the scan advances.
struct Lines<'b> {
    body: &'b [u8],
    counted_to: usize,
    line: usize,
}

impl<'b> Lines<'b> {
    fn new(body: &'b [u8]) -> Self {
        Lines {
            body,
            counted_to: 0,
            line: 1,
        }
    }

    /// The 1-based line of byte `pos`; `pos` must not go backwards between calls.
    fn line_at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.body.len());
        if let Some(span) = self.body.get(self.counted_to..pos) {
            self.line += span.iter().filter(|&&b| b == b'\n').count();
            self.counted_to = pos;
        }
        self.line
    }

    /// The 1-based column (in bytes) of byte `pos`.
    fn column_at(&self, pos: usize) -> usize {
        let before = self.body.get(..pos).unwrap_or(self.body);
        match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        }
    }
}

/// A JSON array of events starting at `open` (the `[`).
fn array<K: Kind>(body: &[u8], open: usize, c: &mut Collector<'_, K>, ctx: &mut Ctx<'_>) {
    let mut lines = Lines::new(body);
    let mut index = 0;
    let mut pos = skip_ws(body, open + 1);
    if body.get(pos) == Some(&b']') {
        return after_array(body, pos + 1, c, &mut lines, index);
    }
    loop {
        index += 1;
        let line = lines.line_at(pos);
        if c.over_event_limit(line, index) {
            return;
        }
        let end = match value_end(body, pos) {
            Ok(end) => end,
            Err((at, what)) => return broken(c, &mut lines, index, at, what),
        };
        let bytes = body.get(pos..end).unwrap_or_default();
        match parse::<K>(bytes, ctx) {
            Ok(event) => c.push(line, index, event),
            Err(e) => {
                // serde_json counts lines and columns from 1 within the element.
                let (el, ec) = (e.line().max(1), e.column().max(1));
                let column = if el == 1 {
                    lines.column_at(pos) + ec - 1
                } else {
                    ec
                };
                c.error(
                    line,
                    index,
                    Invalid::event(format!(
                        "invalid JSON: {} at line {} column {column}",
                        bare_message(&e),
                        line + el - 1
                    )),
                );
            }
        }
        pos = skip_ws(body, end);
        match body.get(pos) {
            Some(b',') => {
                pos = skip_ws(body, pos + 1);
                if body.get(pos) == Some(&b']') {
                    return broken(c, &mut lines, index + 1, pos, "trailing comma before ']'");
                }
            }
            Some(b']') => return after_array(body, pos + 1, c, &mut lines, index + 1),
            Some(_) => {
                return broken(
                    c,
                    &mut lines,
                    index + 1,
                    pos,
                    "expected ',' or ']' after an event",
                )
            }
            None => {
                return broken(
                    c,
                    &mut lines,
                    index + 1,
                    pos,
                    "unterminated array: expected ',' or ']'",
                )
            }
        }
    }
}

/// A broken structure ends the body: reported at byte `at` as event `index`, nothing after it
/// is read.
fn broken<K>(c: &mut Collector<'_, K>, lines: &mut Lines<'_>, index: usize, at: usize, what: &str) {
    let line = lines.line_at(at);
    let column = lines.column_at(at);
    c.error(
        line,
        index,
        Invalid::event(format!(
            "invalid JSON: {what} at line {line} column {column}"
        )),
    );
}

/// After the closing `]` only whitespace may follow.
fn after_array<K>(
    body: &[u8],
    pos: usize,
    c: &mut Collector<'_, K>,
    lines: &mut Lines<'_>,
    index: usize,
) {
    let pos = skip_ws(body, pos);
    if pos < body.len() {
        let line = lines.line_at(pos);
        let column = lines.column_at(pos);
        c.error(
            line,
            index.max(1),
            Invalid::event(format!(
                "invalid JSON: trailing characters after the array at line {line} column {column}"
            )),
        );
    }
}

fn skip_ws(body: &[u8], mut pos: usize) -> usize {
    while body.get(pos).is_some_and(|&b| is_ws(b)) {
        pos += 1;
    }
    pos
}

/// Where the JSON value starting at `start` ends (exclusive), matching brackets outside
/// strings without validating anything else; or where and why the structure breaks.
fn value_end(body: &[u8], start: usize) -> Result<usize, (usize, &'static str)> {
    match body.get(start) {
        Some(open @ (b'{' | b'[')) => {
            let mut depth = 0usize;
            let mut i = start;
            while let Some(&b) = body.get(i) {
                match b {
                    b'"' => {
                        i = string_end(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err((
                start,
                if *open == b'{' {
                    "unterminated object"
                } else {
                    "unterminated array"
                },
            ))
        }
        Some(b'"') => string_end(body, start),
        Some(b']') => Err((start, "expected an event, got ']'")),
        Some(_) => {
            let mut i = start;
            while body
                .get(i)
                .is_some_and(|&b| !is_ws(b) && !matches!(b, b',' | b']' | b'}' | b'[' | b'{'))
            {
                i += 1;
            }
            if i == start {
                Err((start, "expected an event"))
            } else {
                Ok(i)
            }
        }
        None => Err((start, "unterminated array: expected an event")),
    }
}

/// The end (exclusive) of the string whose opening quote is at `quote`.
fn string_end(body: &[u8], quote: usize) -> Result<usize, (usize, &'static str)> {
    let mut i = quote + 1;
    loop {
        match body.get(i) {
            None => return Err((quote, "unterminated string")),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
        }
    }
}

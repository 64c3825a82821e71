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
    let body = Body::new(body.strip_prefix(BOM).unwrap_or(body));
    match body.bytes.iter().position(|&b| !is_ws(b)) {
        None => {}
        Some(start) if body.bytes.get(start) == Some(&b'[') => {
            array(body, start, &mut c, &mut ctx);
        }
        Some(_) => lines(body, &mut c, &mut ctx),
    }
    c.out
}

/// A body, and the same bytes as text when all of it is UTF-8. Checking that once is fast;
/// serde_json reading from text then skips checking each string again, which took a tenth of
/// the decoding time.
#[derive(Clone, Copy)]
struct Body<'b> {
    bytes: &'b [u8],
    text: Option<&'b str>,
}

impl<'b> Body<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Body {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// Reads one event from exactly the bytes `start..end`.
    fn parse<K: Kind>(
        self,
        start: usize,
        end: usize,
        ctx: &mut Ctx<'_>,
    ) -> Result<Result<K, Invalid>, serde_json::Error> {
        // Events start and end next to ASCII bytes, so on character boundaries.
        match self.text.and_then(|t| t.get(start..end)) {
            Some(text) => parse(serde_json::Deserializer::from_str(text), ctx),
            None => {
                let bytes = self.bytes.get(start..end).unwrap_or_default();
                parse(serde_json::Deserializer::from_slice(bytes), ctx)
            }
        }
    }
}

/// Reads one event: all of `de`'s input.
fn parse<'de, R: serde_json::de::Read<'de>, K: Kind>(
    mut de: serde_json::Deserializer<R>,
    ctx: &mut Ctx<'_>,
) -> Result<Result<K, Invalid>, serde_json::Error> {
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
fn lines<K: Kind>(body: Body<'_>, c: &mut Collector<'_, K>, ctx: &mut Ctx<'_>) {
    let mut index = 0;
    let mut line_start = 0;
    for (n, raw) in body.bytes.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        let at = line_start;
        line_start += raw.len() + 1;
        let Some(start) = raw.iter().position(|&b| !is_ws(b)) else {
            continue;
        };
        let end = raw
            .iter()
            .rposition(|&b| !is_ws(b))
            .map_or(start, |e| e + 1);
        index += 1;
        if c.over_event_limit(|| line, index) {
            return;
        }
        match body.parse::<K>(at + start, at + end, ctx) {
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

/// Line and column numbers of byte offsets, counted forward as the scan advances, and only as
/// far as an error needs them: no byte is looked at more than twice, however many errors a body
/// holds and however long its lines are.
struct Lines<'b> {
    body: &'b [u8],
    counted_to: usize,
    line: usize,
    /// Where the line holding `counted_to` starts.
    line_start: usize,
}

impl<'b> Lines<'b> {
    fn new(body: &'b [u8]) -> Self {
        Lines {
            body,
            counted_to: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The 1-based line and column (in bytes) of byte `pos`; `pos` must not go backwards
    /// between calls.
    fn at(&mut self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.body.len());
        if let Some(span) = self.body.get(self.counted_to..pos) {
            self.line += span.iter().filter(|&&b| b == b'\n').count();
            if let Some(nl) = span.iter().rposition(|&b| b == b'\n') {
                self.line_start = self.counted_to + nl + 1;
            }
            self.counted_to = pos;
        }
        (self.line, pos.saturating_sub(self.line_start) + 1)
    }

    /// The 1-based line of byte `pos`, as for [`Lines::at`].
    fn line_at(&mut self, pos: usize) -> usize {
        self.at(pos).0
    }
}

/// A JSON array of events starting at `open` (the `[`).
fn array<K: Kind>(input: Body<'_>, open: usize, c: &mut Collector<'_, K>, ctx: &mut Ctx<'_>) {
    let body = input.bytes;
    let mut lines = Lines::new(body);
    let mut index = 0;
    let mut pos = skip_ws(body, open + 1);
    if body.get(pos) == Some(&b']') {
        return after_array(body, pos + 1, c, &mut lines, index);
    }
    loop {
        index += 1;
        // Lines are counted incrementally, so finding each event's costs one pass in all.
        if c.over_event_limit(|| lines.line_at(pos), index) {
            return;
        }
        let end = match value_end(body, pos) {
            Ok(end) => end,
            Err((at, what)) => return broken(c, &mut lines, index, at, what),
        };
        match input.parse::<K>(pos, end, ctx) {
            Ok(Ok(event)) => c.push(lines.line_at(pos), index, Ok(event)),
            Ok(Err(invalid)) => c.error(lines.line_at(pos), index, invalid),
            Err(e) => {
                let (line, start_column) = lines.at(pos);
                // serde_json counts lines and columns from 1 within the element.
                let (el, ec) = (e.line().max(1), e.column().max(1));
                let column = if el == 1 { start_column + ec - 1 } else { ec };
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
    let (line, column) = lines.at(at);
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
        let (line, column) = lines.at(pos);
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

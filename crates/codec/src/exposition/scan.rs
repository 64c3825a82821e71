//! The byte scanner both text formats share: a cursor over the body, name and quoted-string
//! tokens, unescaping, label-set assembly, and the position-carrying internal error.
//!
//! Errors are raised with a byte offset only; line and column are computed once, when an error
//! leaves the parser ([`PErr::locate`]), so the hot path never counts lines.

use std::borrow::Cow;

use vigil_model::{is_valid_label_name, is_valid_metric_name, Label, Labels, METRIC_NAME_LABEL};

use super::ParseError;

/// A parse error at a byte offset of the body.
#[derive(Debug)]
pub(super) struct PErr {
    pub pos: usize,
    pub msg: String,
}

impl PErr {
    pub(super) fn new(pos: usize, msg: impl Into<String>) -> Self {
        PErr {
            pos,
            msg: msg.into(),
        }
    }

    /// Turns the byte offset into a 1-based line and character column.
    pub(super) fn locate(self, body: &[u8]) -> ParseError {
        let pos = self.pos.min(body.len());
        let before = body.get(..pos).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let in_line = body.get(line_start..pos).unwrap_or_default();
        // Count characters: every byte that is not a UTF-8 continuation byte starts one.
        let column = 1 + in_line.iter().filter(|&&b| (b & 0xC0) != 0x80).count();
        ParseError {
            line,
            column,
            message: self.msg,
        }
    }
}

/// How the thing at a position reads in an error message.
pub(super) fn found(b: Option<u8>) -> String {
    match b {
        None => "end of input".to_owned(),
        Some(b'\n') => "end of line".to_owned(),
        Some(b'\r') => "a carriage return".to_owned(),
        Some(b'\t') => "a tab".to_owned(),
        Some(b' ') => "a space".to_owned(),
        Some(c) if c.is_ascii_graphic() => format!("'{}'", char::from(c)),
        Some(c) => format!("byte 0x{c:02x}"),
    }
}

pub(super) fn is_metric_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

/// Which escapes a quoted string or HELP text understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escapes {
    /// `\\`, `\"`, `\n` (label values in both formats; HELP in OpenMetrics).
    Quoted,
    /// `\\`, `\n` only (HELP in the Prometheus text format).
    TextHelp,
}

/// One label as scanned: name, unescaped value, offset of the name (for error messages).
pub(super) type RawLabel<'a> = (&'a str, Cow<'a, str>, usize);

#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor<'a> {
    pub b: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn bump(&mut self) {
        self.pos += 1;
    }

    /// Consumes `c` if it is next.
    #[inline]
    pub(super) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The unconsumed bytes.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }

    /// Consumes bytes while `f` holds and returns them.
    #[inline]
    pub(super) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let n = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.pos += n;
        rest.get(..n).unwrap_or_default()
    }

    /// Skips spaces and tabs (Prometheus text format whitespace).
    #[inline]
    pub(super) fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The rest of the current line, without its `\n`; the cursor stops at the `\n`.
    pub(super) fn rest_of_line(&mut self) -> &'a [u8] {
        self.take_while(|b| b != b'\n')
    }

    /// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), or `None` with the cursor unmoved.
    #[inline]
    pub(super) fn metric_name(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let tok = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
        match std::str::from_utf8(tok) {
            Ok(s) if is_valid_metric_name(s) => Some(s),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    /// A label name (`[a-zA-Z_][a-zA-Z0-9_]*`), or `None` with the cursor unmoved.
    #[inline]
    pub(super) fn label_name(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let tok = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
        match std::str::from_utf8(tok) {
            Ok(s) if is_valid_label_name(s) => Some(s),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    /// The body of a double-quoted string; the cursor is just past the opening quote and ends
    /// just past the closing one. A backslash escapes any following byte but a newline; a raw
    /// newline is allowed only where `allow_newline` says (the Prometheus text format accepts
    /// it, OpenMetrics does not). Returns the raw bytes and whether they hold a backslash.
    pub(super) fn quoted(
        &mut self,
        allow_newline: bool,
        what: &str,
    ) -> Result<(&'a [u8], bool), PErr> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                Some(b'"') => {
                    let raw = self.b.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok((raw, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    match self.b.get(self.pos + 1) {
                        Some(b'\n') | None => {
                            return Err(PErr::new(
                                self.pos,
                                format!("backslash at the end of a line in {what}"),
                            ))
                        }
                        Some(_) => self.pos += 2,
                    }
                }
                Some(b'\n') if !allow_newline => {
                    return Err(PErr::new(
                        self.pos,
                        format!("{what} is not closed before the end of the line (a newline must be written \\n)"),
                    ))
                }
                Some(_) => self.pos += 1,
                None => {
                    return Err(PErr::new(
                        start.saturating_sub(1),
                        format!("{what} is missing its closing '\"'"),
                    ))
                }
            }
        }
    }

    /// What follows a label name: `=`, then the double-quoted value, unescaped. The Prometheus
    /// text format (`text_format`) allows blanks around the `=` and raw newlines in the value;
    /// OpenMetrics allows neither.
    pub(super) fn label_value(
        &mut self,
        name: &str,
        text_format: bool,
    ) -> Result<Cow<'a, str>, PErr> {
        if text_format {
            self.skip_blanks();
        }
        if !self.eat(b'=') {
            return Err(PErr::new(
                self.pos,
                format!("expected '=' after label name {name:?}"),
            ));
        }
        if text_format {
            self.skip_blanks();
        }
        if !self.eat(b'"') {
            return Err(PErr::new(
                self.pos,
                format!(
                    "expected '\"' to open the value of label {name:?}, found {}",
                    found(self.peek())
                ),
            ));
        }
        let value_pos = self.pos;
        let (raw, esc) = self.quoted(text_format, "label value")?;
        unescape(raw, esc, Escapes::Quoted, value_pos, "label value")
    }
}

/// Checks UTF-8 and resolves escapes. Unknown escapes (`\t`, `\f` …) are kept as written, as
/// Prometheus and the OpenMetrics reference parser do.
pub(super) fn unescape<'a>(
    raw: &'a [u8],
    has_backslash: bool,
    escapes: Escapes,
    pos: usize,
    what: &str,
) -> Result<Cow<'a, str>, PErr> {
    let s = std::str::from_utf8(raw)
        .map_err(|e| PErr::new(pos + e.valid_up_to(), format!("{what} is not valid UTF-8")))?;
    if !has_backslash {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if escapes == Escapes::Quoted => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(Cow::Owned(out))
}

/// Builds the sorted label set of a sample from its metric name and scanned labels.
///
/// Duplicate names (including `__name__` given in braces, and names whose value is empty) are
/// an error pointing at the second occurrence; labels with empty values are then dropped.
pub(super) fn build_labels(
    name: &str,
    name_pos: usize,
    raw: &[RawLabel<'_>],
) -> Result<Labels, PErr> {
    let mut v = Vec::with_capacity(raw.len() + 1);
    v.push(Label {
        name: METRIC_NAME_LABEL.to_owned(),
        value: name.to_owned(),
    });
    for (n, val, _) in raw {
        v.push(Label {
            name: (*n).to_owned(),
            value: val.as_ref().to_owned(),
        });
    }
    if !v.is_sorted_by(|a, b| a.name <= b.name) {
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    }
    let dup = v.windows(2).find_map(|w| match w {
        [a, b] if a.name == b.name => Some(a.name.clone()),
        _ => None,
    });
    if let Some(d) = dup {
        let pos = if d == METRIC_NAME_LABEL {
            raw.iter()
                .find(|(n, _, _)| *n == d)
                .map_or(name_pos, |(_, _, p)| *p)
        } else {
            raw.iter()
                .filter(|(n, _, _)| *n == d)
                .nth(1)
                .map_or(name_pos, |(_, _, p)| *p)
        };
        return Err(PErr::new(pos, format!("duplicate label name {d:?}")));
    }
    if raw.iter().any(|(_, val, _)| val.is_empty()) {
        v.retain(|l| !l.value.is_empty());
    }
    Ok(Labels::from_sorted_unchecked(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_chars() {
        let body = "ab\nüx\n".as_bytes();
        let e = PErr::new(5, "m").locate(body);
        assert_eq!((e.line, e.column), (2, 2));
        let e = PErr::new(0, "m").locate(body);
        assert_eq!((e.line, e.column), (1, 1));
        let e = PErr::new(999, "m").locate(body);
        assert_eq!((e.line, e.column), (3, 1));
    }

    #[test]
    fn unescape_rules() {
        let u = |s: &str, e| {
            unescape(s.as_bytes(), s.contains('\\'), e, 0, "x")
                .expect("ok")
                .into_owned()
        };
        assert_eq!(u(r#"a\\b\nc\"d\te"#, Escapes::Quoted), "a\\b\nc\"d\\te");
        assert_eq!(u(r#"a\"b"#, Escapes::TextHelp), r#"a\"b"#);
        assert_eq!(u(r"trailing\", Escapes::Quoted), "trailing\\");
        assert!(unescape(b"\xff", false, Escapes::Quoted, 3, "label value").is_err());
    }

    #[test]
    fn quoted_scans_escapes_and_newlines() {
        let mut c = Cursor::new(br#"a\"b" rest"#);
        assert_eq!(c.quoted(false, "v").expect("ok"), (&br#"a\"b"#[..], true));
        assert_eq!(c.rest(), b" rest");
        let mut c = Cursor::new(b"a\nb\"");
        assert!(c.quoted(false, "v").is_err());
        let mut c = Cursor::new(b"a\nb\"");
        assert_eq!(c.quoted(true, "v").expect("ok").0, b"a\nb");
        let mut c = Cursor::new(b"a\\\nb\"");
        assert!(c.quoted(true, "v").is_err());
        let mut c = Cursor::new(b"abc");
        assert!(c.quoted(true, "v").is_err());
    }

    #[test]
    fn build_labels_sorts_drops_empty_and_finds_duplicates() {
        let raw: Vec<RawLabel<'_>> = vec![
            ("z", Cow::Borrowed("1"), 10),
            ("a", Cow::Borrowed(""), 20),
            ("b", Cow::Borrowed("2"), 30),
        ];
        let l = build_labels("m", 0, &raw).expect("ok");
        assert_eq!(l.to_string(), r#"m{b="2", z="1"}"#);
        let raw: Vec<RawLabel<'_>> =
            vec![("a", Cow::Borrowed(""), 7), ("a", Cow::Borrowed("x"), 9)];
        let e = build_labels("m", 0, &raw).expect_err("dup");
        assert_eq!((e.pos, e.msg.as_str()), (9, r#"duplicate label name "a""#));
        let raw: Vec<RawLabel<'_>> = vec![("__name__", Cow::Borrowed("n"), 4)];
        let e = build_labels("m", 0, &raw).expect_err("dup");
        assert_eq!(e.pos, 4);
    }
}

//! The series description notation of promtool's `input_series` and the metric notation of
//! `exp_samples[].labels`, as Prometheus 2.42's PromQL lexer and grammar read them
//! (`promql/parser/lex.go` `lexValueSequence`, `generated_parser.y` `series_item`):
//!
//! - `metric{l="v"}` or `{l="v"}`, no space between the name and `{`;
//! - then items separated by whitespace: `a` (one value), `axn` (`a` n+1 times), `a+bxn` /
//!   `a-bxn` (n+1 values, each the previous plus `b`), `_` (one missing sample), `_xn` (n missing
//!   samples), `stale` (a staleness marker);
//! - numbers as the lexer scans them (no hexadecimal; a leading `0` means octal, as Go's
//!   `ParseInt(s, 0, 64)` reads it), `Inf` and `NaN` in any case.

use vigil_model::{METRIC_NAME_LABEL, STALE_NAN};

/// Most values one series may expand to; repetition counts beyond it are refused rather than
/// allocated.
const MAX_VALUES: usize = 1 << 22;

/// A parsed series line: labels sorted by name (empty values kept, as Prometheus keeps them
/// here) and one entry per step, `None` for a missing sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesDesc {
    pub labels: Vec<(String, String)>,
    pub values: Vec<Option<f64>>,
}

type PResult<T> = Result<T, (usize, String)>;

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos..).and_then(|r| r.chars().next())
    }
    fn peek2(&self) -> Option<char> {
        let mut it = self.s.get(self.pos..)?.chars();
        it.next();
        it.next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or("")
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}
fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}
fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// Formats a parse error the way Prometheus positions them: `line:col: parse error: …`.
fn located(input: &str, line: usize, (pos, msg): (usize, String)) -> String {
    let before = input.get(..pos).unwrap_or(input);
    let col = before.chars().count() + 1;
    format!("{line}:{col}: parse error: {msg}")
}

/// Parses `metric{labels} values…`. `line` numbers the line in errors.
///
/// # Errors
/// A message in Prometheus's `line:col: parse error: …` shape.
pub(crate) fn parse_series_desc(input: &str, line: usize) -> Result<SeriesDesc, String> {
    let mut c = Cursor { s: input, pos: 0 };
    let labels = parse_metric_part(&mut c).map_err(|e| located(input, line, e))?;
    let values = parse_values(&mut c).map_err(|e| located(input, line, e))?;
    Ok(SeriesDesc { labels, values })
}

/// Parses a metric (`name{l="v"}`, `{…}`, or nothing at all) as `exp_samples[].labels`.
///
/// # Errors
/// A message in Prometheus's `line:col: parse error: …` shape.
pub(crate) fn parse_metric(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut c = Cursor { s: input, pos: 0 };
    let labels = parse_metric_part(&mut c).map_err(|e| located(input, 1, e))?;
    c.skip_ws();
    if let Some(ch) = c.peek() {
        return Err(located(
            input,
            1,
            (c.pos, format!("unexpected {ch:?} after the metric")),
        ));
    }
    Ok(labels)
}

fn parse_metric_part(c: &mut Cursor<'_>) -> PResult<Vec<(String, String)>> {
    c.skip_ws();
    let mut labels: Vec<(String, String)> = Vec::new();
    match c.peek() {
        None => return Ok(labels),
        Some(ch) if is_alpha(ch) || ch == ':' => {
            let start = c.pos;
            let name = c.take_while(|ch| is_alnum(ch) || ch == ':').to_owned();
            if matches!(name.to_ascii_lowercase().as_str(), "inf" | "nan") {
                return Err((start, format!("unexpected number {name:?}")));
            }
            labels.push((METRIC_NAME_LABEL.to_owned(), name));
            if c.peek() == Some('{') {
                parse_label_set(c, &mut labels)?;
            }
        }
        Some('{') => parse_label_set(c, &mut labels)?,
        Some(ch) => return Err((c.pos, format!("unexpected character: {ch:?}"))),
    }
    labels.sort();
    for w in labels.windows(2) {
        if let [a, b] = w {
            if a.0 == b.0 {
                return Err((c.pos, format!("duplicate label name {:?}", a.0)));
            }
        }
    }
    Ok(labels)
}

/// `{name="value", …}`; the cursor is on `{`.
fn parse_label_set(c: &mut Cursor<'_>, out: &mut Vec<(String, String)>) -> PResult<()> {
    c.bump();
    loop {
        c.skip_ws();
        match c.peek() {
            None => return Err((c.pos, "unexpected end of input inside braces".to_owned())),
            Some('}') => {
                c.bump();
                return Ok(());
            }
            Some(ch) if is_alpha(ch) => {}
            Some(ch) => return Err((c.pos, format!("unexpected character inside braces: {ch:?}"))),
        }
        let name = c.take_while(is_alnum).to_owned();
        c.skip_ws();
        match c.peek() {
            Some('=') if c.peek2() != Some('~') => {
                c.bump();
            }
            Some(ch) => {
                return Err((
                    c.pos,
                    format!("unexpected {ch:?} in label matching, expected \"=\""),
                ))
            }
            None => return Err((c.pos, "unexpected end of input inside braces".to_owned())),
        }
        c.skip_ws();
        let value = take_string(c)?;
        out.push((name, value));
        c.skip_ws();
        match c.peek() {
            Some(',') => {
                c.bump();
            }
            Some('}') => {}
            None => return Err((c.pos, "unexpected end of input inside braces".to_owned())),
            Some(ch) => return Err((c.pos, format!("unexpected character inside braces: {ch:?}"))),
        }
    }
}

/// A `"…"`, `'…'` or `` `…` `` string at the cursor, unquoted with Go's escapes.
fn take_string(c: &mut Cursor<'_>) -> PResult<String> {
    let start = c.pos;
    let q = match c.peek() {
        Some(q @ ('"' | '\'' | '`')) => q,
        Some(ch) => {
            return Err((
                c.pos,
                format!("unexpected {ch:?} in label matching, expected string"),
            ))
        }
        None => return Err((c.pos, "unexpected end of input, expected string".to_owned())),
    };
    c.bump();
    let mut out = String::new();
    loop {
        let Some(ch) = c.bump() else {
            return Err((start, "unterminated quoted string".to_owned()));
        };
        if ch == q {
            return Ok(out);
        }
        if ch == '\\' && q != '`' {
            let Some(e) = c.bump() else {
                return Err((start, "unterminated quoted string".to_owned()));
            };
            let simple = match e {
                'a' => Some('\u{7}'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\u{b}'),
                '\\' => Some('\\'),
                e if e == q => Some(e),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                continue;
            }
            let (n, radix) = match e {
                '0'..='7' => (3, 8),
                'x' => (2, 16),
                'u' => (4, 16),
                'U' => (8, 16),
                _ => return Err((c.pos, "unknown escape sequence".to_owned())),
            };
            let mut digits = String::new();
            if radix == 8 {
                digits.push(e);
            }
            while digits.len() < n {
                match c.bump() {
                    Some(d) if d.is_digit(radix) => digits.push(d),
                    _ => return Err((c.pos, "illegal character in escape sequence".to_owned())),
                }
            }
            let code = u32::from_str_radix(&digits, radix)
                .map_err(|_| (c.pos, "invalid escape sequence".to_owned()))?;
            match char::from_u32(code) {
                Some(ch) => out.push(ch),
                None => {
                    return Err((
                        c.pos,
                        "escape sequence is invalid Unicode code point".to_owned(),
                    ))
                }
            }
        } else {
            out.push(ch);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space,
    Add,
    Sub,
    Times,
    Blank,
    Number(String),
    Ident(String),
}

fn lex_values(c: &mut Cursor<'_>) -> PResult<Vec<(usize, Tok)>> {
    let mut toks = Vec::new();
    while let Some(ch) = c.peek() {
        let at = c.pos;
        let tok = match ch {
            ch if is_space(ch) => {
                c.skip_ws();
                Tok::Space
            }
            '+' | '-' | 'x' | '_' => {
                c.bump();
                match ch {
                    '+' => Tok::Add,
                    '-' => Tok::Sub,
                    'x' => Tok::Times,
                    _ => Tok::Blank,
                }
            }
            ch if ch.is_ascii_digit()
                || (ch == '.' && c.peek2().is_some_and(|d| d.is_ascii_digit())) =>
            {
                c.take_while(|d| d.is_ascii_digit());
                if c.peek() == Some('.') {
                    c.bump();
                    c.take_while(|d| d.is_ascii_digit());
                }
                if matches!(c.peek(), Some('e' | 'E')) {
                    c.bump();
                    if matches!(c.peek(), Some('+' | '-')) {
                        c.bump();
                    }
                    c.take_while(|d| d.is_ascii_digit());
                }
                let text = c.s.get(at..c.pos).unwrap_or("").to_owned();
                if c.peek().is_some_and(|n| n != 'x' && is_alnum(n)) {
                    return Err((at, format!("bad number syntax: {text:?}")));
                }
                Tok::Number(text)
            }
            ch if is_alpha(ch) => {
                let word = c.take_while(|w| is_alnum(w) || w == ':').to_owned();
                if matches!(word.to_ascii_lowercase().as_str(), "inf" | "nan") {
                    Tok::Number(word)
                } else {
                    Tok::Ident(word)
                }
            }
            ch => {
                return Err((
                    at,
                    format!("unexpected character in series sequence: {ch:?}"),
                ));
            }
        };
        toks.push((at, tok));
    }
    Ok(toks)
}

/// Go's `ParseInt(s, 0, 64)` then `ParseFloat(s, 64)`, as the parser reads a number.
fn number(s: &str) -> Option<f64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let int = if s.len() > 1 && s.starts_with('0') {
            i64::from_str_radix(s, 8).ok()
        } else {
            s.parse::<i64>().ok()
        };
        if let Some(i) = int {
            #[allow(clippy::cast_precision_loss)]
            return Some(i as f64);
        }
    }
    let f: f64 = s.parse().ok()?;
    // Go reports a range error where Rust rounds to infinity.
    if f.is_infinite() && !s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(f)
}

fn parse_values(c: &mut Cursor<'_>) -> PResult<Vec<Option<f64>>> {
    let toks = lex_values(c)?;
    let end = c.s.len();
    let mut it = toks.into_iter().peekable();
    let mut out: Vec<Option<f64>> = Vec::new();
    let unexpected = |at: usize, t: &Tok| (at, format!("unexpected {t:?} in series values"));
    loop {
        match it.next() {
            None => return Ok(out),
            Some((_, Tok::Space)) => {}
            Some((at, t)) => return Err(unexpected(at, &t)),
        }
        let Some((at, first)) = it.next() else {
            return Ok(out);
        };
        let uint = |it: &mut std::iter::Peekable<std::vec::IntoIter<(usize, Tok)>>| match it.next()
        {
            Some((_, Tok::Number(n))) => n
                .parse::<u64>()
                .map_err(|e| (at, format!("invalid repetition in series values: {e}"))),
            Some((p, t)) => Err(unexpected(p, &t)),
            None => Err((end, "unexpected end of input in series values".to_owned())),
        };
        let push = |out: &mut Vec<Option<f64>>, n: u64, v: &mut dyn FnMut() -> Option<f64>| {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > MAX_VALUES.saturating_sub(out.len()) {
                return Err((at, format!("more than {MAX_VALUES} values in one series")));
            }
            for _ in 0..n {
                out.push(v());
            }
            Ok(())
        };
        if first == Tok::Blank {
            if matches!(it.peek(), Some((_, Tok::Times))) {
                it.next();
                let n = uint(&mut it)?;
                push(&mut out, n, &mut || None)?;
            } else {
                out.push(None);
            }
        } else {
            let start = series_value(at, first, &mut it)?;
            match it.peek() {
                Some((_, Tok::Times)) => {
                    it.next();
                    let n = uint(&mut it)?;
                    push(&mut out, n.saturating_add(1), &mut || Some(start))?;
                }
                Some((_, Tok::Add | Tok::Sub)) => {
                    let Some((sat, sign)) = it.next() else {
                        return Err((end, "unexpected end of input".to_owned()));
                    };
                    let step = match it.next() {
                        Some((p, Tok::Number(n))) => {
                            number(&n).ok_or_else(|| (p, format!("error parsing number: {n:?}")))?
                        }
                        Some((p, t)) => return Err(unexpected(p, &t)),
                        None => return Err((end, "unexpected end of input".to_owned())),
                    };
                    let step = if sign == Tok::Sub { -step } else { step };
                    match it.next() {
                        Some((_, Tok::Times)) => {}
                        Some((p, t)) => return Err(unexpected(p, &t)),
                        None => {
                            return Err((
                                sat,
                                "unexpected end of input in series values".to_owned(),
                            ))
                        }
                    }
                    let n = uint(&mut it)?;
                    let mut cur = start;
                    push(&mut out, n.saturating_add(1), &mut || {
                        let v = cur;
                        cur += step;
                        Some(v)
                    })?;
                }
                _ => out.push(Some(start)),
            }
        }
    }
}

/// `stale`, a number, or a signed number.
fn series_value(
    at: usize,
    first: Tok,
    it: &mut std::iter::Peekable<std::vec::IntoIter<(usize, Tok)>>,
) -> PResult<f64> {
    match first {
        Tok::Ident(w) if w == "stale" => Ok(STALE_NAN),
        Tok::Ident(w) => Err((
            at,
            format!("unexpected identifier {w:?} in series values, expected number or \"stale\""),
        )),
        Tok::Number(n) => number(&n).ok_or_else(|| (at, format!("error parsing number: {n:?}"))),
        Tok::Add | Tok::Sub => match it.next() {
            Some((p, Tok::Number(n))) => {
                let v = number(&n).ok_or_else(|| (p, format!("error parsing number: {n:?}")))?;
                Ok(if first == Tok::Sub { -v } else { v })
            }
            Some((p, t)) => Err((p, format!("unexpected {t:?} in series values"))),
            None => Err((at, "unexpected end of input in series values".to_owned())),
        },
        t => Err((at, format!("unexpected {t:?} in series values"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::is_stale_nan;

    fn vals(s: &str) -> Vec<Option<f64>> {
        parse_series_desc(&format!("m {s}"), 1).expect(s).values
    }

    #[test]
    fn expanding_notation() {
        assert_eq!(vals("1+2x3"), [Some(1.0), Some(3.0), Some(5.0), Some(7.0)]);
        assert_eq!(vals("10-2x2"), [Some(10.0), Some(8.0), Some(6.0)]);
        assert_eq!(
            vals("-2+4x3"),
            [Some(-2.0), Some(2.0), Some(6.0), Some(10.0)]
        );
        assert_eq!(vals("1x4").len(), 5);
        assert_eq!(vals("1 _x3 2"), [Some(1.0), None, None, None, Some(2.0)]);
        assert_eq!(vals("_ 1"), [None, Some(1.0)]);
        assert_eq!(vals("0x3"), [Some(0.0); 4]);
        assert_eq!(
            vals("010 09 1e2 .5 -Inf"),
            [
                Some(8.0),
                Some(9.0),
                Some(100.0),
                Some(0.5),
                Some(f64::NEG_INFINITY)
            ]
        );
        assert_eq!(vals(""), []);
        assert_eq!(vals("1  2 "), [Some(1.0), Some(2.0)]);
        let s = vals("stale");
        assert!(s[0].is_some_and(is_stale_nan));
        assert!(vals("NaN")[0].is_some_and(f64::is_nan));
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            "1+2",
            "stalex2",
            "Stale",
            "1x",
            "x3",
            "1x1.5",
            "1a",
            "0b1",
            "1 +",
            "1{",
            "abc",
            "1,2",
            "1x99999999999",
        ] {
            assert!(parse_series_desc(&format!("m {bad}"), 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_and_labels() {
        let d = parse_series_desc(r#"up{job="a", instance='b\'c'} 1"#, 1).expect("valid");
        assert_eq!(
            d.labels,
            [
                ("__name__".to_owned(), "up".to_owned()),
                ("instance".to_owned(), "b'c".to_owned()),
                ("job".to_owned(), "a".to_owned())
            ]
        );
        let e = parse_series_desc(
            r#"up{job="prometheus", instance="localhost:9090" 0+0x1440"#,
            1,
        )
        .expect_err("unterminated");
        assert_eq!(
            e,
            "1:48: parse error: unexpected character inside braces: '0'"
        );
        assert!(parse_series_desc("up {a=\"b\"} 1", 1).is_err());
        assert!(parse_series_desc("up{}1", 1).is_err());
        assert_eq!(parse_metric("").expect("empty"), []);
        assert_eq!(parse_metric("{}").expect("empty"), []);
        assert_eq!(
            parse_metric(r#"{alertname="x",a=""}"#).expect("valid"),
            [
                ("a".to_owned(), String::new()),
                ("alertname".to_owned(), "x".to_owned())
            ]
        );
        assert!(parse_metric("up 1").is_err());
    }
}

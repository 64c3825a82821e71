//! Parsing PromQL text, with Prometheus's error shape.
//!
//! `promql-parser` does the parsing. Around it: functions it lacks are registered, backtick
//! strings are kept raw, byte escapes it would misread are refused, and its errors are given
//! Prometheus's position and wording (`1:5: parse error: unexpected identifier "bar"`) by
//! [`locate`].

use std::borrow::Cow;
use std::sync::Once;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr, Function};

use crate::PromqlError;

mod locate;

use locate::{line_col, locate};

/// Functions Prometheus has that `promql-parser` does not know, registered once.
fn register_functions() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // `holt_winters` is the name before Prometheus 3 of `double_exponential_smoothing`;
        // rule files and dashboards still use it. An error here means the parser grew the
        // function itself, which is what we want anyway.
        let _ = parser::register_extra_functions(vec![Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        )]);
    });
}

/// Parses a PromQL expression.
///
/// # Errors
/// [`PromqlError::Parse`] with Prometheus's `line:col: parse error: …` message.
pub(crate) fn parse(query: &str) -> Result<Expr, PromqlError> {
    register_functions();
    let text = raw_strings_quoted(query);
    let expr = parser::parse(&text).map_err(|msg| PromqlError::Parse(locate(&text, &msg)))?;
    if let Some(pos) = high_byte_escape(query) {
        return Err(PromqlError::Parse(format!(
            "{}: parse error: byte escapes above \\x7f in strings are not supported, as strings \
             must be valid UTF-8: write the character itself or use \\u",
            line_col(query, pos)
        )));
    }
    Ok(expr)
}

/// `query` with every backtick string that holds a backslash rewritten as the equivalent
/// double-quoted string. Backtick strings are raw in PromQL (`` `\d` `` is a backslash and a
/// `d`), but the parser crate applies escapes inside them too, which turns regexes such as
/// `` `.*-\d:8080` `` into errors or different patterns.
fn raw_strings_quoted(query: &str) -> Cow<'_, str> {
    if !query.contains('`') || !query.contains('\\') {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len() + 8);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut raw = String::new();
    for c in query.chars() {
        match quote {
            Some('`') => {
                if c == '`' {
                    if raw.contains('\\') {
                        out.push('"');
                        for r in raw.chars() {
                            if r == '\\' || r == '"' {
                                out.push('\\');
                            }
                            out.push(r);
                        }
                        out.push('"');
                    } else {
                        out.push('`');
                        out.push_str(&raw);
                        out.push('`');
                    }
                    raw.clear();
                    quote = None;
                } else {
                    raw.push(c);
                }
                continue;
            }
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == '`' {
                    quote = Some('`');
                    continue;
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
        out.push(c);
    }
    if quote == Some('`') {
        // Unterminated: the parser reports it.
        out.push('`');
        out.push_str(&raw);
    }
    Cow::Owned(out)
}

/// Position of the first `\xHH` or octal `\OOO` escape above 0x7f inside a quoted string. Such
/// escapes stand for raw bytes (Go's rules), which may not form valid UTF-8; the parser crate
/// decodes them as characters instead, which would change the string's meaning, so they are
/// refused.
fn high_byte_escape(query: &str) -> Option<usize> {
    let bytes = query.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match quote {
            None if b == b'"' || b == b'\'' || b == b'`' => quote = Some(b),
            None if b == b'#' => {
                // A comment runs to the end of the line.
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            None => {}
            Some(q) if b == q => quote = None,
            Some(q) if b == b'\\' && q != b'`' => {
                let hex = |k: usize| bytes.get(i + k).is_some_and(u8::is_ascii_hexdigit);
                let high = match bytes.get(i + 1) {
                    Some(b'x') => hex(2) && hex(3) && bytes.get(i + 2).is_some_and(|c| *c >= b'8'),
                    Some(b'0'..=b'7') => bytes.get(i + 1).is_some_and(|c| *c >= b'2'),
                    _ => false,
                };
                if high {
                    return Some(i);
                }
                i += 1; // skip the escaped character
            }
            Some(_) => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        match parse(q) {
            Err(PromqlError::Parse(m)) => m,
            other => panic!("expected a parse error for {q:?}, got {other:?}"),
        }
    }

    #[test]
    fn positions_like_prometheus() {
        assert_eq!(err("1 +"), "1:4: parse error: unexpected end of input");
        assert_eq!(
            err("foo bar"),
            "1:5: parse error: unexpected identifier \"bar\""
        );
        assert_eq!(err("sum("), "1:5: parse error: unclosed left parenthesis");
        assert_eq!(err(""), "1:1: parse error: no expression found in input");
        assert_eq!(
            err("up +\n  foo bar"),
            "2:7: parse error: unexpected identifier \"bar\""
        );
    }

    #[test]
    fn high_byte_escapes_are_refused() {
        assert!(err(r#"label_replace(x, "\xff", "", "src", "(.*)")"#)
            .starts_with("1:19: parse error: byte escapes"));
        assert!(err(r#"x{a="\377"}"#).starts_with("1:6:"));
        assert!(parse(r#"x{a="\x41\u00ff"}"#).is_ok());
        assert!(parse(r#"x{a=`\xff`}"#).is_ok());
    }

    #[test]
    fn backtick_strings_are_raw() {
        let Ok(Expr::VectorSelector(vs)) = parse(r"up{instance=~`.*-\d:8080`}") else {
            panic!("backtick regex should parse");
        };
        let m = vs.matchers.matchers.first().map(|m| m.value.clone());
        assert_eq!(m.as_deref(), Some(r".*-\d:8080"));
        assert!(parse(r#"x{a=`say "hi" \n`}"#).is_ok());
        assert!(parse("x{a=`plain`}").is_ok());
    }

    #[test]
    fn holt_winters_is_known() {
        assert!(parse("holt_winters(x[5m], 0.5, 0.5)").is_ok());
        assert!(parse("double_exponential_smoothing(x[5m], 0.5, 0.5)").is_ok());
    }
}

//! The Prometheus text format 0.0.4, as Prometheus 2.42's `promparse` lexes it.
//!
//! Rules (each from `model/textparse/promlex.l` / `promparse.go`):
//! - spaces and tabs may appear between any two tokens and at the start of a line; blank lines
//!   are skipped; the body need not end with a newline; `\r` is not whitespace;
//! - `#` followed by blanks and `HELP`/`TYPE` plus a blank is metadata; any other `#` line is a
//!   comment (so `# EOF` is a comment here);
//! - in metadata the text after the metric name is the rest of the line minus its first byte
//!   (normally the separating space); a rest made only of blanks is empty text; TYPE must be
//!   exactly `counter`, `gauge`, `histogram`, `summary` or `untyped` (→ unknown); HELP must be
//!   UTF-8 and understands the escapes `\\` and `\n` only;
//! - label values may hold raw newlines, must be UTF-8 and understand `\\`, `\"`, `\n`; commas
//!   between labels are optional and one may trail;
//! - the value is a Go-syntax float (no hex, no `_`); the optional timestamp is an unsigned
//!   integer of milliseconds.
//!
//! Deviation: a NUL byte at the start of a line ends a Prometheus parse silently; here it is an
//! error (NUL inside label values, HELP text and comments is accepted, as in Prometheus).

use std::collections::HashMap;

use vigil_model::MetricType;

use super::number::parse_number;
use super::scan::{
    build_labels, found, is_metric_name_start, unescape, Cursor, Escapes, PErr, RawLabel,
};
use super::{Exposition, ParsedSample};

pub(super) fn parse(body: &[u8]) -> Result<Exposition, PErr> {
    let mut p = TextParser {
        c: Cursor::new(body),
        out: Exposition {
            samples: Vec::with_capacity(body.len() / 64),
            metadata: Vec::new(),
        },
        meta_index: HashMap::new(),
        scratch: Vec::new(),
    };
    p.run()?;
    Ok(p.out)
}

struct TextParser<'a> {
    c: Cursor<'a>,
    out: Exposition,
    meta_index: HashMap<&'a str, usize>,
    scratch: Vec<RawLabel<'a>>,
}

enum Meta {
    Help,
    Type,
}

impl<'a> TextParser<'a> {
    fn run(&mut self) -> Result<(), PErr> {
        loop {
            self.c.skip_blanks();
            match self.c.peek() {
                None => return Ok(()),
                Some(b'\n') => self.c.bump(),
                Some(b'#') => self.comment_or_metadata()?,
                Some(b) if is_metric_name_start(b) => self.sample()?,
                other => {
                    return Err(PErr::new(
                        self.c.pos,
                        format!(
                            "expected a metric name or '#' at the start of a line, found {}",
                            found(other)
                        ),
                    ))
                }
            }
        }
    }

    fn comment_or_metadata(&mut self) -> Result<(), PErr> {
        self.c.bump(); // '#'
        let blanks = self.c.take_while(|b| b == b' ' || b == b'\t');
        let rest = self.c.rest();
        let kind = match rest {
            [b'H', b'E', b'L', b'P', b' ' | b'\t', ..] if !blanks.is_empty() => Meta::Help,
            [b'T', b'Y', b'P', b'E', b' ' | b'\t', ..] if !blanks.is_empty() => Meta::Type,
            _ => {
                // A comment: ignored whatever it holds.
                self.c.rest_of_line();
                self.c.eat(b'\n');
                return Ok(());
            }
        };
        let keyword = match kind {
            Meta::Help => "HELP",
            Meta::Type => "TYPE",
        };
        self.c.pos += 4;
        self.c.skip_blanks();
        let name_pos = self.c.pos;
        let Some(name) = self.c.metric_name() else {
            return Err(PErr::new(
                name_pos,
                format!(
                    "expected a metric name after {keyword}, found {}",
                    found(self.c.peek())
                ),
            ));
        };
        let text_pos = self.c.pos + 1;
        let rest = self.c.rest_of_line();
        self.c.eat(b'\n');
        // The lexer's text token is the whole rest of the line and the parser drops its first
        // byte; a rest of only blanks lexes as whitespace, leaving empty text.
        let text: &[u8] = if rest.iter().all(|&b| b == b' ' || b == b'\t') {
            b""
        } else {
            rest.get(1..).unwrap_or_default()
        };
        let idx = self.family(name);
        match kind {
            Meta::Help => {
                let help = unescape(
                    text,
                    text.contains(&b'\\'),
                    Escapes::TextHelp,
                    text_pos,
                    "HELP text",
                )?;
                if let Some(m) = self.out.metadata.get_mut(idx) {
                    m.help = help.into_owned();
                }
            }
            Meta::Type => {
                let t = match text {
                    b"counter" => MetricType::Counter,
                    b"gauge" => MetricType::Gauge,
                    b"histogram" => MetricType::Histogram,
                    b"summary" => MetricType::Summary,
                    b"untyped" => MetricType::Unknown,
                    other => {
                        return Err(PErr::new(
                            text_pos,
                            format!(
                                "invalid metric type {:?} (expected counter, gauge, histogram, summary or untyped)",
                                String::from_utf8_lossy(other)
                            ),
                        ))
                    }
                };
                if let Some(m) = self.out.metadata.get_mut(idx) {
                    m.metric_type = t;
                }
            }
        }
        Ok(())
    }

    /// The metadata entry for `name`, created on first mention; a later HELP or TYPE for the
    /// same name overwrites (Prometheus's metadata cache keeps the last one).
    fn family(&mut self, name: &'a str) -> usize {
        super::family_entry(&mut self.meta_index, &mut self.out.metadata, name)
    }

    fn sample(&mut self) -> Result<(), PErr> {
        let name_pos = self.c.pos;
        let Some(name) = self.c.metric_name() else {
            return Err(PErr::new(name_pos, "expected a metric name"));
        };
        self.c.skip_blanks();
        self.scratch.clear();
        if self.c.eat(b'{') {
            self.labels()?;
            self.c.skip_blanks();
        }
        let value_pos = self.c.pos;
        let tok = self
            .c
            .take_while(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'{'));
        if tok.is_empty() {
            return Err(PErr::new(
                value_pos,
                format!(
                    "expected a value after metric {name:?}, found {}",
                    found(self.c.peek())
                ),
            ));
        }
        let value = parse_number(tok).map_err(|e| {
            PErr::new(
                value_pos,
                format!(
                    "invalid value {:?}: {}",
                    String::from_utf8_lossy(tok),
                    e.describe()
                ),
            )
        })?;
        self.c.skip_blanks();
        let timestamp_ms = match self.c.peek() {
            None | Some(b'\n') => None,
            Some(b) if b.is_ascii_digit() => {
                let ts_pos = self.c.pos;
                let digits = self.c.take_while(|b| b.is_ascii_digit());
                let ts = parse_ms(digits).ok_or_else(|| {
                    PErr::new(
                        ts_pos,
                        format!(
                            "timestamp {} is out of the int64 range",
                            String::from_utf8_lossy(digits)
                        ),
                    )
                })?;
                self.c.skip_blanks();
                if !matches!(self.c.peek(), None | Some(b'\n')) {
                    return Err(PErr::new(
                        self.c.pos,
                        format!(
                            "expected end of line after the timestamp, found {}",
                            found(self.c.peek())
                        ),
                    ));
                }
                Some(ts)
            }
            other => {
                return Err(PErr::new(
                    self.c.pos,
                    format!(
                        "expected a timestamp (integer milliseconds) or end of line after the value, found {}",
                        found(other)
                    ),
                ))
            }
        };
        self.c.eat(b'\n');
        let labels = build_labels(name, name_pos, &self.scratch)?;
        self.out.samples.push(ParsedSample {
            labels,
            value,
            timestamp_ms,
        });
        Ok(())
    }

    /// Labels after `{` up to and including `}`.
    fn labels(&mut self) -> Result<(), PErr> {
        loop {
            self.c.skip_blanks();
            let name_pos = self.c.pos;
            match self.c.peek() {
                Some(b'}') => {
                    self.c.bump();
                    return Ok(());
                }
                Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
                other => {
                    return Err(PErr::new(
                        name_pos,
                        format!("expected a label name or '}}', found {}", found(other)),
                    ))
                }
            }
            let Some(lname) = self.c.label_name() else {
                return Err(PErr::new(name_pos, "expected a label name"));
            };
            let value = self.c.label_value(lname, true)?;
            self.scratch.push((lname, value, name_pos));
            self.c.skip_blanks();
            // A comma is optional between labels and may trail (Prometheus's parseLVals).
            self.c.eat(b',');
        }
    }
}

/// An unsigned decimal integer that fits in i64.
fn parse_ms(digits: &[u8]) -> Option<i64> {
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Format, NORMAL_NAN_BITS};
    use super::*;

    fn ok(body: &str) -> Exposition {
        match parse(body.as_bytes(), Format::PrometheusText) {
            Ok(e) => e,
            Err(e) => panic!("{body:?}: {e}"),
        }
    }

    fn err(body: &str) -> String {
        parse(body.as_bytes(), Format::PrometheusText)
            .expect_err(body)
            .to_string()
    }

    fn series(e: &Exposition) -> Vec<String> {
        e.samples.iter().map(|s| s.labels.to_string()).collect()
    }

    #[test]
    fn prometheus_parser_test_body() {
        // The body of Prometheus 2.42's TestPromParse, line for line.
        let body = "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n\
# \tTYPE go_gc_duration_seconds summary\n\
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n\
go_gc_duration_seconds{quantile=\"0.25\",} 7.424100000000001e-05\n\
go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05\n\
go_gc_duration_seconds{quantile=\"0.8\", a=\"b\"} 8.3835e-05\n\
go_gc_duration_seconds{ quantile=\"0.9\", a=\"b\"} 8.3835e-05\n\
# Hrandom comment starting with prefix of HELP\n\
#\n\
wind_speed{A=\"2\",c=\"3\"} 12345\n\
# comment with escaped \\n newline\n\
# comment with escaped \\ escape character\n\
# HELP nohelp1\n\
# HELP nohelp2 \n\
go_gc_duration_seconds{ quantile=\"1.0\", a=\"b\" } 8.3835e-05\n\
go_gc_duration_seconds { quantile=\"1.0\", a=\"b\" } 8.3835e-05\n\
go_gc_duration_seconds { quantile= \"1.0\", a= \"b\", } 8.3835e-05\n\
go_gc_duration_seconds { quantile = \"1.0\", a = \"b\" } 8.3835e-05\n\
go_gc_duration_seconds_count 99\n\
some:aggregate:rate5m{a_b=\"c\"}\t1\n\
# HELP go_goroutines Number of goroutines that currently exist.\n\
# TYPE go_goroutines gauge\n\
go_goroutines 33  \t123123\n\
_metric_starting_with_underscore 1\n\
testmetric{_label_starting_with_underscore=\"foo\"} 1\n\
testmetric{label=\"\\\"bar\\\"\"} 1\n\
# HELP metric foo\x00bar\n\
null_byte_metric{a=\"abc\x00\"} 1";
        let e = ok(body);
        assert_eq!(e.samples.len(), 17);
        let s = series(&e);
        assert_eq!(s[0], r#"go_gc_duration_seconds{quantile="0"}"#);
        assert_eq!(s[5], r#"wind_speed{A="2", c="3"}"#);
        assert_eq!(s[9], r#"go_gc_duration_seconds{a="b", quantile="1.0"}"#);
        assert_eq!(s[10], "go_gc_duration_seconds_count{}");
        assert_eq!(s[11], r#"some:aggregate:rate5m{a_b="c"}"#);
        assert_eq!(e.samples[12].timestamp_ms, Some(123_123));
        assert_eq!(e.samples[12].value, 33.0);
        assert_eq!(e.samples[15].labels.get("label"), Some("\"bar\""));
        let m: Vec<(&str, MetricType, &str)> = e
            .metadata
            .iter()
            .map(|m| (m.metric_family.as_str(), m.metric_type, m.help.as_str()))
            .collect();
        assert_eq!(
            m,
            [
                (
                    "go_gc_duration_seconds",
                    MetricType::Summary,
                    "A summary of the GC invocation durations."
                ),
                ("nohelp1", MetricType::Unknown, ""),
                ("nohelp2", MetricType::Unknown, ""),
                (
                    "go_goroutines",
                    MetricType::Gauge,
                    "Number of goroutines that currently exist."
                ),
                ("metric", MetricType::Unknown, "foo\0bar"),
            ]
        );
    }

    #[test]
    fn null_byte_in_label_value() {
        let e = ok("null_byte_metric{a=\"abc\x00\"} 1");
        assert_eq!(e.samples[0].labels.get("a"), Some("abc\0"));
    }

    #[test]
    fn prometheus_error_cases_are_errors() {
        // TestPromParseErrors and TestPromNullByteHandling of Prometheus 2.42.
        for body in [
            "a",
            "a{b='c'} 1\n",
            "a{b=\n",
            "a{\u{ff}=\"foo\"} 1\n",
            "a true\n",
            "something_weird{problem=\"",
            "empty_label_name{=\"\"} 0",
            "foo 1_2\n",
            "foo 0x1p-3\n",
            "foo 0x1P-3\n",
            "foo 0 1_2\n",
            "{a=\"ok\"} 1",
            "# TYPE #\n#EOF\n",
            "# HELP #\n#EOF\n",
            "a{b=\x00\"ssss\"} 1\n",
            "a{b=\"\x00",
            "a{b\x00=\"hiih\"}\t1",
            "a\x00{b=\"ddd\"} 1",
            "a 0 1\x00",
        ] {
            assert!(
                parse(body.as_bytes(), Format::PrometheusText).is_err(),
                "{body:?} should fail"
            );
        }
        assert!(parse(b"a{b=\"\xff\"} 1\n", Format::PrometheusText).is_err());
    }

    #[test]
    fn error_messages_say_what_was_expected() {
        assert_eq!(
            err("a{b='c'} 1\n"),
            "line 1, column 5: expected '\"' to open the value of label \"b\", found '''"
        );
        assert_eq!(
            err("a{,b=\"c\"} 1\n"),
            "line 1, column 3: expected a label name or '}', found ','"
        );
        assert_eq!(
            err("ok 1\na true\n"),
            "line 2, column 3: invalid value \"true\": not a number"
        );
        assert_eq!(
            err("a 1 -5\n"),
            "line 1, column 5: expected a timestamp (integer milliseconds) or end of line after the value, found '-'"
        );
        assert_eq!(
            err("a 1 5 6\n"),
            "line 1, column 7: expected end of line after the timestamp, found '6'"
        );
        assert_eq!(
            err("# TYPE a gauges\n"),
            "line 1, column 10: invalid metric type \"gauges\" (expected counter, gauge, histogram, summary or untyped)"
        );
        assert_eq!(
            err("# HELP 1a x\n"),
            "line 1, column 8: expected a metric name after HELP, found '1'"
        );
        assert_eq!(
            err("a{x=\"1\",x=\"2\"} 1\n"),
            "line 1, column 9: duplicate label name \"x\""
        );
        assert_eq!(
            err("a{__name__=\"b\"} 1\n"),
            "line 1, column 3: duplicate label name \"__name__\""
        );
        assert_eq!(
            err("a{x=\"1\"\n"),
            "line 1, column 8: expected a label name or '}', found end of line"
        );
        assert_eq!(
            err("a 1e999\n"),
            "line 1, column 3: invalid value \"1e999\": out of the float64 range"
        );
        assert_eq!(
            err("a{x=\"1} 1\n"),
            "line 1, column 5: label value is missing its closing '\"'"
        );
    }

    #[test]
    fn whitespace_commas_and_quirks() {
        let e = ok("  a{x=\"1\" y=\"2\"}3\n\n\t\nb {} 4 5");
        assert_eq!(series(&e), [r#"a{x="1", y="2"}"#, "b{}"]);
        assert_eq!(e.samples[0].value, 3.0);
        assert_eq!(e.samples[1].timestamp_ms, Some(5));
        // Raw newline inside a label value is accepted by Prometheus's lexer.
        let e = ok("a{x=\"1\n2\"} 1\nb 2\n");
        assert_eq!(e.samples[0].labels.get("x"), Some("1\n2"));
        assert_eq!(e.samples.len(), 2);
        // CRLF is not whitespace: the value is "1\r".
        assert!(err("a 1\r\n").contains("invalid value"));
        // `# EOF` is a comment in this format; so is `#HELP`.
        let e = ok("#HELP a x\n# EOF\na 1\n");
        assert!(e.metadata.is_empty());
        assert_eq!(e.samples.len(), 1);
        // `# HELP` without anything after it is a comment; with a blank after it, it needs a name.
        assert!(ok("# HELP\n").metadata.is_empty());
        assert!(err("# HELP \n").contains("expected a metric name after HELP"));
    }

    #[test]
    fn values_timestamps_and_escapes() {
        let e =
            ok("a NaN\nb +Inf\nc -Inf\nd -0.5e-3 1700000000000\ne{v=\"a\\\\b\\\"c\\nd\\te\"} 1\n");
        assert_eq!(e.samples[0].value.to_bits(), NORMAL_NAN_BITS);
        assert_eq!(e.samples[1].value, f64::INFINITY);
        assert_eq!(e.samples[2].value, f64::NEG_INFINITY);
        assert_eq!(e.samples[3].value, -0.0005);
        assert_eq!(e.samples[3].timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(e.samples[4].labels.get("v"), Some("a\\b\"c\nd\\te"));
        assert!(err("a 1 9223372036854775808\n").contains("out of the int64 range"));
        assert_eq!(ok("a 99999999999999999999\n").samples[0].value, 1e20);
    }

    #[test]
    fn help_text_rules() {
        let e =
            ok("# HELP a  two spaces\n# HELP b x\\\\y\\nz\\\"q\n# TYPE c untyped\n# HELP d \t \n");
        let h: Vec<&str> = e.metadata.iter().map(|m| m.help.as_str()).collect();
        assert_eq!(h, [" two spaces", "x\\y\nz\\\"q", "", ""]);
        assert!(parse(b"# HELP a \xff\n", Format::PrometheusText).is_err());
        // A later HELP/TYPE for the same family overwrites.
        let e = ok("# TYPE a gauge\n# TYPE a counter\n# HELP a one\n# HELP a two\n");
        assert_eq!(e.metadata.len(), 1);
        assert_eq!(e.metadata[0].metric_type, MetricType::Counter);
        assert_eq!(e.metadata[0].help, "two");
    }

    #[test]
    fn empty_label_values_are_dropped() {
        let e = ok("a{x=\"\",y=\"1\"} 1\n");
        assert_eq!(series(&e), [r#"a{y="1"}"#]);
    }
}

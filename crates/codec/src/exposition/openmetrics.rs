//! OpenMetrics 1.0.0 text format: the ABNF of the specification, line by line.
//!
//! ```text
//! exposition = metricset HASH SP eof [ LF ]
//! metric-descriptor = HASH SP (type / help / unit) SP metricname SP … LF
//! sample   = metricname [labels] SP number [SP timestamp] [exemplar] LF
//! exemplar = SP HASH SP labels SP number [SP timestamp]
//! labels   = "{" [label *(COMMA label)] "}"
//! ```
//!
//! Separators are exactly one space; no blank lines, no comments other than the three metadata
//! lines, no trailing comma, no raw newline in a label value, nothing after `# EOF` but one
//! optional `\n`. Timestamps are float seconds and become `trunc(seconds * 1000)` milliseconds as
//! in Prometheus; exemplars are checked (labels, the 128-character limit on their names and
//! values, value, timestamp) and dropped. Family semantics are in [`super::om_rules`].

use std::collections::HashMap;

use vigil_model::MetricType;

use super::number::{parse_number, parse_real};
use super::om_rules::{Families, MetaKind, SampleInfo};
use super::scan::{
    build_labels, found, is_metric_name_start, unescape, Cursor, Escapes, PErr, RawLabel,
};
use super::{Exposition, ParsedSample, Validation};

/// Exemplar label names and values together may hold at most this many characters.
const EXEMPLAR_MAX_CHARS: usize = 128;

pub(super) fn parse(body: &[u8], validation: Validation) -> Result<Exposition, PErr> {
    let mut p = OmParser {
        c: Cursor::new(body),
        out: Exposition {
            samples: Vec::with_capacity(body.len() / 64),
            metadata: Vec::new(),
        },
        meta_index: HashMap::new(),
        scratch: Vec::new(),
        exemplar: Vec::new(),
        rules: match validation {
            Validation::Strict => Some(Families::new()),
            Validation::Prometheus => None,
        },
    };
    p.run()?;
    Ok(p.out)
}

struct OmParser<'a> {
    c: Cursor<'a>,
    out: Exposition,
    meta_index: HashMap<&'a str, usize>,
    scratch: Vec<RawLabel<'a>>,
    exemplar: Vec<RawLabel<'a>>,
    rules: Option<Families>,
}

impl<'a> OmParser<'a> {
    fn run(&mut self) -> Result<(), PErr> {
        loop {
            match self.c.peek() {
                None => return Err(PErr::new(self.c.pos, "the body does not end with '# EOF'")),
                Some(b'\n') => {
                    return Err(PErr::new(
                        self.c.pos,
                        "blank lines are not allowed in OpenMetrics",
                    ))
                }
                Some(b'#') => {
                    if self.descriptor_or_eof()? {
                        if let Some(r) = self.rules.as_mut() {
                            r.finish()?;
                        }
                        return Ok(());
                    }
                }
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

    fn expect_space(&mut self, after: &str) -> Result<(), PErr> {
        if self.c.eat(b' ') {
            Ok(())
        } else {
            Err(PErr::new(
                self.c.pos,
                format!("expected ' ' after {after}, found {}", found(self.c.peek())),
            ))
        }
    }

    /// A `#` line. Returns true at `# EOF`.
    fn descriptor_or_eof(&mut self) -> Result<bool, PErr> {
        let line = self.c.pos;
        self.c.bump(); // '#'
        self.expect_space("'#'")?;
        let rest = self.c.rest();
        if rest.starts_with(b"EOF") && matches!(rest.get(3), None | Some(b'\n')) {
            self.c.pos += 3;
            self.c.eat(b'\n');
            if self.c.peek().is_some() {
                return Err(PErr::new(self.c.pos, "unexpected data after '# EOF'"));
            }
            return Ok(true);
        }
        let keyword = if rest.starts_with(b"HELP") {
            "HELP"
        } else if rest.starts_with(b"TYPE") {
            "TYPE"
        } else if rest.starts_with(b"UNIT") {
            "UNIT"
        } else {
            return Err(PErr::new(
                self.c.pos,
                "expected HELP, TYPE, UNIT or EOF after '# ' (OpenMetrics has no comments)",
            ));
        };
        self.c.pos += 4;
        self.expect_space(keyword)?;
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
        self.expect_space(&format!("the metric name in {keyword}"))?;
        let text_pos = self.c.pos;
        let text = self.c.rest_of_line();
        self.c.eat(b'\n');
        let (kind, text) = match keyword {
            "HELP" => {
                let help = unescape(
                    text,
                    text.contains(&b'\\'),
                    Escapes::Quoted,
                    text_pos,
                    "HELP text",
                )?;
                (MetaKind::Help, help.into_owned())
            }
            "TYPE" => (MetaKind::Type(metric_type(text, text_pos)?), String::new()),
            _ => {
                let unit = unit(name, text, text_pos)?;
                (MetaKind::Unit, unit.to_owned())
            }
        };
        if let Some(r) = self.rules.as_mut() {
            r.on_metadata(kind, name, &text, line)?;
        }
        let idx = self.family(name);
        if let Some(m) = self.out.metadata.get_mut(idx) {
            match kind {
                MetaKind::Help => m.help = text,
                MetaKind::Type(t) => m.metric_type = t,
                MetaKind::Unit => m.unit = text,
            }
        }
        Ok(false)
    }

    fn family(&mut self, name: &'a str) -> usize {
        super::family_entry(&mut self.meta_index, &mut self.out.metadata, name)
    }

    fn sample(&mut self) -> Result<(), PErr> {
        let line = self.c.pos;
        let Some(name) = self.c.metric_name() else {
            return Err(PErr::new(line, "expected a metric name"));
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let labelled = self.c.eat(b'{');
        if labelled {
            self.labels(&mut scratch)?;
        }
        self.expect_space(if labelled {
            "the labels"
        } else {
            "the metric name"
        })?;
        let value = self.number_token("value", parse_number)?;
        let mut ts = None;
        let mut has_exemplar = false;
        if self.c.eat(b' ') {
            if self.c.peek() == Some(b'#') {
                has_exemplar = true;
            } else {
                ts = Some(self.number_token("timestamp", parse_real)?);
                if self.c.eat(b' ') {
                    if self.c.peek() != Some(b'#') {
                        return Err(PErr::new(
                            self.c.pos,
                            format!(
                                "expected '#' to start an exemplar after the timestamp, found {}",
                                found(self.c.peek())
                            ),
                        ));
                    }
                    has_exemplar = true;
                }
            }
        }
        if has_exemplar {
            self.exemplar()?;
        }
        match self.c.peek() {
            Some(b'\n') => self.c.bump(),
            // The main loop reports the missing `# EOF`.
            None => {}
            other => {
                return Err(PErr::new(
                    self.c.pos,
                    format!("expected end of line, found {}", found(other)),
                ))
            }
        }
        let timestamp_ms = ts.map(seconds_to_ms);
        let labels = build_labels(name, line, &scratch)?;
        self.scratch = scratch;
        match self.rules.as_mut() {
            Some(r) => r.on_sample(
                &SampleInfo {
                    name,
                    labels: &labels,
                    value,
                    ts,
                    has_exemplar,
                },
                line,
            )?,
            None => {
                // Prometheus 2.42 takes exemplars on any `_total` or `_bucket` series.
                if has_exemplar && !(name.ends_with("_total") || name.ends_with("_bucket")) {
                    return Err(PErr::new(
                        line,
                        format!("metric {name:?} does not support exemplars"),
                    ));
                }
            }
        }
        self.out.samples.push(ParsedSample {
            labels,
            value,
            timestamp_ms,
        });
        Ok(())
    }

    /// A token up to the next space or newline, parsed as a number.
    fn number_token(
        &mut self,
        what: &str,
        parse: fn(&[u8]) -> Result<f64, super::number::NumberError>,
    ) -> Result<f64, PErr> {
        let pos = self.c.pos;
        let tok = self.c.take_while(|b| b != b' ' && b != b'\n');
        if tok.is_empty() {
            return Err(PErr::new(
                pos,
                format!("expected a {what}, found {}", found(self.c.peek())),
            ));
        }
        parse(tok).map_err(|e| {
            PErr::new(
                pos,
                format!(
                    "invalid {what} {:?}: {}",
                    String::from_utf8_lossy(tok),
                    e.describe()
                ),
            )
        })
    }

    /// The exemplar after the sample's value (and timestamp); the cursor is at its `#`.
    fn exemplar(&mut self) -> Result<(), PErr> {
        let start = self.c.pos;
        self.c.bump(); // '#'
        self.expect_space("'#' of an exemplar")?;
        if !self.c.eat(b'{') {
            return Err(PErr::new(
                self.c.pos,
                format!(
                    "expected '{{' to open the exemplar's labels, found {}",
                    found(self.c.peek())
                ),
            ));
        }
        let mut ex = std::mem::take(&mut self.exemplar);
        ex.clear();
        self.labels(&mut ex)?;
        // Strict mode only: Prometheus parses any exemplar label set and its exemplar store
        // drops over-long ones without failing the scrape. Every label adds at least one
        // character, so the limit also bounds the duplicate scan.
        let strict = self.rules.is_some();
        let mut chars = 0;
        for (i, (n, v, pos)) in ex.iter().enumerate().filter(|_| strict) {
            chars += n.len() + v.chars().count();
            if chars > EXEMPLAR_MAX_CHARS {
                return Err(PErr::new(
                    start,
                    format!("exemplar label names and values are over the limit of {EXEMPLAR_MAX_CHARS} characters"),
                ));
            }
            if ex.iter().take(i).any(|(m, _, _)| m == n) {
                return Err(PErr::new(
                    *pos,
                    format!("duplicate exemplar label name {n:?}"),
                ));
            }
        }
        self.exemplar = ex;
        self.expect_space("the exemplar's labels")?;
        self.number_token("exemplar value", parse_number)?;
        if self.c.eat(b' ') {
            self.number_token("exemplar timestamp", parse_real)?;
        }
        Ok(())
    }

    /// Labels after `{` up to and including `}`.
    fn labels(&mut self, out: &mut Vec<RawLabel<'a>>) -> Result<(), PErr> {
        if self.c.eat(b'}') {
            return Ok(());
        }
        loop {
            let name_pos = self.c.pos;
            let Some(lname) = self.c.label_name() else {
                return Err(PErr::new(
                    name_pos,
                    format!("expected a label name, found {}", found(self.c.peek())),
                ));
            };
            let value = self.c.label_value(lname, false)?;
            out.push((lname, value, name_pos));
            match self.c.peek() {
                Some(b',') => self.c.bump(),
                Some(b'}') => {
                    self.c.bump();
                    return Ok(());
                }
                other => {
                    return Err(PErr::new(
                        self.c.pos,
                        format!(
                            "expected ',' or '}}' after the value of label {lname:?}, found {}",
                            found(other)
                        ),
                    ))
                }
            }
        }
    }
}

fn metric_type(text: &[u8], pos: usize) -> Result<MetricType, PErr> {
    Ok(match text {
        b"counter" => MetricType::Counter,
        b"gauge" => MetricType::Gauge,
        b"histogram" => MetricType::Histogram,
        b"gaugehistogram" => MetricType::GaugeHistogram,
        b"summary" => MetricType::Summary,
        b"info" => MetricType::Info,
        b"stateset" => MetricType::StateSet,
        b"unknown" => MetricType::Unknown,
        other => {
            return Err(PErr::new(
                pos,
                format!(
                    "invalid metric type {:?} (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    })
}

/// A UNIT value: metric-name characters, and (when not empty) `_<unit>` must end the name.
fn unit<'t>(name: &str, text: &'t [u8], pos: usize) -> Result<&'t str, PErr> {
    let bad = text
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b':'));
    if let Some(i) = bad {
        return Err(PErr::new(
            pos + i,
            format!("invalid character {} in unit", found(text.get(i).copied())),
        ));
    }
    let u = std::str::from_utf8(text).unwrap_or_default();
    if !u.is_empty() {
        let suffix_ok = name.strip_suffix(u).is_some_and(|head| head.ends_with('_'));
        if !suffix_ok {
            return Err(PErr::new(
                pos,
                format!("unit {u:?} is not a suffix of metric name {name:?} (expected {name:?} to end with \"_{u}\")"),
            ));
        }
    }
    Ok(u)
}

/// Prometheus converts float seconds to milliseconds as `int64(seconds * 1000)`: truncation
/// toward zero. Timestamps beyond the int64 range are valid OpenMetrics; Go's conversion then
/// yields an arbitrary value that the store rejects as out of bounds. Here they saturate, which
/// the store rejects the same way.
fn seconds_to_ms(secs: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let ms = (secs * 1000.0).trunc();
    if ms >= LIMIT {
        i64::MAX
    } else if ms < -LIMIT {
        i64::MIN
    } else {
        // Integral and within [-2^63, 2^63): exact.
        ms as i64
    }
}

#[cfg(test)]
#[path = "openmetrics_tests.rs"]
mod tests;

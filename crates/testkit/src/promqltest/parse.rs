//! Script text → [`Script`]. Line handling follows upstream `promqltest/test.go`: lines are
//! trimmed, `#` lines count as blank, and a blank line ends a `load` or `eval` block.

use std::sync::OnceLock;

use regex::Regex;
use vigil_model::Sample;

use super::error::PromqlTestError;
use super::script::{
    AnnotationExpect, Command, EvalCase, EvalKind, Expectation, Expected, ExpectedSeries, Load,
    MessageMatch, Outcome, Script, UnsupportedSeries,
};
use super::series::{parse_duration, parse_number, parse_series_line, unquote, SeriesLine};

/// Parses a whole script.
///
/// # Errors
/// The first line that is not valid promqltest syntax, with its 1-based number.
pub fn parse_script(input: &str) -> Result<Script, PromqlTestError> {
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines.get(i).copied().unwrap_or("");
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let (next, cmd) = match word.as_str() {
            "clear" => (i + 1, Command::Clear),
            "ignore" => (i + 1, Command::Ignore),
            "resume" => (i + 1, Command::Resume),
            w if w.starts_with("load") => parse_load(&lines, i)?,
            w if w.starts_with("eval") => parse_eval(&lines, i)?,
            _ => {
                return Err(PromqlTestError::parse(
                    i + 1,
                    format!("invalid command {l:?}"),
                ))
            }
        };
        commands.push(cmd);
        i = next;
    }
    Ok(Script { commands })
}

/// The block of non-blank lines after line `i`.
fn block<'a>(lines: &[&'a str], i: usize) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    let body: Vec<(usize, &'a str)> = lines
        .iter()
        .enumerate()
        .skip(i + 1)
        .take_while(|(_, l)| !l.is_empty())
        .map(|(n, l)| (n, *l))
        .collect();
    body.into_iter()
}

fn parse_load(lines: &[&str], i: usize) -> Result<(usize, Command), PromqlTestError> {
    let head = lines.get(i).copied().unwrap_or("");
    let line_no = i + 1;
    let mut parts = head.split_whitespace();
    let word = parts.next().unwrap_or("");
    let with_nhcb = match word {
        "load" => false,
        "load_with_nhcb" => true,
        _ => {
            return Err(PromqlTestError::parse(
                line_no,
                "invalid load command. (load[_with_nhcb] <step:duration>)",
            ))
        }
    };
    let step = parts.collect::<Vec<_>>().join(" ");
    let step_ms = parse_duration(&step).map_err(|e| {
        PromqlTestError::parse(line_no, format!("invalid step definition {step:?}: {e}"))
    })?;
    let mut load = Load {
        line: line_no,
        step_ms,
        series: Vec::new(),
        unsupported: Vec::new(),
    };
    let mut last = i;
    for (n, l) in block(lines, i) {
        last = n;
        let parsed =
            parse_series_line(l).map_err(|e| PromqlTestError::parse(n + 1, e.to_string()))?;
        match parsed {
            SeriesLine::Floats(labels, values) => {
                if with_nhcb && is_classic_histogram_part(&labels) {
                    load.unsupported.push(UnsupportedSeries {
                        line: n + 1,
                        names: nhcb_names(&labels),
                        reason: "load_with_nhcb: conversion of classic histograms to native \
                                 histograms with custom buckets"
                            .into(),
                    });
                }
                let mut samples = Vec::with_capacity(values.len());
                let mut t: i64 = 0;
                for v in values {
                    if let Some(v) = v.as_option() {
                        samples.push(Sample::new(t, v));
                    }
                    t = t.saturating_add(step_ms);
                }
                // A series defined twice in one block: the later definition wins, as upstream.
                if let Some(slot) = load.series.iter_mut().find(|(l, _)| *l == labels) {
                    slot.1 = samples;
                } else {
                    load.series.push((labels, samples));
                }
            }
            SeriesLine::Unsupported(labels, reason) => {
                load.unsupported.push(UnsupportedSeries {
                    line: n + 1,
                    names: labels
                        .metric_name()
                        .map(str::to_string)
                        .into_iter()
                        .collect(),
                    reason,
                });
            }
        }
    }
    Ok((last + 1, Command::Load(load)))
}

fn is_classic_histogram_part(labels: &vigil_model::Labels) -> bool {
    labels
        .metric_name()
        .is_some_and(|n| n.ends_with("_bucket") || n.ends_with("_count") || n.ends_with("_sum"))
}

/// Names under which NHCB-converted data becomes visible: the base name (where the native
/// histogram lands).
fn nhcb_names(labels: &vigil_model::Labels) -> Vec<String> {
    let Some(n) = labels.metric_name() else {
        return Vec::new();
    };
    let base = n
        .strip_suffix("_bucket")
        .or_else(|| n.strip_suffix("_count"))
        .or_else(|| n.strip_suffix("_sum"))
        .unwrap_or(n);
    vec![base.to_string()]
}

/// `eval[_mod] instant [at <t>] <expr>` or `eval[_mod] range from <t> to <t> step <d> <expr>`.
fn parse_eval_head(
    head: &str,
    line_no: usize,
) -> Result<(Option<String>, EvalKind, String), PromqlTestError> {
    let bad = || {
        PromqlTestError::parse(
            line_no,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_info|_ordered] instant \
             [at <offset:duration>] <query>' or 'eval[_fail|_warn|_info] range from <from> to <to> \
             step <step> <query>'",
        )
    };
    let (word, rest) = split_word(head);
    let modifier = match word {
        "eval" => None,
        "eval_fail" | "eval_warn" | "eval_info" | "eval_ordered" => {
            Some(word.trim_start_matches("eval_").to_string())
        }
        _ => return Err(bad()),
    };
    let (mode, rest) = split_word(rest);
    match mode {
        "instant" => {
            let (maybe_at, after) = split_word(rest);
            let (at_ms, expr) = if maybe_at == "at" {
                let (t, expr) = split_word(after);
                let at = parse_duration(t).map_err(|e| {
                    PromqlTestError::parse(
                        line_no,
                        format!("invalid timestamp definition {t:?}: {e}"),
                    )
                })?;
                (at, expr)
            } else {
                (0, rest)
            };
            if expr.is_empty() {
                return Err(bad());
            }
            Ok((modifier, EvalKind::Instant { at_ms }, expr.to_string()))
        }
        "range" => {
            if modifier.as_deref() == Some("ordered") {
                return Err(bad());
            }
            let (from_kw, r) = split_word(rest);
            let (from, r) = split_word(r);
            let (to_kw, r) = split_word(r);
            let (to, r) = split_word(r);
            let (step_kw, r) = split_word(r);
            let (step, expr) = split_word(r);
            if from_kw != "from" || to_kw != "to" || step_kw != "step" || expr.is_empty() {
                return Err(bad());
            }
            let (start_ms, end_ms, step_ms) =
                parse_range(from, to, step).map_err(|e| PromqlTestError::parse(line_no, e))?;
            Ok((
                modifier,
                EvalKind::Range {
                    start_ms,
                    end_ms,
                    step_ms,
                },
                expr.to_string(),
            ))
        }
        _ => Err(bad()),
    }
}

fn parse_range(from: &str, to: &str, step: &str) -> Result<(i64, i64, i64), String> {
    let start = parse_duration(from)
        .map_err(|e| format!("invalid start timestamp definition {from:?}: {e}"))?;
    let end =
        parse_duration(to).map_err(|e| format!("invalid end timestamp definition {to:?}: {e}"))?;
    if end < start {
        return Err(format!(
            "invalid test definition, end timestamp ({to}) is before start timestamp ({from})"
        ));
    }
    let step =
        parse_duration(step).map_err(|e| format!("invalid step definition {step:?}: {e}"))?;
    Ok((start, end, step))
}

/// First whitespace-separated word and the trimmed rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find([' ', '\t']) {
        Some(p) => (&s[..p], s[p..].trim_start()),
        None => (s, ""),
    }
}

fn parse_message_match(kind: &str, text: &str) -> Result<MessageMatch, String> {
    let text = text.trim();
    match kind {
        "msg" => Ok(MessageMatch::Exact(text.to_string())),
        "regex" => {
            Regex::new(text).map_err(|e| format!("invalid regex {text} : {e}"))?;
            Ok(MessageMatch::Regex(text.to_string()))
        }
        other => Err(format!("invalid token {other}")),
    }
}

fn parse_eval(lines: &[&str], i: usize) -> Result<(usize, Command), PromqlTestError> {
    let head = lines.get(i).copied().unwrap_or("");
    let line_no = i + 1;
    let (modifier, kind, expr) = parse_eval_head(head, line_no)?;
    let err = |n: usize, msg: String| {
        PromqlTestError::parse(
            n + 1,
            format!("error in eval {expr} (line {line_no}): {msg}"),
        )
    };

    let mut ann = AnnotationExpect::default();
    let mut fail: Option<MessageMatch> = None;
    let mut legacy_fail = modifier.as_deref() == Some("fail");
    let mut ordered = modifier.as_deref() == Some("ordered");
    ann.legacy_warn = modifier.as_deref() == Some("warn");
    ann.legacy_info = modifier.as_deref() == Some("info");
    let mut expected = Expected::default();
    let mut unsupported: Option<String> = None;
    let mut last = i;

    for (n, l) in block(lines, i) {
        last = n;
        if legacy_fail && l.starts_with("expected_fail_message") {
            let m = l.trim_start_matches("expected_fail_message").trim();
            fail = Some(MessageMatch::Exact(m.to_string()));
            // Upstream stops reading the block here.
            break;
        }
        if legacy_fail && l.starts_with("expected_fail_regexp") {
            let m = l.trim_start_matches("expected_fail_regexp").trim();
            Regex::new(m).map_err(|e| err(n, format!("invalid regexp {m:?}: {e}")))?;
            fail = Some(MessageMatch::Regex(m.to_string()));
            break;
        }
        if let Some(r) = l.strip_prefix("expect range vector") {
            let (from_kw, r) = split_word(r);
            let (from, r) = split_word(r);
            let (to_kw, r) = split_word(r);
            let (to, r) = split_word(r);
            let (step_kw, step) = split_word(r);
            if from_kw != "from" || to_kw != "to" || step_kw != "step" {
                return Err(err(n, format!("invalid range vector definition {l:?}")));
            }
            let range = parse_range(from, to, step.trim()).map_err(|e| err(n, e))?;
            expected.range_vector = Some(range);
            continue;
        }
        if let Some(r) = l.strip_prefix("expect string") {
            let lit = r.trim_start();
            if lit.is_empty() {
                return Err(err(
                    n,
                    "expected string literal not valid - a quoted string literal is required"
                        .into(),
                ));
            }
            let s = unquote(lit).map_err(|e| err(n, e))?;
            expected.string = Some(s);
            continue;
        }
        if l.split(' ').next() == Some("expect") {
            let (_, rest) = split_word(l);
            let (typ, rest) = split_word(rest);
            let matcher = if rest.is_empty() {
                MessageMatch::Any
            } else {
                let (k, text) = rest
                    .split_once(':')
                    .ok_or_else(|| err(n, format!("invalid expect statement {l:?}")))?;
                parse_message_match(k.trim(), text).map_err(|e| err(n, e))?
            };
            match typ {
                "fail" => {
                    if fail.is_some() && !legacy_fail {
                        return Err(err(
                            n,
                            "invalid expect lines, multiple expect fail lines are not allowed"
                                .into(),
                        ));
                    }
                    legacy_fail = false;
                    fail = Some(matcher);
                }
                "ordered" => ordered = true,
                "warn" => ann.warn.push(matcher),
                "info" => ann.info.push(matcher),
                "no_warn" => ann.no_warn = true,
                "no_info" => ann.no_info = true,
                other => {
                    return Err(err(
                        n,
                        format!("invalid expected error/annotation type {other}"),
                    ))
                }
            }
            if (!ann.warn.is_empty() && ann.no_warn) || (!ann.info.is_empty() && ann.no_info) {
                return Err(err(
                    n,
                    "invalid expect lines, warn/no_warn or info/no_info used together".into(),
                ));
            }
            continue;
        }
        if let Some(v) = parse_number(l) {
            expected.scalar = Some(v);
            // Upstream stops reading the block after a scalar.
            break;
        }
        match parse_series_line(l).map_err(|e| err(n, e))? {
            SeriesLine::Floats(labels, values) => {
                if values.len() > 1
                    && matches!(kind, EvalKind::Instant { .. })
                    && expected.range_vector.is_none()
                {
                    return Err(err(
                        n,
                        "expecting multiple values in instant evaluation not allowed".into(),
                    ));
                }
                if let Some(prev) = expected.series.iter_mut().find(|s| s.labels == labels) {
                    // Upstream keys expectations by label hash: the later line wins.
                    prev.values = values.into_iter().map(|v| v.as_option()).collect();
                } else {
                    expected.series.push(ExpectedSeries {
                        labels,
                        values: values.into_iter().map(|v| v.as_option()).collect(),
                    });
                }
            }
            SeriesLine::Unsupported(_, reason) => {
                unsupported.get_or_insert(format!("expected result: {reason}"));
            }
        }
    }

    if unsupported.is_none() {
        unsupported = experimental_syntax(&expr);
    }
    let outcome = match fail {
        Some(m) => Outcome::Fail(m),
        None if legacy_fail => Outcome::Fail(MessageMatch::Any),
        None => Outcome::Success {
            ordered,
            results: expected,
        },
    };
    Ok((
        last + 1,
        Command::Eval(EvalCase {
            line: line_no,
            expr,
            kind,
            expect: Expectation {
                outcome,
                annotations: ann,
            },
            unsupported,
        }),
    ))
}

/// Experimental PromQL syntax that upstream only parses behind feature flags. Detected
/// textually (the runner does not parse PromQL) on the expression with string literals blanked,
/// so regex matchers such as `=~"x[0-9]"` do not count.
fn experimental_syntax(expr: &str) -> Option<String> {
    static CHECKS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let checks = CHECKS.get_or_init(|| {
        [
            (
                r"(\]|\}|[a-zA-Z0-9_:])\s+(anchored|smoothed)\b",
                "extended range selectors (anchored/smoothed)",
            ),
            (
                r"\bfill(_left|_right)?\s*\(",
                "binary operator fill modifiers",
            ),
            (r"__(type|unit)__", "type-and-unit labels"),
            (
                r"\[[^\]]*[-+*/%^()][^\]]*\]",
                "duration arithmetic inside range/subquery brackets",
            ),
            (
                r"\boffset\s*[-+]?\s*(\(|[a-zA-Z_]+\s*\(|[0-9.]+[a-z]*\s*[-+*/%^])",
                "duration arithmetic in offset",
            ),
        ]
        .into_iter()
        // The patterns are constants; the unit tests exercise every one of them.
        .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
        .collect()
    });
    let bare = blank_strings(expr);
    checks
        .iter()
        .find(|(re, _)| re.is_match(&bare))
        .map(|(_, reason)| format!("experimental syntax: {reason}"))
}

/// `expr` with the contents of every string literal removed.
pub(crate) fn blank_strings(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                }
            }
            None => {
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_eval(s: &str) -> EvalCase {
        let script = parse_script(s).expect("parses");
        let case = script.eval_cases().next().cloned().expect("one eval");
        case
    }

    #[test]
    fn load_places_samples() {
        let s = parse_script("load 5m\n  m{a=\"1\"} 0+10x2 _ stale\n\nclear\n").expect("parses");
        let Some(Command::Load(l)) = s.commands.first() else {
            panic!("load expected")
        };
        assert_eq!(l.step_ms, 300_000);
        let (labels, samples) = l.series.first().expect("one series");
        assert_eq!(labels.to_string(), r#"m{a="1"}"#);
        let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
        assert_eq!(ts, [0, 300_000, 600_000, 1_200_000]);
        assert!(vigil_model::is_stale_nan(samples.last().expect("last").v));
        assert_eq!(s.commands.get(1), Some(&Command::Clear));
    }

    #[test]
    fn eval_forms() {
        let e = one_eval("eval instant at 50m 1 - -1\n\t2\n");
        assert_eq!(e.kind, EvalKind::Instant { at_ms: 3_000_000 });
        assert_eq!(e.expr, "1 - -1");
        let Outcome::Success { results, ordered } = &e.expect.outcome else {
            panic!("success")
        };
        assert!(!ordered);
        assert_eq!(results.scalar, Some(2.0));

        let e = one_eval(
            "eval range from 0 to 10m step 5m sum(x)\n  {} 1 _ 3\n  expect warn msg: boom\n",
        );
        assert_eq!(
            e.kind,
            EvalKind::Range {
                start_ms: 0,
                end_ms: 600_000,
                step_ms: 300_000
            }
        );
        assert_eq!(
            e.expect.annotations.warn,
            [MessageMatch::Exact("boom".into())]
        );

        let e = one_eval("eval_fail instant at 0 foo\n  expected_fail_regexp bad.*\n");
        assert_eq!(
            e.expect.outcome,
            Outcome::Fail(MessageMatch::Regex("bad.*".into()))
        );
        let e = one_eval("eval instant at 1m foo\n  expect fail msg: no way\n");
        assert_eq!(
            e.expect.outcome,
            Outcome::Fail(MessageMatch::Exact("no way".into()))
        );
        let e = one_eval("eval_ordered instant at 1m sort(foo)\n  {a=\"2\"} 1\n  {a=\"1\"} 2\n");
        assert!(matches!(
            e.expect.outcome,
            Outcome::Success { ordered: true, .. }
        ));
        let e = one_eval("eval instant at 1m \"a\"\n  expect string \"a\"\n");
        assert!(
            matches!(&e.expect.outcome, Outcome::Success { results, .. } if results.string.as_deref() == Some("a"))
        );
    }

    #[test]
    fn unsupported_cases() {
        let e = one_eval("eval instant at 1m h\n  {} {{schema:0 sum:1 count:1}}\n");
        assert!(e
            .unsupported
            .is_some_and(|r| r.contains("native histogram")));
        let e = one_eval("eval instant at 1m a + fill(0) b\n");
        assert!(e.unsupported.is_some_and(|r| r.contains("fill")));
        let e = one_eval("eval instant at 1m changes(x[26m+4m])\n");
        assert!(e.unsupported.is_some());
        let e = one_eval("eval instant at 1m rate(x[5m])\n");
        assert_eq!(e.unsupported, None);
        let e = one_eval("eval instant at 1m sum_over_time(x[5m:1m])\n");
        assert_eq!(e.unsupported, None);
        let e = one_eval("eval instant at 1m sum_over_time(x{a=~\"h[0-9]\"}[100:1] offset 50)\n");
        assert_eq!(e.unsupported, None);
        for expr in [
            "x[5m] anchored",
            "x offset (1m+1m)",
            "x offset 1m * 2",
            "metric smoothed",
            "x{__type__=\"counter\"}",
        ] {
            let e = one_eval(&format!("eval instant at 1m {expr}\n"));
            assert!(e.unsupported.is_some(), "{expr}");
        }
    }

    #[test]
    fn malformed_is_parse_error() {
        assert!(parse_script("bogus 1\n").is_err());
        assert!(parse_script("load 5x\n m 1\n").is_err());
        assert!(parse_script("eval instant at 1m x\n {} 1 2\n").is_err());
        assert!(parse_script("eval range from 5m to 1m step 1m x\n").is_err());
        assert!(parse_script("eval instant at 1m x\n expect bogus\n").is_err());
    }
}

//! Running a parsed script against an [`Engine`] and reporting per case.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use vigil_model::{Labels, Sample};

use super::compare::{compare_result, Grid, QueryValue};
use super::error::PromqlTestError;
use super::parse::parse_script;
use super::script::{AnnotationExpect, Command, EvalCase, EvalKind, MessageMatch, Outcome, Script};

/// Annotations a query produced (upstream's `PromQL warning: …` / `PromQL info: …` texts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// The engine under test. Storage is the engine's business: `load` hands it float series with
/// their samples already placed in time (script start is t=0).
pub trait Engine {
    fn load(&mut self, series: &[(Labels, Vec<Sample>)]);
    fn clear(&mut self);
    /// # Errors
    /// The query's error message (compared with `expect fail msg:`/`regex:`).
    fn instant(&mut self, expr: &str, at_ms: i64) -> Result<QueryValue, String>;
    /// # Errors
    /// As [`Engine::instant`].
    fn range(&mut self, expr: &str, start: i64, end: i64, step: i64) -> Result<QueryValue, String>;
    /// Annotations of the last query, or `None` when the engine does not report them, in which
    /// case annotation expectations are not checked.
    fn last_annotations(&self) -> Option<Annotations> {
        None
    }
}

/// What running one file produced. Lines are 1-based lines of the `eval` command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    pub passed: usize,
    pub failed: Vec<(usize, String)>,
    pub skipped: Vec<(usize, String)>,
}

impl FileReport {
    pub fn total(&self) -> usize {
        self.passed + self.failed.len() + self.skipped.len()
    }
}

/// Reads, parses and runs one script file.
///
/// # Errors
/// The file cannot be read or does not parse; evaluation failures are in the report.
pub fn run_file(path: &Path, engine: &mut dyn Engine) -> Result<FileReport, PromqlTestError> {
    let text = std::fs::read_to_string(path).map_err(|source| PromqlTestError::Io {
        file: path.display().to_string(),
        source,
    })?;
    let script = parse_script(&text)?;
    let mut report = run_script(&script, engine);
    report.file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(report)
}

/// Runs a parsed script. The engine is cleared first.
pub fn run_script(script: &Script, engine: &mut dyn Engine) -> FileReport {
    let mut report = FileReport::default();
    // Metric names whose data a load could not represent, with the first reason; evals that
    // mention them are skipped until the next `clear`.
    let mut tainted: Vec<(String, String)> = Vec::new();
    let mut ignoring = false;
    engine.clear();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => {
                engine.clear();
                tainted.clear();
            }
            Command::Ignore => ignoring = true,
            Command::Resume => ignoring = false,
            Command::Load(load) => {
                engine.load(&load.series);
                for u in &load.unsupported {
                    for n in &u.names {
                        if !tainted.iter().any(|(t, _)| t == n) {
                            tainted.push((n.clone(), format!("line {}: {}", u.line, u.reason)));
                        }
                    }
                }
            }
            Command::Eval(case) => {
                if ignoring {
                    report
                        .skipped
                        .push((case.line, "inside ignore/resume".into()));
                    continue;
                }
                if let Some(r) = &case.unsupported {
                    report.skipped.push((case.line, r.clone()));
                    continue;
                }
                // A case over a metric some of whose samples could not be loaded still runs on
                // the rest: if it passes, it counts; if it fails, the missing data may be why,
                // so it is a skip that names the data.
                let touched = tainted
                    .iter()
                    .find(|(n, _)| mentions(&case.expr, n))
                    .map(|(n, why)| (format!("uses {n}"), why))
                    .or_else(|| {
                        tainted
                            .first()
                            .filter(|_| selects_without_name(&case.expr))
                            .map(|(_, why)| ("selects by labels only".to_owned(), why))
                    });
                if let Some((name, why)) = touched {
                    match run_case(case, engine) {
                        Ok(()) => report.passed += 1,
                        Err(_) => report.skipped.push((
                            case.line,
                            format!(
                                "{name}, and the script loaded unsupported data ({why}); \
                                 fails without that data"
                            ),
                        )),
                    }
                    continue;
                }
                match run_case(case, engine) {
                    Ok(()) => report.passed += 1,
                    Err(e) => report.failed.push((case.line, e)),
                }
            }
        }
    }
    report
}

/// Whether `expr` has a selector without a metric name (`{job="a"}`), which may select series
/// of any name.
fn selects_without_name(expr: &str) -> bool {
    let bare = super::parse::blank_strings(expr);
    let mut prev: Option<char> = None;
    for c in bare.chars() {
        if c == '{' && !prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_' || p == ':') {
            return true;
        }
        if !c.is_whitespace() {
            prev = Some(c);
        }
    }
    false
}

/// Whether `expr` calls `start()`, `end()`, `range()` or `step()` (upstream's pattern).
fn uses_query_context(expr: &str) -> bool {
    ["start()", "end()", "range()", "step()"]
        .iter()
        .any(|f| expr.contains(f))
}

/// Whether `expr` selects metric `name`: by name as a whole identifier, or through a
/// `__name__=~"…"` matcher whose pattern matches it.
fn mentions(expr: &str, name: &str) -> bool {
    mentions_identifier(expr, name) || name_regex_matches(expr, name)
}

fn name_regex_matches(expr: &str, name: &str) -> bool {
    static NAME_RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(finder) = NAME_RE
        .get_or_init(|| Regex::new(r#"__name__\s*=~\s*"((?:[^"\\]|\\.)*)""#).ok())
        .as_ref()
    else {
        return false;
    };
    finder.captures_iter(expr).any(|c| {
        c.get(1)
            .and_then(|p| Regex::new(&format!("^(?:{})$", p.as_str())).ok())
            .is_some_and(|re| re.is_match(name))
    })
}

fn mentions_identifier(expr: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Runs one case the way upstream does (minus the `@`-modifier variants): the query, then the
/// error/annotation/result checks, then for instant queries the same query in range mode
/// around the evaluation time, compared at that time.
///
/// # Errors
/// What differed.
pub fn run_case(case: &EvalCase, engine: &mut dyn Engine) -> Result<(), String> {
    let result = match case.kind {
        EvalKind::Instant { at_ms } => engine.instant(&case.expr, at_ms),
        EvalKind::Range {
            start_ms,
            end_ms,
            step_ms,
        } => engine.range(&case.expr, start_ms, end_ms, step_ms),
    };
    let (ordered, expected) = match (&case.expect.outcome, result) {
        (Outcome::Fail(m), Err(e)) => {
            return if message_matches(m, &e) {
                Ok(())
            } else {
                Err(format!(
                    "expected error matching {m:?} evaluating query, but got: {e}"
                ))
            }
        }
        (Outcome::Fail(_), Ok(_)) => {
            return Err("expected error evaluating query but got none".into());
        }
        (Outcome::Success { .. }, Err(e)) => return Err(format!("error evaluating query: {e}")),
        (Outcome::Success { ordered, results }, Ok(v)) => {
            if let Some(a) = engine.last_annotations() {
                check_annotations(&case.expect.annotations, &a)?;
            }
            let grid = match case.kind {
                EvalKind::Range {
                    start_ms,
                    end_ms,
                    step_ms,
                } => Some(Grid {
                    start_ms,
                    end_ms,
                    step_ms,
                }),
                EvalKind::Instant { .. } => results.range_vector.map(|(s, e, st)| Grid {
                    start_ms: s,
                    end_ms: e,
                    step_ms: st,
                }),
            };
            compare_result(results, *ordered, grid, &v)?;
            (*ordered, (results, v))
        }
    };
    let (results, instant_value) = expected;
    let EvalKind::Instant { at_ms } = case.kind else {
        return Ok(());
    };
    // As upstream: start(), end(), range() and step() resolve differently in range mode.
    if results.exclude_from_range_mode() || uses_query_context(&case.expr) {
        return Ok(());
    }
    let ranged = engine
        .range(&case.expr, at_ms - 60_000, at_ms + 60_000, 60_000)
        .map_err(|e| format!("error evaluating query in range mode: {e}"))?;
    if ordered {
        return Ok(());
    }
    let QueryValue::Matrix(m) = ranged else {
        return Err("range mode: the range query did not return a matrix".into());
    };
    let mut vec = Vec::with_capacity(m.len());
    for (labels, points) in m {
        if let Some((_, v)) = points.iter().find(|(t, _)| *t == at_ms) {
            vec.push((labels, *v));
        }
    }
    let value = match instant_value {
        QueryValue::Scalar(_) => QueryValue::Scalar(
            vec.first()
                .map(|(_, v)| *v)
                .ok_or("range mode: no point at the evaluation time")?,
        ),
        _ => QueryValue::Vector(vec),
    };
    compare_result(results, false, None, &value).map_err(|e| format!("range mode: {e}"))
}

fn message_matches(m: &MessageMatch, text: &str) -> bool {
    match m {
        MessageMatch::Any => true,
        MessageMatch::Exact(s) => s == text,
        // Validated when parsed; an invalid pattern never matches.
        MessageMatch::Regex(p) => Regex::new(p).is_ok_and(|re| re.is_match(text)),
    }
}

/// Upstream `checkAnnotations`.
fn check_annotations(exp: &AnnotationExpect, got: &Annotations) -> Result<(), String> {
    if exp.legacy_warn && got.warnings.is_empty() {
        return Err("expected warnings evaluating query but got none".into());
    }
    if exp.legacy_info && got.infos.is_empty() {
        return Err("expected info annotations evaluating query but got none".into());
    }
    check_of_type("warn", &exp.warn, &got.warnings)?;
    check_of_type("info", &exp.info, &got.infos)?;
    if exp.no_warn && !got.warnings.is_empty() {
        return Err(format!(
            "unexpected warning annotations: {:?}",
            got.warnings
        ));
    }
    if exp.no_info && !got.infos.is_empty() {
        return Err(format!("unexpected info annotations: {:?}", got.infos));
    }
    Ok(())
}

fn check_of_type(kind: &str, expected: &[MessageMatch], actual: &[String]) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    for e in expected {
        if !actual.iter().any(|a| message_matches(e, a)) {
            return Err(format!(
                "expected {kind} annotation matching {e:?} but none matched, found: {actual:?}"
            ));
        }
    }
    for a in actual {
        if !expected.iter().any(|e| message_matches(e, a)) {
            return Err(format!("unexpected {kind} annotation {a:?}"));
        }
    }
    Ok(())
}

/// Per-file and total pass/fail/skip, with failures listed and skip reasons counted.
pub struct Summary<'a>(pub &'a [FileReport]);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut p, mut fl, mut s) = (0, 0, 0);
        for r in self.0 {
            writeln!(
                f,
                "{:<28} pass {:>5}  fail {:>5}  skip {:>5}",
                r.file,
                r.passed,
                r.failed.len(),
                r.skipped.len()
            )?;
            for (line, msg) in &r.failed {
                writeln!(f, "    FAIL {}:{line}: {msg}", r.file)?;
            }
            let reasons: BTreeSet<&str> = r.skipped.iter().map(|(_, w)| w.as_str()).collect();
            for reason in reasons {
                let n = r.skipped.iter().filter(|(_, w)| w == reason).count();
                writeln!(f, "    skip x{n}: {reason}")?;
            }
            p += r.passed;
            fl += r.failed.len();
            s += r.skipped.len();
        }
        writeln!(f, "{:<28} pass {p:>5}  fail {fl:>5}  skip {s:>5}", "TOTAL")
    }
}

//! The parsed form of a promqltest script.

use vigil_model::{Labels, Sample};

/// A whole script: its commands in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub commands: Vec<Command>,
}

impl Script {
    /// The eval cases, in file order.
    pub fn eval_cases(&self) -> impl Iterator<Item = &EvalCase> {
        self.commands.iter().filter_map(|c| match c {
            Command::Eval(e) => Some(e),
            _ => None,
        })
    }
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load <step>` (or `load_with_nhcb <step>`): series to add, samples already placed in time.
    Load(Load),
    /// `clear`: drop everything loaded so far.
    Clear,
    /// `eval …` with its expectations.
    Eval(EvalCase),
    /// `ignore` (until `resume`): evals in between are reported as skipped. Older upstream
    /// scripts used these; the runner honours them.
    Ignore,
    /// `resume`: ends an `ignore`.
    Resume,
}

/// A `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line of the `load` command.
    pub line: usize,
    pub step_ms: i64,
    /// Float series we can represent: labels and samples (omitted `_` points dropped, `stale`
    /// as [`vigil_model::STALE_NAN`]).
    pub series: Vec<(Labels, Vec<Sample>)>,
    /// Series we cannot represent (native histograms, start timestamps, NHCB conversion), by
    /// line, with the metric name evals may refer to and why. They are not loaded; the runner
    /// skips evals that mention these names.
    pub unsupported: Vec<UnsupportedSeries>,
}

/// A load line (or whole load) that could not be represented.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedSeries {
    pub line: usize,
    /// Metric names an eval would use to reach this data.
    pub names: Vec<String>,
    pub reason: String,
}

/// One `eval` command.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCase {
    /// 1-based line of the `eval` command.
    pub line: usize,
    pub expr: String,
    pub kind: EvalKind,
    pub expect: Expectation,
    /// Why this case cannot be run (native histogram values, experimental syntax, …).
    pub unsupported: Option<String>,
}

/// Instant or range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    Instant {
        at_ms: i64,
    },
    Range {
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    },
}

/// How an expected message (error or annotation) is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageMatch {
    /// Any message (bare `expect fail`, `eval_fail`).
    Any,
    /// `msg:` / `expected_fail_message`: exact string.
    Exact(String),
    /// `regex:` / `expected_fail_regexp`: unanchored regular expression.
    Regex(String),
}

/// What the query must produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub outcome: Outcome,
    pub annotations: AnnotationExpect,
}

/// Success with results, or failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success { ordered: bool, results: Expected },
    Fail(MessageMatch),
}

/// Expected annotations. Upstream: every `warn`/`info` line must match some annotation, and if
/// any is present every annotation of that type must match one; `no_*` forbids the type; the
/// legacy `eval_warn`/`eval_info` only require at least one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnnotationExpect {
    pub warn: Vec<MessageMatch>,
    pub info: Vec<MessageMatch>,
    pub no_warn: bool,
    pub no_info: bool,
    pub legacy_warn: bool,
    pub legacy_info: bool,
}

impl AnnotationExpect {
    /// Whether any annotation check is asked for.
    pub fn any(&self) -> bool {
        !self.warn.is_empty()
            || !self.info.is_empty()
            || self.no_warn
            || self.no_info
            || self.legacy_warn
            || self.legacy_info
    }
}

/// Expected result lines, kept in the same shape upstream keeps them: which of these is
/// consulted depends on the type of value the engine returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// A bare number line.
    pub scalar: Option<f64>,
    /// `expect string "…"`.
    pub string: Option<String>,
    /// `{labels} values` lines, in file order (the order `expect ordered` checks).
    pub series: Vec<ExpectedSeries>,
    /// `expect range vector from … to … step …`: the instant query returns a matrix whose
    /// points are laid out on this grid.
    pub range_vector: Option<(i64, i64, i64)>,
}

impl Expected {
    /// Upstream does not re-run string and range-vector expectations as range queries.
    pub fn exclude_from_range_mode(&self) -> bool {
        self.string.is_some() || self.range_vector.is_some()
    }
}

/// One expected series: `None` is an omitted (`_`) point.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
}

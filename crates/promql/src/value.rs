//! Values a query produces, and the step-grid representation the evaluator works in.
//!
//! The evaluator evaluates every node for all steps of a query at once (an instant query is a
//! range query with one step). A vector-typed node yields [`StepSeries`]: one entry per series
//! with a point at each step where that series has a value. Labels are computed once per series,
//! not once per step, which is what makes binary matching and grouping cheap.

use vigil_model::{Labels, Sample, Timestamp};

/// The step grid of a query: `start, start + step, …, end`. An instant query has
/// `start == end` and one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Milliseconds between steps; positive (an instant query uses 1).
    pub step: i64,
}

impl Steps {
    pub fn instant(t: Timestamp) -> Self {
        Steps {
            start: t,
            end: t,
            step: 1,
        }
    }

    /// Number of steps (`usize::MAX` for a grid too large to count).
    pub fn len(&self) -> usize {
        if self.end < self.start || self.step <= 0 {
            return 0;
        }
        // In i128: the span of two i64 timestamps may not fit in an i64.
        let n = (i128::from(self.end) - i128::from(self.start)) / i128::from(self.step) + 1;
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamp of step `i` (`i < len()`).
    pub fn ts(&self, i: usize) -> Timestamp {
        // The step time lies within `[start, end]`, so wrapping arithmetic is exact even where
        // `step * i` alone would overflow.
        self.start.wrapping_add(self.step.wrapping_mul(i as i64))
    }

    /// Index of the step at timestamp `t`, if `t` is on the grid.
    pub fn index(&self, t: Timestamp) -> Option<usize> {
        if t < self.start || t > self.end || self.step <= 0 {
            return None;
        }
        // `t - start` fits in a u64 (not always in an i64) since `start <= t`.
        let offset = t.abs_diff(self.start);
        let step = self.step.unsigned_abs();
        if !offset.is_multiple_of(step) {
            return None;
        }
        usize::try_from(offset / step).ok()
    }

    /// Iterates the step timestamps.
    pub fn iter(&self) -> impl Iterator<Item = Timestamp> + '_ {
        (0..self.len()).map(|i| self.ts(i))
    }
}

/// A vector-typed node's value over the step grid: one series, with a point at each step where
/// it has a value (`points[k].t` is a step timestamp, ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct StepSeries {
    pub labels: Labels,
    /// Prometheus drops the metric name from the results of most functions and operators, but
    /// only when the value leaves the engine (so `label_replace` can still read it); this flag
    /// records that the name is to be dropped.
    pub drop_name: bool,
    pub points: Vec<Sample>,
}

impl StepSeries {
    pub fn new(labels: Labels, points: Vec<Sample>) -> Self {
        StepSeries {
            labels,
            drop_name: false,
            points,
        }
    }
}

/// A series with its points, as a range query or a range-vector instant query returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Sample>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: Timestamp,
    pub v: f64,
}

/// The result of a query, in the four shapes of Prometheus's API (`resultType`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar {
        t: Timestamp,
        v: f64,
    },
    String {
        t: Timestamp,
        s: String,
    },
    /// An instant vector, in the order the query defines (e.g. after `sort`), otherwise in
    /// evaluation order.
    Vector(Vec<InstantSample>),
    /// A range vector (instant query of a range selector) or a range query's result, sorted by
    /// labels.
    Matrix(Vec<Series>),
}

impl Value {
    /// Prometheus's `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

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

    /// Number of steps.
    pub fn len(&self) -> usize {
        if self.end < self.start || self.step <= 0 {
            return 0;
        }
        usize::try_from((self.end - self.start) / self.step + 1).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamp of step `i`.
    pub fn ts(&self, i: usize) -> Timestamp {
        self.start + self.step * i as i64
    }

    /// Index of the step at timestamp `t`, if `t` is on the grid.
    pub fn index(&self, t: Timestamp) -> Option<usize> {
        if t < self.start || t > self.end || (t - self.start) % self.step != 0 {
            return None;
        }
        usize::try_from((t - self.start) / self.step).ok()
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

//! Result comparison with upstream promqltest's rules (`evalCmd.compareResult`):
//! floats equal under `almost.Equal` with relative epsilon 1e-6 (NaN equals NaN, the stale
//! marker equals only itself); series matched by label set, order ignored unless `ordered`;
//! every expected series must appear and no other; matrices must be sorted by labels and their
//! points sit on the query's step grid, omitted (`_`) points absent.

use std::collections::HashMap;

pub use vigil_model::almost_equal;
use vigil_model::Labels;

use super::script::Expected;

/// The relative error upstream allows between expected and actual values.
pub const DEFAULT_EPSILON: f64 = 0.000_001;

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    Scalar(f64),
    String(String),
    Vector(Vec<(Labels, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
}

/// The grid a matrix result is laid out on: first timestamp, last timestamp and step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

/// Compares a query result with the expected lines.
///
/// # Errors
/// A message in upstream's wording saying what differed.
pub fn compare_result(
    expected: &Expected,
    ordered: bool,
    grid: Option<Grid>,
    actual: &QueryValue,
) -> Result<(), String> {
    let expect_scalar = expected.scalar.is_some();
    match actual {
        QueryValue::Matrix(m) => {
            if ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if expect_scalar {
                return Err(format!(
                    "expected scalar result, but got matrix with {} series",
                    m.len()
                ));
            }
            assert_matrix_sorted(m)?;
            let grid = grid
                .ok_or("got a matrix, but the case defines no range (use `expect range vector`)")?;
            let by_labels: HashMap<&Labels, &[Option<f64>]> = expected
                .series
                .iter()
                .map(|s| (&s.labels, s.values.as_slice()))
                .collect();
            let mut seen = 0usize;
            for (labels, points) in m {
                let Some(exp) = by_labels.get(labels) else {
                    return Err(format!(
                        "unexpected metric {labels} in result, has {}",
                        fmt_points(points)
                    ));
                };
                seen += 1;
                let mut exp_points = Vec::new();
                for (i, v) in exp.iter().enumerate() {
                    let t = i64::try_from(i)
                        .ok()
                        .and_then(|i| i.checked_mul(grid.step_ms))
                        .and_then(|o| o.checked_add(grid.start_ms))
                        .ok_or("expected point timestamp overflows")?;
                    if t > grid.end_ms {
                        return Err(format!(
                            "expected {} points for {labels}, but query time range cannot return this many points",
                            exp.len()
                        ));
                    }
                    if let Some(v) = v {
                        exp_points.push((t, *v));
                    }
                }
                if exp_points.len() != points.len() {
                    return Err(format!(
                        "expected {} float points for {labels}, but got {}",
                        exp_points.len(),
                        fmt_points(points)
                    ));
                }
                for (i, ((et, ev), (at, av))) in exp_points.iter().zip(points).enumerate() {
                    if et != at {
                        return Err(format!(
                            "expected float value at index {i} for {labels} to have timestamp {et}, but it had timestamp {at} (result has {})",
                            fmt_points(points)
                        ));
                    }
                    if !almost_equal(*av, *ev, DEFAULT_EPSILON) {
                        return Err(format!(
                            "expected float value at index {i} (t={at}) for {labels} to be {ev}, but got {av} (result has {})",
                            fmt_points(points)
                        ));
                    }
                }
            }
            missing(expected, seen, |l| m.iter().any(|(a, _)| a == l))
        }
        QueryValue::Vector(v) => {
            if expect_scalar {
                return Err(format!(
                    "expected scalar result, but got vector with {} samples",
                    v.len()
                ));
            }
            let positions: HashMap<&Labels, (usize, &[Option<f64>])> = expected
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| (&s.labels, (i, s.values.as_slice())))
                .collect();
            let mut seen = 0usize;
            for (pos, (labels, value)) in v.iter().enumerate() {
                let Some((exp_pos, exp)) = positions.get(labels) else {
                    return Err(format!(
                        "unexpected metric {labels} in result, has value {value}"
                    ));
                };
                if ordered && *exp_pos != pos {
                    return Err(format!(
                        "expected metric {labels} at position {} but was at {}",
                        exp_pos + 1,
                        pos + 1
                    ));
                }
                // An expected line with no value or `_` compares as no value; upstream would
                // compare against 0 here, which no script relies on.
                let exp0 = exp.first().copied().flatten();
                match exp0 {
                    Some(e) if almost_equal(e, *value, DEFAULT_EPSILON) => {}
                    _ => {
                        return Err(format!(
                            "expected {} for {labels} but got {value}",
                            exp0.map_or_else(|| "no value".to_string(), |e| e.to_string())
                        ))
                    }
                }
                seen += 1;
            }
            missing(expected, seen, |l| v.iter().any(|(a, _)| a == l))
        }
        QueryValue::Scalar(s) => {
            let Some(e) = expected.scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {s}"
                ));
            };
            if almost_equal(e, *s, DEFAULT_EPSILON) {
                Ok(())
            } else {
                Err(format!("expected scalar {e} but got {s}"))
            }
        }
        QueryValue::String(s) => {
            let e = expected.string.as_deref().unwrap_or("");
            if e == s {
                Ok(())
            } else {
                Err(format!("expected string \"{e}\" but got \"{s}\""))
            }
        }
    }
}

fn missing(
    expected: &Expected,
    seen: usize,
    present: impl Fn(&Labels) -> bool,
) -> Result<(), String> {
    if seen >= expected.series.len() {
        return Ok(());
    }
    match expected.series.iter().find(|s| !present(&s.labels)) {
        Some(s) => Err(format!(
            "expected metric {} with {:?} not found",
            s.labels, s.values
        )),
        None => Ok(()),
    }
}

fn assert_matrix_sorted(m: &[(Labels, Vec<(i64, f64)>)]) -> Result<(), String> {
    for (i, w) in m.windows(2).enumerate() {
        if let [a, b] = w {
            if a.0 > b.0 {
                return Err(format!(
                    "matrix results should always be sorted by labels, but matrix is not sorted: series at index {} with labels {} sorts before series at index {i} with labels {}",
                    i + 1,
                    b.0,
                    a.0
                ));
            }
        }
    }
    Ok(())
}

fn fmt_points(points: &[(i64, f64)]) -> String {
    let shown: Vec<String> = points
        .iter()
        .take(20)
        .map(|(t, v)| format!("{v} @[{t}]"))
        .collect();
    let more = if points.len() > 20 { " …" } else { "" };
    format!("{} float points [{}{more}]", points.len(), shown.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::script::ExpectedSeries;
    use vigil_model::STALE_NAN;

    fn l(v: &str) -> Labels {
        Labels::from_pairs([("a", v)]).expect("labels")
    }

    fn exp(series: &[(&str, &[Option<f64>])]) -> Expected {
        Expected {
            series: series
                .iter()
                .map(|(v, vals)| ExpectedSeries {
                    labels: l(v),
                    values: vals.to_vec(),
                })
                .collect(),
            ..Expected::default()
        }
    }

    #[test]
    fn almost_equal_rules() {
        assert!(almost_equal(1.0, 1.0 + 1e-9, DEFAULT_EPSILON));
        assert!(!almost_equal(1.0, 1.0001, DEFAULT_EPSILON));
        assert!(almost_equal(1e12, 1e12 + 1.0, DEFAULT_EPSILON));
        assert!(almost_equal(f64::NAN, -f64::NAN, DEFAULT_EPSILON));
        assert!(!almost_equal(f64::NAN, STALE_NAN, DEFAULT_EPSILON));
        assert!(almost_equal(STALE_NAN, STALE_NAN, DEFAULT_EPSILON));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY, DEFAULT_EPSILON));
        assert!(!almost_equal(
            f64::INFINITY,
            f64::NEG_INFINITY,
            DEFAULT_EPSILON
        ));
        assert!(!almost_equal(0.0, 1e-10, DEFAULT_EPSILON));
        assert!(almost_equal(0.0, -0.0, DEFAULT_EPSILON));
    }

    #[test]
    fn vector_unordered_unless_ordered() {
        let e = exp(&[("1", &[Some(1.0)]), ("2", &[Some(2.0)])]);
        let v = QueryValue::Vector(vec![(l("2"), 2.0), (l("1"), 1.000_000_1)]);
        assert_eq!(compare_result(&e, false, None, &v), Ok(()));
        assert!(compare_result(&e, true, None, &v).is_err());
        let extra = QueryValue::Vector(vec![(l("1"), 1.0), (l("2"), 2.0), (l("3"), 3.0)]);
        assert!(compare_result(&e, false, None, &extra).is_err());
        let short = QueryValue::Vector(vec![(l("1"), 1.0)]);
        let err = compare_result(&e, false, None, &short).expect_err("missing");
        assert!(err.contains("not found"), "{err}");
        let wrong = QueryValue::Vector(vec![(l("1"), 1.0), (l("2"), 2.1)]);
        assert!(compare_result(&e, false, None, &wrong).is_err());
        assert!(compare_result(&e, false, None, &QueryValue::Scalar(1.0)).is_err());
    }

    #[test]
    fn matrix_on_grid_with_omitted_points() {
        let e = exp(&[("1", &[Some(1.0), None, Some(f64::NAN)])]);
        let grid = Some(Grid {
            start_ms: 0,
            end_ms: 120_000,
            step_ms: 60_000,
        });
        let ok = QueryValue::Matrix(vec![(l("1"), vec![(0, 1.0), (120_000, f64::NAN)])]);
        assert_eq!(compare_result(&e, false, grid, &ok), Ok(()));
        let shifted = QueryValue::Matrix(vec![(l("1"), vec![(0, 1.0), (60_000, f64::NAN)])]);
        assert!(compare_result(&e, false, grid, &shifted).is_err());
        let unsorted = QueryValue::Matrix(vec![
            (l("2"), vec![]),
            (l("1"), vec![(0, 1.0), (120_000, f64::NAN)]),
        ]);
        assert!(compare_result(&e, false, grid, &unsorted).is_err());
        let too_long = exp(&[("1", &[Some(1.0); 4])]);
        assert!(compare_result(&too_long, false, grid, &ok).is_err());
    }

    #[test]
    fn scalars_and_strings() {
        let mut e = Expected {
            scalar: Some(f64::NAN),
            ..Expected::default()
        };
        assert_eq!(
            compare_result(&e, false, None, &QueryValue::Scalar(f64::NAN)),
            Ok(())
        );
        assert!(compare_result(&e, false, None, &QueryValue::Vector(vec![])).is_err());
        e = Expected {
            string: Some("Foo".into()),
            ..Expected::default()
        };
        assert_eq!(
            compare_result(&e, false, None, &QueryValue::String("Foo".into())),
            Ok(())
        );
        assert!(compare_result(&e, false, None, &QueryValue::String("foo".into())).is_err());
        // No expected lines: an empty vector passes.
        assert_eq!(
            compare_result(
                &Expected::default(),
                false,
                None,
                &QueryValue::Vector(vec![])
            ),
            Ok(())
        );
    }
}

//! `and`, `or`, `unless`: series pass through unchanged (labels, name-drop flag, values),
//! filtered by whether the other side has a series with the same signature at each step.

use rayon::prelude::*;
use vigil_model::Sample;

use super::ops::Op;
use super::signature::{hash_all, Groups, Interner, PARALLEL_MIN};
use super::Matching;
use crate::eval::Ctx;
use crate::value::StepSeries;
use crate::PromqlError;

pub(super) fn set_op(
    ctx: &Ctx<'_>,
    op: Op,
    m: &Matching,
    lhs: Vec<StepSeries>,
    rhs: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    match op {
        Op::And if lhs.is_empty() || rhs.is_empty() => return Ok(Vec::new()),
        Op::Or if lhs.is_empty() => return Ok(rhs),
        Op::Or | Op::Unless if rhs.is_empty() => return Ok(lhs),
        Op::Unless if lhs.is_empty() => return Ok(Vec::new()),
        _ => {}
    }
    let lh = hash_all(&m.filter, lhs.iter().map(|s| &s.labels));
    let rh = hash_all(&m.filter, rhs.iter().map(|s| &s.labels));
    let (lsig, rsig, n) = {
        let mut interner = Interner::new(&m.filter, lhs.len() + rhs.len());
        let lsig: Vec<u32> = lhs
            .iter()
            .zip(&lh)
            .map(|(s, h)| interner.intern(*h, &s.labels))
            .collect();
        let rsig: Vec<u32> = rhs
            .iter()
            .zip(&rh)
            .map(|(s, h)| interner.intern(*h, &s.labels))
            .collect();
        let n = interner.len();
        (lsig, rsig, n)
    };
    match op {
        Op::And | Op::Unless => {
            let groups = Groups::new(&rsig, n);
            let keep_matched = op == Op::And;
            filter_all(
                ctx,
                lhs,
                &lsig,
                |ord| {
                    presence(groups.members(ord).iter().filter_map(|&j| {
                        rhs.get(usize::try_from(j).ok()?)
                            .map(|s| s.points.as_slice())
                    }))
                },
                keep_matched,
            )
        }
        _ => {
            let groups = Groups::new(&lsig, n);
            let extra = filter_all(
                ctx,
                rhs,
                &rsig,
                |ord| {
                    presence(groups.members(ord).iter().filter_map(|&i| {
                        lhs.get(usize::try_from(i).ok()?)
                            .map(|s| s.points.as_slice())
                    }))
                },
                false,
            )?;
            let mut out = lhs;
            out.extend(extra);
            Ok(out)
        }
    }
}

/// Steps at which any of a group of series has a point.
enum Presence<'a> {
    None,
    One(&'a [Sample]),
    Many(Vec<i64>),
}

fn presence<'a>(mut lists: impl Iterator<Item = &'a [Sample]>) -> Presence<'a> {
    let Some(first) = lists.next() else {
        return Presence::None;
    };
    let Some(second) = lists.next() else {
        return Presence::One(first);
    };
    let mut ts: Vec<i64> = first
        .iter()
        .chain(second)
        .map(|p| p.t)
        .chain(lists.flat_map(|l| l.iter().map(|p| p.t)))
        .collect();
    ts.sort_unstable();
    ts.dedup();
    Presence::Many(ts)
}

/// Keeps, of each series' points, those at which the other side's group is present
/// (`keep_matched`) or absent; drops series left without points.
fn filter_all<'a, F>(
    ctx: &Ctx<'_>,
    series: Vec<StepSeries>,
    sigs: &[u32],
    group_of: F,
    keep_matched: bool,
) -> Result<Vec<StepSeries>, PromqlError>
where
    F: Fn(u32) -> Presence<'a> + Sync,
{
    let apply = |(s, &ord): (&mut StepSeries, &u32)| -> Result<(), PromqlError> {
        ctx.check_deadline()?;
        match group_of(ord) {
            Presence::None => {
                if keep_matched {
                    s.points.clear();
                }
            }
            Presence::One(other) => {
                retain_by(&mut s.points, other.iter().map(|p| p.t), keep_matched)
            }
            Presence::Many(ts) => retain_by(&mut s.points, ts.into_iter(), keep_matched),
        }
        Ok(())
    };
    let mut series = series;
    if series.len() >= PARALLEL_MIN {
        series.par_iter_mut().zip(sigs).try_for_each(apply)?;
    } else {
        series.iter_mut().zip(sigs).try_for_each(apply)?;
    }
    series.retain(|s| !s.points.is_empty());
    Ok(series)
}

/// Keeps the points whose timestamp is (`keep_matched`) or is not in the ascending `other`.
fn retain_by(points: &mut Vec<Sample>, other: impl Iterator<Item = i64>, keep_matched: bool) {
    let mut other = other.peekable();
    points.retain(|p| {
        while other.next_if(|&t| t < p.t).is_some() {}
        let present = other.peek() == Some(&p.t);
        present == keep_matched
    });
}

#[cfg(test)]
mod tests {
    use promql_parser::parser::{self, Expr};

    use super::super::binary;
    use super::super::test_util::{grid, series, values, with_ctx};
    use crate::eval::Evaluated;
    use crate::value::StepSeries;

    fn run(query: &str, n: usize, lhs: Vec<StepSeries>, rhs: Vec<StepSeries>) -> Vec<StepSeries> {
        let Expr::Binary(b) = parser::parse(query).expect("parse") else {
            panic!("not binary")
        };
        with_ctx(grid(n), |ctx| {
            match binary(ctx, &b, Evaluated::Vector(lhs), Evaluated::Vector(rhs)) {
                Ok(Evaluated::Vector(v)) => v,
                other => panic!("{other:?}"),
            }
        })
    }

    #[test]
    fn and_or_unless_per_step() {
        let l = || {
            vec![
                series(
                    &[("__name__", "a"), ("x", "1")],
                    &[Some(1.0), Some(2.0), Some(3.0)],
                ),
                series(
                    &[("__name__", "a"), ("x", "2")],
                    &[Some(4.0), None, Some(6.0)],
                ),
            ]
        };
        let r = || {
            vec![
                series(&[("__name__", "b"), ("x", "1")], &[None, Some(9.0), None]),
                series(
                    &[("__name__", "b"), ("x", "3")],
                    &[Some(7.0), Some(7.0), None],
                ),
            ]
        };
        let and = run("a and b", 3, l(), r());
        assert_eq!(and.len(), 1);
        assert_eq!(values(&and[0], 3), [None, Some(2.0), None]);

        let unless = run("a unless b", 3, l(), r());
        assert_eq!(values(&unless[0], 3), [Some(1.0), None, Some(3.0)]);
        assert_eq!(values(&unless[1], 3), [Some(4.0), None, Some(6.0)]);

        let or = run("a or b", 3, l(), r());
        let got: Vec<_> = or
            .iter()
            .map(|s| (s.labels.to_string(), values(s, 3)))
            .collect();
        assert_eq!(
            got,
            [
                (
                    r#"a{x="1"}"#.to_owned(),
                    vec![Some(1.0), Some(2.0), Some(3.0)]
                ),
                (r#"a{x="2"}"#.to_owned(), vec![Some(4.0), None, Some(6.0)]),
                (r#"b{x="3"}"#.to_owned(), vec![Some(7.0), Some(7.0), None]),
            ]
        );
    }

    #[test]
    fn or_on_empty_label_set_matches_everything() {
        let or = run(
            "a or on() b",
            2,
            vec![series(&[("__name__", "a"), ("x", "1")], &[Some(1.0), None])],
            vec![series(
                &[("__name__", "b"), ("y", "1")],
                &[Some(5.0), Some(6.0)],
            )],
        );
        assert_eq!(or.len(), 2);
        assert_eq!(values(&or[1], 2), [None, Some(6.0)]);
    }
}

//! Arithmetic and comparison between two vectors (one-to-one, many-to-one, one-to-many).
//!
//! Orientation: for `group_right` the sides are swapped so that the "many" side is always
//! iterated and the "one" side looked up; values are swapped back before the operator runs.
//!
//! Each output series comes from a pair (many-side series, one-side series with the same
//! signature); its points are where both have one. Conflicts Prometheus reports per step are
//! found from overlapping points:
//! - two one-side series with one signature at a step where the many side has data,
//! - (one-to-one) two many-side series with one signature at a step where it has a match,
//! - (many-to-one) two many-side series producing the same output labels with the same match.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use vigil_model::{Label, Labels, Sample};

use super::ops::{elem_op, Op};
use super::signature::{go_labels_string, hash_all, Groups, IdMap, Interner, PARALLEL_MIN};
use super::{match_group_labels, Card, Matching};
use crate::eval::select::is_metadata_label;
use crate::eval::Ctx;
use crate::value::StepSeries;
use crate::PromqlError;

/// `lhs op rhs` for arithmetic and comparison operators.
pub(super) fn vector_op(
    ctx: &Ctx<'_>,
    op: Op,
    m: &Matching,
    return_bool: bool,
    lhs: Vec<StepSeries>,
    rhs: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    if m.card == Card::ManyToMany {
        return Err(PromqlError::Execution(
            "many-to-many matching is only allowed for set operators".to_owned(),
        ));
    }
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let swapped = m.card == Card::OneToMany;
    let (many, one) = if swapped { (&rhs, &lhs) } else { (&lhs, &rhs) };

    let mh = hash_all(&m.filter, many.iter().map(|s| &s.labels));
    let oh = hash_all(&m.filter, one.iter().map(|s| &s.labels));
    let mut interner = Interner::new(&m.filter, many.len() + one.len());
    let msig: Vec<u32> = many
        .iter()
        .zip(&mh)
        .map(|(s, h)| interner.intern(*h, &s.labels))
        .collect();
    let osig: Vec<u32> = one
        .iter()
        .zip(&oh)
        .map(|(s, h)| interner.intern(*h, &s.labels))
        .collect();
    let n = interner.len();
    let job = Job {
        ctx,
        op,
        m,
        return_bool,
        swapped,
        many,
        one,
        mgroups: Groups::new(&msig, n),
        ogroups: Groups::new(&osig, n),
        msig,
        osig,
    };

    let mut conflict = job.first_conflict()?;
    let pairs = job.build()?;
    if m.card != Card::OneToOne {
        conflict = earliest(conflict, job.first_output_collision(&pairs)?);
    }
    if let Some(t) = conflict {
        return Err(job.replay(t).unwrap_or_else(|| {
            PromqlError::Execution(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                    .to_owned(),
            )
        }));
    }
    ctx.add_samples(pairs.iter().map(|p| p.points.len()).sum())?;
    Ok(pairs
        .into_iter()
        .filter(|p| !p.points.is_empty())
        .map(|p| StepSeries {
            labels: p.labels,
            drop_name: return_bool,
            points: p.points,
        })
        .collect())
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// One output candidate: many-side series `i` with one-side series `j` (for one-to-one, all
/// of `i`'s matches, which never coexist at a step).
struct Pair {
    i: u32,
    j: u32,
    labels: Labels,
    points: Vec<Sample>,
}

struct Job<'a> {
    ctx: &'a Ctx<'a>,
    op: Op,
    m: &'a Matching,
    return_bool: bool,
    swapped: bool,
    many: &'a [StepSeries],
    one: &'a [StepSeries],
    msig: Vec<u32>,
    osig: Vec<u32>,
    mgroups: Groups,
    ogroups: Groups,
}

fn idx(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

fn has_point(points: &[Sample], t: i64) -> bool {
    points.binary_search_by_key(&t, |p| p.t).is_ok()
}

/// The earliest timestamp present in at least two of `lists` for which `cond` holds.
fn first_shared<'a>(
    lists: impl Iterator<Item = &'a [Sample]>,
    cond: impl Fn(i64) -> bool,
) -> Option<i64> {
    let mut ts: Vec<i64> = lists.flat_map(|l| l.iter().map(|p| p.t)).collect();
    ts.sort_unstable();
    ts.windows(2)
        .filter_map(|w| match w {
            [a, b] if a == b => Some(*a),
            _ => None,
        })
        .find(|&t| cond(t))
}

impl Job<'_> {
    fn many_points(&self, i: u32) -> &[Sample] {
        self.many.get(idx(i)).map_or(&[], |s| s.points.as_slice())
    }

    fn one_points(&self, j: u32) -> &[Sample] {
        self.one.get(idx(j)).map_or(&[], |s| s.points.as_slice())
    }

    /// Earliest step with a duplicate on the one side (while the many side has data) or, for
    /// one-to-one, two many-side series matching the same one-side signature.
    fn first_conflict(&self) -> Result<Option<i64>, PromqlError> {
        let mut best = None;
        let mut many_steps: Option<Vec<bool>> = None;
        let steps = self.ctx.steps;
        for ord in 0..u32::try_from(self.ogroups.len()).unwrap_or(u32::MAX) {
            let os = self.ogroups.members(ord);
            let ms = self.mgroups.members(ord);
            if os.len() >= 2 {
                self.ctx.check_deadline()?;
                let any_many = many_steps.get_or_insert_with(|| {
                    let mut v = vec![false; steps.len()];
                    for s in self.many {
                        for p in &s.points {
                            if let Some(b) = steps.index(p.t).and_then(|k| v.get_mut(k)) {
                                *b = true;
                            }
                        }
                    }
                    v
                });
                let t = first_shared(os.iter().map(|&j| self.one_points(j)), |t| {
                    steps
                        .index(t)
                        .and_then(|k| any_many.get(k))
                        .copied()
                        .unwrap_or(false)
                });
                best = earliest(best, t);
            }
            if self.m.card == Card::OneToOne && ms.len() >= 2 && !os.is_empty() {
                self.ctx.check_deadline()?;
                let t = first_shared(ms.iter().map(|&i| self.many_points(i)), |t| {
                    os.iter().any(|&j| has_point(self.one_points(j), t))
                });
                best = earliest(best, t);
            }
        }
        Ok(best)
    }

    /// Earliest step where two many-side series with the same match produce the same labels
    /// (many-to-one only).
    fn first_output_collision(&self, pairs: &[Pair]) -> Result<Option<i64>, PromqlError> {
        let mut buckets: IdMap<Vec<usize>> = IdMap::default();
        let filter = super::signature::LabelFilter::Ignoring(Vec::new());
        let mut buf = Vec::new();
        for (pi, p) in pairs.iter().enumerate() {
            let ord = self.msig.get(idx(p.i)).copied().unwrap_or(0);
            if self.mgroups.members(ord).len() < 2 {
                continue;
            }
            let h = filter.hash(&p.labels, &mut buf) ^ u64::from(p.j).wrapping_mul(0x9E37_79B9);
            buckets.entry(h).or_default().push(pi);
        }
        let mut best = None;
        for members in buckets.values().filter(|m| m.len() >= 2) {
            self.ctx.check_deadline()?;
            let mut classes: Vec<Vec<&Pair>> = Vec::new();
            for p in members.iter().filter_map(|&pi| pairs.get(pi)) {
                match classes.iter_mut().find(|c| {
                    c.first()
                        .is_some_and(|q| q.j == p.j && q.labels == p.labels)
                }) {
                    Some(c) => c.push(p),
                    None => classes.push(vec![p]),
                }
            }
            for class in classes.iter().filter(|c| c.len() >= 2) {
                let Some(j) = class.first().map(|p| p.j) else {
                    continue;
                };
                let one = self.one_points(j);
                let t = first_shared(class.iter().map(|p| self.many_points(p.i)), |t| {
                    has_point(one, t)
                });
                best = earliest(best, t);
            }
        }
        Ok(best)
    }

    /// Output labels of many-side series `i` matched with one-side series `j`.
    fn result_labels(&self, i: u32, j: u32) -> Labels {
        let Some(src) = self.many.get(idx(i)) else {
            return Labels::empty();
        };
        let drop_meta = self.op.changes_schema();
        let one_to_one = self.m.card == Card::OneToOne;
        let mut v: Vec<Label> = src
            .labels
            .iter()
            .filter(|l| {
                if drop_meta && is_metadata_label(&l.name) {
                    return false;
                }
                if one_to_one {
                    return self.m.names.contains(&l.name) == self.m.on;
                }
                true
            })
            .cloned()
            .collect();
        if !self.m.include.is_empty() {
            let one = self.one.get(idx(j));
            for name in &self.m.include {
                v.retain(|l| &l.name != name);
                if let Some(val) = one.and_then(|o| o.labels.get(name)) {
                    v.push(Label::new(name.as_str(), val));
                }
            }
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Labels::from_sorted_unchecked(v)
    }

    /// Merges the points of many-side `a` and one-side `b` through the operator.
    fn merge_into(&self, a: &[Sample], b: &[Sample], out: &mut Vec<Sample>) {
        let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
        while let (Some(pa), Some(pb)) = (x.peek(), y.peek()) {
            match pa.t.cmp(&pb.t) {
                std::cmp::Ordering::Less => {
                    x.next();
                }
                std::cmp::Ordering::Greater => {
                    y.next();
                }
                std::cmp::Ordering::Equal => {
                    let (l, r) = if self.swapped {
                        (pb.v, pa.v)
                    } else {
                        (pa.v, pb.v)
                    };
                    let (mut v, mut keep) = elem_op(self.op, l, r);
                    if self.return_bool {
                        v = if keep { 1.0 } else { 0.0 };
                        keep = true;
                    }
                    if keep {
                        out.push(Sample::new(pa.t, v));
                    }
                    x.next();
                    y.next();
                }
            }
        }
    }

    fn pairs_of(&self, i: u32) -> Result<Vec<Pair>, PromqlError> {
        let ord = self.msig.get(idx(i)).copied().unwrap_or(u32::MAX);
        let os = self.ogroups.members(ord);
        if os.is_empty() {
            return Ok(Vec::new());
        }
        self.ctx.check_deadline()?;
        let a = self.many_points(i);
        if self.m.card == Card::OneToOne {
            let mut points = Vec::with_capacity(a.len());
            for &j in os {
                self.merge_into(a, self.one_points(j), &mut points);
            }
            if os.len() > 1 {
                points.sort_by_key(|p| p.t);
            }
            let j = os.first().copied().unwrap_or(0);
            return Ok(vec![Pair {
                i,
                j,
                labels: self.result_labels(i, j),
                points,
            }]);
        }
        Ok(os
            .iter()
            .map(|&j| {
                let mut points = Vec::with_capacity(a.len());
                self.merge_into(a, self.one_points(j), &mut points);
                Pair {
                    i,
                    j,
                    labels: self.result_labels(i, j),
                    points,
                }
            })
            .collect())
    }

    fn build(&self) -> Result<Vec<Pair>, PromqlError> {
        let n = u32::try_from(self.many.len()).unwrap_or(u32::MAX);
        let per: Vec<Vec<Pair>> = if self.many.len() >= PARALLEL_MIN {
            (0..n)
                .into_par_iter()
                .map(|i| self.pairs_of(i))
                .collect::<Result<_, _>>()?
        } else {
            (0..n).map(|i| self.pairs_of(i)).collect::<Result<_, _>>()?
        };
        Ok(per.into_iter().flatten().collect())
    }

    /// Prometheus's per-step matching at `t`, for the error it raises there.
    fn replay(&self, t: i64) -> Option<PromqlError> {
        let present = |s: &StepSeries| has_point(&s.points, t);
        let many: Vec<u32> = (0..)
            .zip(self.many)
            .filter(|(_, s)| present(s))
            .map(|(i, _)| i)
            .collect();
        let one: Vec<u32> = (0..)
            .zip(self.one)
            .filter(|(_, s)| present(s))
            .map(|(j, _)| j)
            .collect();
        if many.is_empty() || one.is_empty() {
            return None;
        }
        let mut seen: HashMap<u32, u32> = HashMap::new();
        for &j in &one {
            let sig = self.osig.get(idx(j)).copied()?;
            if let Some(prev) = seen.insert(sig, j) {
                return Some(self.duplicate_error(j, prev));
            }
        }
        let mut matched: HashSet<u32> = HashSet::new();
        let mut outputs: HashMap<u32, HashSet<Labels>> = HashMap::new();
        for &i in &many {
            let sig = self.msig.get(idx(i)).copied()?;
            let Some(&j) = seen.get(&sig) else {
                continue;
            };
            if self.m.card == Card::OneToOne {
                if !matched.insert(sig) {
                    return Some(PromqlError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .to_owned(),
                    ));
                }
            } else if !outputs
                .entry(sig)
                .or_default()
                .insert(self.result_labels(i, j))
            {
                return Some(PromqlError::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .to_owned(),
                ));
            }
        }
        None
    }

    fn duplicate_error(&self, j: u32, prev: u32) -> PromqlError {
        let side = if self.swapped { "left" } else { "right" };
        let labels_of = |j: u32| self.one.get(idx(j)).map(|s| &s.labels);
        let group = labels_of(j)
            .map(|l| go_labels_string(&match_group_labels(self.m, l)))
            .unwrap_or_default();
        let mut a = labels_of(j).map(go_labels_string).unwrap_or_default();
        let mut b = labels_of(prev).map(go_labels_string).unwrap_or_default();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        PromqlError::Execution(format!(
            "found duplicate series for the match group {group} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side"
        ))
    }
}

#[cfg(test)]
mod tests {
    use promql_parser::parser::{self, Expr};

    use super::super::binary;
    use super::super::test_util::{grid, series, values, with_ctx};
    use crate::eval::Evaluated;
    use crate::value::StepSeries;

    fn run(
        query: &str,
        n: usize,
        lhs: Vec<StepSeries>,
        rhs: Vec<StepSeries>,
    ) -> Result<Vec<StepSeries>, String> {
        let Expr::Binary(b) = parser::parse(query).expect("parse") else {
            panic!("not binary")
        };
        with_ctx(grid(n), |ctx| {
            match binary(ctx, &b, Evaluated::Vector(lhs), Evaluated::Vector(rhs)) {
                Ok(Evaluated::Vector(v)) => Ok(v),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    #[test]
    fn one_to_one_arithmetic_drops_name_and_merges_steps() {
        let out = run(
            "a + b",
            3,
            vec![series(
                &[("__name__", "a"), ("x", "1")],
                &[Some(1.0), Some(2.0), None],
            )],
            vec![series(
                &[("__name__", "b"), ("x", "1")],
                &[Some(10.0), None, Some(30.0)],
            )],
        )
        .expect("ok");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].labels.to_string(), r#"{x="1"}"#);
        assert!(!out[0].drop_name);
        assert_eq!(values(&out[0], 3), [Some(11.0), None, None]);
    }

    #[test]
    fn comparison_filters_and_keeps_name() {
        let out = run(
            "a > b",
            2,
            vec![series(
                &[("__name__", "a"), ("x", "1")],
                &[Some(5.0), Some(1.0)],
            )],
            vec![series(
                &[("__name__", "b"), ("x", "1")],
                &[Some(2.0), Some(2.0)],
            )],
        )
        .expect("ok");
        assert_eq!(out[0].labels.to_string(), r#"a{x="1"}"#);
        assert_eq!(values(&out[0], 2), [Some(5.0), None]);

        let out = run(
            "a > bool b",
            2,
            vec![series(
                &[("__name__", "a"), ("x", "1")],
                &[Some(5.0), Some(1.0)],
            )],
            vec![series(
                &[("__name__", "b"), ("x", "1")],
                &[Some(2.0), Some(2.0)],
            )],
        )
        .expect("ok");
        assert_eq!(out[0].labels.to_string(), r#"a{x="1"}"#);
        assert!(out[0].drop_name);
        assert_eq!(values(&out[0], 2), [Some(1.0), Some(0.0)]);
    }

    #[test]
    fn duplicate_on_one_side_only_when_coexisting() {
        let lhs = || {
            vec![series(
                &[("__name__", "s"), ("job", "a")],
                &[Some(3.0), Some(3.0)],
            )]
        };
        // Never at the same step: fine.
        let out = run(
            "s > on() d",
            2,
            lhs(),
            vec![
                series(&[("__name__", "d"), ("label", "alpha")], &[Some(1.0), None]),
                series(&[("__name__", "d"), ("label", "beta")], &[None, Some(2.0)]),
            ],
        )
        .expect("no conflict");
        assert_eq!(out.len(), 1);
        assert_eq!(values(&out[0], 2), [Some(3.0), Some(3.0)]);
        // Same step: Prometheus's message.
        let err = run(
            "s > on() d",
            2,
            lhs(),
            vec![
                series(&[("__name__", "d"), ("label", "beta")], &[None, Some(2.0)]),
                series(&[("__name__", "d"), ("label", "alpha")], &[None, Some(1.0)]),
            ],
        )
        .expect_err("conflict");
        assert_eq!(
            err,
            r#"found duplicate series for the match group {} on the right hand-side of the operation: [{__name__="d", label="alpha"}, {__name__="d", label="beta"}];many-to-many matching not allowed: matching labels must be unique on one side"#
        );
    }

    #[test]
    fn one_to_one_needs_group_modifier_even_when_filtered() {
        let err = run(
            "many > on(job) one",
            1,
            vec![
                series(
                    &[("__name__", "many"), ("job", "t"), ("l", "a")],
                    &[Some(0.0)],
                ),
                series(
                    &[("__name__", "many"), ("job", "t"), ("l", "b")],
                    &[Some(1.0)],
                ),
            ],
            vec![series(&[("__name__", "one"), ("job", "t")], &[Some(5.0)])],
        )
        .expect_err("conflict");
        assert!(
            err.starts_with("multiple matches for labels: many-to-one"),
            "{err}"
        );
    }

    #[test]
    fn group_left_copies_labels_and_group_right_swaps_values() {
        let out = run(
            "node_cpu / on(instance) group_left(role) node_role",
            1,
            vec![
                series(
                    &[
                        ("__name__", "node_cpu"),
                        ("instance", "a"),
                        ("mode", "idle"),
                    ],
                    &[Some(3.0)],
                ),
                series(
                    &[
                        ("__name__", "node_cpu"),
                        ("instance", "a"),
                        ("mode", "user"),
                    ],
                    &[Some(1.0)],
                ),
            ],
            vec![series(
                &[("__name__", "node_role"), ("instance", "a"), ("role", "p")],
                &[Some(2.0)],
            )],
        )
        .expect("ok");
        let got: Vec<String> = out
            .iter()
            .map(|s| format!("{} {:?}", s.labels, values(s, 1)))
            .collect();
        assert_eq!(
            got,
            [
                r#"{instance="a", mode="idle", role="p"} [Some(1.5)]"#,
                r#"{instance="a", mode="user", role="p"} [Some(0.5)]"#
            ]
        );
        let out = run(
            "node_role - on(instance) group_right(role) node_cpu",
            1,
            vec![series(
                &[("__name__", "node_role"), ("instance", "a"), ("role", "p")],
                &[Some(2.0)],
            )],
            vec![series(
                &[
                    ("__name__", "node_cpu"),
                    ("instance", "a"),
                    ("mode", "idle"),
                ],
                &[Some(3.0)],
            )],
        )
        .expect("ok");
        assert_eq!(values(&out[0], 1), [Some(-1.0)]);
        assert_eq!(
            out[0].labels.to_string(),
            r#"{instance="a", mode="idle", role="p"}"#
        );
    }

    #[test]
    fn group_left_output_collision() {
        let err = run(
            "a * on(job) group_left b",
            1,
            vec![
                series(&[("__name__", "a"), ("job", "x")], &[Some(1.0)]),
                series(&[("__name__", "c"), ("job", "x")], &[Some(1.0)]),
            ],
            vec![series(&[("__name__", "b"), ("job", "x")], &[Some(1.0)])],
        )
        .expect_err("collision");
        assert_eq!(
            err,
            "multiple matches for labels: grouping labels must ensure unique matches"
        );
    }

    #[test]
    fn equal_output_labels_merge_in_range_queries() {
        let lhs = |b: [Option<f64>; 2]| {
            vec![
                series(&[("__name__", "a"), ("x", "1")], &[Some(1.0), None]),
                series(&[("__name__", "b"), ("x", "1")], &b),
            ]
        };
        let rhs = || {
            vec![
                series(&[("__name__", "a"), ("y", "1")], &[Some(10.0), Some(10.0)]),
                series(&[("__name__", "b"), ("y", "1")], &[Some(20.0), Some(20.0)]),
            ]
        };
        let out = run("a + on(__name__) b", 2, lhs([None, Some(2.0)]), rhs()).expect("ok");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].labels.to_string(), "{}");
        assert_eq!(values(&out[0], 2), [Some(11.0), Some(22.0)]);
        let err = run("a + on(__name__) b", 2, lhs([Some(2.0), None]), rhs()).expect_err("dup");
        assert_eq!(err, "vector cannot contain metrics with the same labelset");
    }

    #[test]
    fn group_right_duplicates_are_on_the_left() {
        let err = run(
            "a - on(job) group_right b",
            1,
            vec![
                series(&[("__name__", "a"), ("job", "j"), ("k", "1")], &[Some(1.0)]),
                series(&[("__name__", "a"), ("job", "j"), ("k", "2")], &[Some(1.0)]),
            ],
            vec![series(&[("__name__", "b"), ("job", "j")], &[Some(1.0)])],
        )
        .expect_err("dup");
        assert!(
            err.starts_with(
                r#"found duplicate series for the match group {job="j"} on the left hand-side"#
            ),
            "{err}"
        );
    }

    #[test]
    fn parallel_matching_over_many_series() {
        let n = 3000;
        let mk = |name: &str, f: f64| -> Vec<StepSeries> {
            (0..n)
                .map(|i| {
                    series(
                        &[("__name__", name), ("i", &i.to_string())],
                        &[Some(i as f64 * f), None, Some(1.0)],
                    )
                })
                .collect()
        };
        let out = run("a / b", 3, mk("a", 2.0), mk("b", 1.0)).expect("ok");
        assert_eq!(out.len(), n);
        for (i, s) in out.iter().enumerate().skip(1) {
            assert_eq!(s.labels.get("i"), Some(i.to_string().as_str()));
            assert_eq!(values(s, 3), [Some(2.0), None, Some(1.0)]);
        }
    }
}

//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, …) over the step grid.
//!
//! Series are assigned to groups once (a signature of the `by`/`without` labels, hashed and
//! interned per series). The work is then split into units of one group over a range of steps,
//! run in parallel when the input is large; within a unit the group's members are folded in
//! input order, so every step sees its values in the same order as Prometheus's per-step loop
//! and Kahan sums, incremental means and heap-based selections come out bit for bit the same.
//!
//! - [`fold`]: sum, avg, min, max, count, group, stddev, stdvar, quantile (one output series per
//!   group, labelled with the grouping labels);
//! - [`select`]: topk, bottomk, limitk, limit_ratio (input series pass through, a subset per
//!   step);
//! - [`count_values`]: one output series per group and distinct value.
//!
//! Native histograms do not exist in Vigil, so the histogram branches of Prometheus's
//! aggregations (and their annotations) have no counterpart here.

mod count_values;
mod fold;
mod select;

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMITK, T_LIMIT_RATIO, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use vigil_model::Labels;

use self::fold::FoldOp;
use self::select::SelectOp;
use super::binary::signature::{hash_all, Groups, Interner, LabelFilter, PARALLEL_MIN};
use super::{Ctx, Evaluated};
use crate::value::StepSeries;
use crate::PromqlError;
use vigil_model::go_format_g;

/// Applies the aggregation `agg` to `input` at every step. `param` is the evaluated parameter:
/// a scalar (one value per step) for `topk`, `bottomk`, `limitk`, `limit_ratio` and `quantile`,
/// a string for `count_values`.
///
/// # Errors
/// A NaN or out-of-range `k`, a NaN ratio, an invalid `count_values` label name, the deadline.
pub(crate) fn aggregate(
    ctx: &Ctx<'_>,
    agg: &AggregateExpr,
    param: Option<Evaluated>,
    input: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    let filter = match &agg.modifier {
        None => LabelFilter::on([]),
        Some(LabelModifier::Include(ls)) => LabelFilter::on(ls.labels.iter().map(String::as_str)),
        Some(LabelModifier::Exclude(ls)) => {
            LabelFilter::ignoring(ls.labels.iter().map(String::as_str))
        }
    };
    let fold_op = match agg.op.id() {
        T_SUM => FoldOp::Sum,
        T_AVG => FoldOp::Avg,
        T_MIN => FoldOp::Min,
        T_MAX => FoldOp::Max,
        T_COUNT => FoldOp::Count,
        T_GROUP => FoldOp::Group,
        T_STDDEV => FoldOp::Stddev,
        T_STDVAR => FoldOp::Stdvar,
        T_QUANTILE => {
            let q = scalar_param(ctx, param)?;
            let stats = ParamStats::of(&q);
            if stats.has_nan {
                ctx.warn(at_param(ctx, agg, quantile_warning(f64::NAN)));
            }
            if stats.max > 1.0 {
                ctx.warn(at_param(ctx, agg, quantile_warning(stats.max)));
            }
            if stats.min < 0.0 {
                ctx.warn(at_param(ctx, agg, quantile_warning(stats.min)));
            }
            let grouping = Grouping::new(&filter, &input);
            return fold::fold(ctx, FoldOp::Quantile, &grouping, &filter, &input, &q);
        }
        T_TOPK | T_BOTTOMK | T_LIMITK => {
            let k = scalar_param(ctx, param)?;
            let stats = ParamStats::of(&k);
            if stats.has_nan {
                return Err(PromqlError::Execution("Parameter value is NaN".to_owned()));
            }
            if stats.max < 1.0 {
                return Ok(Vec::new());
            }
            // Go's int64 bounds, as float64.
            const MIN_I64: f64 = -9_223_372_036_854_775_808.0;
            const MAX_I64: f64 = 9_223_372_036_854_775_808.0;
            if stats.min <= MIN_I64 {
                return Err(PromqlError::Execution(format!(
                    "Scalar value {} underflows int64",
                    go_format_g(stats.min)
                )));
            }
            if stats.max >= MAX_I64 {
                return Err(PromqlError::Execution(format!(
                    "Scalar value {} overflows int64",
                    go_format_g(stats.max)
                )));
            }
            let op = match agg.op.id() {
                T_TOPK => SelectOp::TopK,
                T_BOTTOMK => SelectOp::BottomK,
                _ => SelectOp::LimitK,
            };
            let grouping = Grouping::new(&filter, &input);
            return select::select(ctx, op, &grouping, &k, input);
        }
        T_LIMIT_RATIO => {
            let r = scalar_param(ctx, param)?;
            let stats = ParamStats::of(&r);
            if stats.max == 0.0 && stats.min == 0.0 {
                return Ok(Vec::new());
            }
            if stats.has_nan {
                return Err(PromqlError::Execution("Ratio value is NaN".to_owned()));
            }
            if stats.max > 1.0 {
                ctx.warn(at_param(ctx, agg, ratio_warning(stats.max, 1.0)));
            }
            if stats.min < -1.0 {
                ctx.warn(at_param(ctx, agg, ratio_warning(stats.min, -1.0)));
            }
            let grouping = Grouping::new(&filter, &input);
            return select::select(ctx, SelectOp::LimitRatio, &grouping, &r, input);
        }
        T_COUNT_VALUES => {
            let label = match param {
                Some(Evaluated::String(s)) => s,
                _ => {
                    return Err(PromqlError::Execution(
                        "count_values needs a string parameter".to_owned(),
                    ))
                }
            };
            return count_values::count_values(ctx, &filter, &label, input);
        }
        _ => {
            return Err(PromqlError::Execution(format!(
                "aggregation {} is not supported",
                agg.op
            )))
        }
    };
    let grouping = Grouping::new(&filter, &input);
    fold::fold(ctx, fold_op, &grouping, &filter, &input, &[])
}

/// `msg` with the position of the aggregation's parameter appended, as Prometheus prints it
/// (`… capping to 1 (1:19)`).
fn at_param(ctx: &Ctx<'_>, agg: &AggregateExpr, msg: String) -> String {
    match ctx.query.positions().and_then(|p| p.aggregate_param(agg)) {
        Some(pos) => format!("{msg} ({pos})"),
        None => msg,
    }
}

/// Upstream's annotation texts (`util/annotations`), without the position.
pub(crate) fn quantile_warning(q: f64) -> String {
    format!(
        "PromQL warning: quantile value should be between 0 and 1, got {}",
        go_format_g(q)
    )
}

fn ratio_warning(r: f64, to: f64) -> String {
    format!(
        "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
        go_format_g(r),
        go_format_g(to)
    )
}

/// The scalar parameter, one value per step.
fn scalar_param(ctx: &Ctx<'_>, param: Option<Evaluated>) -> Result<Vec<f64>, PromqlError> {
    match param {
        Some(Evaluated::Scalar(mut v)) => {
            v.resize(ctx.steps.len(), f64::NAN);
            Ok(v)
        }
        None => Ok(vec![0.0; ctx.steps.len()]),
        Some(_) => Err(PromqlError::Execution(
            "expected a scalar aggregation parameter".to_owned(),
        )),
    }
}

/// Range of a parameter over the steps, as Prometheus computes it: with Go's `math.Max`/`Min`,
/// so one NaN makes both NaN (and every range check false).
struct ParamStats {
    min: f64,
    max: f64,
    has_nan: bool,
}

impl ParamStats {
    fn of(v: &[f64]) -> Self {
        let mut s = ParamStats {
            min: f64::MAX,
            max: -f64::MAX,
            has_nan: false,
        };
        for &x in v {
            if x.is_nan() {
                s.has_nan = true;
            }
            s.max = if s.max.is_nan() || x.is_nan() {
                f64::NAN
            } else {
                s.max.max(x)
            };
            s.min = if s.min.is_nan() || x.is_nan() {
                f64::NAN
            } else {
                s.min.min(x)
            };
        }
        s
    }
}

/// Assignment of input series to groups, groups numbered in order of first appearance.
pub(super) struct Grouping {
    pub groups: Groups,
}

impl Grouping {
    fn new(filter: &LabelFilter, input: &[StepSeries]) -> Self {
        let ords: Vec<u32> = if matches!(filter, LabelFilter::On(n) if n.is_empty()) {
            vec![0; input.len()]
        } else {
            let hashes = hash_all(filter, input.iter().map(|s| &s.labels));
            let mut interner = Interner::new(filter, 64);
            input
                .iter()
                .zip(&hashes)
                .map(|(s, h)| interner.intern(*h, &s.labels))
                .collect()
        };
        let n = ords
            .iter()
            .max()
            .map_or(0, |m| usize::try_from(*m).unwrap_or(0) + 1);
        Grouping {
            groups: Groups::new(&ords, n),
        }
    }

    /// Output labels of group `g`: the grouping labels of its first member.
    fn labels(&self, g: u32, filter: &LabelFilter, input: &[StepSeries]) -> Labels {
        self.groups
            .members(g)
            .first()
            .and_then(|&m| input.get(usize::try_from(m).ok()?))
            .map_or_else(Labels::empty, |s| filter.project(&s.labels))
    }
}

/// One group over the steps `k0..k1`.
#[derive(Debug, Clone, Copy)]
struct Unit {
    group: u32,
    k0: usize,
    k1: usize,
}

/// Splits the work into units: one per group, or, when there are few groups but many points,
/// several step ranges per group so that both cores have work. Returns whether to run them in
/// parallel.
fn plan(ctx: &Ctx<'_>, grouping: &Grouping, input: &[StepSeries]) -> (Vec<Unit>, bool) {
    let n_steps = ctx.steps.len();
    let n_groups = grouping.groups.len();
    let points: usize = input.iter().map(|s| s.points.len()).sum();
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && (points >= 100_000 || input.len() >= PARALLEL_MIN);
    let chunks = if parallel && n_groups < threads * 4 {
        (threads * 4)
            .div_ceil(n_groups.max(1))
            .min(n_steps / 256)
            .max(1)
    } else {
        1
    };
    let per = n_steps.div_ceil(chunks).max(1);
    let mut units = Vec::with_capacity(n_groups * chunks);
    for g in 0..u32::try_from(n_groups).unwrap_or(u32::MAX) {
        let mut k0 = 0;
        while k0 < n_steps {
            let k1 = (k0 + per).min(n_steps);
            units.push(Unit { group: g, k0, k1 });
            k0 = k1;
        }
    }
    (units, parallel)
}

/// The points of `s` at steps `k0..k1`.
fn points_in<'a>(
    ctx: &Ctx<'_>,
    s: &'a StepSeries,
    k0: usize,
    k1: usize,
) -> &'a [vigil_model::Sample] {
    let n_steps = ctx.steps.len();
    if k0 == 0 && k1 >= n_steps {
        return &s.points;
    }
    let t0 = ctx.steps.ts(k0);
    let a = s.points.partition_point(|p| p.t < t0);
    // Past the last step there is no timestamp to compare with (it may not fit in an i64).
    let b = if k1 >= n_steps {
        s.points.len()
    } else {
        let t1 = ctx.steps.ts(k1);
        s.points.partition_point(|p| p.t < t1)
    };
    s.points.get(a..b).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use promql_parser::parser::{self, Expr};

    use super::*;
    use crate::eval::binary::test_util::{grid, series, values, with_ctx, with_ctx_annotations};
    use crate::eval::Annotations;

    fn agg(
        query: &str,
        n: usize,
        param: Option<Evaluated>,
        input: Vec<StepSeries>,
    ) -> (Result<Vec<StepSeries>, String>, Annotations) {
        let Expr::Aggregate(a) = parser::parse(query).expect("parse") else {
            panic!("not an aggregation")
        };
        with_ctx_annotations(grid(n), |ctx| {
            aggregate(ctx, &a, param, input).map_err(|e| e.to_string())
        })
    }

    fn show(out: &[StepSeries], n: usize) -> Vec<String> {
        out.iter()
            .map(|s| format!("{} {:?}", s.labels, values(s, n)))
            .collect()
    }

    fn http() -> Vec<StepSeries> {
        let mut v = Vec::new();
        for (job, inst, group, base) in [
            ("api-server", "0", "production", 100.0),
            ("api-server", "1", "production", 200.0),
            ("api-server", "0", "canary", 300.0),
            ("api-server", "1", "canary", 400.0),
            ("app-server", "0", "production", 500.0),
            ("app-server", "1", "production", 600.0),
            ("app-server", "0", "canary", 700.0),
            ("app-server", "1", "canary", 800.0),
        ] {
            v.push(series(
                &[
                    ("__name__", "http_requests"),
                    ("group", group),
                    ("instance", inst),
                    ("job", job),
                ],
                &[Some(base), Some(base / 10.0)],
            ));
        }
        v
    }

    #[test]
    fn sum_by_and_without() {
        let (out, _) = agg("sum by (group) (x)", 2, None, http());
        assert_eq!(
            show(&out.expect("ok"), 2),
            [
                r#"{group="production"} [Some(1400.0), Some(140.0)]"#,
                r#"{group="canary"} [Some(2200.0), Some(220.0)]"#
            ]
        );
        let (out, _) = agg("sum without (instance, group) (x)", 1, None, http());
        assert_eq!(
            show(&out.expect("ok"), 1),
            [
                r#"{job="api-server"} [Some(1000.0)]"#,
                r#"{job="app-server"} [Some(2600.0)]"#
            ]
        );
        let (out, _) = agg("sum by (__name__) (x)", 1, None, http());
        assert_eq!(
            show(&out.expect("ok"), 1),
            [r#"http_requests{} [Some(3600.0)]"#]
        );
    }

    #[test]
    fn avg_count_stddev_min_max_group() {
        for (q, want) in [
            ("avg(x)", 450.0),
            ("count(x)", 8.0),
            ("stdvar(x)", 52500.0),
            ("min(x)", 100.0),
            ("max(x)", 800.0),
            ("group(x)", 1.0),
        ] {
            let (out, _) = agg(q, 1, None, http());
            assert_eq!(values(&out.expect("ok")[0], 1), [Some(want)], "{q}");
        }
        let (out, _) = agg("stddev(x)", 1, None, http());
        let v = values(&out.expect("ok")[0], 1)[0].expect("value");
        assert!((v - 229.12878474779).abs() < 1e-9);
    }

    #[test]
    fn avg_switches_to_incremental_mean_on_overflow() {
        let big = 9.988_465_674_311_58e307;
        let input: Vec<StepSeries> = ["a", "b", "c", "d"]
            .iter()
            .map(|p| series(&[("p", p)], &[Some(big)]))
            .collect();
        let (out, _) = agg("avg(x)", 1, None, input);
        assert_eq!(values(&out.expect("ok")[0], 1), [Some(big)]);
        let input: Vec<StepSeries> = [("a", -big), ("b", -big), ("c", big), ("d", big)]
            .iter()
            .map(|(p, v)| series(&[("p", p)], &[Some(*v)]))
            .collect();
        let (out, _) = agg("avg(x)", 1, None, input);
        assert_eq!(values(&out.expect("ok")[0], 1), [Some(0.0)]);
    }

    #[test]
    fn avg_of_equal_values_is_exact() {
        let input: Vec<StepSeries> = (0..12)
            .map(|i| series(&[("idx", &i.to_string())], &[Some(52.0)]))
            .collect();
        let (out, _) = agg("avg(x)", 1, None, input);
        assert_eq!(values(&out.expect("ok")[0], 1), [Some(52.0)]);
    }

    #[test]
    fn topk_bottomk_order_and_nan() {
        let mut input = http();
        input.push(series(
            &[
                ("__name__", "http_requests"),
                ("group", "production"),
                ("instance", "2"),
                ("job", "api-server"),
            ],
            &[Some(f64::NAN), Some(f64::NAN)],
        ));
        let (out, _) = agg(
            "topk(3, x)",
            1,
            Some(Evaluated::Scalar(vec![3.0])),
            input.clone(),
        );
        let got: Vec<f64> = out.expect("ok").iter().map(|s| s.points[0].v).collect();
        assert_eq!(got, [800.0, 700.0, 600.0]);
        let (out, _) = agg(
            "bottomk(3, x)",
            1,
            Some(Evaluated::Scalar(vec![3.0])),
            input.clone(),
        );
        let got: Vec<f64> = out.expect("ok").iter().map(|s| s.points[0].v).collect();
        assert_eq!(got, [100.0, 200.0, 300.0]);
        let prod: Vec<StepSeries> = input
            .iter()
            .filter(|s| {
                s.labels.get("job") == Some("api-server")
                    && s.labels.get("group") == Some("production")
            })
            .cloned()
            .collect();
        let (out, _) = agg(
            "topk(3, x)",
            1,
            Some(Evaluated::Scalar(vec![3.0])),
            prod.clone(),
        );
        let got: Vec<String> = out
            .expect("ok")
            .iter()
            .map(|s| s.points[0].v.to_string())
            .collect();
        assert_eq!(got, ["200", "100", "NaN"]);
        let (out, _) = agg("bottomk(3, x)", 1, Some(Evaluated::Scalar(vec![3.0])), prod);
        let got: Vec<String> = out
            .expect("ok")
            .iter()
            .map(|s| s.points[0].v.to_string())
            .collect();
        assert_eq!(got, ["100", "200", "NaN"]);
    }

    #[test]
    fn topk_with_per_step_k_in_a_range() {
        let (out, _) = agg(
            "topk(scalar(k), y)",
            2,
            Some(Evaluated::Scalar(vec![1.0, 3.0])),
            http(),
        );
        let out = out.expect("ok");
        let at0 = out.iter().filter(|s| values(s, 2)[0].is_some()).count();
        let at1 = out.iter().filter(|s| values(s, 2)[1].is_some()).count();
        assert_eq!((at0, at1), (1, 3));
    }

    #[test]
    fn k_and_ratio_errors() {
        let (out, _) = agg(
            "topk(scalar(k), y)",
            1,
            Some(Evaluated::Scalar(vec![f64::NAN])),
            Vec::new(),
        );
        assert_eq!(out.expect_err("nan"), "Parameter value is NaN");
        let (out, _) = agg(
            "limit_ratio(scalar(k), y)",
            1,
            Some(Evaluated::Scalar(vec![f64::NAN])),
            Vec::new(),
        );
        assert_eq!(out.expect_err("nan"), "Ratio value is NaN");
        let (out, a) = agg(
            "limit_ratio(scalar(k), y)",
            1,
            Some(Evaluated::Scalar(vec![1.1])),
            http(),
        );
        assert_eq!(out.expect("ok").len(), 8);
        assert_eq!(
            a.warnings.iter().collect::<Vec<_>>(),
            ["PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1"]
        );
    }

    #[test]
    fn limit_ratio_complements() {
        let keep = |r: f64| {
            let (out, _) = agg(
                "limit_ratio(scalar(k), y)",
                1,
                Some(Evaluated::Scalar(vec![r])),
                http(),
            );
            out.expect("ok")
                .into_iter()
                .map(|s| s.labels.to_string())
                .collect::<Vec<_>>()
        };
        let (a, b) = (keep(0.5), keep(-0.5));
        assert_eq!(a.len() + b.len(), 8);
        assert!(a.iter().all(|l| !b.contains(l)));
    }

    #[test]
    fn limitk_takes_the_first_series_of_each_group() {
        let (out, _) = agg(
            "limitk by (group) (1, x)",
            1,
            Some(Evaluated::Scalar(vec![1.0])),
            http(),
        );
        let got: Vec<String> = out
            .expect("ok")
            .iter()
            .map(|s| s.labels.to_string())
            .collect();
        assert_eq!(
            got,
            [
                r#"http_requests{group="production", instance="0", job="api-server"}"#,
                r#"http_requests{group="canary", instance="0", job="api-server"}"#
            ]
        );
    }

    #[test]
    fn quantile_interpolates_and_warns() {
        let input = vec![
            series(&[("p", "a")], &[Some(0.0)]),
            series(&[("p", "b")], &[Some(1.0)]),
            series(&[("p", "c")], &[Some(4.0)]),
        ];
        let (out, a) = agg(
            "quantile(0.8, x)",
            1,
            Some(Evaluated::Scalar(vec![0.8])),
            input.clone(),
        );
        let v = values(&out.expect("ok")[0], 1)[0].expect("value");
        assert!((v - 2.8).abs() < 1e-12);
        assert!(a.warnings.is_empty());
        let (out, a) = agg(
            "quantile(2, x)",
            1,
            Some(Evaluated::Scalar(vec![2.0])),
            input,
        );
        assert_eq!(values(&out.expect("ok")[0], 1), [Some(f64::INFINITY)]);
        assert_eq!(
            a.warnings.iter().collect::<Vec<_>>(),
            ["PromQL warning: quantile value should be between 0 and 1, got 2"]
        );
    }

    #[test]
    fn count_values_formats_values() {
        let input = vec![
            series(&[("__name__", "version"), ("job", "a")], &[Some(6.0)]),
            series(&[("__name__", "version"), ("job", "b")], &[Some(6.0)]),
            series(&[("__name__", "version"), ("job", "c")], &[Some(0.5)]),
        ];
        let q = r#"count_values("version", x)"#;
        let (out, _) = agg(
            q,
            1,
            Some(Evaluated::String("version".into())),
            input.clone(),
        );
        assert_eq!(
            show(&out.expect("ok"), 1),
            [
                r#"{version="6"} [Some(2.0)]"#,
                r#"{version="0.5"} [Some(1.0)]"#
            ]
        );
        let q = r#"count_values without (job) ("job", x)"#;
        let (out, _) = agg(q, 1, Some(Evaluated::String("job".into())), input);
        assert_eq!(show(&out.expect("ok"), 1), [r#"{} [Some(3.0)]"#]);
    }

    #[test]
    fn count_values_groups_equal_texts() {
        let input = vec![
            series(&[("j", "a")], &[Some(f64::NAN)]),
            series(
                &[("j", "b")],
                &[Some(f64::from_bits(0x7ff8_0000_0000_0001))],
            ),
            series(&[("j", "c")], &[Some(-0.0)]),
        ];
        let q = r#"count_values("v", x)"#;
        let (out, _) = agg(q, 1, Some(Evaluated::String("v".into())), input);
        assert_eq!(
            show(&out.expect("ok"), 1),
            [r#"{v="NaN"} [Some(2.0)]"#, r#"{v="-0"} [Some(1.0)]"#]
        );
    }

    #[test]
    fn drop_name_follows_the_last_step() {
        let mut a = series(&[("__name__", "a"), ("x", "1")], &[Some(1.0), None]);
        a.drop_name = true;
        let b = series(&[("__name__", "a"), ("x", "2")], &[Some(1.0), Some(2.0)]);
        let (out, _) = agg("sum by (__name__) (x)", 2, None, vec![a, b]);
        assert!(!out.expect("ok")[0].drop_name);
    }

    #[test]
    fn empty_input() {
        let (out, _) = agg("sum(x)", 3, None, Vec::new());
        assert!(out.expect("ok").is_empty());
        assert_eq!(with_ctx(grid(1), |ctx| ctx.steps.len()), 1);
    }

    #[test]
    fn param_stats_follow_go_max_min() {
        let s = ParamStats::of(&[0.5, 2.0, -1.0]);
        assert_eq!((s.min, s.max, s.has_nan), (-1.0, 2.0, false));
        let s = ParamStats::of(&[0.5, f64::NAN, 3.0]);
        assert!(s.has_nan && s.min.is_nan() && s.max.is_nan());
    }

    #[test]
    fn warning_texts() {
        assert_eq!(
            ratio_warning(1.1, 1.0),
            "PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1"
        );
        assert_eq!(
            quantile_warning(f64::NAN),
            "PromQL warning: quantile value should be between 0 and 1, got NaN"
        );
    }

    #[test]
    fn parallel_units_match_a_naive_fold() {
        let n = 3000;
        let steps = 600;
        let input: Vec<StepSeries> = (0..n)
            .map(|i| {
                let vals: Vec<Option<f64>> = (0..steps)
                    .map(|k| ((i + k) % 7 != 0).then(|| ((i * 31 + k * 17) % 101) as f64 / 3.0))
                    .collect();
                series(&[("g", &(i % 3).to_string()), ("i", &i.to_string())], &vals)
            })
            .collect();
        let mut naive = vec![vec![(0.0f64, 0usize); steps]; 3];
        for (i, s) in input.iter().enumerate() {
            for p in &s.points {
                let k = usize::try_from(p.t / 10).expect("step");
                naive[i % 3][k].0 += p.v;
                naive[i % 3][k].1 += 1;
            }
        }
        let (out, _) = agg("count by (g) (x)", steps, None, input.clone());
        let out = out.expect("ok");
        assert_eq!(out.len(), 3);
        for (g, s) in out.iter().enumerate() {
            let got: Vec<f64> = s.points.iter().map(|p| p.v).collect();
            let want: Vec<f64> = naive[g].iter().map(|c| c.1 as f64).collect();
            assert_eq!(got, want);
        }
        let (out, _) = agg("sum(x)", steps, None, input.clone());
        let out = out.expect("ok");
        for (k, p) in out[0].points.iter().enumerate() {
            let want: f64 = naive.iter().map(|g| g[k].0).sum();
            assert!((p.v - want).abs() < 1e-6 * want.abs().max(1.0), "step {k}");
        }
        let (out, _) = agg(
            "topk(scalar(k), x)",
            steps,
            Some(Evaluated::Scalar(vec![2.0; steps])),
            input,
        );
        let mut per_step = vec![0; steps];
        for p in out.expect("ok").iter().flat_map(|s| &s.points) {
            per_step[usize::try_from(p.t / 10).expect("step")] += 1;
        }
        assert!(per_step.iter().all(|&c| c == 2));
    }
}

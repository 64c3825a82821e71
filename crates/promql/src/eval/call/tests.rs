//! Function-level tests with hand-built arguments (the upstream scripts cover the rest through
//! the whole engine).

use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use promql_parser::parser::{Call, Expr};
use vigil_model::{Labels, Sample};
use vigil_storage::MemStore;

use super::*;
use crate::eval::{Annotations, QueryState};
use crate::value::Steps;

fn state<'a>(store: &'a MemStore, steps: Steps) -> QueryState<'a> {
    QueryState {
        store,
        query_steps: steps,
        lookback_ms: 300_000,
        max_samples: 1_000_000,
        deadline: Instant::now() + Duration::from_secs(60),
        samples: AtomicUsize::new(0),
        loaded: AtomicUsize::new(0),
        annotations: Mutex::new(Annotations::default()),
        source: None,
        positions: Default::default(),
    }
}

fn parse_call(q: &str) -> Call {
    match promql_parser::parser::parse(q) {
        Ok(Expr::Call(c)) => c,
        other => panic!("not a call: {other:?}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("valid labels")
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> StepSeries {
    StepSeries {
        labels: labels(pairs),
        drop_name: false,
        points: points.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
    }
}

/// Runs `query`'s function over `args` on `steps`; returns the result and the annotations.
fn run(query: &str, steps: Steps, args: Vec<Arg>) -> (Result<Evaluated, PromqlError>, Annotations) {
    let store = MemStore::new(0);
    let st = state(&store, steps);
    let ctx = Ctx { steps, query: &st };
    let call = parse_call(query);
    let out = call_function(&ctx, &call, args);
    let ann = st.annotations.lock().map(|a| a.clone()).unwrap_or_default();
    (out, ann)
}

fn vector(out: Result<Evaluated, PromqlError>) -> Vec<StepSeries> {
    match out {
        Ok(Evaluated::Vector(v)) => v,
        other => panic!("expected a vector, got {other:?}"),
    }
}

fn s(v: &str) -> Arg {
    Arg::Value(Evaluated::String(v.to_owned()))
}

#[test]
fn rate_flags_non_counters_and_drops_names() {
    let steps = Steps::instant(600_000);
    let range = RangeArg {
        series: vec![RangeSeries {
            labels: labels(&[("__name__", "requests")]),
            samples: (0..=10)
                .map(|i| Sample::new(i * 60_000, i as f64))
                .collect(),
        }],
        range_ms: 600_000,
        ends: vec![600_000],
    };
    let (out, ann) = run("rate(requests[10m])", steps, vec![Arg::Range(range)]);
    let v = vector(out);
    assert_eq!(v.len(), 1);
    assert!(v.iter().all(|s| s.drop_name));
    assert_eq!(
        ann.infos.iter().collect::<Vec<_>>(),
        [
            "PromQL info: metric might not be a counter, name does not end in \
             _total/_sum/_count/_bucket: \"requests\""
        ]
    );
}

#[test]
fn label_replace_merges_or_fails_on_collisions() {
    let steps = Steps {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let input = vec![
        series(&[("__name__", "m"), ("idx", "1")], &[(0, 1.0)]),
        series(&[("__name__", "m"), ("idx", "2")], &[(60_000, 2.0)]),
    ];
    let args = vec![
        Arg::Value(Evaluated::Vector(input.clone())),
        s("idx"),
        s("x"),
        s("idx"),
        s(".*"),
    ];
    let (out, _) = run(r#"label_replace(m, "idx", "x", "idx", ".*")"#, steps, args);
    let v = vector(out);
    assert_eq!(v.len(), 1);
    assert_eq!(v.first().map(|s| s.points.len()), Some(2));

    let overlapping = vec![
        series(&[("__name__", "m"), ("idx", "1")], &[(0, 1.0)]),
        series(&[("__name__", "m"), ("idx", "2")], &[(0, 2.0)]),
    ];
    let args = vec![
        Arg::Value(Evaluated::Vector(overlapping)),
        s("idx"),
        s("x"),
        s("idx"),
        s(".*"),
    ];
    let (out, _) = run(r#"label_replace(m, "idx", "x", "idx", ".*")"#, steps, args);
    assert!(out.is_err());

    let args = vec![
        Arg::Value(Evaluated::Vector(input)),
        s("dst"),
        s("$1"),
        s("idx"),
        s("(.*"),
    ];
    let (out, _) = run(
        r#"label_replace(m, "dst", "$1", "idx", "(.*")"#,
        steps,
        args,
    );
    assert_eq!(
        out.err().map(|e| e.to_string()),
        Some("invalid regular expression in label_replace(): (.*".to_owned())
    );
}

#[test]
fn label_replace_expands_groups_and_can_set_the_name() {
    let steps = Steps::instant(0);
    let mut input = series(
        &[("__name__", "m"), ("src", "source-value-10")],
        &[(0, 1.0)],
    );
    input.drop_name = true;
    let args = vec![
        Arg::Value(Evaluated::Vector(vec![input])),
        s("__name__"),
        s("renamed_$1"),
        s("src"),
        s("source-value-(.*)"),
    ];
    let (out, _) = run(
        r#"label_replace(m, "__name__", "renamed_$1", "src", "source-value-(.*)")"#,
        steps,
        args,
    );
    let v = vector(out);
    let first = v.first().expect("one series");
    assert_eq!(first.labels.metric_name(), Some("renamed_10"));
    assert!(!first.drop_name);
}

#[test]
fn histogram_quantile_groups_by_all_labels_but_le() {
    let steps = Steps::instant(0);
    let b = |le: &str, job: &str, v: f64| {
        series(
            &[("__name__", "h_bucket"), ("job", job), ("le", le)],
            &[(0, v)],
        )
    };
    let input = vec![
        b("0.1", "a", 50.0),
        b("0.2", "a", 70.0),
        b("+Inf", "a", 100.0),
        b("1", "b", 10.0),
        b("+Inf", "b", 5.0),
    ];
    let args = vec![
        Arg::Value(Evaluated::Scalar(vec![0.6])),
        Arg::Value(Evaluated::Vector(input)),
    ];
    let (out, ann) = run("histogram_quantile(0.6, h_bucket)", steps, args);
    let v = vector(out);
    assert_eq!(v.len(), 2);
    let a = v
        .iter()
        .find(|s| s.labels.get("job") == Some("a"))
        .expect("job a");
    assert!(a.labels.get("le").is_none());
    assert!(a.drop_name);
    assert!((a.points.first().map_or(0.0, |p| p.v) - 0.15).abs() < 1e-12);
    assert_eq!(ann.infos.len(), 1, "{ann:?}");
    assert!(ann
        .infos
        .iter()
        .all(|i| i.contains("fixed for monotonicity") && i.contains("\"h_bucket\"")));
}

#[test]
fn invalid_quantile_warns_even_without_input() {
    let steps = Steps::instant(0);
    let args = vec![
        Arg::Value(Evaluated::Scalar(vec![f64::NAN])),
        Arg::Value(Evaluated::Vector(Vec::new())),
    ];
    let (out, ann) = run("histogram_quantile(NaN, nothing)", steps, args);
    assert!(vector(out).is_empty());
    assert_eq!(
        ann.warnings.iter().collect::<Vec<_>>(),
        ["PromQL warning: quantile value should be between 0 and 1, got NaN"]
    );
}

#[test]
fn absent_takes_labels_from_equality_matchers() {
    let steps = Steps {
        start: 0,
        end: 120_000,
        step: 60_000,
    };
    let present = vec![series(&[("__name__", "x")], &[(60_000, 1.0)])];
    let args = vec![Arg::Value(Evaluated::Vector(present))];
    let (out, _) = run(
        r#"absent(x{job="a", instance="i", job="b", foo=~"f", bar="c"})"#,
        steps,
        args,
    );
    let v = vector(out);
    let only = v.first().expect("one series");
    assert_eq!(only.labels, labels(&[("bar", "c"), ("instance", "i")]));
    let ts: Vec<i64> = only.points.iter().map(|p| p.t).collect();
    assert_eq!(ts, [0, 120_000]);
}

#[test]
fn clamp_drops_steps_with_crossed_bounds() {
    let steps = Steps {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let input = vec![series(&[("__name__", "x")], &[(0, 10.0), (60_000, 10.0)])];
    let args = vec![
        Arg::Value(Evaluated::Vector(input)),
        Arg::Value(Evaluated::Scalar(vec![0.0, 5.0])),
        Arg::Value(Evaluated::Scalar(vec![3.0, -5.0])),
    ];
    let (out, _) = run("clamp(x, 0, 3)", steps, args);
    let v = vector(out);
    let only = v.first().expect("one series");
    assert_eq!(only.points, vec![Sample::new(0, 3.0)]);
}

#[test]
fn sort_orders_instant_results_and_warns_in_range_queries() {
    let input = vec![
        series(&[("a", "1")], &[(0, f64::NAN)]),
        series(&[("a", "2")], &[(0, 3.0)]),
        series(&[("a", "3")], &[(0, 1.0)]),
    ];
    let (out, _) = run(
        "sort_desc(x)",
        Steps::instant(0),
        vec![Arg::Value(Evaluated::Vector(input.clone()))],
    );
    let order: Vec<String> = vector(out)
        .iter()
        .map(|s| s.labels.get("a").unwrap_or("").to_owned())
        .collect();
    assert_eq!(order, ["2", "3", "1"]);
    let steps = Steps {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let (_, ann) = run("sort(x)", steps, vec![Arg::Value(Evaluated::Vector(input))]);
    assert_eq!(ann.warnings.len(), 1);
}

#[test]
fn scalar_needs_exactly_one_series() {
    let steps = Steps {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let input = vec![
        series(&[("a", "1")], &[(0, 1.0), (60_000, 1.0)]),
        series(&[("a", "2")], &[(60_000, 2.0)]),
    ];
    let (out, _) = run(
        "scalar(x)",
        steps,
        vec![Arg::Value(Evaluated::Vector(input))],
    );
    match out {
        Ok(Evaluated::Scalar(v)) => {
            assert_eq!(v.first(), Some(&1.0));
            assert!(v.get(1).is_some_and(|x| x.is_nan()));
        }
        other => panic!("expected a scalar, got {other:?}"),
    }
}

#[test]
fn smoothing_rejects_bad_factors_only_when_evaluated() {
    let steps = Steps::instant(60_000);
    let range = |samples: Vec<Sample>| RangeArg {
        series: vec![RangeSeries {
            labels: labels(&[("__name__", "x")]),
            samples,
        }],
        range_ms: 60_000,
        ends: vec![60_000],
    };
    let args = |samples| {
        vec![
            Arg::Range(range(samples)),
            Arg::Value(Evaluated::Scalar(vec![1.5])),
            Arg::Value(Evaluated::Scalar(vec![0.5])),
        ]
    };
    let q = "double_exponential_smoothing(x[1m], 1.5, 0.5)";
    let (out, _) = run(q, steps, args(vec![Sample::new(30_000, 1.0)]));
    assert_eq!(
        out.err().map(|e| e.to_string()),
        Some("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000".to_owned())
    );
    let (out, _) = run(q, steps, args(vec![Sample::new(0, 1.0)]));
    assert!(vector(out).is_empty());
}

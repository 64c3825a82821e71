//! The metric store conformance suite: scenarios every [`MetricStore`] must pass, with the
//! semantics written down in `vigil_storage`'s crate docs. [`vigil_storage::MemStore`] is the
//! reference; the differential scenario replays a seeded random workload against the store under
//! test and a fresh `MemStore` and compares everything observable.
//!
//! Each scenario gets fresh stores from the factory and panics with a message naming what
//! differed; [`run_metric_store_conformance`] runs them all and names the scenario that failed.

use std::collections::BTreeSet;
use std::sync::Arc;

use vigil_model::{Batch, Labels, MatchOp, Matcher, Sample, SeriesSamples, STALE_NAN};
use vigil_storage::{
    AppendOutcome, MemStore, MetricSelect, MetricStore, RejectReason, SeriesData, TimeRange,
};

/// Makes a new, empty store for one scenario.
pub type StoreFactory<'a> = &'a dyn Fn() -> Arc<dyn MetricStore>;

/// What the suite needs to know about the store under test.
#[derive(Debug, Clone, Copy)]
pub struct ConformanceConfig {
    /// The store's out-of-order window (the reference MemStore is built with the same).
    pub ooo_window_ms: i64,
}

impl Default for ConformanceConfig {
    fn default() -> Self {
        ConformanceConfig {
            ooo_window_ms: 3_600_000,
        }
    }
}

mod differential;

use differential::{differential_against_memstore, differential_with_flushes};

type Scenario = fn(&ConformanceConfig, StoreFactory<'_>);

/// Every scenario, by name.
pub fn scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("empty_store", empty_store),
        ("append_and_select_sorted", append_and_select_sorted),
        ("range_boundaries", range_boundaries),
        ("duplicates", duplicates),
        ("out_of_order_window", out_of_order_window),
        ("special_values_round_trip", special_values_round_trip),
        ("matchers", matchers),
        ("series_and_label_apis", series_and_label_apis),
        ("status", status),
        ("many_samples_per_series", many_samples_per_series),
        (
            "negative_and_large_timestamps",
            negative_and_large_timestamps,
        ),
        (
            "flush_keeps_data_and_store_usable",
            flush_keeps_data_and_store_usable,
        ),
        ("concurrent_appends_and_reads", concurrent_appends_and_reads),
        (
            "differential_against_memstore",
            differential_against_memstore,
        ),
        ("differential_with_flushes", differential_with_flushes),
    ]
}

/// Runs every scenario against stores from `make`.
///
/// # Panics
/// On the first scenario that fails, naming it.
pub fn run_metric_store_conformance(cfg: &ConformanceConfig, make: StoreFactory<'_>) {
    for (name, f) in scenarios() {
        eprintln!("conformance: {name}");
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(cfg, make)));
        if let Err(e) = res {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("conformance scenario {name} failed: {msg}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap_or_default()
}

/// A batch from `(labels, [(t, v)])` pairs; shared by storage tests.
pub fn batch(series: &[(Labels, Vec<(i64, f64)>)]) -> Batch {
    Batch {
        series: series
            .iter()
            .map(|(labels, s)| SeriesSamples {
                labels: labels.clone(),
                samples: s.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
            })
            .collect(),
        metadata: Vec::new(),
    }
}

fn append(store: &dyn MetricStore, b: &Batch) -> AppendOutcome {
    match store.append(b) {
        Ok(o) => o,
        Err(e) => panic!("append failed: {e}"),
    }
}

fn select(store: &dyn MetricStore, ms: &[Matcher], r: TimeRange) -> Vec<SeriesData> {
    let set = match store.select(ms, r) {
        Ok(s) => s,
        Err(e) => panic!("select failed: {e}"),
    };
    set.map(|s| match s {
        Ok(s) => s,
        Err(e) => panic!("select stream failed: {e}"),
    })
    .collect()
}

fn select_parts(
    store: &dyn MetricStore,
    ms: &[Matcher],
    r: TimeRange,
    parts: usize,
) -> Vec<Vec<SeriesData>> {
    let sets = match store.select_parts(ms, r, parts) {
        Ok(s) => s,
        Err(e) => panic!("select_parts failed: {e}"),
    };
    assert!(
        sets.len() <= parts.max(1),
        "select_parts({parts}) gave {} parts",
        sets.len()
    );
    sets.into_iter()
        .map(|set| {
            set.map(|s| match s {
                Ok(s) => s,
                Err(e) => panic!("select_parts stream failed: {e}"),
            })
            .collect()
        })
        .collect()
}

fn all_name() -> Matcher {
    re("__name__", ".+")
}

fn re(name: &str, pat: &str) -> Matcher {
    match Matcher::new(MatchOp::Regex, name, pat) {
        Ok(m) => m,
        Err(e) => panic!("bad test regex: {e}"),
    }
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    match Matcher::new(op, name, value) {
        Ok(m) => m,
        Err(e) => panic!("bad test matcher: {e}"),
    }
}

fn rejected(o: &AppendOutcome, r: RejectReason) -> usize {
    o.rejected
        .iter()
        .filter(|(x, _)| *x == r)
        .map(|(_, n)| *n)
        .sum()
}

fn bits(s: &[Sample]) -> Vec<(i64, u64)> {
    s.iter().map(|s| (s.t, s.v.to_bits())).collect()
}

fn flush(store: &dyn MetricStore) {
    if let Err(e) = store.flush() {
        panic!("flush failed: {e}");
    }
}

/// Asserts two stores agree on everything observable for `matchers` and `range`.
fn assert_same_view(
    what: &str,
    got: &dyn MetricStore,
    want: &dyn MetricStore,
    matchers: &[Matcher],
    range: TimeRange,
) {
    let g = select(got, matchers, range);
    let w = select(want, matchers, range);
    let gl: Vec<&Labels> = g.iter().map(|s| &s.labels).collect();
    let wl: Vec<&Labels> = w.iter().map(|s| &s.labels).collect();
    assert_eq!(gl, wl, "{what}: select series for {matchers:?} {range:?}");
    for (a, b) in g.iter().zip(&w) {
        assert_eq!(
            bits(&a.samples),
            bits(&b.samples),
            "{what}: samples of {} in {range:?}",
            a.labels
        );
    }
    for parts in [1, 2, 3, 7] {
        // At most `parts` streams (checked in `select_parts`); a stream may come out empty
        // when its candidates have no samples in range.
        let split = select_parts(got, matchers, range, parts);
        let joined: Vec<SeriesData> = split.into_iter().flatten().collect();
        assert_eq!(
            joined, g,
            "{what}: select_parts({parts}) differs from select"
        );
    }
    let gs = got.series(matchers, range).unwrap_or_default();
    let ws = want.series(matchers, range).unwrap_or_default();
    assert_eq!(gs, ws, "{what}: series() for {matchers:?} {range:?}");
    let gn = got.label_names(matchers, range).unwrap_or_default();
    let wn = want.label_names(matchers, range).unwrap_or_default();
    assert_eq!(gn, wn, "{what}: label_names() for {matchers:?} {range:?}");
    for name in &wn {
        let gv = got.label_values(name, matchers, range).unwrap_or_default();
        let wv = want.label_values(name, matchers, range).unwrap_or_default();
        assert_eq!(
            gv, wv,
            "{what}: label_values({name}) for {matchers:?} {range:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// scenarios

fn empty_store(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    assert!(select(&*s, &[all_name()], TimeRange::all()).is_empty());
    assert!(select(&*s, &[], TimeRange::all()).is_empty());
    assert_eq!(s.label_names(&[], TimeRange::all()).ok(), Some(vec![]));
    assert_eq!(
        s.label_values("job", &[], TimeRange::all()).ok(),
        Some(vec![])
    );
    assert_eq!(s.series(&[], TimeRange::all()).ok(), Some(vec![]));
    let st = s.status(10).unwrap_or_default();
    assert_eq!(st.num_series, 0);
    let o = append(&*s, &Batch::new());
    assert_eq!(o, AppendOutcome::default());
    flush(&*s);
}

fn append_and_select_sorted(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let b = l(&[("__name__", "up"), ("job", "b")]);
    let a = l(&[("__name__", "up"), ("job", "a")]);
    let c = l(&[("__name__", "cpu"), ("job", "a")]);
    let o = append(
        &*s,
        &batch(&[
            (b.clone(), vec![(1000, 1.0), (2000, 2.0)]),
            (a.clone(), vec![(1000, 3.0)]),
            (c.clone(), vec![(1500, 4.0), (2500, 5.0), (3500, 6.0)]),
        ]),
    );
    assert_eq!(o.accepted, 6, "{o:?}");
    assert_eq!(o.new_series, 3);
    assert_eq!(o.rejected_total(), 0);
    // A second batch for existing series creates nothing.
    let o = append(&*s, &batch(&[(a.clone(), vec![(2000, 3.5)])]));
    assert_eq!((o.accepted, o.new_series), (1, 0));
    let got = select(&*s, &[all_name()], TimeRange::all());
    let labels: Vec<&Labels> = got.iter().map(|x| &x.labels).collect();
    assert_eq!(labels, vec![&c, &a, &b], "sorted by label set");
    assert_eq!(
        got[0].samples,
        vec![
            Sample::new(1500, 4.0),
            Sample::new(2500, 5.0),
            Sample::new(3500, 6.0)
        ]
    );
    assert_eq!(
        got[1].samples,
        vec![Sample::new(1000, 3.0), Sample::new(2000, 3.5)]
    );
    // Both ends inclusive.
    let got = select(&*s, &[all_name()], TimeRange::new(2000, 2500));
    let n: Vec<usize> = got.iter().map(|x| x.samples.len()).collect();
    assert_eq!(n, vec![1, 1, 1]);
    // Empty matcher list selects everything.
    assert_eq!(select(&*s, &[], TimeRange::all()).len(), 3);
}

fn range_boundaries(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let a = l(&[("__name__", "m"), ("k", "a")]);
    let b = l(&[("__name__", "m"), ("k", "b")]);
    append(
        &*s,
        &batch(&[
            (a.clone(), vec![(10, 1.0), (20, 2.0), (30, 3.0)]),
            (b.clone(), vec![(25, 1.0)]),
        ]),
    );
    let r = TimeRange::new(21, 29);
    let got = select(&*s, &[all_name()], r);
    assert_eq!(got.len(), 1, "only b has a sample in [21, 29]");
    assert_eq!(got[0].labels, b);
    assert_eq!(s.series(&[all_name()], r).ok(), Some(vec![b.clone()]));
    assert_eq!(s.label_values("k", &[], r).ok(), Some(vec!["b".to_owned()]));
    let r = TimeRange::new(31, 100);
    assert!(select(&*s, &[all_name()], r).is_empty());
    assert_eq!(s.label_names(&[], r).ok(), Some(vec![]));
    let got = select(&*s, &[all_name()], TimeRange::new(20, 20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].samples, vec![Sample::new(20, 2.0)]);
    // An inverted range is empty, not an error or a panic.
    let r = TimeRange::new(30, 10);
    assert!(select(&*s, &[all_name()], r).is_empty());
    assert_eq!(s.series(&[all_name()], r).ok(), Some(vec![]));
    assert!(select_parts(&*s, &[all_name()], r, 2)
        .iter()
        .all(Vec::is_empty));
}

fn duplicates(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let a = l(&[("__name__", "m")]);
    let b = l(&[("__name__", "n")]);
    append(&*s, &batch(&[(a.clone(), vec![(1000, 1.0), (2000, 2.0)])]));
    let o = append(
        &*s,
        &batch(&[
            (a.clone(), vec![(1000, 1.0), (2000, 2.5), (3000, 3.0)]),
            (b.clone(), vec![(2000, 9.0)]),
        ]),
    );
    assert_eq!(o.accepted, 3, "identical re-send counts as accepted: {o:?}");
    assert_eq!(rejected(&o, RejectReason::Duplicate), 1);
    assert!(o.first_rejection.is_some());
    assert_eq!(o.new_series, 1);
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(
        got[0].samples,
        vec![
            Sample::new(1000, 1.0),
            Sample::new(2000, 2.0),
            Sample::new(3000, 3.0)
        ]
    );
    assert_eq!(got[1].samples, vec![Sample::new(2000, 9.0)]);
    // The same timestamp twice within one push: the first wins, the second is a duplicate.
    let o = append(&*s, &batch(&[(b.clone(), vec![(4000, 1.0), (4000, 2.0)])]));
    assert_eq!((o.accepted, rejected(&o, RejectReason::Duplicate)), (1, 1));
    // Duplicate of an out-of-order sample.
    let o = append(&*s, &batch(&[(b.clone(), vec![(3000, 1.0)])]));
    assert_eq!(o.accepted, 1);
    let o = append(&*s, &batch(&[(b.clone(), vec![(3000, 1.0), (3000, 7.0)])]));
    assert_eq!((o.accepted, rejected(&o, RejectReason::Duplicate)), (1, 1));
}

fn out_of_order_window(cfg: &ConformanceConfig, make: StoreFactory<'_>) {
    let w = cfg.ooo_window_ms;
    let s = make();
    let a = l(&[("__name__", "m"), ("s", "a")]);
    let b = l(&[("__name__", "m"), ("s", "b")]);
    let c = l(&[("__name__", "m"), ("s", "c")]);
    let t = 10 * w + 1_000_000;
    append(&*s, &batch(&[(a.clone(), vec![(t, 1.0)])]));
    let o = append(
        &*s,
        &batch(&[(
            a.clone(),
            vec![
                (t - w / 2, 2.0),
                (t - w, 3.0),
                (t - w - 1, 4.0),
                (t - 1, 5.0),
            ],
        )]),
    );
    assert_eq!(o.accepted, 3, "{o:?}");
    assert_eq!(rejected(&o, RejectReason::TooOld), 1);
    // Out of order for a new series but inside the window: accepted; outside: the series is not
    // created at all.
    let o = append(
        &*s,
        &batch(&[
            (b.clone(), vec![(t - 10, 1.0)]),
            (c.clone(), vec![(t - 2 * w, 1.0)]),
        ]),
    );
    assert_eq!((o.accepted, o.new_series), (1, 1), "{o:?}");
    assert_eq!(rejected(&o, RejectReason::TooOld), 1);
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(got.len(), 2, "series c must not exist");
    assert_eq!(
        bits(&got[0].samples),
        bits(&[
            Sample::new(t - w, 3.0),
            Sample::new(t - w / 2, 2.0),
            Sample::new(t - 1, 5.0),
            Sample::new(t, 1.0)
        ])
    );
    // The window moves with the newest sample of any series.
    append(&*s, &batch(&[(b.clone(), vec![(t + w, 1.0)])]));
    let o = append(
        &*s,
        &batch(&[(a.clone(), vec![(t - 1, 5.0), (t + 1, 1.0)])]),
    );
    assert_eq!(rejected(&o, RejectReason::TooOld), 1, "{o:?}");
    assert_eq!(o.accepted, 1);
    assert_eq!(
        s.series(&[m(MatchOp::Equal, "s", "c")], TimeRange::all())
            .ok(),
        Some(vec![])
    );
}

fn special_values_round_trip(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let vals = [
        STALE_NAN,
        f64::NAN,
        f64::from_bits(0x7ff8_0000_dead_beef),
        f64::from_bits(0xfff0_0000_0000_0001),
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 7.0,
        f64::MAX,
        f64::MIN,
        0.1 + 0.2,
        1e300,
        -123.456,
        STALE_NAN,
    ];
    let a = l(&[("__name__", "special")]);
    let samples: Vec<(i64, f64)> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 * 1000, *v))
        .collect();
    let o = append(&*s, &batch(&[(a.clone(), samples.clone())]));
    assert_eq!(o.accepted, vals.len());
    let got = select(&*s, &[all_name()], TimeRange::all());
    let want: Vec<Sample> = samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect();
    assert_eq!(bits(&got[0].samples), bits(&want));
    // A bit-identical NaN is a no-op, another NaN payload is a duplicate.
    let o = append(
        &*s,
        &batch(&[(a.clone(), vec![(0, STALE_NAN), (1000, STALE_NAN)])]),
    );
    assert_eq!((o.accepted, rejected(&o, RejectReason::Duplicate)), (1, 1));
    flush(&*s);
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(bits(&got[0].samples), bits(&want), "after flush");
}

fn matcher_fixture() -> Vec<Labels> {
    vec![
        l(&[("__name__", "m"), ("job", "a"), ("env", "prod")]),
        l(&[("__name__", "m"), ("job", "b")]),
        l(&[("__name__", "m"), ("job", "a"), ("env", "dev")]),
        l(&[("__name__", "other"), ("job", "c"), ("env", "prod")]),
        l(&[("__name__", "nojob")]),
        l(&[("__name__", "m"), ("job", "ab"), ("env", "")]),
    ]
}

fn matchers(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let set = matcher_fixture();
    let b = batch(
        &set.iter()
            .enumerate()
            .map(|(i, x)| (x.clone(), vec![(1000, i as f64)]))
            .collect::<Vec<_>>(),
    );
    append(&*s, &b);
    let cases: Vec<Vec<Matcher>> = vec![
        vec![m(MatchOp::Equal, "job", "a")],
        vec![m(MatchOp::NotEqual, "job", "a")],
        vec![m(MatchOp::Equal, "env", "")],
        vec![m(MatchOp::NotEqual, "env", "")],
        vec![m(MatchOp::Regex, "env", "pr.*")],
        vec![m(MatchOp::NotRegex, "env", "prod")],
        vec![m(MatchOp::Regex, "job", "a|b")],
        vec![m(MatchOp::Regex, "job", "a.*")],
        vec![m(MatchOp::Regex, "job", ".*")],
        vec![m(MatchOp::Regex, "job", "")],
        vec![m(MatchOp::Regex, "job", "x|")],
        vec![m(MatchOp::NotRegex, "job", ".+")],
        vec![m(MatchOp::NotRegex, "job", "")],
        vec![
            m(MatchOp::Equal, "__name__", "m"),
            m(MatchOp::NotEqual, "env", "dev"),
        ],
        vec![
            m(MatchOp::Equal, "__name__", "m"),
            m(MatchOp::Regex, "job", "a|ab"),
            m(MatchOp::Equal, "env", ""),
        ],
        vec![m(MatchOp::Equal, "missing", "")],
        vec![m(MatchOp::Equal, "missing", "x")],
        vec![
            m(MatchOp::Regex, "__name__", "m|nojob"),
            m(MatchOp::NotRegex, "job", "b"),
        ],
        vec![m(MatchOp::Equal, "job", "a"), m(MatchOp::Equal, "job", "b")],
    ];
    for pass in ["head", "after flush"] {
        if pass == "after flush" {
            flush(&*s);
        }
        check_matcher_cases(&*s, &set, &cases, pass);
    }
}

fn check_matcher_cases(s: &dyn MetricStore, set: &[Labels], cases: &[Vec<Matcher>], pass: &str) {
    for ms in cases {
        let ms = ms.as_slice();
        let want: Vec<Labels> = {
            let mut v: Vec<Labels> = set
                .iter()
                .filter(|x| ms.iter().all(|m| m.matches_labels(x)))
                .cloned()
                .collect();
            v.sort();
            v
        };
        let got: Vec<Labels> = select(s, ms, TimeRange::all())
            .into_iter()
            .map(|x| x.labels)
            .collect();
        assert_eq!(got, want, "{pass}: select {ms:?}");
        assert_eq!(
            s.series(ms, TimeRange::all()).ok(),
            Some(want.clone()),
            "{pass}: series {ms:?}"
        );
        let names: BTreeSet<String> = want
            .iter()
            .flat_map(|x| x.iter().map(|l| l.name.clone()))
            .collect();
        assert_eq!(
            s.label_names(ms, TimeRange::all()).ok(),
            Some(names.into_iter().collect::<Vec<_>>()),
            "{pass}: label_names {ms:?}"
        );
        let jobs: BTreeSet<String> = want
            .iter()
            .filter_map(|x| x.get("job").map(str::to_owned))
            .collect();
        assert_eq!(
            s.label_values("job", ms, TimeRange::all()).ok(),
            Some(jobs.into_iter().collect::<Vec<_>>()),
            "{pass}: label_values job {ms:?}"
        );
    }
}

fn series_and_label_apis(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let set = matcher_fixture();
    let b = batch(
        &set.iter()
            .enumerate()
            .map(|(i, x)| (x.clone(), vec![(1000 * i as i64, 1.0)]))
            .collect::<Vec<_>>(),
    );
    append(&*s, &b);
    let reference = MemStore::new(3_600_000);
    append(&reference, &b);
    for r in [
        TimeRange::all(),
        TimeRange::new(0, 0),
        TimeRange::new(1000, 3000),
        TimeRange::new(3001, 3999),
        TimeRange::new(5000, i64::MAX),
    ] {
        assert_same_view("apis", &*s, &reference, &[], r);
        assert_same_view("apis", &*s, &reference, &[m(MatchOp::Equal, "job", "a")], r);
        assert_same_view(
            "apis",
            &*s,
            &reference,
            &[m(MatchOp::NotEqual, "env", "")],
            r,
        );
    }
    assert_eq!(
        s.label_values("nope", &[], TimeRange::all()).ok(),
        Some(vec![])
    );
    assert_eq!(
        s.label_values("__name__", &[], TimeRange::all()).ok(),
        Some(vec!["m".to_owned(), "nojob".to_owned(), "other".to_owned()])
    );
}

fn status(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let mut series = Vec::new();
    for i in 0..5 {
        series.push((
            l(&[("__name__", "a"), ("i", &i.to_string())]),
            vec![(1000 + i, 1.0)],
        ));
    }
    for i in 0..3 {
        series.push((
            l(&[("__name__", "b"), ("i", &i.to_string())]),
            vec![(5000, 1.0)],
        ));
    }
    series.push((l(&[("__name__", "c")]), vec![(500, 1.0)]));
    let b = batch(&series);
    append(&*s, &b);
    let reference = MemStore::new(3_600_000);
    append(&reference, &b);
    let got = match s.status(2) {
        Ok(x) => x,
        Err(e) => panic!("status: {e}"),
    };
    let want = reference.status(2).unwrap_or_default();
    assert_eq!(got.num_series, 9);
    assert_eq!(got.num_series, want.num_series);
    assert_eq!(got.num_label_pairs, want.num_label_pairs);
    assert_eq!((got.min_time, got.max_time), (500, 5000));
    assert_eq!(
        got.series_count_by_metric_name,
        want.series_count_by_metric_name
    );
    assert_eq!(
        got.label_value_count_by_label_name,
        want.label_value_count_by_label_name
    );
    assert_eq!(
        got.series_count_by_label_value_pair,
        want.series_count_by_label_value_pair
    );
}

fn many_samples_per_series(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let a = l(&[("__name__", "long")]);
    let samples: Vec<(i64, f64)> = (0..2000)
        .map(|i| (i * 15_000 + (i % 7), (i as f64 * 1.37).floor()))
        .collect();
    for chunk in samples.chunks(333) {
        append(&*s, &batch(&[(a.clone(), chunk.to_vec())]));
    }
    let want: Vec<Sample> = samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect();
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(bits(&got[0].samples), bits(&want));
    let r = TimeRange::new(15_000 * 500, 15_000 * 1500);
    let got = select(&*s, &[all_name()], r);
    let want_r: Vec<Sample> = want.iter().copied().filter(|x| r.contains(x.t)).collect();
    assert_eq!(bits(&got[0].samples), bits(&want_r));
    flush(&*s);
    let got = select(&*s, &[all_name()], r);
    assert_eq!(bits(&got[0].samples), bits(&want_r), "after flush");
}

fn negative_and_large_timestamps(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let a = l(&[("__name__", "neg")]);
    let samples = vec![
        (-7_200_001, 1.0),
        (-5000, 2.0),
        (-1, 3.0),
        (0, 4.0),
        (1, 5.0),
    ];
    let o = append(&*s, &batch(&[(a.clone(), samples.clone())]));
    assert_eq!(o.accepted, 5);
    flush(&*s);
    let got = select(&*s, &[all_name()], TimeRange::new(-5000, 0));
    assert_eq!(
        got[0].samples,
        vec![
            Sample::new(-5000, 2.0),
            Sample::new(-1, 3.0),
            Sample::new(0, 4.0)
        ]
    );
    let s = make();
    let big = 4_000_000_000_000_000i64;
    let o = append(
        &*s,
        &batch(&[(a.clone(), vec![(big, 1.0), (big + 10_000, 2.0)])]),
    );
    assert_eq!(o.accepted, 2);
    flush(&*s);
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(got[0].samples.len(), 2);
}

fn flush_keeps_data_and_store_usable(cfg: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let reference = MemStore::new(cfg.ooo_window_ms);
    let a = l(&[("__name__", "f"), ("x", "a")]);
    let b = l(&[("__name__", "f"), ("x", "b")]);
    let t0 = 1_700_000_000_000i64;
    let b1 = batch(&[
        (
            a.clone(),
            (0..50).map(|i| (t0 + i * 10_000, i as f64)).collect(),
        ),
        (
            b.clone(),
            (0..10).map(|i| (t0 + i * 60_000, 0.5 * i as f64)).collect(),
        ),
    ]);
    append(&*s, &b1);
    append(&reference, &b1);
    flush(&*s);
    assert_same_view(
        "after flush",
        &*s,
        &reference,
        &[all_name()],
        TimeRange::all(),
    );
    // In order after the flushed data, out of order into the flushed range, re-sends of flushed
    // samples (identical: accepted; different: duplicate).
    let b2 = batch(&[
        (
            a.clone(),
            vec![
                (t0 + 500_000, 1.0),
                (t0 + 5_000, 2.0),
                (t0, 0.0),
                (t0 + 10_000, 9.0),
            ],
        ),
        (b.clone(), vec![(t0 + 30_000, 3.0)]),
    ]);
    let o = append(&*s, &b2);
    let r = append(&reference, &b2);
    assert_eq!(
        (o.accepted, o.rejected.clone()),
        (r.accepted, r.rejected.clone()),
        "outcome after flush"
    );
    assert_same_view(
        "after second append",
        &*s,
        &reference,
        &[all_name()],
        TimeRange::all(),
    );
    flush(&*s);
    flush(&*s);
    assert_same_view(
        "after second flush",
        &*s,
        &reference,
        &[all_name()],
        TimeRange::all(),
    );
    assert_same_view(
        "after second flush, range",
        &*s,
        &reference,
        &[m(MatchOp::Equal, "x", "a")],
        TimeRange::new(t0 + 5_000, t0 + 200_000),
    );
}

fn concurrent_appends_and_reads(_: &ConformanceConfig, make: StoreFactory<'_>) {
    let s = make();
    let threads = 4;
    let series_per = 50;
    let steps = 20;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let s = s.clone();
            scope.spawn(move || {
                for step in 0..steps {
                    let b = batch(
                        &(0..series_per)
                            .map(|i| {
                                (
                                    l(&[
                                        ("__name__", "conc"),
                                        ("t", &t.to_string()),
                                        ("i", &i.to_string()),
                                    ]),
                                    vec![(1_000 + step * 1000, (step * i) as f64)],
                                )
                            })
                            .collect::<Vec<_>>(),
                    );
                    let o = append(&*s, &b);
                    assert_eq!(o.accepted, series_per as usize);
                }
            });
        }
        let s = s.clone();
        scope.spawn(move || {
            for _ in 0..20 {
                for x in select(&*s, &[all_name()], TimeRange::all()) {
                    assert!(x.samples.windows(2).all(|w| w[0].t < w[1].t));
                }
            }
        });
    });
    let got = select(&*s, &[all_name()], TimeRange::all());
    assert_eq!(got.len(), threads as usize * series_per as usize);
    assert!(got.iter().all(|x| x.samples.len() == steps as usize));
}

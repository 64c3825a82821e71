//! PromQL differential test: the same data set (`promql_differential/dataset.rs`) pushed by
//! remote_write into Debian's Prometheus 2.42 and into Vigil, then every query of
//! `promql_differential/corpus.promql` run through both HTTP APIs — `/api/v1/query` at six
//! times and `/api/v1/query_range` over three ranges — and the answers compared
//! (`promql_differential/compare.rs`). Prints `N queries, P passed, F failed` with each
//! failure, writes the full report beside the test binaries, and fails if any query fails.
//!
//! Every evaluation time is a whole second that is not a multiple of 5 s; ranges, offsets and
//! subquery steps in the corpus are multiples of 5 s; sample timestamps are never whole
//! seconds. So no sample and no subquery step lands on a window boundary, where 2.42's closed
//! ranges and 3.x's left-open ones differ (see the data set's notes for the other choices).
//!
//! `VIGIL_PROMQL_FILTER=text` runs only the queries containing `text`; `VIGIL_PROMQL_HOLD=secs`
//! keeps both servers up after loading, to reproduce a failure by hand. The ignored test
//! `harness_prometheus_against_itself` runs the same comparison between two Prometheus
//! instances: it must pass, which validates the loading, the corpus and the comparison rules.

mod common;

#[path = "promql_differential/compare.rs"]
mod compare;
#[path = "promql_differential/dataset.rs"]
mod dataset;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use compare::{compare, describe, parse, Order, Outcome};
use serde_json::Value;
use vigil_model::{is_stale_nan, Batch, SeriesSamples};

/// Instant-query times, seconds after the data set's first step (≡ 2 mod 5): before and after
/// the fraud-detector v2 rollout, inside the recsys restart gap, during the canary, just after
/// the image-classifier partition, and 2 minutes after the last sample.
const INSTANT_AT: [i64; 6] = [1027, 2887, 4987, 7447, 9667, 10927];
/// Range queries: (start seconds after the first step, number of steps, step seconds).
const RANGES: [(i64, i64, i64); 3] = [(122, 180, 60), (4507, 120, 15), (302, 36, 300)];
/// Steps per remote_write request (7.5 minutes of every series).
const PUSH_STEPS: i64 = 30;

const CORPUS: &str = include_str!("promql_differential/corpus.promql");
const PARSE_ERRORS: &str = include_str!("promql_differential/parse_errors.promql");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modes {
    Both,
    Instant,
    Range,
}

struct Query {
    line: usize,
    text: String,
    modes: Modes,
}

/// Parses `d` like `1h2m3s` into seconds (units w, d, h, m, s; `None` for others, e.g. ms).
fn duration_s(d: &str) -> Option<i64> {
    let mut total = 0;
    let mut n = String::new();
    for c in d.chars() {
        if c.is_ascii_digit() {
            n.push(c);
            continue;
        }
        let unit = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total += n.parse::<i64>().ok()? * unit;
        n.clear();
    }
    n.is_empty().then_some(total)
}

/// Replaces each `{base+DURATION}` with the Unix time in seconds of `base_s + DURATION`.
fn expand(text: &str, base_s: i64) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{base+") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + "{base+".len()..];
        let end = tail.find('}').ok_or("unterminated {base+")?;
        let d =
            duration_s(&tail[..end]).ok_or_else(|| format!("bad duration {:?}", &tail[..end]))?;
        let _ = write!(out, "{}", base_s + d);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One query per line; `#` starts a comment line; `instant:` / `range:` restrict the API.
fn corpus(base_s: i64) -> Vec<Query> {
    let filter = std::env::var("VIGIL_PROMQL_FILTER").unwrap_or_default();
    let mut out = Vec::new();
    for (i, line) in CORPUS.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (modes, q) = if let Some(q) = line.strip_prefix("instant:") {
            (Modes::Instant, q)
        } else if let Some(q) = line.strip_prefix("range:") {
            (Modes::Range, q)
        } else {
            (Modes::Both, line)
        };
        let text =
            expand(q.trim(), base_s).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1));
        if text.contains(&filter) {
            out.push(Query {
                line: i + 1,
                text,
                modes,
            });
        }
    }
    out
}

/// Whether Prometheus defines the order of an instant vector: the outermost call is `sort` or
/// `sort_desc`.
fn sorted_by_value(q: &str) -> bool {
    let mut q = q.trim();
    while let Some(inner) = q.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        q = inner.trim();
    }
    let Some(args) = q
        .strip_prefix("sort_desc")
        .or_else(|| q.strip_prefix("sort"))
        .map(str::trim_start)
        .filter(|s| s.starts_with('('))
    else {
        return false;
    };
    let mut depth = 0;
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == args.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// One API call.
#[derive(Debug, Clone)]
enum Eval {
    Instant(i64),
    Range(i64, i64, i64),
}

impl Eval {
    fn all(base_s: i64, modes: Modes) -> Vec<Eval> {
        let mut v = Vec::new();
        if modes != Modes::Range {
            v.extend(INSTANT_AT.iter().map(|t| Eval::Instant(base_s + t)));
        }
        if modes != Modes::Instant {
            v.extend(
                RANGES
                    .iter()
                    .map(|(s, n, step)| Eval::Range(base_s + s, base_s + s + n * step, *step)),
            );
        }
        v
    }

    fn describe(&self, base_s: i64) -> String {
        let rel = |t: i64| {
            let d = t - base_s;
            format!("base+{}h{}m{}s", d / 3600, d % 3600 / 60, d % 60)
        };
        match self {
            Eval::Instant(t) => format!("instant at {t} ({})", rel(*t)),
            Eval::Range(s, e, step) => format!("range {s}..{e} step {step}s ({}..)", rel(*s)),
        }
    }

    fn run(&self, client: &reqwest::blocking::Client, api: &str, query: &str) -> Outcome {
        let req = match self {
            Eval::Instant(t) => client
                .get(format!("{api}/api/v1/query"))
                .query(&[("query", query), ("time", &t.to_string())]),
            Eval::Range(s, e, step) => client.get(format!("{api}/api/v1/query_range")).query(&[
                ("query", query),
                ("start", &s.to_string()),
                ("end", &e.to_string()),
                ("step", &step.to_string()),
            ]),
        };
        match req.send() {
            Ok(r) => {
                let status = r.status().as_u16();
                parse(status, &r.text().unwrap_or_default())
            }
            Err(e) => Outcome::Http {
                status: 0,
                body: e.to_string(),
            },
        }
    }
}

/// Pushes the data set in time order, `PUSH_STEPS` steps of every series per request.
fn push(url: &str, data: &[SeriesSamples], base_ms: i64) {
    let last = data
        .iter()
        .filter_map(|s| s.samples.last())
        .map(|s| s.t)
        .max()
        .expect("samples");
    let window = PUSH_STEPS * dataset::STEP_MS;
    let mut from = i64::MIN;
    let mut to = base_ms + window;
    while from <= last {
        let mut b = Batch::new();
        for s in data {
            let samples: Vec<_> = s
                .samples
                .iter()
                .filter(|x| x.t >= from && x.t < to)
                .copied()
                .collect();
            if !samples.is_empty() {
                b.series.push(SeriesSamples {
                    labels: s.labels.clone(),
                    samples,
                });
            }
        }
        let r = common::remote_write_to(url, &b);
        let status = r.status();
        assert!(
            status.is_success(),
            "remote_write to {url}: {status} {}",
            r.text().unwrap_or_default()
        );
        from = to;
        to += window;
    }
}

type Stored = BTreeMap<compare::Labels, Vec<(i64, u64)>>;

fn key(s: &SeriesSamples) -> compare::Labels {
    s.labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Values as bits, any NaN as one NaN, for exact comparison of stored data.
fn bits(v: f64) -> u64 {
    if v.is_nan() && !is_stale_nan(v) {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

/// What a server must hold after the push, staleness markers included or not.
fn expected(data: &[SeriesSamples], with_stale: bool) -> Stored {
    data.iter()
        .map(|s| {
            let pts = s
                .samples
                .iter()
                .filter(|x| with_stale || !is_stale_nan(x.v))
                .map(|x| (x.t, bits(x.v)))
                .collect();
            (key(s), pts)
        })
        .filter(|(_, p): &(_, Vec<_>)| !p.is_empty())
        .collect()
}

fn diff_stored(what: &str, want: &Stored, got: &Stored) -> Result<(), String> {
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() && extra.is_empty() && differ.is_empty() {
        return Ok(());
    }
    let show = |v: &[&compare::Labels]| v.first().map(|l| compare::fmt_labels(l));
    let first_diff = differ.first().map(|k| {
        let (w, g) = (&want[*k], &got[*k]);
        let i = w
            .iter()
            .zip(g)
            .position(|(a, b)| a != b)
            .unwrap_or(w.len().min(g.len()));
        let val = |p: Option<&(i64, u64)>| p.map(|(t, v)| (*t, f64::from_bits(*v)));
        format!(
            "{} vs {} samples, first difference at {i}: pushed {:?}, stored {:?}",
            w.len(),
            g.len(),
            val(w.get(i)),
            val(g.get(i))
        )
    });
    Err(format!(
        "{what} does not hold the pushed data: {} series missing (e.g. {:?}), {} unexpected \
         (e.g. {:?}), {} with different samples (e.g. {:?}: {:?})",
        missing.len(),
        show(&missing),
        extra.len(),
        show(&extra),
        differ.len(),
        show(&differ),
        first_diff,
    ))
}

/// Every raw sample Prometheus holds, through `{__name__=~".+"}[4h]`.
fn prometheus_stored(api: &str, at_s: i64) -> Stored {
    let r = Eval::Instant(at_s).run(&common::client(), api, r#"{__name__=~".+"}[4h]"#);
    let Outcome::Matrix(m) = r else {
        panic!("raw query: {}", describe(&r));
    };
    m.into_iter()
        .map(|(l, p)| (l, p.into_iter().map(|(t, v)| (t, bits(v))).collect()))
        .collect()
}

/// Every sample Vigil holds, through `/api/v1/export` (independent of the PromQL engine).
fn vigil_stored(v: &common::Vigil) -> Stored {
    common::export(v, r#"{__name__=~".+"}"#)
        .iter()
        .map(|line| {
            let mut labels: compare::Labels = line["metric"]
                .as_object()
                .expect("metric")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
                .collect();
            labels.sort();
            let ts = line["timestamps"].as_array().expect("timestamps");
            let vs = line["values"].as_array().expect("values");
            let pts = ts
                .iter()
                .zip(vs)
                .map(|(t, v)| {
                    let v = match v {
                        Value::String(s) if s == "StaleNaN" => vigil_model::STALE_NAN,
                        Value::String(_) => compare::num(v).expect("value"),
                        other => other.as_f64().expect("number"),
                    };
                    (t.as_i64().expect("timestamp"), bits(v))
                })
                .collect();
            (labels, pts)
        })
        .collect()
}

#[derive(Default)]
struct Report {
    queries: usize,
    passed: usize,
    evaluations: usize,
    reference_errors: usize,
    reference_empty: usize,
    failures: Vec<String>,
    classes: BTreeMap<&'static str, usize>,
    always_empty: Vec<String>,
    /// Queries the reference rejected at some evaluation, with its first error.
    reference_failing: Vec<String>,
}

fn is_empty(o: &Outcome) -> bool {
    matches!(o, Outcome::Vector(v) if v.is_empty())
        || matches!(o, Outcome::Matrix(m) if m.is_empty())
}

/// How a failed evaluation looks from the candidate's side.
fn classify(reference: &Outcome, candidate: &Outcome) -> &'static str {
    let unsupported = |msg: &str| {
        let m = msg.to_lowercase();
        ["not implemented", "not yet", "unsupported", "not supported"]
            .iter()
            .any(|p| m.contains(p))
    };
    match (reference, candidate) {
        (Outcome::Error { .. }, Outcome::Error { .. }) => "error type differs",
        (_, Outcome::Http { status, body })
            if matches!(status, 404 | 405 | 501) || unsupported(body) =>
        {
            "not implemented"
        }
        (_, Outcome::Error { message, .. }) if unsupported(message) => "not implemented",
        (_, Outcome::Http { .. }) => "candidate failed (HTTP)",
        (Outcome::Error { .. }, _) => "candidate succeeded, reference errored",
        (_, Outcome::Error { .. }) => "candidate errored, reference succeeded",
        _ => "result differs",
    }
}

/// Runs the corpus against both APIs.
fn run(reference: &str, candidate: &str, name: &str, base_s: i64) -> Report {
    let client = common::client();
    let mut report = Report::default();
    for q in corpus(base_s) {
        report.queries += 1;
        let mut failed = Vec::new();
        let mut empty = true;
        let mut reference_error = None;
        for e in Eval::all(base_s, q.modes) {
            report.evaluations += 1;
            let r = e.run(&client, reference, &q.text);
            let c = e.run(&client, candidate, &q.text);
            match &r {
                Outcome::Error { .. } => {
                    report.reference_errors += 1;
                    reference_error
                        .get_or_insert_with(|| format!("{}: {}", e.describe(base_s), describe(&r)));
                }
                o if is_empty(o) => report.reference_empty += 1,
                _ => empty = false,
            }
            let order = match (&e, sorted_by_value(&q.text)) {
                (Eval::Range(..), _) => Order::ByLabels,
                (Eval::Instant(_), true) => Order::ByValue,
                (Eval::Instant(_), false) => Order::Set,
            };
            if let Err(d) = compare(&r, &c, order) {
                *report.classes.entry(classify(&r, &c)).or_default() += 1;
                failed.push(format!("    {}: {d}", e.describe(base_s)));
            }
        }
        if empty {
            report
                .always_empty
                .push(format!("line {}: {}", q.line, q.text));
        }
        if let Some(err) = reference_error {
            report
                .reference_failing
                .push(format!("line {}: {}\n    {err}", q.line, q.text));
        }
        if failed.is_empty() {
            report.passed += 1;
        } else {
            let n = failed.len();
            failed.truncate(2);
            report.failures.push(format!(
                "line {}: {}\n  {n} evaluation(s) differ (prometheus vs {name}):\n{}",
                q.line,
                q.text,
                failed.join("\n")
            ));
        }
    }
    report
}

fn summary(r: &Report, name: &str) -> String {
    let mut s = format!(
        "{} queries, {} passed, {} failed ({} evaluations against {name}; reference: {} errors, {} empty results)\n",
        r.queries,
        r.passed,
        r.queries - r.passed,
        r.evaluations,
        r.reference_errors,
        r.reference_empty
    );
    for (class, n) in &r.classes {
        let _ = writeln!(s, "  {n} failed evaluations: {class}");
    }
    for f in &r.failures {
        let _ = writeln!(s, "{f}");
    }
    s
}

/// The data set's first step: a whole minute, 3 h 20 min ago, so that the data ends 20 min
/// before now and every query time lies in the past.
fn base_ms() -> i64 {
    let now_s = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("seconds");
    (now_s - 3 * 3600 - 20 * 60) / 60 * 60 * 1000
}

const PROMETHEUS_CONFIG: &str = "global:\n  evaluation_interval: 1m\n";

fn start_reference(dir: &std::path::Path, name: &str) -> Option<(common::Proc, String)> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    common::start_prometheus(&d, PROMETHEUS_CONFIG)
}

/// Loads the data set into the reference and checks that it stored exactly what was pushed.
fn load_reference(api: &str, data: &[SeriesSamples], base_ms: i64) {
    push(&format!("{api}/api/v1/write"), data, base_ms);
    let at = base_ms / 1000 + 3 * 3600 + 600;
    diff_stored(
        "prometheus",
        &expected(data, false),
        &prometheus_stored(api, at),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn finish(report: &Report, name: &str, started: Instant) {
    let text = summary(report, name);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("promql_differential.{name}.txt"));
    let mut full = text.clone();
    let _ = writeln!(
        full,
        "\nqueries with an empty result at every evaluation (reference):"
    );
    for q in &report.always_empty {
        let _ = writeln!(full, "  {q}");
    }
    let _ = writeln!(full, "\nqueries the reference rejected (first error):");
    for q in &report.reference_failing {
        let _ = writeln!(full, "  {q}");
    }
    std::fs::write(&path, &full).expect("write report");
    eprintln!(
        "{text}report: {} ({:.1} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        report.passed,
        report.queries,
        "PromQL differential: {} of {} queries differ from Prometheus 2.42 (see above)",
        report.queries - report.passed,
        report.queries
    );
}

/// `VIGIL_PROMQL_HOLD=SECONDS`: keep both servers up that long after loading, to reproduce a
/// failure by hand (`curl "$API/api/v1/query?query=…&time=…"`).
fn hold(reference: &str, candidate: &str, base_s: i64) {
    let Some(secs) = std::env::var("VIGIL_PROMQL_HOLD")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    eprintln!("holding {secs} s: prometheus {reference}, candidate {candidate}, base {base_s}");
    std::thread::sleep(std::time::Duration::from_secs(secs));
}

#[test]
fn promql_matches_prometheus() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_prom, reference)) = start_reference(dir.path(), "prom") else {
        return;
    };
    let v = common::Vigil::start(&dir.path().join("vigil"), &[]);
    let base = base_ms();
    let data = dataset::generate(base);
    load_reference(&reference, &data, base);
    push(&v.url("/api/v1/write"), &data, base);
    diff_stored("vigil", &expected(&data, true), &vigil_stored(&v))
        .unwrap_or_else(|e| panic!("{e}"));
    hold(&reference, &v.url(""), base / 1000);
    let report = run(&reference, &v.url(""), "vigil", base / 1000);
    finish(&report, "vigil", started);
}

/// `(status, errorType, error)` of an instant query.
fn query_error(
    client: &reqwest::blocking::Client,
    api: &str,
    query: &str,
) -> (u16, String, String) {
    let r = client
        .post(format!("{api}/api/v1/query"))
        .form(&[("query", query)])
        .send()
        .unwrap_or_else(|e| panic!("{api}: {e}"));
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().unwrap_or_default();
    let field = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    (status, field("errorType"), field("error"))
}

/// Malformed queries get Prometheus's 400 `bad_data` and, word for word, its
/// `line:col: parse error: …` message. Known differences (`~ ` lines) are printed.
#[test]
fn parse_errors_match_prometheus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_prom, reference)) = start_reference(dir.path(), "prom") else {
        return;
    };
    let v = common::Vigil::start(&dir.path().join("vigil"), &[]);
    let client = common::client();
    let (mut same, mut known, mut wrong) = (0, Vec::new(), Vec::new());
    for line in PARSE_ERRORS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (expect_same, q) = match line.strip_prefix("~ ") {
            Some(q) => (false, q),
            None => (true, line),
        };
        let p = query_error(&client, &reference, q);
        let c = query_error(&client, &v.url(""), q);
        assert_eq!(
            (p.0, p.1.as_str()),
            (400, "bad_data"),
            "prometheus on {q:?}: {p:?}"
        );
        let positioned = c.2.split(": parse error: ").next().is_some_and(|pos| {
            pos.rsplit(' ').next().is_some_and(|lc| {
                lc.split(':').all(|n| n.parse::<u32>().is_ok()) && lc.contains(':')
            })
        });
        if (c.0, c.1.as_str()) != (400, "bad_data") || !positioned {
            wrong.push(format!("{q:?}: vigil answered {c:?}, prometheus {p:?}"));
        } else if p.2 == c.2 {
            same += 1;
            if !expect_same {
                wrong.push(format!("{q:?}: now identical, drop the `~` mark"));
            }
        } else if expect_same {
            wrong.push(format!(
                "{q:?}:\n  prometheus: {}\n  vigil:      {}",
                p.2, c.2
            ));
        } else {
            known.push(format!(
                "{q:?}:\n  prometheus: {}\n  vigil:      {}",
                p.2, c.2
            ));
        }
    }
    eprintln!(
        "parse errors: {same} identical to Prometheus 2.42, {} known differences, {} failures",
        known.len(),
        wrong.len()
    );
    for k in &known {
        eprintln!("known difference {k}");
    }
    assert!(
        wrong.is_empty(),
        "parse errors differ:\n{}",
        wrong.join("\n")
    );
}

/// The harness against itself: two Prometheus 2.42 instances loaded alike must agree on every
/// query. Validates loading, corpus and comparison; run when changing any of them.
#[test]
#[ignore = "harness self-check (two Prometheus instances); run with --ignored"]
fn harness_prometheus_against_itself() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_a, reference)) = start_reference(dir.path(), "a") else {
        return;
    };
    let Some((_b, candidate)) = start_reference(dir.path(), "b") else {
        return;
    };
    let base = base_ms();
    let data = dataset::generate(base);
    load_reference(&reference, &data, base);
    load_reference(&candidate, &data, base);
    let report = run(&reference, &candidate, "prometheus", base / 1000);
    finish(&report, "prometheus", started);
}

/// Every duration literal of a query (`5m`, `1h30m`, `90s`), in seconds; `None` for one that is
/// not a whole number of seconds (`1500ms`). Quoted strings are skipped.
fn duration_literals(q: &str) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if matches!(c, '"' | '\'' | '`') {
            let mut escaped = false;
            for d in chars.by_ref() {
                if d == c && !escaped {
                    break;
                }
                escaped = d == '\\' && !escaped && c != '`';
            }
            prev = c;
            continue;
        }
        if c.is_ascii_digit() && !(prev.is_alphanumeric() || prev == '_' || prev == '.') {
            let mut lit = c.to_string();
            while let Some(&d) = chars.peek() {
                if !(d.is_ascii_alphanumeric() || d == '.') {
                    break;
                }
                lit.push(d);
                chars.next();
            }
            prev = lit.chars().last().unwrap_or(c);
            let units = lit.trim_start_matches(|x: char| x.is_ascii_digit());
            if units.starts_with(|x: char| "smhdwy".contains(x)) {
                out.push(duration_s(&lit));
            }
            continue;
        }
        prev = c;
    }
    out
}

#[test]
fn corpus_is_well_formed() {
    let qs = corpus(1_700_000_000);
    if std::env::var("VIGIL_PROMQL_FILTER").is_err() {
        assert!(qs.len() >= 200, "{} queries", qs.len());
    }
    for q in &qs {
        assert!(!q.text.contains("{base+"), "line {}", q.line);
        // The boundary rule: durations are multiples of 5 s, evaluation times never are.
        for d in duration_literals(&q.text) {
            assert!(
                d.is_some_and(|d| d % 5 == 0),
                "line {}: duration {d:?} s is not a multiple of 5 s: {}",
                q.line,
                q.text
            );
        }
    }
    for (i, line) in CORPUS.lines().enumerate() {
        let mut rest = line;
        while let Some(p) = rest.find("{base+") {
            let tail = &rest[p + "{base+".len()..];
            let end = tail.find('}').unwrap_or(tail.len());
            let d = duration_s(&tail[..end]);
            assert!(
                d.is_some_and(|d| d % 5 != 0),
                "line {}: an `@` time must not be a multiple of 5 s",
                i + 1
            );
            rest = &tail[end..];
        }
    }
    assert_eq!(
        duration_literals(r#"rate(x{a="5m"}[1h30m] offset 90s) + 1e3 + 0x1F + v2[5m10s:30s]"#),
        vec![Some(5400), Some(90), Some(310), Some(30)]
    );
    assert_eq!(
        duration_literals("x[1d] offset 1500ms"),
        vec![Some(86_400), None]
    );
    assert_eq!(duration_s("1h2m3s"), Some(3723));
    assert_eq!(expand("x @ {base+1m}", 100).as_deref(), Ok("x @ 160"));
    assert!(sorted_by_value("sort_desc(sum by (a) (x))"));
    assert!(sorted_by_value("(sort(x))"));
    assert!(!sorted_by_value("sort(x) + 1"));
    assert!(!sorted_by_value("sum(sort(x))"));
    for (s, n, step) in RANGES {
        assert!(s % 5 != 0 && step % 5 == 0 && n > 0);
    }
    assert!(INSTANT_AT.iter().all(|t| t % 5 != 0));
}

//! `/federate`: the latest sample of every series matching the `match[]` selectors, in the
//! Prometheus text format, as Prometheus serves it (`web/federate.go`): within the query
//! lookback delta before now, staleness markers left out, one `# TYPE … untyped` family per
//! metric name, each sample with its timestamp, and the `global.external_labels` attached to
//! series that lack them (with `instance=""` when neither has an instance).

use std::collections::BTreeMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use vigil_model::{is_stale_nan, Labels, Sample, METRIC_NAME_LABEL};
use vigil_storage::{MetricStore, StorageError, TimeRange};

use crate::numfmt::text_float;
use crate::params::Params;
use crate::AppState;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn plain(code: StatusCode, msg: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg,
    )
        .into_response()
}

/// `GET /federate?match[]=…`. Errors are plain text, as Prometheus's are: 400 for a
/// missing or invalid selector, 500 for a storage failure.
pub async fn federate(st: &AppState, p: Params) -> Response {
    let sets = match p.matchers().await {
        Ok(s) => s,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.message),
    };
    if sets.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            "no match[] parameter provided".to_owned(),
        );
    }
    let now = st.clock.now_ms();
    let lookback = i64::try_from(st.query.limits().lookback_delta.as_millis()).unwrap_or(i64::MAX);
    let range = TimeRange::new(now.saturating_sub(lookback), now);
    let external = st.config.read().external_labels.clone();
    let store = st.store.clone();
    let task = tokio::task::spawn_blocking(move || {
        let latest = latest_samples(store.as_ref(), &sets, range)?;
        Ok::<_, StorageError>(encode(latest, &external))
    });
    match task.await {
        Ok(Ok(body)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
        }
        Ok(Err(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("federation task failed: {e}"),
        ),
    }
}

/// The last sample of each matching series in `range`, sorted by labels; a series whose last
/// sample is a staleness marker is left out (the exposition formats cannot carry one).
fn latest_samples(
    store: &dyn MetricStore,
    sets: &[Vec<vigil_model::Matcher>],
    range: TimeRange,
) -> Result<BTreeMap<Labels, Sample>, StorageError> {
    let mut latest = BTreeMap::new();
    for m in sets {
        for sd in store.select(m, range)? {
            let sd = sd?;
            if let Some(s) = sd.samples.last() {
                if !is_stale_nan(s.v) {
                    latest.insert(sd.labels, *s);
                }
            }
        }
    }
    Ok(latest)
}

fn label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn encode(latest: BTreeMap<Labels, Sample>, external: &Labels) -> String {
    let mut series: Vec<(Labels, Sample)> = latest
        .into_iter()
        .filter(|(l, _)| l.metric_name().is_some_and(|n| !n.is_empty()))
        .collect();
    // Prometheus groups by metric name only; within a name the order stays by labels.
    series.sort_by(|(a, _), (b, _)| a.metric_name().cmp(&b.metric_name()));
    let mut ext: BTreeMap<&str, &str> = external
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    ext.entry("instance").or_insert("");

    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (labels, s) in &series {
        let name = labels.metric_name().unwrap_or_default();
        if last_name != Some(name) {
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(" untyped\n");
            last_name = Some(name);
        }
        out.push_str(name);
        out.push('{');
        let mut first = true;
        let mut pair = |out: &mut String, n: &str, v: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(n);
            out.push_str("=\"");
            label_value(out, v);
            out.push('"');
        };
        for l in labels {
            if l.name != METRIC_NAME_LABEL && !l.value.is_empty() {
                pair(&mut out, &l.name, &l.value);
            }
        }
        for (n, v) in &ext {
            if labels.get(n).is_none_or(str::is_empty) {
                pair(&mut out, n, v);
            }
        }
        out.push_str("} ");
        text_float(&mut out, s.v);
        out.push(' ');
        out.push_str(&s.t.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    #[test]
    fn families_labels_and_external_labels() {
        let mut m = BTreeMap::new();
        m.insert(
            l(&[("__name__", "up"), ("instance", "a:1"), ("job", "x")]),
            Sample::new(1000, 1.0),
        );
        m.insert(
            l(&[("__name__", "job:rate"), ("job", "x\"y")]),
            Sample::new(2000, 1234567.0),
        );
        m.insert(
            l(&[("__name__", "up"), ("instance", "b:1"), ("job", "x")]),
            Sample::new(1000, 0.0),
        );
        m.insert(l(&[("job", "nameless")]), Sample::new(1000, 0.0));
        let ext = l(&[("cluster", "eu"), ("job", "ignored")]);
        assert_eq!(
            encode(m, &ext),
            "# TYPE job:rate untyped\n\
             job:rate{job=\"x\\\"y\",cluster=\"eu\",instance=\"\"} 1.234567e+06 2000\n\
             # TYPE up untyped\n\
             up{instance=\"a:1\",job=\"x\",cluster=\"eu\"} 1 1000\n\
             up{instance=\"b:1\",job=\"x\",cluster=\"eu\"} 0 1000\n"
        );
    }
}

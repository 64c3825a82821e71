//! The routers over the in-memory reference store, without a network.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{call, get, post, state};
use vigil_model::{Batch, Labels, Sample};

fn rw_body() -> Vec<u8> {
    let mut b = Batch::new();
    let l = Labels::from_pairs([("__name__", "m"), ("job", "j")]).expect("labels");
    b.series.push(vigil_model::SeriesSamples {
        labels: l,
        samples: vec![
            Sample::new(1_700_000_000_000, 1.5),
            Sample::new(1_700_000_001_000, f64::INFINITY),
        ],
    });
    vigil_codec::remote_write::encode(&b)
}

#[tokio::test]
async fn write_then_read_back() {
    let st = state();
    let (s, body) = call(
        &st,
        Request::post("/api/v1/write")
            .header("Content-Encoding", "snappy")
            .body(Body::from(rw_body()))
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = get(&st, "/api/v1/export?match[]=m").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body.trim(),
        r#"{"metric":{"__name__":"m","job":"j"},"timestamps":[1700000000000,1700000001000],"values":[1.5,"+Inf"]}"#
    );
    // The same timestamp with another value is a duplicate: 400, the first write kept.
    let mut dup = Batch::new();
    dup.push(
        Labels::from_pairs([("__name__", "m"), ("job", "j")]).expect("labels"),
        Sample::new(1_700_000_000_000, 9.0),
    );
    let (s, body) = post(
        &st,
        "/api/v1/write",
        vigil_codec::remote_write::encode(&dup),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("duplicate sample"), "{body}");
}

#[tokio::test]
async fn parameter_errors_are_bad_data() {
    let st = state();
    for uri in [
        "/api/v1/series",
        "/api/v1/series?match[]=up{",
        "/api/v1/series?match[]=up&start=yesterday",
        "/api/v1/labels?limit=-1",
        "/api/v1/label/1bad/values",
        "/api/v1/export",
    ] {
        let (s, body) = get(&st, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["errorType"], "bad_data", "{uri}");
        assert!(!v["error"].as_str().unwrap_or("").is_empty(), "{uri}");
    }
}

#[tokio::test]
async fn ops_endpoints() {
    let st = state();
    assert_eq!(get(&st, "/-/healthy").await.0, StatusCode::OK);
    assert_eq!(get(&st, "/-/ready").await.0, StatusCode::OK);
    let (s, body) = post(&st, "/-/reload", Body::empty()).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("no config file"));
    assert_eq!(
        post(&st, "/api/v1/write", rw_body()).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = get(&st, "/metrics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("vigil_samples_ingested_total{protocol=\"remote_write\"} 2"),
        "{body}"
    );
    assert!(
        body.contains("vigil_ingest_requests_total{protocol=\"remote_write\",code=\"204\"} 1"),
        "{body}"
    );
}

#[tokio::test]
async fn instant_query_time_defaults_to_the_injected_clock() {
    let st = state();
    let (s, body) = get(&st, "/api/v1/query?query=time()").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1700000000"]}}"#
    );
}

#[tokio::test]
async fn federate_uses_the_injected_clock_and_lookback() {
    let st = state();
    assert_eq!(
        post(&st, "/api/v1/write", rw_body()).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = get(&st, "/federate?match[]=m").await;
    assert_eq!(s, StatusCode::OK);
    // The clock stands at the first sample; the second (1 s later) is in the future.
    assert_eq!(
        body,
        "# TYPE m untyped\nm{job=\"j\",instance=\"\"} 1.5 1700000000000\n"
    );
}

#[tokio::test]
async fn pushed_metadata_is_served() {
    let st = state();
    let body = "# HELP m_total Things.\n# TYPE m_total counter\nm_total 1\n";
    assert_eq!(
        post(&st, "/api/v1/import/prometheus", body).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = get(&st, "/api/v1/metadata").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"m_total":[{"type":"counter","help":"Things.","unit":""}]}}"#
    );
}

/// Regression: `end - start` of a range query overflowed i64 (a panic in debug builds) for
/// times at the ends of the representable range; such a range is refused as too many points.
#[tokio::test]
async fn range_query_with_extreme_times_is_refused_not_overflowed() {
    let st = state();
    let (s, body) = get(
        &st,
        "/api/v1/query_range?query=1&start=-9000000000000000&end=9000000000000000&step=9000000000",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("exceeded maximum resolution"), "{body}");
}

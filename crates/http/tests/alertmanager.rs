//! Alertmanager's API v2 on the main router, in process. The expected status codes and bodies
//! of `errors_as_alertmanager_answers_them` were recorded from Alertmanager 0.25.0 (Debian
//! `prometheus-alertmanager` 0.25.0-1+b4) with curl; the server crate's `alertmanager_api`
//! test compares against a running Alertmanager when one is installed.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{call_full, get, post_json, state, state_with};

// The clock stands at 2023-11-14T22:13:20Z.
const NOW: &str = "2023-11-14T22:13:20Z";
const LATER: &str = "2023-11-14T23:13:20Z";
const EARLIER: &str = "2023-11-14T21:13:20Z";
const UNKNOWN_ID: &str = "2c2b9bb2-7a1b-4b8a-9f6e-0a3d1f0c7e11";

fn silence_body(matchers: &str, starts: &str, ends: &str) -> String {
    format!(
        r#"{{"matchers":{matchers},"startsAt":"{starts}","endsAt":"{ends}","createdBy":"me","comment":"c"}}"#
    )
}

enum Want {
    /// Exactly this body.
    Is(&'static str),
    /// A body starting with this.
    Starts(&'static str),
}

/// Method, URI, content type, body, expected status, expected body.
type Case<'a> = (Method, String, Option<&'a str>, String, u16, Want);

/// `POST uri` with a JSON body.
fn post(uri: impl Into<String>, body: impl Into<String>, status: u16, want: Want) -> Case<'static> {
    (
        Method::POST,
        uri.into(),
        Some("application/json"),
        body.into(),
        status,
        want,
    )
}

/// `METHOD uri` without a body or content type.
fn no_body(method: Method, uri: impl Into<String>, status: u16, want: Want) -> Case<'static> {
    (method, uri.into(), None, String::new(), status, want)
}

async fn request(
    st: &vigil_http::AppState,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: String,
) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    call_full(st, req.body(Body::from(body)).expect("request")).await
}

#[tokio::test]
async fn errors_as_alertmanager_answers_them() {
    let st = state();
    let ok_matcher = r#"[{"name":"a","value":"b","isRegex":false}]"#;
    let cases: Vec<Case> = vec![
        post(
            "/api/v2/alerts",
            "not json",
            400,
            Want::Starts(
                r#"{"code":400,"message":"parsing alerts body from \"\" failed, because "#,
            ),
        ),
        post(
            "/api/v2/alerts",
            "{}",
            400,
            Want::Starts(
                r#"{"code":400,"message":"parsing alerts body from \"\" failed, because "#,
            ),
        ),
        post(
            "/api/v2/alerts",
            "[{}]",
            422,
            Want::Is(r#"{"code":602,"message":"0.labels in body is required"}"#),
        ),
        post(
            "/api/v2/alerts",
            r#"[{"labels":{"a":"b"}},{"labels":null}]"#,
            422,
            Want::Is(r#"{"code":602,"message":"1.labels in body is required"}"#),
        ),
        post(
            "/api/v2/alerts",
            r#"[{"labels":{}}]"#,
            400,
            Want::Is(concat!(r#""at least one label pair required""#, "\n")),
        ),
        post(
            "/api/v2/alerts",
            format!(r#"[{{"labels":{{"a":"b"}},"startsAt":"{NOW}","endsAt":"{EARLIER}"}}]"#),
            400,
            Want::Is(concat!(r#""start time must be before end time""#, "\n")),
        ),
        post(
            "/api/v2/alerts",
            r#"[{"labels":{"1a":"b"}},{"labels":{}}]"#,
            400,
            Want::Is(concat!(
                r#""invalid label set: invalid name \"1a\"; at least one label pair required""#,
                "\n"
            )),
        ),
        post(
            "/api/v2/alerts",
            r#"[{"labels":{"a":"b"},"generatorURL":"::bad"}]"#,
            422,
            Want::Is(
                r#"{"code":601,"message":"0.generatorURL in body must be of type uri: \"::bad\""}"#,
            ),
        ),
        post(
            "/api/v2/alerts",
            "  ",
            422,
            Want::Is(r#"{"code":602,"message":"alerts in body is required"}"#),
        ),
        (
            Method::POST,
            "/api/v2/alerts".into(),
            Some("application/x-www-form-urlencoded"),
            "[]".into(),
            415,
            Want::Is(
                r#"{"code":415,"message":"unsupported media type \"application/x-www-form-urlencoded\", only [application/json] are allowed"}"#,
            ),
        ),
        (
            Method::POST,
            "/api/v2/alerts".into(),
            None,
            "[]".into(),
            415,
            Want::Is(
                r#"{"code":415,"message":"unsupported media type \"application/octet-stream\", only [application/json] are allowed"}"#,
            ),
        ),
        (
            Method::POST,
            "/api/v2/alerts".into(),
            Some("application/json; charset=utf-8"),
            "[]".into(),
            200,
            Want::Is(""),
        ),
        post("/api/v2/alerts", "null", 200, Want::Is("")),
        post(
            "/api/v2/silences",
            "bad",
            400,
            Want::Starts(
                r#"{"code":400,"message":"parsing silence body from \"\" failed, because "#,
            ),
        ),
        post(
            "/api/v2/silences",
            "{}",
            422,
            Want::Is(r#"{"code":602,"message":"comment in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            "null",
            422,
            Want::Is(r#"{"code":602,"message":"comment in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            "",
            422,
            Want::Is(r#"{"code":602,"message":"silence in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            r#"{"comment":"c"}"#,
            422,
            Want::Is(r#"{"code":602,"message":"createdBy in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            r#"{"createdBy":"a","comment":"c"}"#,
            422,
            Want::Is(r#"{"code":602,"message":"endsAt in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            silence_body("null", NOW, LATER),
            422,
            Want::Is(r#"{"code":602,"message":"matchers in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            silence_body("[]", NOW, LATER),
            422,
            Want::Is(r#"{"code":612,"message":"matchers in body should have at least 1 items"}"#),
        ),
        post(
            "/api/v2/silences",
            silence_body("[{}]", NOW, LATER),
            422,
            Want::Is(r#"{"code":602,"message":"matchers.0.isRegex in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            silence_body(r#"[{"isRegex":false}]"#, NOW, LATER),
            422,
            Want::Is(r#"{"code":602,"message":"matchers.0.name in body is required"}"#),
        ),
        post(
            "/api/v2/silences",
            silence_body(ok_matcher, LATER, NOW),
            400,
            Want::Is(concat!(
                r#""Failed to create silence: start time must be before end time""#,
                "\n"
            )),
        ),
        post(
            "/api/v2/silences",
            silence_body(r#"[{"name":"a","value":"","isRegex":false}]"#, NOW, LATER),
            400,
            Want::Is(concat!(
                r#""silence invalid: at least one matcher must not match the empty string""#,
                "\n"
            )),
        ),
        post(
            "/api/v2/silences",
            silence_body(r#"[{"name":"1a","value":"b","isRegex":false}]"#, NOW, LATER),
            400,
            Want::Is(concat!(
                r#""silence invalid: invalid label matcher 0: invalid label name \"1a\"""#,
                "\n"
            )),
        ),
        post(
            "/api/v2/silences",
            format!(
                r#"{{"id":"nope","matchers":{ok_matcher},"startsAt":"{NOW}","endsAt":"{LATER}","createdBy":"a","comment":"c"}}"#
            ),
            404,
            Want::Is(concat!(r#""silence not found""#, "\n")),
        ),
        no_body(
            Method::GET,
            "/api/v2/silence/nope",
            422,
            Want::Is(
                r#"{"code":601,"message":"silenceID in path must be of type uuid: \"nope\""}"#,
            ),
        ),
        no_body(
            Method::DELETE,
            "/api/v2/silence/nope",
            422,
            Want::Is(
                r#"{"code":601,"message":"silenceID in path must be of type uuid: \"nope\""}"#,
            ),
        ),
        no_body(
            Method::GET,
            format!("/api/v2/silence/{UNKNOWN_ID}"),
            404,
            Want::Is(""),
        ),
        no_body(
            Method::GET,
            "/api/v2/silence/2C2B9BB27A1B4B8A9F6E0A3D1F0C7E11",
            404,
            Want::Is(""),
        ),
        // Alertmanager 0.25 answers 500 "silence not found" here; the spec (and later
        // releases) say 404.
        no_body(
            Method::DELETE,
            format!("/api/v2/silence/{UNKNOWN_ID}"),
            404,
            Want::Is(""),
        ),
        no_body(
            Method::GET,
            "/api/v2/silence/",
            404,
            Want::Is(r#"{"code":404,"message":"path /api/v2/silence/ was not found"}"#),
        ),
        no_body(
            Method::GET,
            "/api/v2/nope",
            404,
            Want::Is(r#"{"code":404,"message":"path /api/v2/nope was not found"}"#),
        ),
        no_body(
            Method::PUT,
            "/api/v2/alerts",
            405,
            Want::Is(r#"{"code":405,"message":"method PUT is not allowed, but [GET,POST] are"}"#),
        ),
        no_body(
            Method::DELETE,
            "/api/v2/silences",
            405,
            Want::Is(
                r#"{"code":405,"message":"method DELETE is not allowed, but [GET,POST] are"}"#,
            ),
        ),
        no_body(
            Method::GET,
            "/api/v2/alerts?filter=foo",
            400,
            Want::Is(concat!(r#""bad matcher format: foo""#, "\n")),
        ),
        no_body(
            Method::GET,
            "/api/v2/alerts/groups?filter=%7Ba=b%7Dx",
            400,
            Want::Is(concat!(r#""bad matcher format: {a=b}x""#, "\n")),
        ),
        no_body(
            Method::GET,
            "/api/v2/silences?filter=foo",
            400,
            Want::Is(concat!(r#""bad matcher format: foo""#, "\n")),
        ),
        no_body(
            Method::GET,
            "/api/v2/alerts?receiver=(",
            400,
            Want::Starts("\"failed to parse receiver param: "),
        ),
    ];
    let mut failures = Vec::new();
    for (method, uri, ct, body, code, want) in cases {
        let what = format!("{method} {uri} {body:?}");
        let (status, content_type, got) = request(&st, method, &uri, ct, body).await;
        let body_ok = match want {
            Want::Is(w) => got == w,
            Want::Starts(w) => got.starts_with(w),
        };
        if status.as_u16() != code || !body_ok {
            failures.push(format!("{what}: got {status} {got}"));
        }
        if !got.is_empty() && content_type != "application/json" {
            failures.push(format!("{what}: content type {content_type:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn silence_lifecycle() {
    let st = state();
    let (s, body) = post_json(
        &st,
        "/api/v2/silences",
        silence_body(
            r#"[{"name":"alertname","value":"Foo","isRegex":false}]"#,
            NOW,
            LATER,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = v["silenceID"].as_str().expect("silenceID").to_owned();

    let (s, body) = get(&st, &format!("/api/v2/silence/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"]["state"], "active");
    assert_eq!(v["matchers"][0]["isEqual"], true);

    let (s, body) = get(&st, "/api/v2/silences?filter=alertname%3DFoo").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{body}");
    let (_, body) = get(&st, "/api/v2/silences?filter=alertname%3DBar").await;
    assert_eq!(body, "[]\n");

    let (s, _, body) = request(
        &st,
        Method::DELETE,
        &format!("/api/v2/silence/{id}"),
        None,
        String::new(),
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    let (_, body) = get(&st, &format!("/api/v2/silence/{id}")).await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"]["state"], "expired");
}

#[tokio::test]
async fn alerts_filters_groups_and_invalid_ones_do_not_take_valid_ones_down() {
    let config = "route:\n  receiver: team\n  group_by: [alertname]\n  routes:\n    - matchers: [severity=page]\n      receiver: pager\nreceivers:\n  - name: team\n  - name: pager\ninhibit_rules:\n  - source_matchers: [alertname=Down]\n    target_matchers: [alertname=Slow]\n    equal: [job]\n";
    let (st, _clock) = state_with(config);
    // One invalid alert next to three valid ones: 400, the valid ones stored.
    let (s, body) = post_json(
        &st,
        "/api/v2/alerts",
        r#"[{"labels":{"alertname":"Down","job":"api","severity":"page"}},
            {"labels":{"alertname":"Slow","job":"api"}},
            {"labels":{}},
            {"labels":{"alertname":"Quiet","job":"db"},"annotations":{"summary":"s"},"generatorURL":"http://prom/graph"}]"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body, "\"at least one label pair required\"\n");

    let names = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let (s, body) = get(&st, "/api/v2/alerts").await;
    assert_eq!(s, StatusCode::OK);
    let mut all = names(&body);
    all.sort();
    assert_eq!(all, ["Down", "Quiet", "Slow"]);
    let (_, body) = get(&st, "/api/v2/alerts?inhibited=false").await;
    assert!(!names(&body).contains(&"Slow".to_owned()), "{body}");
    let (_, body) = get(&st, "/api/v2/alerts?active=false").await;
    assert_eq!(names(&body), ["Slow"]);
    let (_, body) = get(&st, "/api/v2/alerts?receiver=pager").await;
    assert_eq!(names(&body), ["Down"]);
    let (_, body) = get(&st, "/api/v2/alerts?filter=job%3D%22db%22").await;
    assert_eq!(names(&body), ["Quiet"]);

    let (s, body) = get(&st, "/api/v2/alerts/groups?filter=job%3Dapi").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let groups = v.as_array().expect("groups");
    assert_eq!(groups.len(), 2, "{body}");
    assert!(groups
        .iter()
        .any(|g| g["receiver"]["name"] == "pager" && g["labels"]["alertname"] == "Down"));

    let (_, metrics) = get(&st, "/metrics").await;
    assert!(
        metrics.contains("vigil_alerts_received_total{status=\"firing\"} 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn status_and_receivers() {
    let st = state();
    let (s, body) = get(&st, "/api/v2/receivers").await;
    assert_eq!(
        (s, body.as_str()),
        (StatusCode::OK, "[{\"name\":\"default\"}]\n")
    );
    let (s, body) = get(&st, "/api/v2/status").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["cluster"]["status"], "disabled");
    assert!(v["config"]["original"]
        .as_str()
        .is_some_and(|o| o.contains("receiver: default")));
    assert!(v["uptime"]
        .as_str()
        .is_some_and(|u| u.starts_with("2023-11-14T22:13:20")));
}

#[tokio::test]
async fn bodies_over_the_push_limit_are_refused() {
    let st = state();
    st.limits.write().decode.max_body_bytes = 64;
    let body = format!(r#"[{{"labels":{{"alertname":"{}"}}}}]"#, "x".repeat(100));
    let (s, b) = post_json(&st, "/api/v2/alerts", body).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(
        b,
        r#"{"code":413,"message":"request body is over the limit of 64 bytes"}"#
    );
    let (_, b) = get(&st, "/api/v2/alerts").await;
    assert_eq!(b, "[]\n");
}

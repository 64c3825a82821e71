//! What Alertmanager's go-swagger server does before a handler runs, with its wording and
//! status codes (checked against Alertmanager 0.25, `api/v2/restapi`): query parameter binding,
//! the content-type check, body decoding, and the spec's `required`/`format`/`minItems` rules.
//! Its errors are `{"code":…,"message":…}` bodies, unlike the handlers' JSON strings; go-openapi
//! codes: 601 a value of the wrong format, 602 a missing required value, 612 too few items.
//! A body with several problems reports only the first, as go-openapi's `ServeError` does.

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use vigil_alertmanager::api::{PostableAlert, PostableSilence};
use vigil_alertmanager::AlertsQuery;

use crate::{status_for, AppState};

/// An Alertmanager API error, in the shape its layer answers with.
#[derive(Debug)]
pub enum AmError {
    /// From the generated layer: `{"code":…,"message":…}`.
    Swagger {
        status: StatusCode,
        code: u16,
        message: String,
    },
    /// From a handler: the message as a JSON string.
    Payload { status: StatusCode, message: String },
    /// A status without a body (the spec's 404 for an unknown silence has no schema).
    Empty(StatusCode),
}

impl AmError {
    fn swagger(status: StatusCode, code: u16, message: impl Into<String>) -> Self {
        AmError::Swagger {
            status,
            code,
            message: message.into(),
        }
    }

    /// go-openapi's `errors.Required`: 422, code 602.
    fn required(path: &str) -> Self {
        AmError::swagger(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            format!("{path} in body is required"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AmError::Payload {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<vigil_alertmanager::Error> for AmError {
    /// A handler error: its kind gives the status, its message (Alertmanager's wording) the
    /// JSON string body.
    fn from(e: vigil_alertmanager::Error) -> Self {
        AmError::Payload {
            status: status_for(e.kind()),
            message: e.to_string(),
        }
    }
}

impl From<tokio::task::JoinError> for AmError {
    fn from(e: tokio::task::JoinError) -> Self {
        AmError::internal(format!("worker task failed: {e}"))
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        match self {
            AmError::Swagger {
                status,
                code,
                message,
            } => json_response(
                status,
                serde_json::json!({ "code": code, "message": message }).to_string(),
            ),
            // Handler payloads go through go-swagger's JSON producer, a `json.Encoder`, which
            // ends the body with a newline; the generated layer's errors do not.
            AmError::Payload { status, message } => {
                json_response(status, format!("{}\n", serde_json::Value::String(message)))
            }
            AmError::Empty(status) => status.into_response(),
        }
    }
}

/// The 404 of a path under `/api/v2/` that the spec does not have.
pub async fn not_found(uri: Uri) -> Response {
    AmError::swagger(
        StatusCode::NOT_FOUND,
        404,
        format!("path {} was not found", uri.path()),
    )
    .into_response()
}

/// The 405 of a known path with a method it lacks; `allow` as go-swagger lists it (`GET,POST`).
pub fn method_not_allowed(
    allow: &'static str,
) -> impl Fn(Method) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |method: Method| {
        let mut r = AmError::swagger(
            StatusCode::METHOD_NOT_ALLOWED,
            405,
            format!("method {method} is not allowed, but [{allow}] are"),
        )
        .into_response();
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        std::future::ready(r)
    }
}

/// Query parameters as go-swagger binds them: for a single-valued parameter the last value
/// counts and an empty one means "not given".
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn new(q: Option<&str>) -> Self {
        QueryParams(
            q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        )
    }

    /// Every value of a repeatable (`collectionFormat: multi`) parameter, empty ones included.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value, unless empty.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A boolean with default true, as `swag.ConvertBool` reads it: a few spellings are true,
    /// anything else is false (never an error).
    pub fn flag(&self, name: &str) -> bool {
        self.last(name).is_none_or(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled"
            )
        })
    }

    /// The parameters of `GET /alerts` (`unprocessed` too) or `GET /alerts/groups`
    /// (`with_unprocessed` false: the spec has no such parameter there).
    pub fn alerts_query(&self, with_unprocessed: bool) -> AlertsQuery {
        AlertsQuery {
            filter: self.all("filter"),
            active: self.flag("active"),
            silenced: self.flag("silenced"),
            inhibited: self.flag("inhibited"),
            unprocessed: !with_unprocessed || self.flag("unprocessed"),
            receiver: self.last("receiver").map(str::to_owned),
        }
    }
}

/// The request body of a JSON operation: the content type must be `application/json` (415
/// otherwise, as the generated server refuses it), and the body fits Vigil's push-body limit
/// (413; Alertmanager has none).
pub async fn json_body(st: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, AmError> {
    // Go's `runtime.ContentType`: a missing header is `application/octet-stream`.
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map_or("application/octet-stream", |v| {
            v.to_str().unwrap_or("application/octet-stream")
        });
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(AmError::swagger(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            format!("unsupported media type {media:?}, only [application/json] are allowed"),
        ));
    }
    let limit = st.limits().decode.max_body_bytes;
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    to_bytes(body, cap).await.map_err(|e| {
        let inner = e.into_inner();
        if inner
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            AmError::swagger(
                StatusCode::PAYLOAD_TOO_LARGE,
                413,
                format!("request body is over the limit of {limit} bytes"),
            )
        } else {
            AmError::swagger(
                StatusCode::BAD_REQUEST,
                400,
                format!("cannot read request body: {inner}"),
            )
        }
    })
}

/// Decodes the body parameter `name` (`alerts`, `silence`) as go-swagger's JSON consumer does:
/// an empty body is missing (422), JSON `null` is the zero value, a first value that does not
/// decode is a parse error (400), and anything after the first value is ignored.
pub fn decode_body<T: DeserializeOwned + Default>(bytes: &[u8], name: &str) -> Result<T, AmError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AmError::required(name));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Option::<T>::deserialize(&mut de)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            AmError::swagger(
                StatusCode::BAD_REQUEST,
                400,
                format!("parsing {name} body from \"\" failed, because {e}"),
            )
        })
}

/// `models.PostableAlerts.Validate`: every alert has `labels`, and a `generatorURL` that parses
/// as a URL.
pub fn check_alerts(alerts: &[PostableAlert]) -> Result<(), AmError> {
    for (i, a) in alerts.iter().enumerate() {
        if a.labels.is_none() {
            return Err(AmError::required(&format!("{i}.labels")));
        }
        if let Some(u) = &a.generator_url {
            if !go_url_parses(u) {
                return Err(AmError::swagger(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    601,
                    format!("{i}.generatorURL in body must be of type uri: {u:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// `models.PostableSilence.Validate`: the required fields in the generated order (`comment`,
/// `createdBy`, `endsAt`, `matchers` with at least one item, each with `isRegex`, `name` and
/// `value`, then `startsAt`).
pub fn check_silence(s: &PostableSilence) -> Result<(), AmError> {
    if s.comment.is_none() {
        return Err(AmError::required("comment"));
    }
    if s.created_by.is_none() {
        return Err(AmError::required("createdBy"));
    }
    if s.ends_at.is_none() {
        return Err(AmError::required("endsAt"));
    }
    let Some(matchers) = &s.matchers else {
        return Err(AmError::required("matchers"));
    };
    if matchers.is_empty() {
        return Err(AmError::swagger(
            StatusCode::UNPROCESSABLE_ENTITY,
            612,
            "matchers in body should have at least 1 items",
        ));
    }
    for (i, m) in matchers.iter().enumerate() {
        if m.is_regex.is_none() {
            return Err(AmError::required(&format!("matchers.{i}.isRegex")));
        }
        if m.name.is_none() {
            return Err(AmError::required(&format!("matchers.{i}.name")));
        }
        if m.value.is_none() {
            return Err(AmError::required(&format!("matchers.{i}.value")));
        }
    }
    if s.starts_at.is_none() {
        return Err(AmError::required("startsAt"));
    }
    Ok(())
}

/// The `silenceID` path parameter must be a UUID (strfmt's pattern: hex groups 8-4-4-4-12,
/// dashes optional, any case): 422 code 601 otherwise.
pub fn check_uuid(id: &str) -> Result<(), AmError> {
    let hex: Vec<u8> = id.bytes().filter(|b| *b != b'-').collect();
    let groups_ok = {
        // Dashes may only sit at the four group boundaries.
        let mut pos = 0usize;
        let mut ok = true;
        for (i, b) in id.bytes().enumerate() {
            if b == b'-' {
                ok &= matches!(pos, 8 | 12 | 16 | 20) && id.as_bytes().get(i + 1) != Some(&b'-');
            } else {
                pos += 1;
            }
        }
        ok
    };
    if hex.len() == 32 && hex.iter().all(u8::is_ascii_hexdigit) && groups_ok {
        return Ok(());
    }
    Err(AmError::swagger(
        StatusCode::UNPROCESSABLE_ENTITY,
        601,
        format!("silenceID in path must be of type uuid: {id:?}"),
    ))
}

/// Whether Go's `url.Parse` accepts `s` (strfmt's `uri` format), for the cases that matter in
/// practice: control characters, malformed `%` escapes, a missing scheme before a colon, and a
/// port that is not a number.
fn go_url_parses(s: &str) -> bool {
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
        }
    }
    let without_fragment = s.split('#').next().unwrap_or("");
    let scheme_end = without_fragment.find(':');
    let rest = match scheme_end {
        Some(0) => return false,
        Some(i) => {
            let scheme = without_fragment.get(..i).unwrap_or("");
            let is_scheme = scheme.bytes().enumerate().all(|(j, c)| {
                c.is_ascii_alphabetic()
                    || (j > 0 && (c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')))
            });
            if !is_scheme {
                // No scheme: a relative path whose first segment may not hold a colon.
                let first = without_fragment.split(['/', '?']).next().unwrap_or("");
                return !first.contains(':');
            }
            without_fragment.get(i + 1..).unwrap_or("")
        }
        None => return true,
    };
    let Some(authority) = rest.strip_prefix("//") else {
        return true;
    };
    let authority = authority.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let port = if host.starts_with('[') {
        host.rsplit_once("]:").map(|(_, p)| p)
    } else {
        host.rsplit_once(':').map(|(_, p)| p)
    };
    port.is_none_or(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_like_swag_convert_bool() {
        let q = QueryParams::new(Some("active=maybe&silenced=&inhibited=ON&unprocessed=0"));
        assert!(!q.flag("active"));
        assert!(q.flag("silenced"), "empty keeps the default");
        assert!(q.flag("inhibited"));
        assert!(!q.flag("unprocessed"));
        assert!(q.flag("absent"));
        let q = QueryParams::new(Some("active=false&active=true&receiver=a&receiver="));
        assert!(q.flag("active"), "the last value counts");
        assert_eq!(q.last("receiver"), None);
    }

    #[test]
    fn uuids_as_strfmt_accepts_them() {
        for ok in [
            "2c2b9bb2-7a1b-4b8a-9f6e-0a3d1f0c7e11",
            "2C2B9BB2-7A1B-4B8A-9F6E-0A3D1F0C7E11",
            "2c2b9bb27a1b4b8a9f6e0a3d1f0c7e11",
            "2c2b9bb2-7a1b-4b8a-9f6e0a3d1f0c7e11",
        ] {
            assert!(check_uuid(ok).is_ok(), "{ok}");
        }
        for bad in [
            "nope",
            "",
            "2c2b9bb2-7a1b-4b8a-9f6e-0a3d1f0c7e1",
            "2c2b9bb-27a1b-4b8a-9f6e-0a3d1f0c7e11",
            "2c2b9bb2--7a1b4b8a-9f6e-0a3d1f0c7e11",
            "2c2b9bb2-7a1b-4b8a-9f6e-0a3d1f0c7e1g",
            "-2c2b9bb27a1b4b8a9f6e0a3d1f0c7e11",
        ] {
            assert!(check_uuid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generator_urls_as_go_parses_them() {
        for ok in [
            "http://prom:9090/graph?g0.expr=up",
            "",
            "/relative/path",
            "http://[::1]:9090/x",
            "x",
        ] {
            assert!(go_url_parses(ok), "{ok}");
        }
        for bad in ["::bad", "http://a:b/", "a%zz", "rel:ative/x y\u{1}", "1a:b"] {
            assert!(!go_url_parses(bad), "{bad}");
        }
    }

    #[test]
    fn bodies_decode_like_the_go_consumer() {
        let v: Vec<PostableAlert> = decode_body(b"null", "alerts").expect("null is empty");
        assert!(v.is_empty());
        let v: Vec<PostableAlert> =
            decode_body(br#"[{"labels":{"a":"b"}}] trailing"#, "alerts").expect("first value");
        assert_eq!(v.len(), 1);
        match decode_body::<Vec<PostableAlert>>(b"  \n", "alerts") {
            Err(AmError::Swagger {
                code: 602, message, ..
            }) => {
                assert_eq!(message, "alerts in body is required");
            }
            other => panic!("{other:?}"),
        }
        match decode_body::<Vec<PostableAlert>>(b"{}", "alerts") {
            Err(AmError::Swagger {
                code: 400, message, ..
            }) => {
                assert!(message.starts_with("parsing alerts body from \"\" failed, because "));
            }
            other => panic!("{other:?}"),
        }
    }
}

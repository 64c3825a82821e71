//! The HTTP side of a scrape: one client per pool, one GET per scrape.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Client, Identity};

use crate::config::{HttpSettings, Secret};
use crate::error::TIMEOUT_REASON;
use crate::ScrapeError;

/// `Vigil/<version>`, sent as User-Agent.
pub const USER_AGENT: &str = concat!("Vigil/", env!("CARGO_PKG_VERSION"));

/// Reads an inline or file secret; file contents are trimmed, as Prometheus does.
async fn read_secret(s: &Secret, what: &'static str) -> Result<String, ScrapeError> {
    match s {
        Secret::Inline(v) => Ok(v.clone()),
        Secret::File(p) => tokio::fs::read_to_string(p)
            .await
            .map(|v| v.trim().to_owned())
            .map_err(|e| ScrapeError::SecretFile {
                what,
                path: p.display().to_string(),
                reason: e.to_string(),
            }),
    }
}

fn read_pem(s: &Secret) -> Result<Vec<u8>, String> {
    match s {
        Secret::Inline(v) => Ok(v.clone().into_bytes()),
        Secret::File(p) => {
            std::fs::read(p).map_err(|e| format!("unable to read {}: {e}", p.display()))
        }
    }
}

/// Builds the client of a pool: redirects, HTTP/2, TLS roots and client certificate.
///
/// # Errors
/// An unreadable or invalid CA, certificate or key.
pub(crate) fn build_client(http: &HttpSettings) -> Result<Client, ScrapeError> {
    let mut b = Client::builder()
        .user_agent(USER_AGENT)
        .redirect(if http.follow_redirects {
            Policy::limited(10)
        } else {
            Policy::none()
        })
        .gzip(true);
    if !http.enable_http2 {
        b = b.http1_only();
    }
    let tls = &http.tls;
    if let Some(ca) = &tls.ca {
        let pem = read_pem(ca).map_err(ScrapeError::HttpClient)?;
        let certs = Certificate::from_pem_bundle(&pem)
            .map_err(|e| ScrapeError::HttpClient(format!("invalid CA certificate: {e}")))?;
        b = b.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let mut pem = read_pem(cert).map_err(ScrapeError::HttpClient)?;
        pem.push(b'\n');
        pem.extend(read_pem(key).map_err(ScrapeError::HttpClient)?);
        let id = Identity::from_pem(&pem).map_err(|e| {
            ScrapeError::HttpClient(format!("invalid client certificate or key: {e}"))
        })?;
        b = b.identity(id);
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    let version = |v: &str| match v {
        "TLS13" => reqwest::tls::Version::TLS_1_3,
        _ => reqwest::tls::Version::TLS_1_2,
    };
    if let Some(v) = &tls.min_version {
        b = b.min_tls_version(version(v));
    }
    if let Some(v) = &tls.max_version {
        b = b.max_tls_version(version(v));
    }
    b.build()
        .map_err(|e| ScrapeError::HttpClient(error_chain(&e)))
}

/// What one request is asked to do.
pub(crate) struct ScrapeRequest<'a> {
    pub url: &'a str,
    pub timeout: Duration,
    pub accept: &'a str,
    pub enable_compression: bool,
    pub body_size_limit: u64,
    pub http: &'a HttpSettings,
}

impl ScrapeRequest<'_> {
    fn error(&self, reason: String) -> ScrapeError {
        ScrapeError::Request {
            url: self.url.to_owned(),
            reason,
        }
    }
}

/// A scraped body and its Content-Type.
pub(crate) struct ScrapeResponse {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// An error and its sources, joined as Go would print a wrapped error.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if parts.last().is_none_or(|p| !p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// GETs the target. The whole exchange, body included, is bounded by the timeout.
///
/// # Errors
/// Connection and TLS failures, timeouts, non-2xx statuses, a body over the limit, an
/// unreadable credentials file.
pub(crate) async fn scrape(
    client: &Client,
    req: &ScrapeRequest<'_>,
) -> Result<ScrapeResponse, ScrapeError> {
    match tokio::time::timeout(req.timeout, scrape_inner(client, req)).await {
        Ok(r) => r,
        Err(_) => Err(req.error(TIMEOUT_REASON.to_owned())),
    }
}

async fn scrape_inner(
    client: &Client,
    req: &ScrapeRequest<'_>,
) -> Result<ScrapeResponse, ScrapeError> {
    let mut rb = client
        .get(req.url)
        .header(ACCEPT, req.accept)
        .header(
            ACCEPT_ENCODING,
            if req.enable_compression {
                "gzip"
            } else {
                "identity"
            },
        )
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            req.timeout.as_secs_f64().to_string(),
        );
    if let Some(ba) = &req.http.basic_auth {
        let user = read_secret(&ba.username, "username").await?;
        let pass = match &ba.password {
            Some(p) => Some(read_secret(p, "password").await?),
            None => None,
        };
        rb = rb.basic_auth(user, pass);
    }
    if let Some(a) = &req.http.authorization {
        let cred = match &a.credentials {
            Some(c) => read_secret(c, "credentials").await?,
            None => String::new(),
        };
        let value = HeaderValue::from_str(&format!("{} {cred}", a.kind))
            .map_err(|_| req.error("authorization header is not valid".to_owned()))?;
        rb = rb.header(AUTHORIZATION, value);
    }
    let mut resp = rb.send().await.map_err(|e| req.error(send_error(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(ScrapeError::HttpStatus {
            status: format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_owned(),
        });
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limit = if req.body_size_limit == 0 {
        u64::MAX
    } else {
        req.body_size_limit
    };
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| req.error(error_chain(&e)))? {
        body.extend_from_slice(&chunk);
        // Prometheus fails a body that reaches the limit.
        if u64::try_from(body.len()).unwrap_or(u64::MAX) >= limit {
            return Err(ScrapeError::BodySizeLimit);
        }
    }
    Ok(ScrapeResponse { body, content_type })
}

fn send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return TIMEOUT_REASON.to_owned();
    }
    error_chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_vigil() {
        assert!(USER_AGENT.starts_with("Vigil/"));
    }
}

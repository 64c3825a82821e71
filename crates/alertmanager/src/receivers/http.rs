//! The HTTP client of the webhook, Slack and PagerDuty integrations and of the upstream sender,
//! built from an `http_config:` as `prometheus/common`'s `NewClientFromConfig` would: basic auth,
//! `authorization` (bearer tokens), TLS (`ca_file`, client certificate, `insecure_skip_verify`,
//! versions), `proxy_url`, `follow_redirects`, `enable_http2`. Credential files are read at each
//! request, so rotated tokens are picked up.
//!
//! Not supported, refused when the integration is built: `oauth2` and `tls_config.server_name`
//! (reqwest cannot override the name it verifies), and TLS versions below 1.2 as a maximum
//! (rustls speaks 1.2 and 1.3 only; a lower minimum means 1.2).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{redirect, Certificate, Client, Identity, Proxy, StatusCode};
use tokio::sync::Semaphore;

use crate::config::{HttpConfig, Secret, TlsVersion};

/// `User-Agent` of every request Vigil's notifier makes.
pub(crate) const USER_AGENT: &str = concat!("Vigil/", env!("CARGO_PKG_VERSION"));

/// The most of a failed response's body kept for the error message.
const ERROR_BODY_LIMIT: usize = 4096;

/// A failed request: what went wrong and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub retryable: bool,
    pub reason: String,
}

impl Failure {
    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure {
            retryable: false,
            reason: reason.into(),
        }
    }

    pub fn retryable(reason: impl Into<String>) -> Self {
        Failure {
            retryable: true,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic {
        username: String,
        password: Option<Secret>,
        password_file: Option<String>,
    },
    Authorization {
        kind: String,
        credentials: Option<Secret>,
        credentials_file: Option<String>,
    },
}

/// Requests one client has in flight at most. A burst of flushes (thousands of groups at
/// once) then reuses kept-alive connections instead of opening one connection per request,
/// which on loopback made a 10 000-group burst several times slower.
const MAX_IN_FLIGHT: usize = 64;

/// A client plus the credentials it adds to each request.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: Client,
    auth: Auth,
    in_flight: Arc<Semaphore>,
}

/// A credential file's content, trimmed as `prometheus/common` trims it.
pub(crate) fn read_secret_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("unable to read file {path}: {e}"))
}

fn read_pem(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("unable to load {what} {path}: {e}"))
}

fn tls_version(v: TlsVersion) -> reqwest::tls::Version {
    match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    }
}

/// Builds the client for `cfg`. `timeout` bounds each whole request.
///
/// # Errors
/// An unsupported option or an unreadable/invalid CA, certificate or key file, as a sentence.
pub(crate) fn build(cfg: &HttpConfig, timeout: Option<Duration>) -> Result<HttpClient, String> {
    if cfg.oauth2.is_some() {
        return Err("oauth2 in http_config is not supported by Vigil".to_owned());
    }
    let tls = &cfg.tls_config;
    if tls.server_name.is_some() {
        return Err("tls_config.server_name is not supported by Vigil".to_owned());
    }
    let mut b = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10));
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    if let Some(ca) = &tls.ca_file {
        let pem = read_pem(ca, "specified CA cert")?;
        let certs = Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("unable to use specified CA cert {ca}: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "unable to use specified CA cert {ca}: no certificate"
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let mut pem = read_pem(cert, "specified client cert")?;
            pem.push(b'\n');
            pem.extend(read_pem(key, "specified client key")?);
            let id = Identity::from_pem(&pem).map_err(|e| {
                format!("unable to use specified client cert ({cert}) & key ({key}): {e}")
            })?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => {
            return Err(
                "client cert file and client key file must be configured together".to_owned(),
            )
        }
    }
    if tls.insecure_skip_verify {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    if let Some(v) = tls.min_version {
        // rustls has no TLS 1.0/1.1: a lower minimum means its lowest, 1.2.
        if matches!(v, TlsVersion::Tls12 | TlsVersion::Tls13) {
            b = b.tls_version_min(tls_version(v));
        }
    }
    if let Some(v) = tls.max_version {
        if matches!(v, TlsVersion::Tls10 | TlsVersion::Tls11) {
            return Err("tls_config.max_version below TLS12 is not supported by Vigil".to_owned());
        }
        b = b.tls_version_max(tls_version(v));
    }
    if let Some(p) = &cfg.proxy_url {
        let proxy = Proxy::all(p).map_err(|e| format!("invalid proxy_url: {e}"))?;
        b = b.proxy(proxy);
    } else {
        b = b.no_proxy();
    }
    if !cfg.follow_redirects {
        b = b.redirect(redirect::Policy::none());
    }
    if !cfg.enable_http2 {
        b = b.http1_only();
    }
    let client = b
        .build()
        .map_err(|e| format!("building HTTP client: {e}"))?;
    let auth = if let Some(ba) = &cfg.basic_auth {
        Auth::Basic {
            username: ba.username.clone(),
            password: ba.password.clone(),
            password_file: ba.password_file.clone(),
        }
    } else if let Some(a) = &cfg.authorization {
        Auth::Authorization {
            kind: a.kind.clone(),
            credentials: a.credentials.clone(),
            credentials_file: a.credentials_file.clone(),
        }
    } else {
        Auth::None
    };
    Ok(HttpClient {
        client,
        auth,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    })
}

/// Whether a non-2xx status is worth retrying: 5xx and 429 are, other codes are not.
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// A response's status and the start of its body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
}

impl Reply {
    /// `Ok` for 2xx; otherwise Alertmanager's `unexpected status code N: details`, retryable
    /// for 5xx and 429.
    pub fn check(&self, details: &str) -> Result<(), Failure> {
        if self.status.is_success() {
            return Ok(());
        }
        let mut reason = format!("unexpected status code {}", self.status.as_u16());
        if !details.is_empty() {
            reason.push_str(": ");
            reason.push_str(details);
        }
        Err(Failure {
            retryable: retryable_status(self.status),
            reason,
        })
    }
}

impl HttpClient {
    /// POSTs `body` as JSON. Network failures and timeouts are retryable; `redact_url` keeps the
    /// URL (which may hold a secret, as Slack's does) out of the error.
    pub async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        redact_url: bool,
    ) -> Result<Reply, Failure> {
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        match &self.auth {
            Auth::None => {}
            Auth::Basic {
                username,
                password,
                password_file,
            } => {
                let pw = match (password, password_file) {
                    (Some(p), _) => p.expose().to_owned(),
                    (None, Some(f)) => read_secret_file(f).map_err(Failure::permanent)?,
                    (None, None) => String::new(),
                };
                req = req.basic_auth(username, Some(pw));
            }
            Auth::Authorization {
                kind,
                credentials,
                credentials_file,
            } => {
                let c = match (credentials, credentials_file) {
                    (Some(c), _) => c.expose().to_owned(),
                    (None, Some(f)) => read_secret_file(f).map_err(Failure::permanent)?,
                    (None, None) => String::new(),
                };
                req = req.header(reqwest::header::AUTHORIZATION, format!("{kind} {c}"));
            }
        }
        // Never closed, so acquiring only waits.
        let _permit = self.in_flight.acquire().await;
        let mut resp = req.send().await.map_err(|e| {
            let e = if redact_url { e.without_url() } else { e };
            Failure::retryable(error_chain(&e))
        })?;
        let status = resp.status();
        let mut body = Vec::new();
        if !status.is_success() {
            while let Ok(Some(chunk)) = resp.chunk().await {
                let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
                if body.len() >= ERROR_BODY_LIMIT {
                    break;
                }
            }
        }
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// An error with its causes, `a: b: c`, as Go's wrapped errors print.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OAuth2, TlsConfig};

    #[test]
    fn status_classes() {
        let r = |code: u16| Reply {
            status: StatusCode::from_u16(code).expect("code"),
            body: String::new(),
        };
        assert!(r(200).check("").is_ok());
        assert_eq!(
            r(503).check("http://x: down"),
            Err(Failure::retryable(
                "unexpected status code 503: http://x: down"
            ))
        );
        assert!(r(429).check("").expect_err("429").retryable);
        assert!(!r(400).check("").expect_err("400").retryable);
        assert!(!r(404).check("").expect_err("404").retryable);
    }

    #[test]
    fn unsupported_options_are_refused() {
        let mut c = HttpConfig {
            oauth2: Some(OAuth2::default()),
            ..HttpConfig::default()
        };
        assert!(build(&c, None).expect_err("oauth2").contains("oauth2"));
        c.oauth2 = None;
        c.tls_config = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsConfig::default()
        };
        let e = build(&c, None).expect_err("missing CA");
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        c.tls_config = TlsConfig::default();
        assert!(build(&c, None).is_ok());
    }
}

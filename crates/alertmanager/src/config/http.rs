//! HTTP client settings of receivers (`http_config:`), validated as `prometheus/common` 0.38
//! validates them. The server reads the same fields of Prometheus's `alerting.alertmanagers`
//! entries with these types, so that both places accept and refuse the same settings. Credentials are kept as [`Secret`]s; files are named, not read (the receivers
//! read them when they send, so that a rotated token is picked up).

use std::fmt;
use std::path::Path;

use super::raw::{RawHttpConfig, RawTlsConfig};
use crate::error::ConfigError;

/// A credential. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// `basic_auth:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<String>,
}

/// `authorization:` (and the deprecated `bearer_token`/`bearer_token_file`, converted to it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorization {
    /// `Bearer` unless set.
    pub kind: String,
    pub credentials: Option<Secret>,
    pub credentials_file: Option<String>,
}

/// `oauth2:`. Parsed for compatibility; whether receivers support it is theirs to say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuth2 {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub client_secret_file: Option<String>,
    pub scopes: Vec<String>,
    pub token_url: String,
    pub endpoint_params: std::collections::BTreeMap<String, String>,
    pub proxy_url: Option<String>,
    pub tls_config: TlsConfig,
}

/// A TLS protocol version bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// `tls_config:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
}

/// `http_config:`, with `prometheus/common`'s defaults (follow redirects, HTTP/2 on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub oauth2: Option<OAuth2>,
    pub proxy_url: Option<String>,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            proxy_url: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

impl HttpConfig {
    /// Makes relative file names (passwords, credentials, client secrets, CA, certificate and
    /// key files) relative to `dir`, as `prometheus/common`'s `SetDirectory` does with a config
    /// file's directory.
    pub fn set_directory(&mut self, dir: &Path) {
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            join_dir(dir, &mut o.client_secret_file);
            o.tls_config.set_directory(dir);
        }
        self.tls_config.set_directory(dir);
    }
}

impl TlsConfig {
    /// Makes the relative CA, certificate and key file names relative to `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }
}

/// `dir/file` for a relative `file` (`config.JoinDir`).
fn join_dir(dir: &Path, file: &mut Option<String>) {
    if let Some(f) = file.as_mut() {
        if Path::new(f.as_str()).is_relative() {
            *f = dir.join(f.as_str()).display().to_string();
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn tls_version(s: Option<String>, path: &str) -> Result<Option<TlsVersion>, ConfigError> {
    Ok(match s.as_deref() {
        None => None,
        Some("TLS10") => Some(TlsVersion::Tls10),
        Some("TLS11") => Some(TlsVersion::Tls11),
        Some("TLS12") => Some(TlsVersion::Tls12),
        Some("TLS13") => Some(TlsVersion::Tls13),
        Some(other) => {
            return Err(ConfigError::new(
                path,
                format!("unknown TLS version: {other}"),
            ))
        }
    })
}

pub(crate) fn tls_config(raw: Option<RawTlsConfig>, path: &str) -> Result<TlsConfig, ConfigError> {
    let Some(r) = raw else {
        return Ok(TlsConfig::default());
    };
    Ok(TlsConfig {
        ca_file: non_empty(r.ca_file),
        cert_file: non_empty(r.cert_file),
        key_file: non_empty(r.key_file),
        server_name: non_empty(r.server_name),
        insecure_skip_verify: r.insecure_skip_verify.unwrap_or(false),
        min_version: tls_version(r.min_version, &format!("{path}.min_version"))?,
        max_version: tls_version(r.max_version, &format!("{path}.max_version"))?,
    })
}

/// Validates `http_config:` at `path` with `HTTPClientConfig.Validate`'s rules and wording.
/// File names are kept as written; see [`HttpConfig::set_directory`].
///
/// # Errors
/// The first rule broken, at `path` (or at the `tls_config`/`proxy_url` field below it).
pub fn http_config(raw: RawHttpConfig, path: &str) -> Result<HttpConfig, ConfigError> {
    let err = |reason: &str| ConfigError::new(path, reason);
    let bearer_token = non_empty(raw.bearer_token);
    let bearer_token_file = non_empty(raw.bearer_token_file);
    let has_bearer = bearer_token.is_some() || bearer_token_file.is_some();
    if bearer_token.is_some() && bearer_token_file.is_some() {
        return Err(err(
            "at most one of bearer_token & bearer_token_file must be configured",
        ));
    }
    if (raw.basic_auth.is_some() || raw.oauth2.is_some()) && has_bearer {
        return Err(err(
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
        ));
    }
    let basic_auth = match raw.basic_auth {
        None => None,
        Some(b) => {
            let password = non_empty(b.password);
            let password_file = non_empty(b.password_file);
            if password.is_some() && password_file.is_some() {
                return Err(err(
                    "at most one of basic_auth password & password_file must be configured",
                ));
            }
            Some(BasicAuth {
                username: b.username.unwrap_or_default(),
                password: password.map(Secret),
                password_file,
            })
        }
    };
    let authorization = match raw.authorization {
        Some(a) => {
            if has_bearer {
                return Err(err(
                    "authorization is not compatible with bearer_token & bearer_token_file",
                ));
            }
            let credentials = non_empty(a.credentials);
            let credentials_file = non_empty(a.credentials_file);
            if credentials.is_some() && credentials_file.is_some() {
                return Err(err(
                    "at most one of authorization credentials & credentials_file must be configured",
                ));
            }
            let mut kind = a.type_.unwrap_or_default().trim().to_owned();
            if kind.is_empty() {
                kind = "Bearer".to_owned();
            }
            if kind.eq_ignore_ascii_case("basic") {
                return Err(err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                ));
            }
            if basic_auth.is_some() || raw.oauth2.is_some() {
                return Err(err(
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
            Some(Authorization {
                kind,
                credentials: credentials.map(Secret),
                credentials_file,
            })
        }
        None if bearer_token.is_some() || bearer_token_file.is_some() => Some(Authorization {
            kind: "Bearer".to_owned(),
            credentials: bearer_token.map(Secret),
            credentials_file: bearer_token_file,
        }),
        None => None,
    };
    let oauth2 = match raw.oauth2 {
        None => None,
        Some(o) => {
            if basic_auth.is_some() {
                return Err(err(
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
            let client_id = o.client_id.unwrap_or_default();
            let client_secret = non_empty(o.client_secret);
            let client_secret_file = non_empty(o.client_secret_file);
            let token_url = o.token_url.unwrap_or_default();
            if client_id.is_empty() {
                return Err(err("oauth2 client_id must be configured"));
            }
            if client_secret.is_none() && client_secret_file.is_none() {
                return Err(err(
                    "either oauth2 client_secret or client_secret_file must be configured",
                ));
            }
            if token_url.is_empty() {
                return Err(err("oauth2 token_url must be configured"));
            }
            if client_secret.is_some() && client_secret_file.is_some() {
                return Err(err(
                    "at most one of oauth2 client_secret & client_secret_file must be configured",
                ));
            }
            Some(OAuth2 {
                client_id,
                client_secret: client_secret.map(Secret),
                client_secret_file,
                scopes: o.scopes.unwrap_or_default(),
                token_url,
                endpoint_params: o.endpoint_params.unwrap_or_default(),
                proxy_url: non_empty(o.proxy_url),
                tls_config: tls_config(o.tls_config, &format!("{path}.oauth2.tls_config"))?,
            })
        }
    };
    let proxy_url = non_empty(raw.proxy_url);
    if let Some(p) = &proxy_url {
        super::values::go_url_parse(p)
            .map_err(|e| ConfigError::new(format!("{path}.proxy_url"), e))?;
    }
    Ok(HttpConfig {
        basic_auth,
        authorization,
        oauth2,
        proxy_url,
        tls_config: tls_config(raw.tls_config, &format!("{path}.tls_config"))?,
        follow_redirects: raw.follow_redirects.unwrap_or(true),
        enable_http2: raw.enable_http2.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<secret>");
    }

    #[test]
    fn set_directory_joins_relative_files_only() {
        let raw = RawHttpConfig {
            basic_auth: Some(super::super::raw::RawBasicAuth {
                username: Some("u".into()),
                password_file: Some("pw".into()),
                ..Default::default()
            }),
            tls_config: Some(RawTlsConfig {
                ca_file: Some("/etc/ca.pem".into()),
                cert_file: Some("certs/c.pem".into()),
                key_file: Some("k.pem".into()),
                ..Default::default()
            }),
            ..RawHttpConfig::default()
        };
        let mut c = http_config(raw, "http_config").expect("valid");
        c.set_directory(Path::new("/conf"));
        let b = c.basic_auth.expect("basic_auth");
        assert_eq!(b.password_file.as_deref(), Some("/conf/pw"));
        assert_eq!(c.tls_config.ca_file.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(c.tls_config.cert_file.as_deref(), Some("/conf/certs/c.pem"));
        assert_eq!(c.tls_config.key_file.as_deref(), Some("/conf/k.pem"));
    }

    #[test]
    fn bearer_token_becomes_authorization() {
        let raw = RawHttpConfig {
            bearer_token: Some("t".into()),
            ..RawHttpConfig::default()
        };
        let c = http_config(raw, "http_config").expect("valid");
        let a = c.authorization.expect("authorization");
        assert_eq!(a.kind, "Bearer");
        assert_eq!(a.credentials.as_ref().map(Secret::expose), Some("t"));
        assert!(c.follow_redirects && c.enable_http2);
    }
}

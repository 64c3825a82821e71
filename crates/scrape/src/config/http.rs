//! Raw HTTP client settings of a scrape config (Prometheus's `HTTPClientConfig`, the subset
//! Vigil implements).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A password, token or key written inline in the config: serialized as written, but never
/// shown by `Debug`, so that logging a config does not leak it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl AsRef<str> for SecretString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `basic_auth:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    pub username: Option<String>,
    pub username_file: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<String>,
}

/// `authorization:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationConfig {
    /// Default `Bearer`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub credentials: Option<SecretString>,
    pub credentials_file: Option<String>,
}

/// `tls_config:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM text of the CA certificate(s).
    pub ca: Option<String>,
    pub ca_file: Option<String>,
    /// PEM text of the client certificate.
    pub cert: Option<String>,
    pub cert_file: Option<String>,
    /// PEM text of the client key.
    pub key: Option<SecretString>,
    pub key_file: Option<String>,
    /// Not supported by Vigil.
    pub server_name: Option<String>,
    pub insecure_skip_verify: Option<bool>,
    /// `TLS12` or `TLS13`.
    pub min_version: Option<String>,
    /// `TLS12` or `TLS13`.
    pub max_version: Option<String>,
}

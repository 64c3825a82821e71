//! What the server's client commands (`vigil demo`, `vigil ml reference upload`) share about
//! the Vigil they talk to: checking its `--url`, and describing a failed request.

use anyhow::{bail, Context, Result};

/// A `--url` as the base the API paths are appended to: an http(s) address with a host and
/// without a query or fragment, with no trailing `/`.
///
/// # Errors
/// A value that is not such an address, named in the message.
pub fn base_url(url: &str) -> Result<String> {
    let parsed =
        reqwest::Url::parse(url.trim()).with_context(|| format!("--url {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("--url {url:?} must be an http:// or https:// address");
    }
    // The API paths are appended to the URL as text.
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("--url {url:?} must not have a query or fragment (the API paths are appended to it)");
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// An error and its causes on one line, `outer: cause: cause`, leaving out a cause whose text
/// is already in the line (HTTP clients often repeat the inner error in the outer one).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        let b = |u| base_url(u).map_err(|e| e.to_string());
        assert_eq!(b(" http://h:1/vigil/ ").as_deref(), Ok("http://h:1/vigil"));
        assert_eq!(
            b("http://127.0.0.1:9900").as_deref(),
            Ok("http://127.0.0.1:9900")
        );
        assert!(b("ftp://h").is_err_and(|e| e.contains("http:// or https://")));
        assert!(b("http://h/?q=1").is_err_and(|e| e.contains("query or fragment")));
        assert!(b("not a url").is_err_and(|e| e.contains("is not a URL")));
    }

    #[test]
    fn error_chains_skip_repeated_causes() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "request failed: connection refused",
            Some(Box::new(E(
                "connection refused",
                Some(Box::new(E("os error 111", None))),
            ))),
        );
        assert_eq!(
            error_chain(&e),
            "request failed: connection refused: os error 111"
        );
    }
}

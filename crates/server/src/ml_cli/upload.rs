//! `vigil ml reference upload`: send a dataset file to a running Vigil as a model's reference.
//!
//! The file is validated locally with the server's own reader and limits first, so a malformed
//! file costs no round trip and its error names the line. The body is the file's bytes
//! unchanged; the content type says which format they sniff as. Blocking `reqwest`: one request
//! from a command line has nothing to overlap with.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use serde_json::Value;
use vigil_ml::{read_table_bytes, Format, TableLimits, TypeOverrides};
use vigil_model::civil::{format_rfc3339, Fraction};

use super::{format_name, parse_timeout, read_file};

/// How much of a response body is read: the answer is a small JSON object, an error page is
/// quoted from its start.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// How much of a body that is not the expected JSON is quoted.
const QUOTE_BYTES: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Flags of `vigil ml reference upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The dataset file: CSV (with a header row) or Parquet.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The model whose reference this is.
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// The model version the reference is for [default: none: the reference applies to every
    /// version that has none of its own].
    #[arg(long = "version", value_name = "VERSION")]
    pub model_version: Option<String>,
    /// The Vigil to upload to (its HTTP API address).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9900")]
    pub url: String,
    /// Longest wait for the whole request, upload included.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Duration,
}

pub fn run(args: UploadArgs) -> Result<ExitCode> {
    let endpoint = endpoint(&args.url, &args.model, args.model_version.as_deref())?;
    let limits = TableLimits::default();
    let file = read_file(&args.file, &limits)?;
    let columns = read_table_bytes(
        file.bytes.clone(),
        file.format,
        &TypeOverrides::default(),
        &limits,
    )
    .map_err(|e| anyhow!("{}: {e} (not uploaded)", args.file.display()))?;
    let rows = columns.first().map_or(0, |c| c.len());
    let content_type = match file.format {
        Format::Csv => "text/csv",
        Format::Parquet => "application/vnd.apache.parquet",
    };

    let http = reqwest::blocking::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(args.timeout))
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")?;
    let resp = http
        .put(&endpoint)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(file.bytes)
        .send()
        .map_err(|e| transport_error(&e, &args.url, args.timeout))?;
    let status = resp.status();
    let mut body = Vec::new();
    // A body cut short still says what arrived; the status decides the outcome.
    let _ = resp.take(MAX_RESPONSE_BYTES).read_to_end(&mut body);
    let json: Option<Value> = serde_json::from_slice(&body).ok();

    if !status.is_success() {
        let detail = match &json {
            Some(v) => {
                let kind = v
                    .get("errorType")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let text = v.get("error").and_then(Value::as_str).unwrap_or("");
                format!("{kind}: {text}")
            }
            None => quote(&body),
        };
        bail!(
            "{endpoint}: the server refused the reference: HTTP {}: {detail}",
            status.as_u16()
        );
    }

    let data = json.as_ref().and_then(|v| v.get("data"));
    let field = |name: &str| data.and_then(|d| d.get(name));
    let version = match field("version").and_then(Value::as_str) {
        Some(v) => format!("version {v:?}"),
        None => "(every version without its own)".to_string(),
    };
    let count = |name: &str, local: usize| {
        field(name)
            .and_then(Value::as_u64)
            .map_or_else(|| local.to_string(), |n| n.to_string())
    };
    // The answer is untrusted: `format_rfc3339` writes any time, where humantime's formatter
    // fails (and `format!` panics) past year 9999.
    let stored = field("uploaded_ms")
        .and_then(Value::as_u64)
        .and_then(|ms| i64::try_from(ms).ok())
        .map(|ms| format!(", stored at {}", format_rfc3339(ms, Fraction::Millis)))
        .unwrap_or_default();
    println!(
        "uploaded {} ({}) as the reference of model {:?} {version}: {} rows, {} columns{stored}",
        args.file.display(),
        format_name(file.format),
        args.model,
        count("rows", rows),
        count("columns", columns.len()),
    );
    Ok(ExitCode::SUCCESS)
}

/// `{url}/api/v1/ml/models/{model}/reference[?version=…]`, the model percent-encoded as one
/// path segment.
fn endpoint(url: &str, model: &str, version: Option<&str>) -> Result<String> {
    let base = crate::client::base_url(url)?;
    // URL parsers resolve `.` and `..` segments, even percent-encoded, so such a name cannot
    // be sent as a segment.
    if model.is_empty() || model == "." || model == ".." {
        bail!("--model {model:?} is not a usable model name");
    }
    let mut out = format!("{base}/api/v1/ml/models/{}/reference", encode(model));
    if let Some(v) = version {
        if v.is_empty() {
            bail!("--version must not be empty (leave it out for all versions)");
        }
        out.push_str("?version=");
        out.push_str(&encode(v));
    }
    Ok(out)
}

/// Percent-encodes every byte but RFC 3986's unreserved characters (section 2.3), which is
/// right both in a path segment and in a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn transport_error(e: &reqwest::Error, url: &str, timeout: Duration) -> anyhow::Error {
    let chain = crate::client::error_chain(e);
    if e.is_connect() {
        anyhow!(
            "cannot reach Vigil at {url}: {chain}; is `vigil serve` running there? \
             (--url sets the address)"
        )
    } else if e.is_timeout() {
        anyhow!(
            "no answer from {url} within {} (--timeout): {chain}",
            humantime::format_duration(timeout)
        )
    } else {
        anyhow!("request to {url} failed: {chain}")
    }
}

/// The start of a body that is not the expected JSON, as text.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    match text.char_indices().nth(QUOTE_BYTES) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or(text)),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_encodes_model_and_version() {
        let e = |u, m, v| endpoint(u, m, v).map_err(|e| e.to_string());
        assert_eq!(
            e("http://127.0.0.1:9900", "churn", None).as_deref(),
            Ok("http://127.0.0.1:9900/api/v1/ml/models/churn/reference")
        );
        assert_eq!(
            e("http://h:1/vigil/", "a b/c%", Some("v1+2&x")).as_deref(),
            Ok("http://h:1/vigil/api/v1/ml/models/a%20b%2Fc%25/reference?version=v1%2B2%26x")
        );
        assert_eq!(
            e("http://h", "é", None).as_deref(),
            Ok("http://h/api/v1/ml/models/%C3%A9/reference")
        );
        assert!(e("ftp://h", "m", None).is_err());
        assert!(e("http://h/?q=1", "m", None).is_err());
        assert!(e("http://h", "..", None).is_err());
        assert!(e("http://h", "", None).is_err());
        assert!(e("http://h", "m", Some("")).is_err());
    }

    #[test]
    fn quotes_are_bounded() {
        assert_eq!(quote(b""), "(empty body)");
        let long = "x".repeat(2000);
        assert_eq!(quote(long.as_bytes()).chars().count(), QUOTE_BYTES + 1);
    }
}

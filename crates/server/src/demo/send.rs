//! Senders: queue what the fleet produced and POST it to Vigil's public ingest endpoints —
//! NDJSON prediction and label events, Prometheus remote_write for service metrics.
//!
//! Each endpoint has its own [`Outbox`]: a bounded queue (the oldest items are dropped and
//! counted beyond the cap), batches of at most a fixed number of items per request, and its own
//! backoff, so a Vigil that is restarting or not yet up costs data only when the outage outlasts
//! the queue. Blocking `reqwest`, called from the demo's one loop: the demo sends at most a few
//! requests a second, and a synchronous loop keeps the timing easy to follow.
//!
//! Responses: 2xx is accepted; 429, 5xx and transport errors are retried with exponential
//! backoff (0.5 s to 30 s), data kept; any other 4xx means the server looked at the data and
//! refused it (400: some events were invalid), so the batch is dropped rather than resent
//! forever. Warnings are throttled to one per minute per endpoint and kind.

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{debug, info, warn};
use vigil_model::Batch;

use super::fleet::{Label, Prediction};
use super::service;

/// Path of the prediction events endpoint.
pub const PREDICTIONS_PATH: &str = "/api/v1/ml/predictions";
/// Path of the ground-truth endpoint.
pub const LABELS_PATH: &str = "/api/v1/ml/labels";
/// Path of Prometheus remote_write.
pub const WRITE_PATH: &str = "/api/v1/write";

/// Events per NDJSON request.
pub const MAX_BATCH_EVENTS: usize = 5_000;
/// Events kept per queue while Vigil is unreachable.
pub const MAX_QUEUED_EVENTS: usize = 100_000;
/// Metric pushes kept while Vigil is unreachable (an hour at one push per 5 s).
const MAX_QUEUED_PUSHES: usize = 720;
/// NDJSON bodies above this are gzip-compressed.
const GZIP_OVER: usize = 64 * 1024;

/// Longest wait for one request, connecting included: a Vigil that accepts the connection but
/// never answers costs this much per attempt and is then retried like one that is down.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const WARN_EVERY: Duration = Duration::from_secs(60);
/// How much of a rejection's body a warning quotes.
const QUOTE_BYTES: usize = 512;

/// How an endpoint wants its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// One item per line, many items per request, gzip above [`GZIP_OVER`].
    NdJson,
    /// One snappy-compressed remote_write request per item.
    RemoteWrite,
}

impl Format {
    /// Items per request.
    fn per_request(self) -> usize {
        match self {
            Format::NdJson => MAX_BATCH_EVENTS,
            Format::RemoteWrite => 1,
        }
    }
}

/// What a request came back with.
#[derive(Debug)]
enum Outcome {
    Accepted,
    /// The server refused the data; resending it would not help.
    Refused {
        status: u16,
        body: String,
    },
    /// The server could not take it now; keep it and try again later.
    Retry(String),
}

/// Once-per-interval gate for a repeated warning.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn ready(&mut self, now: Instant) -> bool {
        let ready = self
            .last
            .is_none_or(|l| now.saturating_duration_since(l) >= WARN_EVERY);
        if ready {
            self.last = Some(now);
        }
        ready
    }
}

/// Counters of one outbox, for the status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Items the server accepted (for a 400, the whole batch: the server took the valid ones).
    pub sent: u64,
    /// Items in batches the server refused with a status other than 400.
    pub refused: u64,
    /// Requests answered with 400.
    pub rejected_requests: u64,
    /// Items dropped because the queue was full.
    pub dropped: u64,
    /// Items waiting.
    pub queued: usize,
}

/// A bounded queue for one endpoint, with its retry state.
#[derive(Debug)]
pub struct Outbox {
    endpoint: &'static str,
    url: String,
    format: Format,
    queue: VecDeque<Vec<u8>>,
    cap: usize,
    /// When the next attempt may be made; set exactly while the endpoint is failing.
    retry_at: Option<Instant>,
    backoff: Duration,
    unreachable_warn: Throttle,
    refused_warn: Throttle,
    stats: OutboxStats,
}

impl Outbox {
    fn new(endpoint: &'static str, url: String, format: Format, cap: usize) -> Self {
        Outbox {
            endpoint,
            url,
            format,
            queue: VecDeque::new(),
            cap: cap.max(1),
            retry_at: None,
            backoff: BACKOFF_MIN,
            unreachable_warn: Throttle::default(),
            refused_warn: Throttle::default(),
            stats: OutboxStats::default(),
        }
    }

    /// Queues one item, dropping the oldest when full.
    fn push(&mut self, item: Vec<u8>) {
        if self.queue.len() >= self.cap {
            self.queue.pop_front();
            self.stats.dropped += 1;
        }
        self.queue.push_back(item);
    }

    fn stats(&self) -> OutboxStats {
        OutboxStats {
            queued: self.queue.len(),
            ..self.stats
        }
    }

    /// The body and extra headers for the first `n` items.
    fn body(&self, n: usize) -> (Vec<u8>, Vec<(&'static str, &'static str)>) {
        match self.format {
            Format::RemoteWrite => (
                self.queue.front().cloned().unwrap_or_default(),
                vec![
                    ("content-type", "application/x-protobuf"),
                    ("content-encoding", "snappy"),
                    ("x-prometheus-remote-write-version", "0.1.0"),
                ],
            ),
            Format::NdJson => {
                let mut body = Vec::new();
                for line in self.queue.iter().take(n) {
                    body.extend_from_slice(line);
                    body.push(b'\n');
                }
                let mut headers = vec![("content-type", "application/x-ndjson")];
                if body.len() > GZIP_OVER {
                    if let Some(gz) = gzip(&body) {
                        body = gz;
                        headers.push(("content-encoding", "gzip"));
                    }
                }
                (body, headers)
            }
        }
    }

    /// Sends queued items until the queue is empty or the server fails; returns whether
    /// anything is left waiting for a retry.
    fn flush(&mut self, http: &reqwest::blocking::Client, now: Instant) -> bool {
        while !self.queue.is_empty() {
            if self.retry_at.is_some_and(|at| now < at) {
                return true;
            }
            let n = self.queue.len().min(self.format.per_request());
            let (body, headers) = self.body(n);
            match post(http, &self.url, body, &headers) {
                Outcome::Accepted => {
                    self.queue.drain(..n);
                    self.stats.sent += n as u64;
                    self.recovered();
                }
                Outcome::Refused { status, body } => {
                    self.queue.drain(..n);
                    self.recovered();
                    if status == 400 {
                        // Partial acceptance: the server stored the valid events of the batch.
                        self.stats.sent += n as u64;
                        self.stats.rejected_requests += 1;
                    } else {
                        self.stats.refused += n as u64;
                    }
                    if self.refused_warn.ready(now) {
                        if status == 404 {
                            warn!(
                                endpoint = self.endpoint,
                                url = %self.url,
                                "vigil has no such endpoint (older build, or --url is not a \
                                 vigil?); dropping these events (repeats within a minute not \
                                 logged)"
                            );
                        } else {
                            warn!(
                                endpoint = self.endpoint,
                                status,
                                body = %quote(&body),
                                "vigil rejected events (repeats within a minute not logged)"
                            );
                        }
                    }
                }
                Outcome::Retry(reason) => {
                    self.retry_at = Some(now + self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    if self.unreachable_warn.ready(now) {
                        warn!(
                            endpoint = self.endpoint,
                            error = %reason,
                            queued = self.queue.len(),
                            "cannot deliver to vigil, keeping data queued and retrying"
                        );
                    } else {
                        debug!(endpoint = self.endpoint, error = %reason, "retry failed");
                    }
                    return true;
                }
            }
        }
        false
    }

    fn recovered(&mut self) {
        self.backoff = BACKOFF_MIN;
        if self.retry_at.take().is_some() {
            info!(
                endpoint = self.endpoint,
                queued = self.queue.len(),
                "vigil reachable again"
            );
        }
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// The start of a response body, on one line, for a log field.
fn quote(body: &str) -> String {
    let mut end = body.len().min(QUOTE_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body.get(..end).unwrap_or_default().replace('\n', " ")
}

/// The start of an error response's body, enough to quote: an error page of any size costs
/// [`QUOTE_BYTES`] of memory, and reading it is bounded by the client's timeout.
fn body_prefix(resp: reqwest::blocking::Response) -> String {
    let mut buf = Vec::new();
    // A body cut short by a transport error still gives what arrived.
    let _ = resp.take(QUOTE_BYTES as u64).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn post(
    http: &reqwest::blocking::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&'static str, &'static str)],
) -> Outcome {
    let mut req = http.post(url).body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    match req.send() {
        Err(e) => Outcome::Retry(crate::client::error_chain(&e)),
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                return Outcome::Accepted;
            }
            let code = status.as_u16();
            let body = body_prefix(resp);
            if status.is_server_error() || code == 429 {
                Outcome::Retry(format!("HTTP {code}: {}", quote(&body)))
            } else {
                Outcome::Refused { status: code, body }
            }
        }
    }
}

/// Counters of all three endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    pub predictions: OutboxStats,
    pub labels: OutboxStats,
    pub metrics: OutboxStats,
}

/// The three outboxes and the HTTP client they share.
#[derive(Debug)]
pub struct Sender {
    http: reqwest::blocking::Client,
    predictions: Outbox,
    labels: Outbox,
    metrics: Outbox,
}

impl Sender {
    /// Senders to the Vigil at `base` (scheme, host and port, no trailing slash).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend).
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        Self::with_caps(base, MAX_QUEUED_EVENTS, MAX_QUEUED_PUSHES, REQUEST_TIMEOUT)
    }

    pub(super) fn with_caps(
        base: &str,
        events: usize,
        pushes: usize,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("vigil-demo/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let base = base.trim_end_matches('/');
        Ok(Sender {
            http,
            predictions: Outbox::new(
                "predictions",
                format!("{base}{PREDICTIONS_PATH}"),
                Format::NdJson,
                events,
            ),
            labels: Outbox::new(
                "labels",
                format!("{base}{LABELS_PATH}"),
                Format::NdJson,
                events,
            ),
            metrics: Outbox::new(
                "remote_write",
                format!("{base}{WRITE_PATH}"),
                Format::RemoteWrite,
                pushes,
            ),
        })
    }

    /// Queues prediction events.
    pub fn queue_predictions(&mut self, events: &[Prediction]) {
        queue_lines(&mut self.predictions, events);
    }

    /// Queues label events.
    pub fn queue_labels(&mut self, events: &[Label]) {
        queue_lines(&mut self.labels, events);
    }

    /// Queues one remote_write request carrying `batch` (plus the families' metadata).
    ///
    /// # Errors
    /// When the batch is too large for one snappy block (not reachable with the demo's sizes).
    pub fn queue_metrics(&mut self, mut batch: Batch) -> Result<(), vigil_codec::CodecError> {
        if batch.series.is_empty() {
            return Ok(());
        }
        batch.metadata = service::metadata();
        let body = vigil_codec::remote_write::try_encode(&batch)?;
        self.metrics.push(body);
        Ok(())
    }

    /// Sends what is queued on every endpoint whose backoff has passed; returns whether any
    /// endpoint still holds data waiting for a retry.
    pub fn flush(&mut self, now: Instant) -> bool {
        // Metrics first: they are few and what the alert rules read.
        let m = self.metrics.flush(&self.http, now);
        let p = self.predictions.flush(&self.http, now);
        let l = self.labels.flush(&self.http, now);
        m || p || l
    }

    /// Events (predictions and labels) waiting to be sent.
    pub fn queued_events(&self) -> usize {
        self.predictions.queue.len() + self.labels.queue.len()
    }

    /// The earliest instant a backed-off endpoint will try again.
    pub fn next_retry(&self) -> Option<Instant> {
        [&self.predictions, &self.labels, &self.metrics]
            .iter()
            .filter(|o| !o.queue.is_empty())
            .filter_map(|o| o.retry_at)
            .min()
    }

    /// Counters for the status line.
    pub fn stats(&self) -> SendStats {
        SendStats {
            predictions: self.predictions.stats(),
            labels: self.labels.stats(),
            metrics: self.metrics.stats(),
        }
    }
}

fn queue_lines<T: Serialize>(outbox: &mut Outbox, events: &[T]) {
    for e in events {
        match serde_json::to_vec(e) {
            Ok(line) => outbox.push(line),
            // Our own types always serialise; skip rather than stop the demo if one ever fails.
            Err(error) => debug!(%error, "cannot serialise event"),
        }
    }
}

#[cfg(test)]
pub(super) mod tests;

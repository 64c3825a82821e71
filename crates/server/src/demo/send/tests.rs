//! Sender tests against a scripted HTTP server on 127.0.0.1:0: batching, gzip, remote_write
//! headers, retry with backoff on 5xx and refused connections, dropping refused batches, and
//! the bounded queue. Time is passed in, so backoff is tested without sleeping.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use super::*;
use crate::demo::fleet::{Fleet, FleetConfig};

/// One request the fake server received.
#[derive(Debug)]
pub(crate) struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A server that answers each connection with the next `(status, body)` of `script`, then
/// stops accepting. Returns the base URL and a channel of what it received.
pub(crate) fn serve(script: Vec<(u16, &'static str)>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (status, reply) in script {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut headers = HashMap::new();
            loop {
                line.clear();
                reader.read_line(&mut line).expect("header");
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).expect("body");
            let mut stream = stream;
            // The client may hang up before reading a long reply: that is not the test's failure.
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = tx.send(Received {
                path,
                headers,
                body,
            });
        }
    });
    (base, rx)
}

fn recv(rx: &mpsc::Receiver<Received>) -> Received {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a request within 10 s")
}

const T0: i64 = 1_795_500_000_000;

/// A fleet at `T0`: 50 events per second per model, labels 1 s later.
fn fleet() -> Fleet {
    Fleet::new(FleetConfig {
        seed: 1,
        rate: 50.0,
        start: T0,
        label_delay_ms: 1_000,
        label_share: 0.9,
        run_tag: "t".to_owned(),
    })
}

fn fleet_events(secs: i64) -> (Vec<Prediction>, Vec<Label>) {
    let tick = fleet().advance(T0 + secs * 1000);
    (tick.predictions, tick.labels)
}

fn lines(body: &[u8]) -> Vec<serde_json::Value> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect()
}

#[test]
fn ndjson_goes_in_batches_of_5000_and_is_gzipped_over_64k() {
    let (base, rx) = serve(vec![(200, "{}"), (202, "{}")]);
    let mut sender = Sender::new(&base).expect("client");
    // 50 events/s × 2 models × 51 s = 5100 events: one full batch and one of 100.
    let (predictions, _) = fleet_events(51);
    assert_eq!(predictions.len(), 5100);
    sender.queue_predictions(&predictions);
    assert!(!sender.flush(Instant::now()));

    let first = recv(&rx);
    assert_eq!(first.path, PREDICTIONS_PATH);
    assert_eq!(first.headers["content-type"], "application/x-ndjson");
    assert_eq!(first.headers["content-encoding"], "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(first.body.as_slice())
        .read_to_end(&mut raw)
        .expect("gunzip");
    let events = lines(&raw);
    assert_eq!(events.len(), MAX_BATCH_EVENTS);
    assert_eq!(events[0]["id"], serde_json::json!(predictions[0].id));

    let second = recv(&rx);
    assert!(!second.headers.contains_key("content-encoding"));
    assert!(second.body.len() <= GZIP_OVER);
    assert_eq!(lines(&second.body).len(), 100);

    let stats = sender.stats();
    assert_eq!(stats.predictions.sent, 5100);
    assert_eq!(stats.predictions.queued, 0);
    assert_eq!(sender.queued_events(), 0);
}

#[test]
fn server_errors_keep_the_data_and_retry_after_backoff() {
    let (base, rx) = serve(vec![(503, "starting"), (200, "{}")]);
    let mut sender = Sender::new(&base).expect("client");
    let (_, labels) = fleet_events(3);
    assert!(!labels.is_empty());
    sender.queue_labels(&labels);
    let t0 = Instant::now();
    assert!(sender.flush(t0), "503 leaves data waiting");
    assert_eq!(recv(&rx).path, LABELS_PATH);
    assert_eq!(sender.queued_events(), labels.len());
    assert_eq!(sender.next_retry(), Some(t0 + BACKOFF_MIN));

    // Within the backoff nothing is sent.
    assert!(sender.flush(t0 + Duration::from_millis(100)));
    assert!(rx.try_recv().is_err());

    assert!(!sender.flush(t0 + Duration::from_secs(1)));
    let got = recv(&rx);
    let events = lines(&got.body);
    assert_eq!(events.len(), labels.len());
    assert_eq!(events[0]["id"], serde_json::json!(labels[0].id));
    assert_eq!(sender.stats().labels.sent, labels.len() as u64);
    assert_eq!(sender.next_retry(), None);
}

#[test]
fn refused_connections_back_off_exponentially_and_keep_the_data() {
    // A port that was just free: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut sender = Sender::new(&format!("http://127.0.0.1:{port}/")).expect("client");
    let (predictions, _) = fleet_events(1);
    sender.queue_predictions(&predictions);
    let t0 = Instant::now();
    assert!(sender.flush(t0));
    assert_eq!(sender.next_retry(), Some(t0 + BACKOFF_MIN));
    let t1 = t0 + BACKOFF_MIN;
    assert!(sender.flush(t1));
    assert_eq!(sender.next_retry(), Some(t1 + BACKOFF_MIN * 2));
    assert_eq!(sender.queued_events(), predictions.len());
    assert_eq!(sender.stats().predictions.sent, 0);
}

#[test]
fn bad_request_drops_the_batch_instead_of_resending_it() {
    let (base, rx) = serve(vec![
        (400, r#"{"rejected":3,"errors":["line 2: bad"]}"#),
        (200, "{}"),
    ]);
    let mut sender = Sender::new(&base).expect("client");
    let (predictions, labels) = fleet_events(2);
    sender.queue_predictions(&predictions);
    sender.queue_labels(&labels);
    assert!(!sender.flush(Instant::now()));
    assert_eq!(recv(&rx).path, PREDICTIONS_PATH);
    assert_eq!(recv(&rx).path, LABELS_PATH);
    let stats = sender.stats();
    assert_eq!(stats.predictions.rejected_requests, 1);
    assert_eq!(stats.predictions.queued, 0);
    assert_eq!(stats.labels.sent, labels.len() as u64);
}

#[test]
fn full_queue_drops_the_oldest_and_counts_them() {
    let mut sender =
        Sender::with_caps("http://127.0.0.1:9", 10, 2, REQUEST_TIMEOUT).expect("client");
    let (predictions, _) = fleet_events(1);
    assert_eq!(predictions.len(), 100);
    sender.queue_predictions(&predictions);
    let stats = sender.stats().predictions;
    assert_eq!((stats.queued, stats.dropped), (10, 90));
    let oldest: serde_json::Value =
        serde_json::from_slice(&sender.predictions.queue[0]).expect("json");
    assert_eq!(oldest["id"], serde_json::json!(predictions[90].id));

    for _ in 0..3 {
        let mut batch = Batch::new();
        let mut s = service::Service::default();
        s.observe(0.1, true);
        s.append("fraud", "v3", 1_000, &mut batch);
        sender.queue_metrics(batch).expect("encodes");
    }
    assert_eq!(sender.stats().metrics.dropped, 1);
    sender
        .queue_metrics(Batch::new())
        .expect("empty batch is a no-op");
    assert_eq!(sender.stats().metrics.queued, 2);
}

#[test]
fn metrics_go_as_snappy_remote_write_with_metadata() {
    let (base, rx) = serve(vec![(204, "")]);
    let mut sender = Sender::new(&base).expect("client");
    let mut fleet = fleet();
    let mut batch = Batch::new();
    for s in 1..=3 {
        fleet.advance(T0 + s * 5_000);
        fleet.service_metrics(T0 + s * 5_000, &mut batch);
    }
    sender.queue_metrics(batch).expect("encodes");
    assert!(!sender.flush(Instant::now()));
    let got = recv(&rx);
    assert_eq!(got.path, WRITE_PATH);
    assert_eq!(got.headers["content-encoding"], "snappy");
    assert_eq!(got.headers["content-type"], "application/x-protobuf");
    assert_eq!(got.headers["x-prometheus-remote-write-version"], "0.1.0");
    let decoded =
        vigil_codec::remote_write::decode(&got.body, &vigil_codec::DecodeLimits::default())
            .expect("valid remote_write");
    // Two models × (10 buckets + sum + count + 2 statuses), three samples each.
    assert_eq!(decoded.series.len(), 28);
    assert_eq!(decoded.sample_count(), 84);
    assert_eq!(decoded.metadata.len(), 2);
    assert_eq!(sender.stats().metrics.sent, 1);
}

#[test]
fn a_server_that_never_answers_times_out_and_is_retried_later() {
    // Accepts connections (the kernel completes the handshake) and never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut sender =
        Sender::with_caps(&base, 1_000, 10, Duration::from_millis(300)).expect("client");
    let (predictions, _) = fleet_events(1);
    sender.queue_predictions(&predictions);
    let t0 = Instant::now();
    assert!(sender.flush(t0), "a timeout leaves the data waiting");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(sender.next_retry(), Some(t0 + BACKOFF_MIN));
    let stats = sender.stats().predictions;
    assert_eq!((stats.sent, stats.queued), (0, predictions.len()));
    drop(listener);
}

#[test]
fn an_error_page_of_any_size_is_read_only_as_far_as_it_is_quoted() {
    let page: &'static str = "x".repeat(1 << 20).leak();
    let (base, rx) = serve(vec![(413, page), (200, "{}")]);
    let mut sender = Sender::new(&base).expect("client");
    let (predictions, labels) = fleet_events(3);
    assert!(!labels.is_empty());
    sender.queue_predictions(&predictions);
    sender.queue_labels(&labels);
    assert!(!sender.flush(Instant::now()));
    assert_eq!(recv(&rx).path, PREDICTIONS_PATH);
    assert_eq!(recv(&rx).path, LABELS_PATH);
    let stats = sender.stats();
    assert_eq!(stats.predictions.refused, predictions.len() as u64);
    assert_eq!(stats.labels.sent, labels.len() as u64);
}

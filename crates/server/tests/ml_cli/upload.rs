//! `vigil ml reference upload` against a one-request HTTP server on 127.0.0.1:0.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{path_str, testdata, vigil};

/// What the one-request server received.
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A server on 127.0.0.1:0 that answers one request with `status` and the JSON `answer`.
fn serve_once(status: u16, answer: &'static str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        // Poll, so that a CLI that never connects fails the test instead of hanging it.
        listener.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("no request within 30 s: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').expect("header colon");
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().expect("content-length"))
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{answer}",
            answer.len()
        )
        .expect("respond");
        Received {
            request_line: request_line.trim_end().to_string(),
            headers,
            body,
        }
    });
    (url, handle)
}

#[test]
fn upload_sends_csv_with_encoded_model_and_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reference.csv");
    let bytes = b"age,plan\n31,pro\n45,basic\n,pro\n";
    std::fs::write(&file, bytes).expect("write");
    let (url, server) = serve_once(
        200,
        r#"{"status":"success","data":{"model":"churn model/x","version":"v2+1","rows":3,"columns":2,"uploaded_ms":1700000000000}}"#,
    );
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "churn model/x",
        "--version",
        "v2+1",
        "--url",
        &url,
    ]);
    let got = server.join().expect("server");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        got.request_line,
        "PUT /api/v1/ml/models/churn%20model%2Fx/reference?version=v2%2B1 HTTP/1.1"
    );
    assert_eq!(got.header("content-type"), Some("text/csv"));
    assert_eq!(got.body, bytes);
    assert_eq!(
        run.stdout.trim_end(),
        format!(
            "uploaded {} (CSV) as the reference of model \"churn model/x\" version \"v2+1\": \
             3 rows, 2 columns, stored at 2023-11-14T22:13:20.000Z",
            file.display()
        )
    );
}

#[test]
fn upload_sends_parquet_as_parquet() {
    let file = testdata("ref.parquet");
    let (url, server) = serve_once(
        200,
        r#"{"status":"success","data":{"model":"m","version":null,"rows":1500,"columns":4,"uploaded_ms":1}}"#,
    );
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "m",
        "--url",
        &url,
    ]);
    let got = server.join().expect("server");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        got.request_line,
        "PUT /api/v1/ml/models/m/reference HTTP/1.1"
    );
    assert_eq!(
        got.header("content-type"),
        Some("application/vnd.apache.parquet")
    );
    assert_eq!(got.body, std::fs::read(&file).expect("read"));
    assert!(
        run.stdout.contains(
            "(Parquet) as the reference of model \"m\" (every version without its own): 1500 rows, 4 columns"
        ),
        "{}",
        run.stdout
    );
}

/// Regression: an `uploaded_ms` past year 9999 in the answer made the CLI panic (humantime's
/// RFC 3339 formatter refuses such times and `format!` turns that into a panic).
#[test]
fn upload_answer_with_a_far_future_time_does_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reference.csv");
    std::fs::write(&file, "x\n1\n").expect("write");
    let (url, server) = serve_once(
        200,
        r#"{"status":"success","data":{"model":"m","rows":1,"columns":1,"uploaded_ms":300000000000000}}"#,
    );
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "m",
        "--url",
        &url,
    ]);
    server.join().expect("server");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 rows, 1 columns, stored at 11476-"),
        "{}",
        run.stdout
    );
}

#[test]
fn upload_reports_the_servers_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reference.csv");
    std::fs::write(&file, "x\n1\n").expect("write");
    let (url, server) = serve_once(
        413,
        r#"{"status":"error","errorType":"limit_exceeded","error":"model \"m\": too many references"}"#,
    );
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "m",
        "--url",
        &url,
    ]);
    server.join().expect("server");
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains(
            "the server refused the reference: HTTP 413: limit_exceeded: model \"m\": too many references"
        ),
        "{}",
        run.stderr
    );
}

/// An address nothing listens on: a port the OS handed out, then released.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    url
}

#[test]
fn upload_to_an_unreachable_server_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reference.csv");
    std::fs::write(&file, "x\n1\n").expect("write");
    let url = dead_url();
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "m",
        "--url",
        &url,
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with(&format!("vigil: cannot reach Vigil at {url}: ")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("vigil serve"), "{}", run.stderr);
}

#[test]
fn upload_validates_the_file_before_sending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reference.csv");
    std::fs::write(&file, "x,y\n1,2\n3\n").expect("write");
    let run = vigil(&[
        "ml",
        "reference",
        "upload",
        path_str(&file),
        "--model",
        "m",
        "--url",
        &dead_url(),
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "vigil: {}: line 3: 1 fields, but the header has 2 (not uploaded)",
            file.display()
        )
    );
}

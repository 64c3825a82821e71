//! Real-server harness: starts the `vigil` binary on 127.0.0.1 with OS-chosen ports and a temp
//! data dir, learns the bound addresses from its log, and stops it by PID.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Vigil {
    child: Option<Child>,
    pub api: SocketAddr,
    pub otlp_http: Option<SocketAddr>,
    pub otlp_grpc: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
}

fn parse_addr(line: &str) -> Option<SocketAddr> {
    let i = line.find("address=")?;
    line[i + "address=".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Vigil {
    /// Starts `vigil serve` with all three listeners on ephemeral ports.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Vigil {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--otlp-grpc-listen".into(),
            "127.0.0.1:0".into(),
            "--otlp-http-listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(&args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vigil");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().expect("log lock").push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let (mut api, mut oh, mut og) = (None, None, None);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if line.contains("HTTP API listening") {
                        api = parse_addr(&line);
                    } else if line.contains("OTLP/HTTP listening") {
                        oh = parse_addr(&line);
                    } else if line.contains("OTLP gRPC listening") {
                        og = parse_addr(&line);
                    } else if line.contains("vigil ready") {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "vigil did not become ready; log:\n{}",
                        log.lock().expect("log lock").join("\n")
                    );
                }
            }
        }
        Vigil {
            child: Some(child),
            api: api.expect("api address logged"),
            otlp_http: oh,
            otlp_grpc: og,
            data_dir: data_dir.to_owned(),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.api, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (bounded) for a clean exit; returns the exit status success.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// Vigil's own `/metrics` text.
    pub fn metrics_text(&self) -> String {
        client()
            .get(self.url("/metrics"))
            .send()
            .expect("metrics")
            .text()
            .expect("text")
    }

    /// One remote_write request with the headers Prometheus sends.
    pub fn remote_write(&self, b: &vigil_model::Batch) -> reqwest::blocking::Response {
        remote_write_to(&self.url("/api/v1/write"), b)
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One remote_write request to any receiver (Vigil, or Prometheus with
/// `--web.enable-remote-write-receiver`), with the headers Prometheus sends.
pub fn remote_write_to(url: &str, b: &vigil_model::Batch) -> reqwest::blocking::Response {
    client()
        .post(url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(vigil_codec::remote_write::encode(b))
        .send()
        .expect("post")
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Exported series as (labels, samples) from `/api/v1/export`.
pub fn export(v: &Vigil, selector: &str) -> Vec<serde_json::Value> {
    let body = client()
        .get(v.url("/api/v1/export"))
        .query(&[("match[]", selector)])
        .send()
        .expect("export")
        .text()
        .expect("text");
    body.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Polls `f` until it returns Some, at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether peer tests must run (CI) rather than skip when a peer is missing.
pub fn peers_required() -> bool {
    std::env::var("VIGIL_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// A peer program, or a skip message (a failure when peers are required).
pub fn peer(env: &str, default: &str) -> Option<PathBuf> {
    let p = std::env::var(env)
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(default));
    if p.exists() {
        return Some(p);
    }
    assert!(
        !peers_required(),
        "{} not found at {} and VIGIL_REQUIRE_PEERS=1",
        env,
        p.display()
    );
    eprintln!("skipped: {env} not found at {} (set {env})", p.display());
    None
}

/// A port that was free a moment ago, for peers that cannot bind port 0 and report it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Serves fixed bodies on 127.0.0.1 (path → (content type, body)) until dropped.
pub struct StaticServer {
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl StaticServer {
    pub fn start(content_type: &str, body: Vec<u8>) -> StaticServer {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let addr = l.local_addr().expect("addr");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ct = content_type.to_owned();
        let st = stop.clone();
        std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut buf = [0u8; 8192];
                        let mut req = Vec::new();
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match s.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => req.extend_from_slice(&buf[..n]),
                            }
                        }
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = s.write_all(head.as_bytes());
                        let _ = s.write_all(&body);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        StaticServer { addr, stop }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A child process killed (and reaped) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's Prometheus 2.42 with a config, on a free port, ready.
pub fn start_prometheus(dir: &Path, config: &str) -> Option<(Proc, String)> {
    start_prometheus_with(dir, config, &[])
}

/// [`start_prometheus`] with extra flags.
pub fn start_prometheus_with(dir: &Path, config: &str, extra: &[&str]) -> Option<(Proc, String)> {
    let bin = peer("VIGIL_PROMETHEUS", "/usr/bin/prometheus")?;
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config).expect("write prometheus.yml");
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("prom-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
        .spawn()
        .expect("spawn prometheus");
    let p = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    wait_for(START_TIMEOUT, || {
        c.get(format!("{base}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .unwrap_or_else(|| {
        panic!(
            "prometheus not ready: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        )
    });
    Some((p, base))
}

/// The Python interpreter of the test venv (prometheus_client, OpenTelemetry SDK).
pub fn python() -> Option<PathBuf> {
    peer("VIGIL_PYTHON", "/nonexistent/vigil-python")
}

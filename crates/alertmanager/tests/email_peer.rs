//! `email_configs` against a real SMTP server: Python's `aiosmtpd` (from the venv at
//! `$VIGIL_PYTHON`, default `~/.cache/vigil-venv/bin/python`) on a free 127.0.0.1 port, with a
//! small handler that decodes each message (RFC 2047 headers, MIME parts) into a JSON line.
//!
//! Checked: delivery with `require_tls: false` (envelope, Subject from the default template,
//! To/From, a custom templated header, the text part and the default HTML part of a
//! `multipart/alternative` body), AUTH PLAIN/LOGIN with a password, and that `require_tls: true`
//! against a server without STARTTLS fails with Alertmanager's error and sends nothing.
//!
//! Without the venv the test prints `skipped: …` (fails with `VIGIL_REQUIRE_PEERS=1`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{alert, skip, start};

const HANDLER: &str = r#"
import asyncio, json, sys
from email import message_from_bytes
from email.policy import default
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

out = sys.argv[1]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=default)
        parts = []
        for p in (msg.iter_parts() if msg.is_multipart() else [msg]):
            parts.append({"type": p.get_content_type(), "body": p.get_content(),
                          "cte": p.get("Content-Transfer-Encoding", "")})
        auth = session.auth_data.login.decode() if session.authenticated and isinstance(session.auth_data, LoginPassword) else None
        rec = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "headers": {k: str(v) for k, v in msg.items()},
               "content_type": msg.get_content_type(), "parts": parts, "auth": auth}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: SMTP(Handler(), authenticator=authenticator, auth_require_tls=False),
        "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"#;

fn python() -> PathBuf {
    match std::env::var_os("VIGIL_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/vigil-venv/bin/python")
        }
    }
}

/// The SMTP sink; killed (by its own handle) when dropped.
struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    fn start() -> Option<Smtp> {
        let py = python();
        let has_aiosmtpd = Command::new(&py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_aiosmtpd {
            skip(&format!("{} with aiosmtpd not found", py.display()));
            return None;
        }
        let dir = tempfile::tempdir().expect("dir");
        let script = dir.path().join("smtp_sink.py");
        std::fs::write(&script, HANDLER).expect("script");
        let out = dir.path().join("messages.jsonl");
        let mut child = Command::new(&py)
            .arg(&script)
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn aiosmtpd");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("aiosmtpd did not start within 20s");
            }
        };
        let port = line.trim().parse().expect("port");
        Some(Smtp {
            child,
            port,
            out,
            _dir: dir,
        })
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    async fn wait(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, got {m:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn config(port: u16, receivers: &str) -> String {
    format!(
        r#"
global:
  smtp_smarthost: 127.0.0.1:{port}
  smtp_from: "Vigil <vigil@example.org>"
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 50ms
  group_interval: 300ms
  routes:
    - matchers: [route=auth]
      receiver: auth
    - matchers: [route=tls]
      receiver: tls
receivers:
{receivers}
"#
    )
}

const RECEIVERS: &str = r#"
  - name: mail
    email_configs:
      - to: "oncall@example.org, db@example.org"
        require_tls: false
        headers:
          X-Team: "{{ .CommonLabels.team }}"
        text: "Alert {{ .CommonLabels.alertname }} for team {{ .CommonLabels.team }}"
  - name: auth
    email_configs:
      - to: oncall@example.org
        require_tls: false
        auth_username: alice
        auth_password: s3cret
  - name: tls
    email_configs:
      - to: oncall@example.org
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_through_aiosmtpd() {
    let Some(smtp) = Smtp::start() else {
        return;
    };
    let am = start(&config(smtp.port, RECEIVERS), None);

    am.post_alerts(vec![alert(&[("alertname", "Disk"), ("team", "db")])])
        .expect("post");
    let m = smtp.wait(1, Duration::from_secs(10)).await;
    let msg = &m[0];
    assert_eq!(msg["mail_from"], "vigil@example.org");
    assert_eq!(
        msg["rcpt_tos"],
        serde_json::json!(["oncall@example.org", "db@example.org"])
    );
    let h = &msg["headers"];
    assert_eq!(h["Subject"], "[FIRING:1] Disk (db)");
    assert_eq!(h["To"], "oncall@example.org, db@example.org");
    assert_eq!(h["From"], "Vigil <vigil@example.org>");
    assert_eq!(h["X-Team"], "db");
    assert!(
        h["Message-ID"].is_string() || h["Message-Id"].is_string(),
        "{h}"
    );
    assert!(h["Date"].is_string());
    assert_eq!(h["MIME-Version"], "1.0");
    assert_eq!(msg["content_type"], "multipart/alternative");
    let parts = msg["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[0]["cte"], "quoted-printable");
    assert_eq!(
        parts[0]["body"].as_str().map(str::trim_end),
        Some("Alert Disk for team db")
    );
    assert_eq!(parts[1]["type"], "text/html");
    let html = parts[1]["body"].as_str().expect("html");
    assert!(
        html.contains("<title>[FIRING:1] Disk (db)</title>"),
        "{html}"
    );
    assert!(html.contains("1 alert for alertname=Disk"), "{html}");
    assert!(html.contains("<td>team</td><td>db</td>"), "{html}");
    assert_eq!(msg["auth"], serde_json::Value::Null);

    // AUTH with a password.
    am.post_alerts(vec![alert(&[("alertname", "Auth"), ("route", "auth")])])
        .expect("post");
    let m = smtp.wait(2, Duration::from_secs(10)).await;
    assert_eq!(m[1]["auth"], "alice");
    assert_eq!(m[1]["headers"]["Subject"], "[FIRING:1] Auth (auth)");

    // require_tls (the default) against a server without STARTTLS: a clear error, no mail.
    am.post_alerts(vec![alert(&[("alertname", "Tls"), ("route", "tls")])])
        .expect("post");
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        let st = am.integration_status();
        if let Some(e) = st
            .iter()
            .find(|s| s.receiver == "tls")
            .and_then(|s| s.last_error.clone())
        {
            break e;
        }
        assert!(Instant::now() < deadline, "no failure recorded: {st:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        err,
        format!(
            "'require_tls' is true (default) but \"127.0.0.1:{}\" does not advertise the STARTTLS extension",
            smtp.port
        )
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2);
    am.stop_notifier().await;
}

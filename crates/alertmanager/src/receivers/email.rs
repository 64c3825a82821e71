//! `email_configs`: one SMTP session per notification (`notify/email/email.go`, v0.25).
//!
//! Connect to the smarthost (implicit TLS on port 465), EHLO with `hello`, then STARTTLS when
//! `require_tls` (the default) and fail when the server does not offer it; AUTH when a username
//! is set and the server offers PLAIN or LOGIN; then MAIL FROM the single `from` address, RCPT TO
//! each `to` address, and DATA: the configured headers (`Subject` defaults to
//! `{{ template "email.default.subject" . }}`, `To` and `From` to the addresses), each rendered
//! and RFC 2047-encoded, `Message-Id`, `Date`, and a `multipart/alternative` body with the `text`
//! part (when configured) then the `html` part (default `email.default.html`), both
//! quoted-printable.
//!
//! The SMTP client and MIME writer are `lettre`'s (SMTP is not Vigil's product); the session is
//! driven step by step rather than through its transport so that the STARTTLS and AUTH decisions
//! are Alertmanager's. Template and address errors are permanent; connection and SMTP errors
//! are retried, as Alertmanager retries them.
//!
//! Not supported: CRAM-MD5 (lettre does not implement it; a username with only `auth_secret`
//! fails with a clear error), and `auth_identity` (PLAIN is sent without an authorization id).

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Identity, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;

use super::http::{error_chain, Failure};
use super::{notification_data, BuildOptions, NotifyCtx, Render};
use crate::alert::Alert;
use crate::config::{EmailConfig, TlsConfig};

#[derive(Debug)]
pub(crate) struct Email {
    conf: EmailConfig,
    headers: BTreeMap<String, String>,
    /// The smarthost's port, checked when built.
    port: u16,
    timeout: Duration,
}

/// A message ready for the wire.
pub(crate) struct Prepared {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

fn retry(what: &str, e: &dyn std::error::Error) -> Failure {
    Failure::retryable(format!("{what}: {}", error_chain(e)))
}

fn tls_parameters(host: &str, tls: &TlsConfig) -> Result<TlsParameters, Failure> {
    let domain = tls.server_name.clone().unwrap_or_else(|| host.to_owned());
    let mut b = TlsParameters::builder(domain);
    if let Some(ca) = &tls.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            Failure::permanent(format!(
                "parse TLS configuration: unable to load specified CA cert {ca}: {e}"
            ))
        })?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| Failure::permanent(format!("parse TLS configuration: {ca}: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let read = |p: &str| {
            std::fs::read(p).map_err(|e| {
                Failure::permanent(format!("parse TLS configuration: unable to read {p}: {e}"))
            })
        };
        let id = Identity::from_pem(&read(cert)?, &read(key)?)
            .map_err(|e| Failure::permanent(format!("parse TLS configuration: {e}")))?;
        b = b.identify_with(id);
    }
    b = b.dangerous_accept_invalid_certs(tls.insecure_skip_verify);
    b.build_rustls()
        .map_err(|e| Failure::permanent(format!("parse TLS configuration: {}", error_chain(&e))))
}

impl Email {
    pub fn new(c: &EmailConfig, opts: &BuildOptions) -> Result<Self, String> {
        let mut headers = c.headers.clone();
        headers
            .entry("Subject".to_owned())
            .or_insert_with(|| "{{ template \"email.default.subject\" . }}".to_owned());
        headers
            .entry("To".to_owned())
            .or_insert_with(|| c.to.clone());
        headers
            .entry("From".to_owned())
            .or_insert_with(|| c.from.clone());
        for name in headers.keys() {
            HeaderName::new_from_ascii(name.clone())
                .map_err(|_| format!("invalid header name {name:?}"))?;
        }
        let port = c
            .smarthost
            .port
            .parse::<u16>()
            .map_err(|_| format!("invalid smarthost port {:?}", c.smarthost.port))?;
        Ok(Email {
            conf: c.clone(),
            headers,
            port,
            timeout: opts.request_timeout,
        })
    }

    /// Renders and encodes the message for `alerts`.
    pub fn prepare(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<Prepared, Failure> {
        let data = notification_data(ctx, alerts);
        let mut r = Render::new(&ctx.templates, &data);
        let from = r.text(&self.conf.from);
        let to = r.text(&self.conf.to);
        r.finish("'from' or 'to'")?;
        let from: Mailboxes = from
            .parse()
            .map_err(|e| Failure::permanent(format!("parse 'from' addresses: {e}")))?;
        let from_list: Vec<_> = from.into_iter().collect();
        let [from_box] = from_list.as_slice() else {
            return Err(Failure::permanent(format!(
                "must be exactly one 'from' address (got: {})",
                from_list.len()
            )));
        };
        let to: Mailboxes = to
            .parse()
            .map_err(|e| Failure::permanent(format!("parse 'to' addresses: {e}")))?;
        let rcpt: Vec<_> = to.into_iter().map(|m| m.email).collect();
        let envelope = Envelope::new(Some(from_box.email.clone()), rcpt)
            .map_err(|e| Failure::permanent(format!("envelope: {e}")))?;

        let mut b = Message::builder();
        for (name, t) in &self.headers {
            let value = ctx.templates.execute_text(t, &data).map_err(|e| {
                Failure::permanent(format!("execute {name:?} header template: {}", e.message()))
            })?;
            let hn = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| Failure::permanent(format!("invalid header name {name:?}")))?;
            b = b.raw_header(HeaderValue::new(hn, value));
        }
        if !self.headers.contains_key("Message-Id") {
            b = b.message_id(None);
        }
        let mut r = Render::new(&ctx.templates, &data);
        let mut parts = MultiPart::alternative().build();
        if !self.conf.text.is_empty() {
            let text = r.text(&self.conf.text);
            parts = parts.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(text),
            );
        }
        if !self.conf.html.is_empty() {
            // The preferred alternative goes last (RFC 2046, section 5.1.4).
            let html = r.html(&self.conf.html);
            parts = parts.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(html),
            );
        }
        r.finish("email body")?;
        let msg = b
            .envelope(envelope.clone())
            .multipart(parts)
            .map_err(|e| Failure::permanent(format!("build message: {e}")))?;
        Ok(Prepared {
            envelope,
            bytes: msg.formatted(),
        })
    }

    fn password(&self) -> Result<String, Failure> {
        match (&self.conf.auth_password, &self.conf.auth_password_file) {
            (Some(p), _) => Ok(p.expose().to_owned()),
            // Alertmanager 0.25 uses the file's content as is.
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| Failure::retryable(format!("could not read {f}: {e}"))),
            (None, None) => Ok(String::new()),
        }
    }

    pub async fn notify(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<(), Failure> {
        let msg = self.prepare(ctx, alerts)?;
        let host = self.conf.smarthost.host.as_str();
        let port = self.port;
        let addr = format!("{host}:{port}");
        let hello = ClientId::Domain(self.conf.hello.clone());
        let wrapper = if port == 465 {
            Some(tls_parameters(host, &self.conf.tls_config)?)
        } else {
            None
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (host, port),
            Some(self.timeout),
            &hello,
            wrapper,
            None,
        )
        .await
        .map_err(|e| retry("establish connection to server", &e))?;
        let out = self.session(&mut conn, &addr, &hello, &msg).await;
        match &out {
            Ok(()) => {
                let _ = conn.quit().await;
            }
            Err(_) => conn.abort().await,
        }
        out
    }

    async fn session(
        &self,
        conn: &mut AsyncSmtpConnection,
        addr: &str,
        hello: &ClientId,
        msg: &Prepared,
    ) -> Result<(), Failure> {
        if self.conf.require_tls && !conn.is_encrypted() {
            if !conn.can_starttls() {
                return Err(Failure::retryable(format!(
                    "'require_tls' is true (default) but {addr:?} does not advertise the STARTTLS extension"
                )));
            }
            let params = tls_parameters(&self.conf.smarthost.host, &self.conf.tls_config)?;
            conn.starttls(params, hello)
                .await
                .map_err(|e| retry("send STARTTLS command", &e))?;
        }
        let mechanisms = [Mechanism::Plain, Mechanism::Login];
        let offered = conn.server_info().get_auth_mechanism(&mechanisms);
        if !self.conf.auth_username.is_empty() {
            if let Some(mech) = offered {
                let password = self.password()?;
                if password.is_empty() {
                    let what = if self.conf.auth_secret.is_some() {
                        "CRAM-MD5 is not supported by Vigil; set auth_password".to_owned()
                    } else {
                        format!("missing password for {mech} auth mechanism")
                    };
                    return Err(Failure::retryable(format!("find auth mechanism: {what}")));
                }
                let creds = Credentials::new(self.conf.auth_username.clone(), password);
                conn.auth(&[mech], &creds)
                    .await
                    .map_err(|e| retry(&format!("{mech} auth"), &e))?;
            }
        }
        conn.send(&msg.envelope, &msg.bytes)
            .await
            .map_err(|e| retry("send message", &e))?;
        Ok(())
    }
}

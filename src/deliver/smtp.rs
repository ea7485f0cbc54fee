//! SMTP delivery over one long-lived connection, with lettre's low-level
//! client (the envelope pipelined when the relay offers it), and the
//! classification of every failure into a [`DeliveryOutcome`] (see
//! [`SmtpTransport`] for the rules).

use super::Transport;
use crate::model::DeliveryOutcome;
use anyhow::{Result, bail};
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Severity;
use std::cell::Cell;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte (usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which the server must offer
    /// (usually port 587); never falls back to plain text.
    StartTls,
    /// No encryption; allowed only for a relay on this machine (loopback).
    None,
}

/// Where and how to reach the SMTP relay.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Relay host name or IP address.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Transport security; see [`Security`].
    pub security: Security,
    /// AUTH user name; empty means do not authenticate.
    pub username: String,
    /// AUTH password (read from the environment variable the config names).
    pub password: Option<String>,
    /// Socket read/write timeout. RFC 5321 §4.5.3.2 advises 10 minutes for
    /// the reply to the final dot, which is the longest wait, so callers
    /// usually pass 10 minutes.
    pub timeout: Duration,
    /// Name sent in EHLO; `None` uses this machine's host name.
    pub hello_name: Option<String>,
}

// Hand-written so the password can never reach a log line.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An SMTP transport that keeps one connection open across messages.
///
/// The connection is opened lazily on the first [`send`](Transport::send),
/// reused for every following message, reopened lazily after it breaks, and
/// reset with `RSET` when the previous transaction ended part-way. `QUIT` is
/// sent on drop.
///
/// Outcomes, which the ledger's retry policy depends on:
/// - a positive reply to the final dot → [`DeliveryOutcome::Sent`];
/// - any 4xx reply at any step, or the connection failing before the whole
///   body was handed to the socket → [`DeliveryOutcome::Deferred`];
/// - any 5xx reply → [`DeliveryOutcome::Failed`], with `suppress` only for
///   address problems: enhanced status 5.1.x, or 550/551/553 to `RCPT TO`;
/// - the connection failing after the whole body was written (sending the
///   final dot or waiting for its reply) → [`DeliveryOutcome::Unknown`]: the
///   relay may have accepted it, so it is never retried automatically.
///
/// Reasons carry the step and the server's reply code and text.
pub struct SmtpTransport {
    settings: SmtpSettings,
    tls: Option<TlsParameters>,
    hello: ClientId,
    connection: Option<SmtpConnection>,
    /// The relay of `connection` advertised PIPELINING (RFC 2920): MAIL,
    /// RCPT and DATA go out in one write, saving two round trips a message.
    pipelining: bool,
    /// The last transaction stopped after MAIL FROM was accepted: send RSET.
    needs_reset: bool,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("settings", &self.settings)
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl SmtpTransport {
    /// Checks the settings; connects only when the first message is sent.
    ///
    /// Fails when `security` is [`Security::None`] and the host is not
    /// loopback (credentials and addresses would cross the network in clear
    /// text), or when the TLS parameters cannot be built.
    pub fn new(settings: SmtpSettings) -> Result<Self> {
        if settings.host.trim().is_empty() {
            bail!("the SMTP host is empty; set it to your relay's host name");
        }
        let tls = match settings.security {
            Security::None => {
                if !is_loopback(&settings.host) {
                    bail!(
                        "SMTP security \"none\" is only allowed for a relay on this machine \
                         (localhost, 127.0.0.0/8, ::1), not {:?}; use \"tls\" or \"starttls\"",
                        settings.host
                    );
                }
                None
            }
            Security::Tls | Security::StartTls => {
                let host = settings.host.trim_start_matches('[').trim_end_matches(']');
                Some(TlsParameters::new(host.to_owned()).map_err(|e| {
                    anyhow::anyhow!("cannot set up TLS for SMTP host {:?}: {e}", settings.host)
                })?)
            }
        };
        let hello = match &settings.hello_name {
            Some(name) if !name.trim().is_empty() => ClientId::Domain(name.trim().to_owned()),
            _ => ClientId::default(),
        };
        Ok(SmtpTransport {
            settings,
            tls,
            hello,
            connection: None,
            pipelining: false,
            needs_reset: false,
        })
    }

    /// Opens, secures and authenticates a new connection; also says
    /// whether the relay offers PIPELINING.
    fn connect(&self) -> std::result::Result<(SmtpConnection, bool), Step> {
        let s = &self.settings;
        let host = s.host.trim_start_matches('[').trim_end_matches(']');
        let implicit_tls = match s.security {
            Security::Tls => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (host, s.port),
            Some(s.timeout),
            &self.hello,
            implicit_tls,
            None,
        )
        .map_err(|e| Step::new(format!("connect to {}:{}", s.host, s.port), e))?;
        if s.security == Security::StartTls {
            if !conn.can_starttls() {
                conn.abort();
                return Err(Step::local(format!(
                    "{}:{} does not offer STARTTLS, which security \"starttls\" requires",
                    s.host, s.port
                )));
            }
            if let Some(tls) = &self.tls {
                conn.starttls(tls, &self.hello)
                    .map_err(|e| Step::new("STARTTLS", e))?;
            }
        }
        // lettre keeps only the EHLO keywords it knows, and PIPELINING is
        // not one of them: ask again (allowed at any time, RFC 5321 §4.1.4)
        // and read the keyword ourselves, before AUTH so nothing is reset.
        let pipelining = conn
            .command(Ehlo::new(self.hello.clone()))
            .map(|reply| offers_pipelining(&reply))
            .map_err(|e| Step::new("EHLO", e))?;
        if !s.username.is_empty() {
            let credentials =
                Credentials::new(s.username.clone(), s.password.clone().unwrap_or_default());
            // The error from lettre carries the server's reply, never the password.
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .map_err(|e| Step::new(format!("AUTH as {}", s.username), e))?;
        }
        Ok((conn, pipelining))
    }

    /// Returns a usable connection, reopening or resetting as needed.
    fn ready(&mut self) -> std::result::Result<&mut SmtpConnection, Step> {
        if self.connection.as_ref().is_some_and(|c| c.has_broken()) {
            self.connection = None;
        }
        if self.needs_reset {
            if let Some(conn) = self.connection.as_mut()
                && conn.command(Rset).is_err()
            {
                conn.abort();
                self.connection = None;
            }
            self.needs_reset = false;
        }
        if self.connection.is_none() {
            let (conn, pipelining) = self.connect().map_err(Step::in_setup)?;
            self.connection = Some(conn);
            self.pipelining = pipelining;
        }
        match self.connection.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(Step::local("no SMTP connection".to_owned())),
        }
    }

    /// Runs one transaction, asking `go_ahead` once the relay has accepted
    /// `DATA` and before any of the message is written. `Ok(false)`: it said
    /// no, and the connection was dropped so the relay discards the
    /// transaction. `Err` carries where and how it stopped.
    fn transaction(
        &mut self,
        from: Address,
        to: Address,
        message: &[u8],
        go_ahead: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Step> {
        let conn = self.ready()?;
        let mut options = Vec::new();
        if !message.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Step::local(
                    "message has 8-bit content but the server lacks 8BITMIME".to_owned(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        // From here on the server holds transaction state until a final reply.
        self.needs_reset = true;
        let mail = Mail::new(Some(from.clone()), options);
        let rcpt = Rcpt::new(to.clone(), Vec::new());
        let mail_step = |e| Step::new(format!("MAIL FROM:<{from}>"), e).mail();
        let rcpt_step = |e| Step::new(format!("RCPT TO:<{to}>"), e).rcpt();
        if self.pipelining {
            self.pipelined_envelope(mail, rcpt, mail_step, rcpt_step)?;
        } else {
            let conn = self.ready_conn()?;
            conn.command(mail).map_err(mail_step)?;
            conn.command(rcpt).map_err(rcpt_step)?;
            conn.command(Data).map_err(|e| Step::new("DATA", e))?;
        }
        if !go_ahead() {
            // Mid-DATA there is no RSET: closing without the final dot is
            // the one way to make sure the relay delivers nothing. Not
            // `abort()`: its QUIT would be read as message text, and its
            // wait for a reply would last the whole timeout.
            self.connection = None;
            self.needs_reset = false;
            return Ok(false);
        }
        let conn = self.ready_conn()?;
        // The body and the final dot go out in ONE write. lettre's
        // `message_iter` writes the dot separately; behind the body's last
        // partial segment, Nagle's algorithm holds that 5-byte write until the
        // relay's delayed ACK (~40 ms on Linux), capping a connection at ~25
        // messages/s. lettre cannot set TCP_NODELAY, so we avoid the pattern.
        let result = match std::str::from_utf8(message) {
            Ok(text) => conn.command(DataBody(text)).map_err(|e| {
                // Only an error that proves the relay did not read our whole
                // message (we could not write it) may be retried; anything
                // else could have followed an accepted dot.
                let unread = lost_while_writing(&e);
                Step::new("end of DATA", e).body_written(!unread)
            }),
            Err(_) => {
                let written = Cell::new(false);
                let body = Exhausted {
                    inner: std::iter::once(message),
                    done: &written,
                };
                conn.message_iter(body)
                    .map_err(|e| Step::new("end of DATA", e).body_written(written.get()))
            }
        };
        match result {
            Ok(_) => {
                self.needs_reset = false;
                Ok(true)
            }
            Err(step) => {
                // A reply to the final dot ends the transaction either way.
                if step.code.is_some() {
                    self.needs_reset = false;
                }
                Err(step)
            }
        }
    }

    /// MAIL, RCPT and DATA in one write (RFC 2920), then their three
    /// replies in order. The first refusal decides the outcome, as it would
    /// have one command at a time; every reply is read either way so the
    /// next transaction starts in step. A relay that accepts DATA after
    /// refusing the sender or the recipient is waiting for a body we will
    /// not send: the connection is dropped, so it delivers nothing.
    fn pipelined_envelope(
        &mut self,
        mail: Mail,
        rcpt: Rcpt,
        mail_step: impl FnOnce(lettre::transport::smtp::Error) -> Step,
        rcpt_step: impl FnOnce(lettre::transport::smtp::Error) -> Step,
    ) -> Result<(), Step> {
        let conn = self.ready_conn()?;
        let envelope = format!("{mail}{rcpt}{Data}");
        let mail_reply = conn.command(envelope);
        // A lost connection: nothing more will come.
        if let Err(e) = &mail_reply
            && e.status().is_none()
        {
            return mail_reply.map(|_| ()).map_err(mail_step);
        }
        let rcpt_reply = conn.read_response();
        if let Err(e) = &rcpt_reply
            && e.status().is_none()
        {
            mail_reply.map_err(mail_step)?;
            return rcpt_reply.map(|_| ()).map_err(rcpt_step);
        }
        let data_reply = conn.read_response();
        let refused = mail_reply.is_err() || rcpt_reply.is_err();
        if refused && data_reply.is_ok() {
            self.connection = None;
            self.needs_reset = false;
        }
        mail_reply.map_err(mail_step)?;
        rcpt_reply.map_err(rcpt_step)?;
        data_reply.map_err(|e| Step::new("DATA", e))?;
        Ok(())
    }

    fn ready_conn(&mut self) -> std::result::Result<&mut SmtpConnection, Step> {
        self.connection
            .as_mut()
            .ok_or_else(|| Step::local("no SMTP connection".to_owned()))
    }
}

impl Transport for SmtpTransport {
    fn send_when(
        &mut self,
        envelope_from: &str,
        to: &str,
        message: &[u8],
        go_ahead: &mut dyn FnMut() -> bool,
    ) -> Option<DeliveryOutcome> {
        let from: Address = match envelope_from.parse() {
            Ok(a) => a,
            Err(e) => {
                return Some(DeliveryOutcome::Failed {
                    reason: format!("invalid envelope sender {envelope_from:?}: {e}"),
                    suppress: false,
                });
            }
        };
        let to: Address = match to.parse() {
            Ok(a) => a,
            Err(e) => {
                return Some(DeliveryOutcome::Failed {
                    reason: format!("invalid recipient address {to:?}: {e}"),
                    suppress: true,
                });
            }
        };
        Some(match self.transaction(from, to, message, go_ahead) {
            Ok(true) => DeliveryOutcome::Sent,
            Ok(false) => return None,
            Err(step) => {
                let outcome = step.outcome();
                // A broken or closing connection is reopened on the next send.
                let drop_it = step.code.is_none_or(|c| c == 421)
                    || self.connection.as_ref().is_some_and(|c| c.has_broken());
                if drop_it {
                    // Closed without QUIT: the connection is gone, closing,
                    // or stuck mid-DATA, where QUIT would be read as text
                    // and its reply awaited for the whole timeout.
                    self.connection = None;
                    self.needs_reset = false;
                }
                tracing::debug!(?outcome, "smtp delivery");
                outcome
            }
        })
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        if let Some(mut conn) = self.connection.take()
            && !conn.has_broken()
        {
            let _ = conn.quit();
        }
    }
}

/// Wraps the body iterator and records when it is exhausted: lettre's
/// `message_iter` asks for the next chunk only after writing the previous
/// one, so `done` means every body byte was handed to the socket and only
/// the final dot and its reply remain.
struct Exhausted<'a, I> {
    inner: I,
    done: &'a Cell<bool>,
}

impl<I: Iterator> Iterator for Exhausted<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next();
        if item.is_none() {
            self.done.set(true);
        }
        item
    }
}

/// The DATA payload: the message with dot-stuffing (RFC 5321 §4.5.2) and
/// the terminating `CRLF.CRLF`, written by lettre's `command` in one piece.
struct DataBody<'a>(&'a str);

impl std::fmt::Display for DataBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&dot_stuff(self.0))?;
        if self.0.ends_with("\r\n") {
            f.write_str(".\r\n")
        } else {
            f.write_str("\r\n.\r\n")
        }
    }
}

/// Whether an EHLO reply lists the PIPELINING keyword (RFC 2920).
fn offers_pipelining(reply: &lettre::transport::smtp::response::Response) -> bool {
    reply.message().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
    })
}

/// Doubles a `.` at the start of every line, so no line of the message can
/// end the DATA phase early.
fn dot_stuff(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.starts_with('.') && !text.contains("\n.") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    std::borrow::Cow::Owned(out)
}

/// True when the connection failed in a way that shows the relay never
/// read all we wrote: a broken pipe, or a reset (a relay that closes with
/// our bytes unread resets the connection). A plain close or a timeout
/// after the write proves nothing.
fn lost_while_writing(error: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
        }
        source = e.source();
    }
    false
}

/// Whether an I/O error under `error` is a socket timeout. A read timeout
/// surfaces as `WouldBlock` (EAGAIN) on Unix and `TimedOut` on Windows.
fn timed_out(error: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            );
        }
        source = e.source();
    }
    false
}

/// Where a transaction stopped and why.
#[derive(Debug)]
struct Step {
    /// What we were doing ("RCPT TO:<a@b>").
    what: String,
    /// The reply code, when the server answered negatively.
    code: Option<u16>,
    /// The server's text, or the local/network error.
    detail: String,
    /// Whether the step was RCPT TO.
    rcpt: bool,
    /// Whether the step was MAIL FROM (a reply about the sender, not the subscriber).
    mail: bool,
    /// Whether the whole body had been written when it failed.
    body_written: bool,
    /// Whether it failed while opening the session.
    setup: bool,
    /// A problem on our side or with the server's capabilities, not a reply.
    local: bool,
}

impl Step {
    fn new(what: impl Into<String>, error: lettre::transport::smtp::Error) -> Self {
        let code = error.status().and_then(|c| {
            let severity = match c.severity {
                Severity::PositiveCompletion => 2,
                Severity::PositiveIntermediate => 3,
                Severity::TransientNegativeCompletion => 4,
                Severity::PermanentNegativeCompletion => 5,
            };
            c.to_string()
                .parse::<u16>()
                .ok()
                .filter(|n| n / 100 == severity)
        });
        // For replies lettre's source is the server's text; otherwise the
        // whole error (kind and cause) says more.
        let detail = match (&code, std::error::Error::source(&error)) {
            (Some(_), Some(source)) => source.to_string(),
            _ if timed_out(&error) => format!("timed out waiting for the server ({error})"),
            _ => error.to_string(),
        };
        Step {
            what: what.into(),
            code,
            detail,
            rcpt: false,
            mail: false,
            body_written: false,
            local: false,
            setup: false,
        }
    }

    fn local(detail: String) -> Self {
        Step {
            what: "setup".to_owned(),
            code: None,
            detail,
            rcpt: false,
            mail: false,
            body_written: false,
            local: true,
            setup: false,
        }
    }

    /// Marks a failure while opening the session (greeting, EHLO, STARTTLS,
    /// AUTH): a refusal there says nothing about the subscriber, so even a
    /// 5xx is retried later rather than failing every address in the run.
    fn in_setup(mut self) -> Self {
        self.setup = true;
        self
    }

    fn rcpt(mut self) -> Self {
        self.rcpt = true;
        self
    }

    fn mail(mut self) -> Self {
        self.mail = true;
        self
    }

    fn body_written(mut self, written: bool) -> Self {
        self.body_written = written;
        self
    }

    fn reason(&self) -> String {
        match self.code {
            Some(code) => format!("{}: {} {}", self.what, code, self.detail),
            None if self.local => self.detail.clone(),
            None => format!("{}: {}", self.what, self.detail),
        }
    }

    fn outcome(&self) -> DeliveryOutcome {
        let reason = self.reason();
        match self.code {
            Some(code) if (400..500).contains(&code) => DeliveryOutcome::Deferred(reason),
            Some(_) if self.setup => DeliveryOutcome::Deferred(format!(
                "the relay refused the session ({reason}); check [delivery.smtp] in config.toml"
            )),
            Some(code) if (500..600).contains(&code) => {
                // 5.1.x is an addressing problem (RFC 3463), but 5.1.7/5.1.8
                // and any reply to MAIL FROM concern our sender address:
                // suppressing the subscriber for those would be wrong.
                let enhanced = self.detail.trim_start();
                let enhanced_address = !self.mail
                    && enhanced.starts_with("5.1.")
                    && !enhanced.starts_with("5.1.7")
                    && !enhanced.starts_with("5.1.8");
                let rcpt_address = self.rcpt && matches!(code, 550 | 551 | 553);
                DeliveryOutcome::Failed {
                    reason,
                    suppress: enhanced_address || rcpt_address,
                }
            }
            _ if self.body_written => DeliveryOutcome::Unknown(reason),
            _ => DeliveryOutcome::Deferred(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, security: Security) -> SmtpSettings {
        SmtpSettings {
            host: host.to_owned(),
            port: 25,
            security,
            username: String::new(),
            password: Some("hunter2".to_owned()),
            timeout: Duration::from_secs(5),
            hello_name: Some("gazette.test".to_owned()),
        }
    }

    #[test]
    fn plain_smtp_refused_for_remote_host() {
        let err = SmtpTransport::new(settings("smtp.example.com", Security::None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("use \"tls\" or \"starttls\""), "{err}");
        assert!(err.contains("smtp.example.com"), "{err}");
    }

    #[test]
    fn plain_smtp_refused_for_private_network_address() {
        assert!(SmtpTransport::new(settings("192.168.1.10", Security::None)).is_err());
        assert!(SmtpTransport::new(settings("::2", Security::None)).is_err());
    }

    #[test]
    fn plain_smtp_allowed_on_loopback() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(
                SmtpTransport::new(settings(host, Security::None)).is_ok(),
                "{host}"
            );
        }
    }

    #[test]
    fn tls_settings_accepted_for_remote_host() {
        assert!(SmtpTransport::new(settings("smtp.example.com", Security::Tls)).is_ok());
        assert!(SmtpTransport::new(settings("smtp.example.com", Security::StartTls)).is_ok());
    }

    #[test]
    fn debug_output_hides_password() {
        let text = format!("{:?}", settings("localhost", Security::None));
        assert!(!text.contains("hunter2"), "{text}");
    }

    impl Step {
        fn new_reply(what: &str, code: u16, detail: &str) -> Step {
            Step {
                what: what.into(),
                code: Some(code),
                detail: detail.into(),
                rcpt: false,
                mail: false,
                body_written: false,
                local: false,
                setup: false,
            }
        }
    }

    #[test]
    fn dot_stuffing_doubles_leading_dots_only() {
        assert_eq!(
            dot_stuff("a\r\n.b\r\n..c\r\nd.e\r\n"),
            "a\r\n..b\r\n...c\r\nd.e\r\n"
        );
        assert_eq!(dot_stuff(".first\r\n"), "..first\r\n");
        assert!(matches!(
            dot_stuff("plain\r\nlines\r\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(DataBody("x\r\n").to_string(), "x\r\n.\r\n");
        assert_eq!(DataBody("x").to_string(), "x\r\n.\r\n");
    }

    #[test]
    fn a_refused_session_is_deferred_not_failed() {
        let step = Step::new_reply("AUTH as brief", 535, "5.7.8 bad credentials").in_setup();
        assert!(
            matches!(step.outcome(), DeliveryOutcome::Deferred(reason) if reason.contains("check [delivery.smtp]"))
        );
    }

    #[test]
    fn classifies_enhanced_5_1_as_suppress_at_any_step() {
        let step = Step {
            what: "end of DATA".into(),
            code: Some(554),
            detail: "5.1.0 bad address".into(),
            rcpt: false,
            mail: false,
            body_written: true,
            local: false,
            setup: false,
        };
        assert!(matches!(
            step.outcome(),
            DeliveryOutcome::Failed { suppress: true, .. }
        ));
    }

    #[test]
    fn sender_address_problems_never_suppress_the_subscriber() {
        let mut step = Step::new_reply("MAIL FROM:<b@x>", 550, "5.1.8 bad sender domain");
        step.mail = true;
        assert!(matches!(
            step.outcome(),
            DeliveryOutcome::Failed {
                suppress: false,
                ..
            }
        ));
        let step = Step::new_reply("end of DATA", 550, "5.1.7 bad sender syntax");
        assert!(matches!(
            step.outcome(),
            DeliveryOutcome::Failed {
                suppress: false,
                ..
            }
        ));
    }

    #[test]
    fn rcpt_refusals_550_551_553_suppress_but_552_does_not() {
        for (code, suppress) in [
            (550, true),
            (551, true),
            (553, true),
            (552, false),
            (554, false),
        ] {
            let step = Step::new_reply("RCPT TO:<a@x>", code, "mailbox problem").rcpt();
            assert_eq!(
                step.outcome(),
                DeliveryOutcome::Failed {
                    reason: format!("RCPT TO:<a@x>: {code} mailbox problem"),
                    suppress
                },
                "{code}"
            );
        }
    }

    #[test]
    fn transient_replies_and_early_losses_defer_late_losses_are_unknown() {
        let step = Step::new_reply("RCPT TO:<a@x>", 421, "4.7.0 closing").rcpt();
        assert!(matches!(step.outcome(), DeliveryOutcome::Deferred(_)));
        let mut lost = Step::local("connection reset".into());
        assert!(matches!(lost.outcome(), DeliveryOutcome::Deferred(_)));
        lost.body_written = true;
        assert!(matches!(lost.outcome(), DeliveryOutcome::Unknown(_)));
        // A reply wins over the position: 452 after the body is still Deferred.
        let step = Step::new_reply("end of DATA", 452, "4.3.1 full").body_written(true);
        assert!(matches!(step.outcome(), DeliveryOutcome::Deferred(_)));
    }

    #[test]
    fn classifies_policy_rejection_without_suppress() {
        let step = Step {
            what: "end of DATA".into(),
            code: Some(554),
            detail: "5.7.1 spam".into(),
            rcpt: false,
            mail: false,
            body_written: true,
            local: false,
            setup: false,
        };
        assert_eq!(
            step.outcome(),
            DeliveryOutcome::Failed {
                reason: "end of DATA: 554 5.7.1 spam".into(),
                suppress: false
            }
        );
    }
}

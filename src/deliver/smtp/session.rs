//! The connection to the relay: how it is protected (TLS parameters, the
//! loopback rule for plain text), opened (TCP, implicit TLS or STARTTLS,
//! EHLO, AUTH), reused, reset with `RSET` after a transaction that stopped
//! part-way, and reopened after it breaks.
//!
//! It must never send `MAIL`, `RCPT` or `DATA`, nor decide a delivery's
//! outcome: a failure here comes back as a [`Failure`] in
//! [`Phase::Session`], and `outcome` says what it means.

use super::extensions::Extensions;
use super::outcome::{Failure, Phase};
use super::pipelining::offers_pipelining;
use super::{Security, SmtpSettings, SmtpTransport};
use anyhow::{Result, bail};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Ehlo, Rset};
use std::time::Duration;

/// RFC 5321 §4.5.3.2's wait for the greeting (220), which we also give
/// EHLO, STARTTLS, AUTH and RSET: 5 minutes.
pub(super) const GREETING: Duration = Duration::from_secs(5 * 60);
/// §4.5.3.2.2 and .3: the replies to `MAIL` and `RCPT`, 5 minutes each.
pub(super) const ENVELOPE: Duration = Duration::from_secs(5 * 60);
/// §4.5.3.2.4: the reply to `DATA`, 2 minutes.
pub(super) const DATA_START: Duration = Duration::from_secs(2 * 60);

/// An open, secured and authenticated connection, with what its relay offers.
pub(super) struct Session {
    pub(super) conn: SmtpConnection,
    /// The relay advertised PIPELINING (RFC 2920): MAIL, RCPT and DATA go
    /// out in one write, behind the previous message's body when the caller
    /// names the next message, so a message costs one round trip, not four.
    pub(super) pipelining: bool,
    /// What the relay lets `MAIL FROM` carry (8BITMIME, SMTPUTF8).
    pub(super) extensions: Extensions,
    /// The socket's read and write timeout as last set. The configured
    /// timeout is usually shorter than every RFC wait, so most phases wait
    /// the same and need no `setsockopt` (two per change).
    timeout: Duration,
}

impl Session {
    /// Whether lettre saw the connection fail.
    pub(super) fn has_broken(&self) -> bool {
        self.conn.has_broken()
    }

    /// Waits at most `rfc` (never more than the `configured` timeout) for
    /// the next replies, in `phase`.
    pub(super) fn wait(
        &mut self,
        rfc: Duration,
        configured: Duration,
        phase: Phase,
    ) -> Result<(), Failure> {
        let timeout = rfc.min(configured);
        if timeout == self.timeout {
            return Ok(());
        }
        self.conn
            .set_timeout(Some(timeout))
            .map_err(|e| Failure::local(phase, format!("cannot set the socket timeout: {e}")))?;
        self.timeout = timeout;
        Ok(())
    }
}

/// `host` without the brackets of an IPv6 literal (`[::1]` → `::1`), as
/// the socket and the TLS certificate check want it.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The TLS parameters `settings.security` needs, or `None` for plain text,
/// which is refused unless the relay is on this machine.
pub(super) fn tls_parameters(settings: &SmtpSettings) -> Result<Option<TlsParameters>> {
    match settings.security {
        Security::None => {
            if !crate::net::is_loopback_host(&settings.host) {
                bail!(
                    "SMTP security \"none\" is only allowed for a relay on this machine \
                     (localhost, 127.0.0.0/8, ::1), not {:?}; use \"tls\" or \"starttls\"",
                    settings.host
                );
            }
            Ok(None)
        }
        Security::Tls | Security::StartTls => TlsParameters::new(bare(&settings.host).to_owned())
            .map(Some)
            .map_err(|e| {
                anyhow::anyhow!("cannot set up TLS for SMTP host {:?}: {e}", settings.host)
            }),
    }
}

impl SmtpTransport {
    /// Opens, secures and authenticates a new connection, and asks whether
    /// the relay offers PIPELINING.
    fn connect(&self) -> Result<Session, Failure> {
        let s = &self.settings;
        let failed = |what: String, e| Failure::new(Phase::Session, what, e);
        let implicit_tls = match s.security {
            Security::Tls => self.tls.as_ref(),
            _ => None,
        };
        // One wait for the TCP connection, the greeting and lettre's EHLO:
        // a relay that accepts and never greets costs 5 minutes (or the
        // configured timeout when shorter), not the 10 of the final dot.
        let timeout = GREETING.min(s.timeout);
        let mut conn = SmtpConnection::connect(
            (bare(&s.host), s.port),
            Some(timeout),
            &self.hello,
            implicit_tls,
            None,
        )
        .map_err(|e| failed(format!("connect to {}:{}", s.host, s.port), e))?;
        if s.security == Security::StartTls {
            if !conn.can_starttls() {
                conn.abort();
                return Err(Failure::local(
                    Phase::Session,
                    format!(
                        "{}:{} does not offer STARTTLS, which security \"starttls\" requires",
                        s.host, s.port
                    ),
                ));
            }
            if let Some(tls) = &self.tls {
                conn.starttls(tls, &self.hello)
                    .map_err(|e| failed("STARTTLS".to_owned(), e))?;
            }
        }
        // lettre keeps only the EHLO keywords it knows, PIPELINING is not
        // one of them, and it matches case-sensitively: ask again (allowed
        // at any time, RFC 5321 §4.1.4) and read the keywords ourselves,
        // before AUTH so nothing is reset.
        let (pipelining, extensions) = conn
            .command(Ehlo::new(self.hello.clone()))
            .map(|reply| (offers_pipelining(&reply), Extensions::from_ehlo(&reply)))
            .map_err(|e| failed("EHLO".to_owned(), e))?;
        if !s.username.is_empty() {
            let credentials =
                Credentials::new(s.username.clone(), s.password.clone().unwrap_or_default());
            // The error from lettre carries the server's reply, never the password.
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .map_err(|e| failed(format!("AUTH as {}", s.username), e))?;
        }
        Ok(Session {
            conn,
            pipelining,
            extensions,
            timeout,
        })
    }

    /// Returns a usable session, reopening or resetting as needed.
    pub(super) fn ready(&mut self) -> Result<&mut Session, Failure> {
        if self.session.as_ref().is_some_and(Session::has_broken) {
            self.session = None;
        }
        if self.needs_reset {
            if let Some(session) = self.session.as_mut()
                && (session
                    .wait(GREETING, self.settings.timeout, Phase::Session)
                    .is_err()
                    || session.conn.command(Rset).is_err())
            {
                session.conn.abort();
                self.session = None;
            }
            self.needs_reset = false;
        }
        if self.session.is_none() {
            self.session = Some(self.connect()?);
        }
        self.open_session(Phase::Session)
    }

    /// The session already open, or a [`Failure`] in `phase` if there is none.
    pub(super) fn open_session(&mut self, phase: Phase) -> Result<&mut Session, Failure> {
        self.session
            .as_mut()
            .ok_or_else(|| Failure::local(phase, "no SMTP connection".to_owned()))
    }
}

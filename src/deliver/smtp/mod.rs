//! SMTP delivery over one long-lived connection, with lettre's low-level
//! client (the envelope pipelined when the relay offers it), and the
//! classification of every failure into a [`DeliveryOutcome`] (see
//! [`SmtpTransport`] for the rules).
//!
//! This file owns the public face: the settings, their checks, the
//! [`Transport`] impl (addresses parsed, a broken connection dropped) and
//! `QUIT` on drop. The work is split by responsibility:
//! - `session`: opening, securing, authenticating, resetting and reusing
//!   the connection;
//! - `exchange`: one message's transaction, `MAIL FROM` to the final dot
//!   (with the next message's envelope behind it when the caller names it);
//! - `pipelining`: the RFC 2920 envelope and the EHLO keyword that allows it;
//! - `extensions`: the `MAIL FROM` parameters a message needs (8BITMIME,
//!   SMTPUTF8) and the refusal when the relay lacks one;
//! - `data`: the DATA payload (dot-stuffing, the terminating dot);
//! - `outcome`: where a transaction stopped and what that means for the
//!   ledger.
//!
//! Nothing here renders, builds MIME or touches the database.

mod data;
mod exchange;
mod extensions;
mod outcome;
mod pipelining;
mod session;
#[cfg(test)]
mod tests;

use super::{Gate, Transport};
use crate::model::DeliveryOutcome;
use anyhow::{Result, bail};
use lettre::Address;
use lettre::transport::smtp::client::TlsParameters;
use lettre::transport::smtp::extension::ClientId;
use session::Session;
use std::fmt;
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
    /// The longest wait for the relay: the reply to the final dot, for
    /// which RFC 5321 §4.5.3.2.6 advises 10 minutes, so callers usually pass
    /// 10 minutes. Earlier steps wait the shorter times §4.5.3.2 gives
    /// (greeting, EHLO, `MAIL`, `RCPT`: 5 minutes; `DATA`: 2 minutes),
    /// never longer than this.
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
/// - a message the relay cannot take at all (a UTF-8 address, and no
///   SMTPUTF8 offered) → [`DeliveryOutcome::Failed`] without `suppress`,
///   before any command is sent;
/// - the connection failing after the whole body was written (sending the
///   final dot or waiting for its reply) → [`DeliveryOutcome::Unknown`]: the
///   relay may have accepted it, so it is never retried automatically.
///
/// Reasons carry the step and the server's reply code and text.
pub struct SmtpTransport {
    settings: SmtpSettings,
    tls: Option<TlsParameters>,
    hello: ClientId,
    /// The open connection, if any, with what its relay offers.
    session: Option<Session>,
    /// The last transaction stopped after MAIL FROM was accepted: send RSET.
    needs_reset: bool,
    /// The envelope (`MAIL`, `RCPT`, `DATA`) of the next message, sent
    /// behind the last one's body (RFC 2920 lets message content open a
    /// group); its replies are still to be read. The relay then waits for
    /// that message's body, so anything else ends the connection.
    pending: Option<Pending>,
}

/// An envelope sent ahead of its transaction (see `SmtpTransport::pending`).
#[derive(Debug)]
struct Pending {
    from: Address,
    to: Address,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("settings", &self.settings)
            .field("connected", &self.session.is_some())
            .finish()
    }
}

impl SmtpTransport {
    /// Checks the settings; connects only when the first message is sent.
    ///
    /// Fails when `security` is [`Security::None`] and the host is not
    /// loopback (credentials and addresses would cross the network in clear
    /// text; see [`crate::net::is_loopback_host`]), or when the TLS
    /// parameters cannot be built.
    pub fn new(settings: SmtpSettings) -> Result<Self> {
        if settings.host.trim().is_empty() {
            bail!("the SMTP host is empty; set it to your relay's host name");
        }
        let tls = session::tls_parameters(&settings)?;
        let hello = match &settings.hello_name {
            Some(name) if !name.trim().is_empty() => ClientId::Domain(name.trim().to_owned()),
            _ => ClientId::default(),
        };
        Ok(SmtpTransport {
            settings,
            tls,
            hello,
            session: None,
            needs_reset: false,
            pending: None,
        })
    }

    /// Forgets the connection without `QUIT`: it is gone, closing, or stuck
    /// mid-DATA, where `QUIT` would be read as message text and its reply
    /// awaited for the whole timeout. Whatever transaction it held goes
    /// with it, so there is nothing to reset.
    fn drop_connection(&mut self) {
        self.session = None;
        self.needs_reset = false;
        self.pending = None;
    }
}

impl Transport for SmtpTransport {
    fn send_when(
        &mut self,
        envelope_from: &str,
        to: &str,
        message: &[u8],
        gate: &mut dyn Gate,
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
        Some(match self.transaction(from, to, message, gate) {
            Ok(true) => DeliveryOutcome::Sent,
            Ok(false) => return None,
            Err(failure) => {
                let outcome = failure.outcome();
                // A broken or closing connection is reopened on the next send.
                let drop_it = failure.breaks_session()
                    || self.session.as_ref().is_some_and(Session::has_broken);
                if drop_it {
                    self.drop_connection();
                }
                tracing::debug!(?outcome, "smtp delivery");
                outcome
            }
        })
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        // Behind an envelope sent ahead the relay reads message text, where
        // QUIT would be a line of a body; closing delivers nothing.
        if let Some(mut session) = self.session.take()
            && !session.has_broken()
            && self.pending.is_none()
        {
            let _ = session.conn.quit();
        }
    }
}

//! Where an SMTP transaction stopped and why ([`Failure`]), and what that
//! means for the ledger's retry policy ([`Failure::outcome`], the rules
//! listed on [`SmtpTransport`](super::SmtpTransport)).
//!
//! Pure classification: it must never touch the connection, and every
//! rule that turns a reply into a [`DeliveryOutcome`] lives here and
//! nowhere else.

use crate::model::DeliveryOutcome;
use lettre::transport::smtp::Error;
use lettre::transport::smtp::response::Severity;

/// The phase of the exchange a transaction was in when it stopped. With the
/// reply (if any), it decides the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Opening the session (connect, STARTTLS, EHLO, AUTH): a refusal here
    /// says nothing about the subscriber, so even a 5xx is retried later
    /// rather than failing every address in the run.
    Session,
    /// `MAIL FROM` and what it needs (8BITMIME): a reply concerns our
    /// sender address, never the subscriber's.
    MailFrom,
    /// `RCPT TO`: a reply concerns the subscriber's address.
    RcptTo,
    /// The `DATA` command, before any of the message is written.
    Data,
    /// Writing the body: the relay has not read all of it, so it cannot
    /// have accepted it.
    Body,
    /// The whole body was handed to the socket; sending the final dot or
    /// waiting for its reply. The relay may have accepted the message.
    FinalReply,
}

/// How a step ended without success.
#[derive(Debug)]
pub(super) enum Cause {
    /// The server answered negatively: the code and its text.
    Reply { code: u16, text: String },
    /// The connection failed, timed out or answered nonsense.
    Error(String),
    /// A problem on our side or with the server's capabilities, not a
    /// reply; the text says it all.
    Local(String),
    /// The relay lacks an extension this one message needs (SMTPUTF8 for
    /// a UTF-8 address): the same relay will refuse it on every retry, yet
    /// the address may be a live mailbox. Found before anything was sent.
    Unsupported(String),
}

/// Where a transaction stopped and why.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) phase: Phase,
    /// What we were doing ("RCPT TO:<a@b>"); unused for [`Cause::Local`].
    pub(super) what: String,
    pub(super) cause: Cause,
}

impl Failure {
    /// A failure of lettre's, at `what` in `phase`.
    pub(super) fn new(phase: Phase, what: impl Into<String>, error: Error) -> Self {
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
        Failure {
            phase,
            what: what.into(),
            cause: match code {
                Some(code) => Cause::Reply { code, text: detail },
                None => Cause::Error(detail),
            },
        }
    }

    /// A problem found on our side, in `phase`; `detail` is the whole reason.
    pub(super) fn local(phase: Phase, detail: String) -> Self {
        Failure {
            phase,
            what: "setup".to_owned(),
            cause: Cause::Local(detail),
        }
    }

    /// A message the relay cannot take (see [`Cause::Unsupported`]), in
    /// `phase`; `detail` is the whole reason.
    pub(super) fn unsupported(phase: Phase, detail: String) -> Self {
        Failure {
            phase,
            what: "setup".to_owned(),
            cause: Cause::Unsupported(detail),
        }
    }

    /// The server's reply code, when it answered.
    pub(super) fn code(&self) -> Option<u16> {
        match self.cause {
            Cause::Reply { code, .. } => Some(code),
            Cause::Error(_) | Cause::Local(_) | Cause::Unsupported(_) => None,
        }
    }

    /// Whether the connection must be dropped (and reopened for the next
    /// message): it failed or is closing (421). A refusal found before
    /// any command was sent leaves it in step, so the next reader reuses it.
    pub(super) fn breaks_session(&self) -> bool {
        match self.cause {
            Cause::Reply { code, .. } => code == 421,
            Cause::Error(_) | Cause::Local(_) => true,
            Cause::Unsupported(_) => false,
        }
    }

    fn reason(&self) -> String {
        match &self.cause {
            Cause::Reply { code, text } => format!("{}: {} {}", self.what, code, text),
            Cause::Local(detail) | Cause::Unsupported(detail) => detail.clone(),
            Cause::Error(detail) => format!("{}: {}", self.what, detail),
        }
    }

    /// What this failure means for the ledger.
    pub(super) fn outcome(&self) -> DeliveryOutcome {
        let reason = self.reason();
        match &self.cause {
            // Retrying through the same relay cannot help, and suppressing
            // would punish the reader for the relay's limitation.
            Cause::Unsupported(_) => DeliveryOutcome::Failed {
                reason,
                suppress: false,
            },
            Cause::Reply { code, .. } if (400..500).contains(code) => {
                DeliveryOutcome::Deferred(reason)
            }
            Cause::Reply { .. } if self.phase == Phase::Session => {
                DeliveryOutcome::Deferred(format!(
                    "the relay refused the session ({reason}); check [delivery.smtp] in config.toml"
                ))
            }
            Cause::Reply { code, text } if (500..600).contains(code) => {
                // 5.1.x is an addressing problem (RFC 3463), but 5.1.7/5.1.8
                // and any reply to MAIL FROM concern our sender address:
                // suppressing the subscriber for those would be wrong.
                let enhanced = text.trim_start();
                let enhanced_address = self.phase != Phase::MailFrom
                    && enhanced.starts_with("5.1.")
                    && !enhanced.starts_with("5.1.7")
                    && !enhanced.starts_with("5.1.8");
                let rcpt_address = self.phase == Phase::RcptTo && matches!(*code, 550 | 551 | 553);
                DeliveryOutcome::Failed {
                    reason,
                    suppress: enhanced_address || rcpt_address,
                }
            }
            _ if self.phase == Phase::FinalReply => DeliveryOutcome::Unknown(reason),
            _ => DeliveryOutcome::Deferred(reason),
        }
    }
}

/// True when the connection failed in a way that shows the relay never
/// read all we wrote: a broken pipe, or a reset (a relay that closes with
/// our bytes unread resets the connection). A plain close or a timeout
/// after the write proves nothing.
pub(super) fn lost_while_writing(error: &Error) -> bool {
    io_error_kind(error).is_some_and(|kind| {
        matches!(
            kind,
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        )
    })
}

/// Whether an I/O error under `error` is a socket timeout. A read timeout
/// surfaces as `WouldBlock` (EAGAIN) on Unix and `TimedOut` on Windows.
fn timed_out(error: &Error) -> bool {
    io_error_kind(error).is_some_and(|kind| {
        matches!(
            kind,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    })
}

/// The kind of the first I/O error in `error`'s chain of sources.
fn io_error_kind(error: &Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

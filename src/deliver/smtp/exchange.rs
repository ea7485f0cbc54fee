//! One message's SMTP transaction on an open session: `MAIL FROM`,
//! `RCPT TO` and `DATA` (one command at a time, or pipelined, or already
//! sent behind the previous message), the caller's go-ahead, then the body
//! and the final dot in one write, with the next message's envelope behind
//! them when the caller names it.
//!
//! It records where a transaction stopped (the [`Phase`] of its
//! [`Failure`]) and keeps the session in step (`RSET` owed, connection to
//! drop); it must never decide what a failure means for the ledger (that
//! is `outcome`) nor open connections itself (that is `session`).

use super::data::{DataBody, DataBodyThen, Exhausted};
use super::extensions::{Extensions, mail_parameters};
use super::outcome::{Failure, Phase, lost_while_writing};
use super::pipelining::envelope_text;
use super::session::{DATA_START, ENVELOPE};
use super::{Pending, SmtpTransport};
use crate::deliver::{Envelope, Gate};
use lettre::Address;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use std::cell::Cell;

impl SmtpTransport {
    /// Runs one transaction, telling `gate` once the session is ready and
    /// asking it to go ahead once the relay has accepted `DATA`, before any
    /// of the message is written. `Ok(false)`: it said no, and the
    /// connection was dropped so the relay discards the transaction. `Err`
    /// carries where and how it stopped. When the relay pipelines and the
    /// gate names the next message, that message's envelope goes out
    /// behind this one's body, and its transaction reads the replies.
    pub(super) fn transaction(
        &mut self,
        from: Address,
        to: Address,
        message: &[u8],
        gate: &mut dyn Gate,
    ) -> Result<bool, Failure> {
        let configured = self.settings.timeout;
        let sent_ahead = self.take_pending(&from, &to);
        let session = self.ready()?;
        // `None` when it went out ahead: it was built (and the message
        // checked) then.
        let envelope = if sent_ahead {
            None
        } else {
            Some(envelope(&from, &to, message, session.extensions)?)
        };
        // Established (greeted, EHLO, AUTH) and sendable: only now may the
        // caller claim the delivery. A relay that never greets leaves no
        // claimed row.
        gate.ready();
        let pipelining = session.pipelining;
        // From here on the server holds transaction state until a final reply.
        self.needs_reset = true;
        let mail_failed = |e| Failure::new(Phase::MailFrom, format!("MAIL FROM:<{from}>"), e);
        let rcpt_failed = |e| Failure::new(Phase::RcptTo, format!("RCPT TO:<{to}>"), e);
        match envelope {
            None => {
                self.open_session(Phase::MailFrom)?
                    .wait(ENVELOPE, configured, Phase::MailFrom)?;
                self.envelope_sent_ahead(mail_failed, rcpt_failed)?;
            }
            // The three replies come back together: the longest of their
            // waits (MAIL and RCPT, 5 minutes) for all of them.
            Some((mail, rcpt)) if pipelining => {
                self.open_session(Phase::MailFrom)?
                    .wait(ENVELOPE, configured, Phase::MailFrom)?;
                self.pipelined_envelope(mail, rcpt, mail_failed, rcpt_failed)?;
            }
            Some((mail, rcpt)) => {
                let session = self.open_session(Phase::MailFrom)?;
                session.wait(ENVELOPE, configured, Phase::MailFrom)?;
                session.conn.command(mail).map_err(mail_failed)?;
                session.conn.command(rcpt).map_err(rcpt_failed)?;
                session.wait(DATA_START, configured, Phase::Data)?;
                session
                    .conn
                    .command(Data)
                    .map_err(|e| Failure::new(Phase::Data, "DATA", e))?;
            }
        }
        if !gate.go_ahead() {
            // Mid-DATA there is no RSET: closing without the final dot is
            // the one way to make sure the relay delivers nothing. Not
            // `abort()`: its QUIT would be read as message text, and its
            // wait for a reply would last the whole timeout.
            self.drop_connection();
            return Ok(false);
        }
        // Asked only now: going ahead is what lets the caller know its next
        // message (its claims ahead start here).
        let next = if pipelining {
            gate.next().and_then(|next| self.envelope_ahead(next))
        } else {
            None
        };
        let session = self.open_session(Phase::Body)?;
        // The body and the dot share one write (below), so they share the
        // longest wait, the one for the reply to the final dot.
        session.wait(configured, configured, Phase::Body)?;
        let conn = &mut session.conn;
        // The body and the final dot go out in ONE write. lettre's
        // `message_iter` writes the dot separately; behind the body's last
        // partial segment, Nagle's algorithm holds that 5-byte write until the
        // relay's delayed ACK (~40 ms on Linux), capping a connection at ~25
        // messages/s. lettre cannot set TCP_NODELAY, so we avoid the pattern.
        // The SIMD validator: a message is tens of kilobytes, and std's was
        // 1.4% of a send's CPU.
        let mut sent_next = None;
        let result = match simdutf8::basic::from_utf8(message) {
            Ok(text) => {
                let body = DataBody(text);
                let written = match next {
                    Some((pending, envelope)) => {
                        sent_next = Some(pending);
                        conn.command(DataBodyThen {
                            body,
                            then: &envelope,
                        })
                    }
                    None => conn.command(body),
                };
                written.map_err(|e| {
                    // Only an error that proves the relay did not read our
                    // whole message (we could not write it) may be retried;
                    // anything else could have followed an accepted dot.
                    let phase = if lost_while_writing(&e) {
                        Phase::Body
                    } else {
                        Phase::FinalReply
                    };
                    Failure::new(phase, "end of DATA", e)
                })
            }
            Err(_) => {
                let written = Cell::new(false);
                let body = Exhausted {
                    inner: std::iter::once(message),
                    done: &written,
                };
                conn.message_iter(body).map_err(|e| {
                    let phase = if written.get() {
                        Phase::FinalReply
                    } else {
                        Phase::Body
                    };
                    Failure::new(phase, "end of DATA", e)
                })
            }
        };
        match result {
            Ok(_) => {
                self.needs_reset = false;
                self.pending = sent_next;
                Ok(true)
            }
            Err(failure) => {
                // A reply to the final dot ends the transaction either way
                // (and the replies to an envelope behind it still follow).
                if failure.code().is_some() {
                    self.needs_reset = false;
                    self.pending = sent_next;
                }
                Err(failure)
            }
        }
    }

    /// Whether the envelope sent ahead is this message's, on a connection
    /// still open. One sent for another message leaves the relay waiting
    /// for a body it will not get: the connection goes.
    fn take_pending(&mut self, from: &Address, to: &Address) -> bool {
        let Some(pending) = self.pending.take() else {
            return false;
        };
        let open = self.session.as_ref().is_some_and(|s| !s.has_broken());
        if open && pending.from == *from && pending.to == *to {
            return true;
        }
        self.drop_connection();
        false
    }

    /// The next message's envelope as text to send ahead, or `None` when
    /// it cannot go ahead (its addresses do not parse, or the relay cannot
    /// take it): its own transaction then says why, as it would have.
    fn envelope_ahead(&self, next: Envelope<'_>) -> Option<(Pending, String)> {
        let session = self.session.as_ref()?;
        let from: Address = next.from.parse().ok()?;
        let to: Address = next.to.parse().ok()?;
        let (mail, rcpt) = envelope(&from, &to, next.message, session.extensions).ok()?;
        Some((Pending { from, to }, envelope_text(&mail, &rcpt)))
    }
}

/// `MAIL FROM` with the parameters `message` needs on this relay, and
/// `RCPT TO`; a [`Failure`] when the relay cannot take the message.
fn envelope(
    from: &Address,
    to: &Address,
    message: &[u8],
    relay: Extensions,
) -> Result<(Mail, Rcpt), Failure> {
    let options = mail_parameters(from, to, message, relay)?;
    Ok((
        Mail::new(Some(from.clone()), options),
        Rcpt::new(to.clone(), Vec::new()),
    ))
}

//! Command pipelining (RFC 2920): whether the relay offers it, and the
//! envelope (`MAIL`, `RCPT`, `DATA`) sent in one write (on its own, or
//! behind the previous message's body) with its three replies read back
//! in order.
//!
//! It must never open or reset connections, nor decide what a refusal
//! means for the ledger: it reports the first refusal as a [`Failure`],
//! exactly as the commands one at a time would have.

use super::SmtpTransport;
use super::outcome::{Failure, Phase};
use lettre::transport::smtp::Error;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::response::Response;

/// Whether an EHLO reply lists the PIPELINING keyword (RFC 2920).
pub(super) fn offers_pipelining(reply: &Response) -> bool {
    super::extensions::offers(reply, "PIPELINING")
}

/// `MAIL`, `RCPT` and `DATA` as one piece of text, for one write.
pub(super) fn envelope_text(mail: &Mail, rcpt: &Rcpt) -> String {
    format!("{mail}{rcpt}{Data}")
}

impl SmtpTransport {
    /// MAIL, RCPT and DATA in one write (RFC 2920), then their three
    /// replies in order (see [`SmtpTransport::envelope_replies`]).
    pub(super) fn pipelined_envelope(
        &mut self,
        mail: Mail,
        rcpt: Rcpt,
        mail_failed: impl FnOnce(Error) -> Failure,
        rcpt_failed: impl FnOnce(Error) -> Failure,
    ) -> Result<(), Failure> {
        let conn = &mut self.open_session(Phase::MailFrom)?.conn;
        let mail_reply = conn.command(envelope_text(&mail, &rcpt));
        self.envelope_replies(mail_reply, mail_failed, rcpt_failed)
    }

    /// The three replies to an envelope written behind the previous
    /// message's body (see `exchange`), read in order.
    pub(super) fn envelope_sent_ahead(
        &mut self,
        mail_failed: impl FnOnce(Error) -> Failure,
        rcpt_failed: impl FnOnce(Error) -> Failure,
    ) -> Result<(), Failure> {
        let conn = &mut self.open_session(Phase::MailFrom)?.conn;
        let mail_reply = conn.read_response();
        self.envelope_replies(mail_reply, mail_failed, rcpt_failed)
    }

    /// Given the reply to MAIL, reads those to RCPT and DATA. The first
    /// refusal decides the outcome, as it would have one command at a
    /// time; every reply is read either way so the next transaction starts
    /// in step. A relay that accepts DATA after refusing the sender or the
    /// recipient is waiting for a body we will not send: the connection is
    /// dropped, so it delivers nothing.
    fn envelope_replies(
        &mut self,
        mail_reply: Result<Response, Error>,
        mail_failed: impl FnOnce(Error) -> Failure,
        rcpt_failed: impl FnOnce(Error) -> Failure,
    ) -> Result<(), Failure> {
        // A lost connection: nothing more will come.
        if let Err(e) = &mail_reply
            && e.status().is_none()
        {
            return mail_reply.map(|_| ()).map_err(mail_failed);
        }
        let conn = &mut self.open_session(Phase::MailFrom)?.conn;
        let rcpt_reply = conn.read_response();
        if let Err(e) = &rcpt_reply
            && e.status().is_none()
        {
            mail_reply.map_err(mail_failed)?;
            return rcpt_reply.map(|_| ()).map_err(rcpt_failed);
        }
        let data_reply = conn.read_response();
        let refused = mail_reply.is_err() || rcpt_reply.is_err();
        if refused && data_reply.is_ok() {
            self.drop_connection();
        }
        mail_reply.map_err(mail_failed)?;
        rcpt_reply.map_err(rcpt_failed)?;
        data_reply.map_err(|e| Failure::new(Phase::Data, "DATA", e))?;
        Ok(())
    }
}

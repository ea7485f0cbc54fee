//! What the relay's EHLO keywords let one transaction carry: the `MAIL
//! FROM` parameters a message needs (`BODY=8BITMIME` for 8-bit data,
//! `SMTPUTF8` for internationalized addresses and headers, RFC 6531), and
//! the refusal, before anything is sent, when the relay lacks one.
//!
//! Pure: it reads an EHLO reply and a message, and must never touch the
//! connection nor decide what a refusal means for the ledger (that is
//! `outcome`, through the [`Failure`]'s cause).

use super::outcome::{Failure, Phase};
use lettre::Address;
use lettre::transport::smtp::extension::{MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

/// Whether an EHLO reply lists `keyword`. Keywords are case-insensitive
/// (RFC 5321 §2.4), which lettre's own reading of the reply is not.
pub(super) fn offers(reply: &Response, keyword: &str) -> bool {
    reply.message().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
    })
}

/// The EHLO keywords that decide a transaction's `MAIL FROM` parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Extensions {
    /// 8BITMIME (RFC 6152): the relay takes octets above 127 in DATA.
    pub(super) eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531): the relay takes UTF-8 addresses in `MAIL` and
    /// `RCPT` and UTF-8 header fields (RFC 6532) in the message.
    pub(super) smtputf8: bool,
}

impl Extensions {
    /// What an EHLO reply offers.
    pub(super) fn from_ehlo(reply: &Response) -> Self {
        Extensions {
            eight_bit_mime: offers(reply, "8BITMIME"),
            smtputf8: offers(reply, "SMTPUTF8"),
        }
    }
}

/// The `MAIL FROM` parameters for sending `message` from `from` to `to`
/// through a relay that offers `relay`, or the reason it cannot go there.
///
/// `SMTPUTF8` only when the envelope or the header section is not ASCII:
/// RFC 6531 §3.4 says a client SHOULD NOT send it otherwise, and a relay
/// that offers it may still hand the message to a next hop that does not,
/// so ASCII readers never carry that risk. Without the extension a UTF-8
/// address cannot be sent at all (§3.2: there is no ASCII form of a
/// non-ASCII local part; RFC 2047 is not allowed in an addr-spec), so the
/// delivery fails with a [`Failure::unsupported`] that names the address.
///
/// `BODY=8BITMIME` whenever the message is not ASCII, which UTF-8 headers
/// make it (RFC 6531 §3.6). A relay that offers SMTPUTF8 must also offer
/// 8BITMIME (§3.1 item 8), so SMTPUTF8 alone is enough for that.
pub(super) fn mail_parameters(
    from: &Address,
    to: &Address,
    message: &[u8],
    relay: Extensions,
) -> Result<Vec<MailParameter>, Failure> {
    let mut parameters = Vec::new();
    if !message.is_ascii() {
        if !(relay.eight_bit_mime || relay.smtputf8) {
            return Err(Failure::local(
                Phase::MailFrom,
                "message has 8-bit content but the server lacks 8BITMIME".to_owned(),
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let needs_utf8 = [(from, "envelope sender"), (to, "recipient")]
        .into_iter()
        .find(|(address, _)| !AsRef::<str>::as_ref(*address).is_ascii());
    if let Some((address, role)) = needs_utf8 {
        if !relay.smtputf8 {
            return Err(Failure::unsupported(
                Phase::MailFrom,
                format!(
                    "{role} {address} is an internationalized (non-ASCII) address, and the \
                     relay does not offer SMTPUTF8 (RFC 6531), without which it cannot be sent; \
                     the address is not suppressed: use a relay that offers SMTPUTF8"
                ),
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    } else if !header_section(message).is_ascii() {
        if !relay.smtputf8 {
            return Err(Failure::unsupported(
                Phase::MailFrom,
                "the message has UTF-8 header fields (RFC 6532), and the relay does not \
                 offer SMTPUTF8 (RFC 6531), without which they cannot be sent"
                    .to_owned(),
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    Ok(parameters)
}

/// The header section of `message`: everything before the first empty
/// line (the whole message if it has none). An 8-bit body needs only
/// 8BITMIME; 8-bit headers need SMTPUTF8.
fn header_section(message: &[u8]) -> &[u8] {
    memchr::memmem::find(message, b"\r\n\r\n").map_or(message, |end| &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeliveryOutcome;

    const ASCII: &[u8] = b"To: sam@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
    const UTF8_TO: &[u8] = "To: 读者@example.org\r\nSubject: hi\r\n\r\nhello\r\n".as_bytes();
    const UTF8_BODY: &[u8] = "To: sam@example.org\r\n\r\n你好\r\n".as_bytes();

    fn address(text: &str) -> Address {
        text.parse().expect("valid test address")
    }

    const BOTH: Extensions = Extensions {
        eight_bit_mime: true,
        smtputf8: true,
    };
    const ONLY_8BIT: Extensions = Extensions {
        eight_bit_mime: true,
        smtputf8: false,
    };

    fn parameters(from: &str, to: &str, message: &[u8], relay: Extensions) -> Vec<String> {
        mail_parameters(&address(from), &address(to), message, relay)
            .expect("parameters")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ascii_envelope_and_headers_never_carry_smtputf8_even_when_offered() {
        let sender = "bounces@news.example.org";
        assert!(parameters(sender, "sam@example.org", ASCII, BOTH).is_empty());
        // An 8-bit body needs 8BITMIME, not SMTPUTF8.
        assert_eq!(
            parameters(sender, "sam@example.org", UTF8_BODY, BOTH),
            ["BODY=8BITMIME"]
        );
    }

    #[test]
    fn a_utf8_recipient_gets_smtputf8_and_8bitmime_when_offered() {
        let sender = "bounces@news.example.org";
        assert_eq!(
            parameters(sender, "读者@example.org", UTF8_TO, BOTH),
            ["BODY=8BITMIME", "SMTPUTF8"]
        );
        // SMTPUTF8 implies 8BITMIME (RFC 6531 §3.1): a relay that forgot
        // to list it still gets the message.
        let only_utf8 = Extensions {
            eight_bit_mime: false,
            smtputf8: true,
        };
        assert_eq!(
            parameters(sender, "读者@example.org", UTF8_TO, only_utf8),
            ["BODY=8BITMIME", "SMTPUTF8"]
        );
        // A UTF-8 sender needs it too, whoever the reader is.
        assert_eq!(
            parameters("简报@news.example.org", "sam@example.org", ASCII, BOTH),
            ["SMTPUTF8"]
        );
    }

    #[test]
    fn a_utf8_recipient_without_smtputf8_fails_unsuppressed_naming_the_address() {
        let failure = mail_parameters(
            &address("bounces@news.example.org"),
            &address("读者@example.org"),
            UTF8_TO,
            ONLY_8BIT,
        )
        .expect_err("must be refused");
        let DeliveryOutcome::Failed { reason, suppress } = failure.outcome() else {
            panic!("not failed: {failure:?}");
        };
        assert!(!suppress, "the relay's limitation, not a dead mailbox");
        assert!(reason.contains("recipient 读者@example.org"), "{reason}");
        assert!(reason.contains("relay does not offer SMTPUTF8"), "{reason}");
        // The connection is fine: nothing was sent on it.
        assert!(!failure.breaks_session());
    }

    #[test]
    fn utf8_headers_alone_need_smtputf8() {
        let message = "Subject: 你好\r\n\r\nhello\r\n".as_bytes();
        let (from, to) = (address("a@example.org"), address("b@example.org"));
        assert!(mail_parameters(&from, &to, message, ONLY_8BIT).is_err());
        assert_eq!(
            mail_parameters(&from, &to, message, BOTH)
                .expect("offered")
                .len(),
            2
        );
    }

    #[test]
    fn ehlo_keywords_are_read_case_insensitively() {
        let reply: Response =
            "250-relay.test\r\n250-8bitmime\r\n250-SmtpUtf8\r\n250 PIPELINING\r\n"
                .parse()
                .expect("a valid reply");
        assert_eq!(Extensions::from_ehlo(&reply), BOTH);
        let reply: Response = "250-relay.test\r\n250 8BITMIME\r\n"
            .parse()
            .expect("a valid reply");
        assert_eq!(Extensions::from_ehlo(&reply), ONLY_8BIT);
    }
}

//! MIME for the digest: one multipart/alternative message per subscriber,
//! with the list headers mail clients need for one-click unsubscribe
//! (RFC 2369, RFC 2919, RFC 8058). Builds bytes only; sends nothing.

use super::DkimSigner;
use crate::model::Email;
use anyhow::{Context, Result, anyhow};
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use std::time::SystemTime;

/// RFC 5322 bytes of one digest message.
///
/// The body is multipart/alternative with the text/plain part first and the
/// text/html part last (clients show the last part they understand), both
/// UTF-8 with the transfer encoding lettre picks. Non-ASCII subjects and
/// display names are RFC 2047 encoded. `Message-ID` is `email.message_id`
/// verbatim, so a resend of the same digest keeps its identity.
///
/// With `dkim`, the message gets a `DKIM-Signature` header (relaxed/relaxed,
/// covering [`SIGNED_HEADERS`](super::SIGNED_HEADERS)); the signer is parsed
/// once per run and shared by every message.
///
/// Fails, naming the address, when `from`, `reply_to` or `to_email` is not a
/// valid address.
pub fn build_message(email: &Email, dkim: Option<&DkimSigner>) -> Result<Vec<u8>> {
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| anyhow!("invalid From address {:?}: {e}", email.from))?;
    let to_address = email
        .to_email
        .parse()
        .map_err(|e| anyhow!("invalid To address {:?}: {e}", email.to_email))?;
    let to_name = email.to_name.trim();
    let to = Mailbox::new(
        (!to_name.is_empty()).then(|| to_name.to_owned()),
        to_address,
    );

    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.as_str())
        // lettre writes the instant in UTC (+0000); the moment is what matters.
        .date(SystemTime::from(email.date))
        .message_id(Some(email.message_id.clone()));
    if let Some(reply_to) = &email.reply_to {
        let reply_to: Mailbox = reply_to
            .parse()
            .map_err(|e| anyhow!("invalid Reply-To address {reply_to:?}: {e}"))?;
        builder = builder.reply_to(reply_to);
    }
    // HeaderValue::new RFC 2047-encodes any non-ASCII word and any CR/LF, so
    // no value from config or the subscriber list can inject a header.
    builder = builder
        .raw_header(header("List-Id", email.list_id.clone()))
        .raw_header(header(
            "List-Unsubscribe",
            format!(
                "<{}>, <{}>",
                email.unsubscribe_url, email.unsubscribe_mailto
            ),
        ))
        .raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_owned(),
        ));

    let mut message = builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .with_context(|| format!("cannot build the message to {}", email.to_email))?;
    if let Some(signer) = dkim {
        signer.sign(&mut message);
    }
    Ok(message.formatted())
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// mail-auth's verifier, shared with the integration tests.
#[cfg(test)]
#[path = "../../tests/common/dkim.rs"]
mod dkim_verifier;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    pub(crate) fn sample() -> Email {
        Email {
            from: "Brief <brief@news.example.org>".into(),
            reply_to: Some("editors@news.example.org".into()),
            to_name: "Zoë".into(),
            to_email: "zoe@example.com".into(),
            subject: "This week".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
            message_id: "<d1.abc@news.example.org>".into(),
            list_id: "Brief <brief.news.example.org>".into(),
            unsubscribe_url: "https://news.example.org/u/tok".into(),
            unsubscribe_mailto: "mailto:unsubscribe@news.example.org?subject=tok".into(),
            date: DateTime::parse_from_rfc3339("2025-03-01T08:00:00+08:00").unwrap(),
        }
    }

    #[test]
    fn writes_list_headers_and_message_id() {
        let bytes = build_message(&sample(), None).unwrap();
        // Unfold long header lines (RFC 5322 §2.2.3) before matching.
        let text = String::from_utf8(bytes).unwrap().replace("\r\n ", " ");
        assert!(
            text.contains("Message-ID: <d1.abc@news.example.org>\r\n"),
            "{text}"
        );
        assert!(text.contains("List-Id: Brief <brief.news.example.org>\r\n"));
        assert!(text.contains(
            "List-Unsubscribe: <https://news.example.org/u/tok>, \
             <mailto:unsubscribe@news.example.org?subject=tok>"
        ));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(text.contains("Date: Sat, 01 Mar 2025 00:00:00 +0000\r\n"));
        assert!(text.contains("Reply-To: editors@news.example.org\r\n"));
    }

    #[test]
    fn rejects_invalid_to_address_naming_it() {
        let mut email = sample();
        email.to_email = "not an address".into();
        let err = build_message(&email, None).unwrap_err().to_string();
        assert!(
            err.contains("invalid To address \"not an address\""),
            "{err}"
        );
    }

    #[test]
    fn rejects_invalid_from_address_naming_it() {
        let mut email = sample();
        email.from = "Brief <nope>".into();
        let err = build_message(&email, None).unwrap_err().to_string();
        assert!(
            err.contains("invalid From address \"Brief <nope>\""),
            "{err}"
        );
    }

    use super::dkim_verifier as verifier;

    const RSA_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/rsa.pem");
    const RSA_PKCS8_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/rsa-pkcs8.pem");
    const RSA_TXT: &str = include_str!("../../tests/fixtures/mail/dkim/rsa.txt");
    const ED25519_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/ed25519.pem");
    const ED25519_TXT: &str = include_str!("../../tests/fixtures/mail/dkim/ed25519.txt");

    /// The hard cases for relaxed canonicalisation: an RFC 2047 subject, a
    /// non-ASCII display name and a List-Unsubscribe long enough to fold.
    fn hard_sample() -> Email {
        let mut email = sample();
        email.subject = "成渝简报：本周五条新闻 — Chengdu–Chongqing Brief, week 48".into();
        email.to_name = "李伟".into();
        email.unsubscribe_url = format!(
            "https://news.example.org/unsubscribe?email=li.wei%40example.org&token={}",
            "0123456789abcdef".repeat(4)
        );
        email
    }

    fn signed(pem: &str, email: &Email) -> Vec<u8> {
        let signer = DkimSigner::from_pem(pem, "news.example.org", "brief").unwrap();
        build_message(email, Some(&signer)).unwrap()
    }

    #[test]
    fn dkim_signature_verifies_with_relaxed_canonicalisation_and_list_headers() {
        let bytes = signed(RSA_PEM, &hard_sample());
        let results = verifier::verify(&bytes, "brief", "news.example.org", RSA_TXT);
        // The hard cases really are there: both headers are folded.
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(">,\r\n <mailto:"), "{text}");
        assert!(text.contains("?=\r\n =?utf-8?b?"), "{text}");
        assert_eq!(results.len(), 1, "{results:?}");
        let result = &results[0];
        assert_eq!(
            result.result,
            mail_auth::DkimResult::Pass,
            "{result:?}\n{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(
            result.headers.join(":").to_lowercase(),
            "from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post"
        );
        assert_eq!(result.canonicalization, "relaxed/relaxed");
        assert_eq!(
            (result.domain.as_str(), result.selector.as_str()),
            ("news.example.org", "brief")
        );
    }

    #[test]
    fn dkim_signs_with_pkcs8_rsa_and_ed25519_keys() {
        for (pem, txt) in [(RSA_PKCS8_PEM, RSA_TXT), (ED25519_PEM, ED25519_TXT)] {
            let bytes = signed(pem, &hard_sample());
            let results = verifier::verify(&bytes, "brief", "news.example.org", txt);
            assert_eq!(results.len(), 1, "{results:?}");
            assert_eq!(results[0].result, mail_auth::DkimResult::Pass, "{txt}");
        }
    }

    #[test]
    fn dkim_signature_fails_when_a_signed_header_is_changed() {
        let text = String::from_utf8(signed(RSA_PEM, &sample())).unwrap();
        let tampered = text.replace("Subject: This week", "Subject: This week!");
        assert_ne!(tampered, text);
        let results = verifier::verify(tampered.as_bytes(), "brief", "news.example.org", RSA_TXT);
        assert!(
            matches!(results[0].result, mail_auth::DkimResult::Fail(_)),
            "{results:?}"
        );
    }

    #[test]
    fn unsigned_without_a_signer() {
        let text = String::from_utf8(build_message(&sample(), None).unwrap()).unwrap();
        assert!(!text.contains("DKIM-Signature"), "{text}");
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        let mut email = sample();
        email.list_id = "x\r\nBcc: victim@example.com".into();
        let text = String::from_utf8(build_message(&email, None).unwrap()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }
}

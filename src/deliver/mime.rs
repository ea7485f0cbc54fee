//! MIME for the digest: one multipart/alternative message per subscriber,
//! with the list headers mail clients need for one-click unsubscribe
//! (RFC 2369, RFC 2919, RFC 8058). Builds bytes only; sends nothing.

use super::{DkimSigner, EncodedBody};
use crate::model::Email;
use anyhow::{Context, Result, anyhow};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::message::{Body, Mailbox, MessageBuilder};
use std::time::SystemTime;

/// RFC 5322 bytes of one digest message: `email`'s headers and `body`
/// with `email.personal` in its slots.
///
/// The body is multipart/alternative with the text/plain part first and the
/// text/html part last (clients show the last part they understand), both
/// UTF-8, encoded once per digest (see [`EncodedBody`]). Headers are
/// lettre's: non-ASCII subjects and display names are RFC 2047 encoded;
/// a non-ASCII address is written as it is, in UTF-8 (RFC 6532), since an
/// encoded word is not allowed in an addr-spec. Such a message needs a relay
/// that offers SMTPUTF8 (RFC 6531); the SMTP transport checks.
/// `Message-ID` is `email.message_id` verbatim, so a resend of the same
/// digest keeps its identity.
///
/// With `dkim`, the message gets a `DKIM-Signature` header (relaxed/relaxed,
/// covering [`SIGNED_HEADERS`](super::SIGNED_HEADERS)); the signer is parsed
/// once per run and shared by every message.
///
/// Fails, naming the address, when `from`, `reply_to` or `to_email` is not a
/// valid address.
pub fn build_message(
    email: &Email,
    body: &EncodedBody,
    dkim: Option<&DkimSigner>,
) -> Result<Vec<u8>> {
    let builder = digest_headers(email, body)?;
    match dkim {
        // The signature covers the body, so lettre must hold it.
        Some(signer) => {
            let mut message = with_body(builder, body.fill(&email.personal), email)?;
            signer.sign(&mut message);
            Ok(message.formatted())
        }
        None => Ok(headers_then_body(
            &with_body(builder, Vec::new(), email)?,
            body,
            email,
        )),
    }
}

/// A digest's headers, from `email` and `body`'s content type.
fn digest_headers(email: &Email, body: &EncodedBody) -> Result<MessageBuilder> {
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| anyhow!("invalid From address {:?}: {e}", email.from))?;
    let to = recipient(&email.to_name, &email.to_email)?;
    // Given, so that lettre does not parse it back out of the headers it
    // just wrote (a third of building a message); the transports take the
    // envelope from the job, never from the message.
    let envelope = Envelope::new(Some(from.email.clone()), vec![to.email.clone()])
        .map_err(|e| anyhow!("cannot address the message to {}: {e}", email.to_email))?;

    let mut builder = Message::builder()
        .envelope(envelope)
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
        ))
        .header(MIME_VERSION_1_0)
        .header(body.content_type().clone());
    Ok(builder)
}

/// The message `builder` makes with `body`, the digest's filled parts.
fn with_body(builder: MessageBuilder, body: Vec<u8>, email: &Email) -> Result<Message> {
    // The parts are already 7-bit lines of at most 76 characters.
    let mut message = builder
        .body(Body::dangerous_pre_encoded(
            body,
            ContentTransferEncoding::SevenBit,
        ))
        .with_context(|| format!("cannot build the message to {}", email.to_email))?;
    // A multipart message has no transfer encoding of its own; its parts do.
    message.headers_mut().remove::<ContentTransferEncoding>();
    Ok(message)
}

/// The bytes lettre's `formatted()` would write were `body`, filled for
/// `email`, the body of `headers_only` (its headers, a blank line, the
/// body), in one allocation, the body encoded straight into it:
/// `formatted()` grows its buffer from empty and copies the body again at
/// each doubling, several copies of every message.
fn headers_then_body(headers_only: &Message, body: &EncodedBody, email: &Email) -> Vec<u8> {
    let headers = headers_only.headers().to_string();
    let mut bytes = Vec::with_capacity(headers.len() + 2 + body.filled_len_bound(&email.personal));
    bytes.extend_from_slice(headers.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    body.fill_into(&email.personal, &mut bytes);
    bytes
}

/// A plain-text message that is not a digest (a sign-up's confirmation):
/// no list headers, since it is not list mail; signed like the digests.
/// The text is UTF-8, encoded by lettre as it sees fit.
pub fn notice_message(
    notice: &crate::model::NoticeEmail,
    dkim: Option<&DkimSigner>,
) -> Result<Vec<u8>> {
    let from: Mailbox = notice
        .from
        .parse()
        .map_err(|e| anyhow!("invalid From address {:?}: {e}", notice.from))?;
    let to = recipient(&notice.to_name, &notice.to_email)?;
    let mut message = Message::builder()
        .from(from)
        .to(to)
        .subject(notice.subject.as_str())
        .date(SystemTime::from(notice.date))
        .message_id(Some(notice.message_id.clone()))
        // RFC 3834: an automatic reply to a request, so no one auto-replies to it.
        .raw_header(header("Auto-Submitted", "auto-replied".to_owned()))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(notice.text.clone())
        .with_context(|| format!("cannot build the message to {}", notice.to_email))?;
    if let Some(signer) = dkim {
        signer.sign(&mut message);
    }
    Ok(message.formatted())
}

/// The `To` mailbox of `name` and `address`.
fn recipient(name: &str, address: &str) -> Result<Mailbox> {
    let to_address = address
        .parse()
        .map_err(|e| anyhow!("invalid To address {address:?}: {e}"))?;
    // lettre panics on a display name with a line break (a quoted CSV
    // field may hold one); in a header it can only be a space.
    let to_name: String = name
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Ok(Mailbox::new(
        (!to_name.is_empty()).then_some(to_name),
        to_address,
    ))
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
    use crate::model::{BodyTemplate, Form, Parts, Personal, Slot, Template};
    use chrono::DateTime;
    use mail_parser::MimeHeaders;

    fn body() -> EncodedBody {
        EncodedBody::new(&BodyTemplate::fixed("Hello", "<p>Hello</p>"))
    }

    pub(crate) fn sample() -> Email {
        Email {
            from: "Brief <brief@news.example.org>".into(),
            reply_to: Some("editors@news.example.org".into()),
            to_name: "Zoë".into(),
            to_email: "zoe@example.com".into(),
            subject: "This week".into(),
            personal: Personal {
                name: "Zoë".into(),
                name_html: "Zoë".into(),
                unsubscribe_url: "https://news.example.org/u/tok".into(),
                unsubscribe_url_html: "https://news.example.org/u/tok".into(),
            },
            message_id: "<d1.abc@news.example.org>".into(),
            list_id: "Brief <brief.news.example.org>".into(),
            unsubscribe_url: "https://news.example.org/u/tok".into(),
            unsubscribe_mailto: "mailto:unsubscribe@news.example.org?subject=tok".into(),
            date: DateTime::parse_from_rfc3339("2025-03-01T08:00:00+08:00").unwrap(),
        }
    }

    #[test]
    fn writes_list_headers_and_message_id() {
        let bytes = build_message(&sample(), &body(), None).unwrap();
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
    fn writes_the_bytes_lettre_would_write_for_the_whole_message() {
        for email in [sample(), hard_sample()] {
            let body = body();
            let reference = with_body(
                digest_headers(&email, &body).unwrap(),
                body.fill(&email.personal),
                &email,
            )
            .unwrap()
            .formatted();
            let bytes = build_message(&email, &body, None).unwrap();
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                String::from_utf8(reference).unwrap()
            );
        }
    }

    #[test]
    fn rejects_invalid_to_address_naming_it() {
        let mut email = sample();
        email.to_email = "not an address".into();
        let err = build_message(&email, &body(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid To address \"not an address\""),
            "{err}"
        );
    }

    #[test]
    fn rejects_invalid_from_address_naming_it() {
        let mut email = sample();
        email.from = "Brief <nope>".into();
        let err = build_message(&email, &body(), None)
            .unwrap_err()
            .to_string();
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
        build_message(email, &body(), Some(&signer)).unwrap()
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
        let text = String::from_utf8(build_message(&sample(), &body(), None).unwrap()).unwrap();
        assert!(!text.contains("DKIM-Signature"), "{text}");
    }

    /// A digest-like template: the greeting differs with and without a
    /// name, the unsubscribe URL is in an attribute and in text, and the
    /// text part is mostly Chinese (base64) or English (quoted-printable).
    fn digest_like(chinese: bool) -> BodyTemplate {
        let story = if chinese {
            "成渝新铁路通车\n新线路将行程缩短至 50 分钟。\n".repeat(40)
        } else {
            "Chengdu & Chongqing linked by new rail =3D fast. \n.starts with a dot\ntrailing space \n"
                .repeat(40)
        };
        let text = |greeting: &[&str]| Template {
            fixed: [
                greeting,
                &[&format!("\n\n{story}\n-- \nUnsubscribe: "), "\n"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            slots: if greeting.len() == 2 {
                vec![Slot::Name, Slot::UnsubscribeUrl]
            } else {
                vec![Slot::UnsubscribeUrl]
            },
        };
        let html = |greeting: &[&str]| {
            Template {
            fixed: [
                greeting,
                &[&format!(
                    "</p>\n<div style=\"color: #333; font-family: sans-serif\">{}</div>\n<a href=\"",
                    story.replace('\n', "<br>")
                ), "\">Unsubscribe</a></body></html>"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            slots: if greeting.len() == 2 {
                vec![Slot::Name, Slot::UnsubscribeUrl]
            } else {
                vec![Slot::UnsubscribeUrl]
            },
        }
        };
        BodyTemplate {
            named: Parts {
                text: text(&["Hello ", ","]),
                html: html(&["<html><body><p>Hello ", ","]),
            },
            anonymous: Parts {
                text: text(&["Hello,"]),
                html: html(&["<html><body><p>Hello,"]),
            },
        }
    }

    /// What a part must decode to: the fixed text with the values in place.
    fn reference(template: &Template, personal: &Personal, html: bool) -> String {
        let mut out = template.fixed[0].clone();
        for (slot, fixed) in template.slots.iter().zip(&template.fixed[1..]) {
            out.push_str(personal.value(*slot, if html { Form::Html } else { Form::Text }));
            out.push_str(fixed);
        }
        out
    }

    fn personal(name: &str, url: &str) -> Personal {
        let escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        Personal {
            name: name.into(),
            name_html: escape(name),
            unsubscribe_url: url.into(),
            unsubscribe_url_html: escape(url),
        }
    }

    const AWKWARD_NAMES: [&str; 9] = [
        "",
        "李伟",
        "Zoë",
        "A=B & <C>",
        ".dot first",
        "trailing space ",
        "Line\r\nbreak and\nfeed and\rreturn",
        "=_boundary? --",
        "",
    ];

    fn awkward_names() -> Vec<String> {
        let mut names: Vec<String> = AWKWARD_NAMES.iter().map(|s| s.to_string()).collect();
        names.pop();
        names.push("Zoë Ö'Brien-李 ".repeat(14)); // about 200 characters
        names.push("x".repeat(200));
        names
    }

    #[test]
    fn every_message_decodes_to_its_reference_text_and_html() {
        let url = "https://news.example.org/unsubscribe?email=li.wei%40example.org&token=0123456789abcdef";
        for chinese in [false, true] {
            let template = digest_like(chinese);
            let body = EncodedBody::new(&template);
            for name in awkward_names() {
                let mut email = hard_sample();
                email.to_name = name.clone();
                email.personal = personal(&name, url);
                let bytes = build_message(&email, &body, None).unwrap();
                let text = std::str::from_utf8(&bytes).expect("7-bit message");
                assert!(text.is_ascii(), "{text}");
                let (head, body_text) = text.split_once("\r\n\r\n").unwrap();
                for (line, max) in head
                    .split("\r\n")
                    .map(|line| (line, 998))
                    .chain(body_text.split("\r\n").map(|line| (line, 76)))
                {
                    assert!(line.len() <= max, "{} chars: {line:?}", line.len());
                    assert!(!line.starts_with('.'), "{line:?}");
                }
                assert!(
                    !text.replace("\r\n", "").contains(['\r', '\n']),
                    "bare CR or LF"
                );

                let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                let content_type = parsed.root_part().content_type().unwrap();
                assert_eq!(
                    (content_type.ctype(), content_type.subtype()),
                    ("multipart", Some("alternative"))
                );
                assert_eq!((parsed.text_body.len(), parsed.html_body.len()), (1, 1));
                let (text_index, html_index) = (parsed.text_body[0], parsed.html_body[0]);
                assert!(text_index < html_index, "text part must come first");
                assert_eq!(parsed.parts.len(), 3, "the root and two parts");
                let parts = if name.trim().is_empty() {
                    &template.anonymous
                } else {
                    &template.named
                };
                let normal = |s: &str| s.replace("\r\n", "\n");
                for (index, part, html) in [
                    (text_index, &parts.text, false),
                    (html_index, &parts.html, true),
                ] {
                    let part_bytes = &parsed.parts[index as usize];
                    let charset = part_bytes.content_type().unwrap().attribute("charset");
                    assert_eq!(charset, Some("utf-8"));
                    let decoded = part_bytes.text_contents().unwrap();
                    assert_eq!(
                        normal(decoded),
                        normal(&reference(part, &email.personal, html)),
                        "{name:?} chinese={chinese} html={html}"
                    );
                }
                let encodings: Vec<_> = text
                    .lines()
                    .filter(|l| l.starts_with("Content-Transfer-Encoding"))
                    .collect();
                let expected = if chinese {
                    "base64"
                } else {
                    "quoted-printable"
                };
                assert_eq!(
                    encodings[0],
                    format!("Content-Transfer-Encoding: {expected}")
                );
                assert_eq!(
                    encodings[1],
                    format!("Content-Transfer-Encoding: {expected}")
                );
                assert_eq!(encodings.len(), 2, "no transfer encoding on the multipart");
            }
        }
    }

    #[test]
    fn the_same_digest_gets_the_same_boundary_and_bytes() {
        let email = hard_sample();
        let one = build_message(&email, &EncodedBody::new(&digest_like(false)), None).unwrap();
        let two = build_message(&email, &EncodedBody::new(&digest_like(false)), None).unwrap();
        assert_eq!(one, two);
        let other = build_message(&email, &EncodedBody::new(&digest_like(true)), None).unwrap();
        let boundary = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let start = text.find("boundary=\"").unwrap() + 10;
            text[start..start + text[start..].find('"').unwrap()].to_owned()
        };
        assert!(boundary(&one).starts_with("=_"), "{}", boundary(&one));
        assert_ne!(boundary(&one), boundary(&other));
    }

    #[test]
    fn dkim_signature_of_a_digest_body_verifies() {
        let signer = DkimSigner::from_pem(ED25519_PEM, "news.example.org", "brief").unwrap();
        for chinese in [false, true] {
            let body = EncodedBody::new(&digest_like(chinese));
            for name in awkward_names() {
                let mut email = hard_sample();
                email.personal = personal(&name, &email.unsubscribe_url);
                let bytes = build_message(&email, &body, Some(&signer)).unwrap();
                let results = verifier::verify(&bytes, "brief", "news.example.org", ED25519_TXT);
                assert_eq!(results.len(), 1, "{results:?}");
                assert_eq!(results[0].result, mail_auth::DkimResult::Pass, "{name:?}");
            }
        }
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        let mut email = sample();
        email.list_id = "x\r\nBcc: victim@example.com".into();
        let text = String::from_utf8(build_message(&email, &body(), None).unwrap()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn a_utf8_address_is_written_as_utf8_and_only_the_name_is_encoded() {
        let mut email = sample();
        email.to_email = "读者@example.org".into();
        email.to_name = "示例读者".into();
        let signer = DkimSigner::from_pem(ED25519_PEM, "news.example.org", "brief").unwrap();
        let bytes = build_message(&email, &body(), Some(&signer)).unwrap();
        let text = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\r\n ", " ");
        let to = text
            .lines()
            .find(|line| line.starts_with("To: "))
            .expect("a To header");
        // RFC 6532: the addr-spec in UTF-8, never as an RFC 2047 encoded word.
        assert!(to.ends_with(" <读者@example.org>"), "{to}");
        assert!(to.starts_with("To: =?utf-8?"), "{to}");
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        let non_ascii: Vec<&str> = head.lines().filter(|l| !l.is_ascii()).collect();
        assert_eq!(non_ascii, [to], "only the To header is UTF-8");

        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.address(), Some("读者@example.org"));
        assert_eq!(to.name(), Some("示例读者"));
        // The signature covers the UTF-8 header as it is.
        let results = verifier::verify(&bytes, "brief", "news.example.org", ED25519_TXT);
        assert_eq!(results.len(), 1, "{results:?}");
        assert_eq!(results[0].result, mail_auth::DkimResult::Pass);
    }
}

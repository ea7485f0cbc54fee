//! Incoming mail to the list: delivery status notifications (RFC 3464),
//! feedback reports (RFC 5965 ARF), mail to the `mailto:` unsubscribe
//! address (RFC 2369/8058) and automatic replies (RFC 3834), turned into
//! plain [`InboundMessage`]s.
//!
//! Parses with `mail-parser`, never by hand: the report parts' fields are
//! header blocks, read with its header parser. A recipient is taken only
//! from the fields the formats define for it, never guessed from free
//! text. It decides nothing and writes nothing: `app` records the events.

use crate::model::{InboundEvent, InboundMessage};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

#[cfg(test)]
mod tests;

/// What classifying needs to know of the list.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// `digest.unsubscribe_mailto`, lowercased.
    pub unsubscribe_mailto: String,
    /// `digest.return_path`, when digests leave with VERP return paths.
    pub return_path: Option<String>,
    /// The address the message was delivered to, when the delivery says
    /// (Postfix's `ORIGINAL_RECIPIENT` for a pipe).
    pub envelope_recipient: Option<String>,
}

/// What `bytes` (one RFC 5322 message) says. A message that does not parse
/// at all is [`InboundEvent::Other`].
pub fn classify(bytes: &[u8], mailbox: &Mailbox) -> InboundMessage {
    let parser = MessageParser::default();
    let Some(message) = parser.parse(bytes) else {
        return InboundMessage {
            message_id: None,
            events: vec![InboundEvent::Other],
            return_path: None,
        };
    };
    let message_id = message.message_id().map(str::to_owned);
    let report_type = message
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    let events = match report_type.as_deref() {
        Some("delivery-status") => delivery_status(&message),
        Some("feedback-report") => feedback_report(&message),
        _ if is_to(&message, &mailbox.unsubscribe_mailto) && !is_auto_submitted(&message) => {
            match sender(&message) {
                Some(address) => vec![InboundEvent::MailtoUnsubscribe { address }],
                None => vec![InboundEvent::Other],
            }
        }
        _ if is_auto_submitted(&message) => vec![InboundEvent::AutoReply],
        _ => vec![InboundEvent::Other],
    };
    let return_path = mailbox
        .return_path
        .as_deref()
        .and_then(|ours| return_path(&message, ours, mailbox.envelope_recipient.as_deref()));
    InboundMessage {
        message_id,
        events,
        return_path,
    }
}

/// The VERP return path the message reached us at: the delivery's own
/// recipient, `Delivered-To`, `X-Original-To`, `To`, or (inside a report)
/// the bounced or reported message's envelope sender.
fn return_path(message: &Message, ours: &str, envelope: Option<&str>) -> Option<(String, String)> {
    let mut candidates: Vec<String> = envelope.into_iter().map(str::to_owned).collect();
    for name in ["Delivered-To", "X-Original-To"] {
        candidates.extend(
            message
                .header_values(name)
                .filter_map(|v| v.as_text())
                .map(str::to_owned),
        );
    }
    if let Some(to) = message.to() {
        candidates.extend(to.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    for subtype in ["delivery-status", "feedback-report"] {
        if let Some(groups) = report_part(message, subtype).map(field_groups) {
            for fields in &groups {
                for name in ["X-Postfix-Sender", "Original-Mail-From"] {
                    if let Some(value) = fields.header_raw(name) {
                        let address = value.split_once(';').map_or(value, |(_, a)| a);
                        candidates.push(address.trim().to_owned());
                    }
                }
            }
        }
    }
    candidates
        .iter()
        .find_map(|candidate| crate::verp::parse(ours, candidate))
}

/// The body of the first part of type `message/<subtype>` (or, for ARF's
/// enclosed message, `message/rfc822` parsed as a message).
fn report_part<'a>(message: &'a Message<'a>, subtype: &str) -> Option<&'a [u8]> {
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let matches = ct.ctype().eq_ignore_ascii_case("message")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case(subtype));
        if !matches {
            return None;
        }
        match &part.body {
            PartType::Text(text) => Some(text.as_bytes()),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Some(bytes.as_ref()),
            _ => None,
        }
    })
}

/// The field groups of a report part (blank-line separated header blocks).
fn field_groups(body: &[u8]) -> Vec<Message<'_>> {
    let text = body;
    let mut groups = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        // A blank line: "\n\n" or "\r\n\r\n".
        let blank = text[i..].starts_with(b"\n\n") || text[i..].starts_with(b"\r\n\r\n");
        if blank {
            let end = i + if text[i..].starts_with(b"\r\n\r\n") {
                4
            } else {
                2
            };
            push_group(&text[start..end], &mut groups);
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    push_group(&text[start..], &mut groups);
    groups
}

fn push_group<'a>(block: &'a [u8], groups: &mut Vec<Message<'a>>) {
    if block.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if let Some(fields) = MessageParser::default().parse_headers(block) {
        groups.push(fields);
    }
}

/// `rfc822; someone@example.org` → `someone@example.org`.
fn address_field(fields: &Message, name: &str) -> Option<String> {
    let value = fields.header_raw(name)?;
    let address = value.split_once(';').map_or(value, |(_, a)| a);
    let address = address.trim().trim_matches(|c| c == '<' || c == '>').trim();
    address
        .parse::<lettre::Address>()
        .ok()
        .map(|a| a.to_string().to_lowercase())
}

fn field(fields: &Message, name: &str) -> Option<String> {
    fields
        .header_raw(name)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// RFC 3464: one event per recipient whose action is `failed` or `delayed`.
fn delivery_status(message: &Message) -> Vec<InboundEvent> {
    let Some(body) = report_part(message, "delivery-status")
        .or_else(|| report_part(message, "global-delivery-status"))
    else {
        return vec![InboundEvent::Other];
    };
    let mut events = Vec::new();
    // The first group is per-message; the rest are per-recipient.
    for fields in field_groups(body).iter().skip(1) {
        let action = field(fields, "Action")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let status = field(fields, "Status").unwrap_or_default();
        let recipient = address_field(fields, "Final-Recipient")
            .or_else(|| address_field(fields, "Original-Recipient"));
        let diagnostic = field(fields, "Diagnostic-Code")
            .map(|d| {
                d.split_once(';')
                    .map_or(d.clone(), |(_, t)| t.trim().to_owned())
            })
            .unwrap_or_default();
        match (action.as_str(), status.chars().next()) {
            ("failed", Some('5')) | ("failed", None) => events.push(InboundEvent::HardBounce {
                recipient,
                status,
                diagnostic,
            }),
            ("failed", Some('4')) | ("delayed", _) => events.push(InboundEvent::SoftBounce {
                recipient,
                status,
                diagnostic,
            }),
            _ => {}
        }
    }
    if events.is_empty() {
        events.push(InboundEvent::Other);
    }
    events
}

/// RFC 5965: the complained-about reader from `Original-Rcpt-To`, else
/// the enclosed message's `To`.
fn feedback_report(message: &Message) -> Vec<InboundEvent> {
    let report = report_part(message, "feedback-report");
    let fields = report.and_then(|body| field_groups(body).into_iter().next());
    let feedback_type = fields
        .as_ref()
        .and_then(|f| field(f, "Feedback-Type"))
        .unwrap_or_else(|| "abuse".to_owned())
        .to_ascii_lowercase();
    let recipient = fields
        .as_ref()
        .and_then(|f| address_field(f, "Original-Rcpt-To"));
    let enclosed = enclosed(message);
    vec![InboundEvent::Complaint {
        recipient,
        enclosed_message_id: enclosed.as_ref().and_then(|(id, _)| id.clone()),
        enclosed_to: enclosed.and_then(|(_, to)| to),
        feedback_type,
    }]
}

/// The `Message-ID` and `To` of the message a report encloses
/// (`message/rfc822`, or its headers as `text/rfc822-headers`).
fn enclosed(message: &Message) -> Option<(Option<String>, Option<String>)> {
    let read = |headers: &Message| {
        let to = headers
            .to()
            .and_then(|to| to.first())
            .and_then(|a| a.address())
            .and_then(|a| a.parse::<lettre::Address>().ok())
            .map(|a| a.to_string().to_lowercase());
        (headers.message_id().map(str::to_owned), to)
    };
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(inner) => Some(read(inner)),
        PartType::Text(text)
            if part.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
            }) =>
        {
            MessageParser::default()
                .parse_headers(text.as_bytes())
                .map(|headers| read(&headers))
        }
        _ => None,
    })
}

/// Whether any `To`/`Cc`/`Delivered-To` address is `address`.
fn is_to(message: &Message, address: &str) -> bool {
    let listed = |list: Option<&mail_parser::Address>| {
        list.is_some_and(|list| {
            list.iter()
                .any(|a| a.address().is_some_and(|x| x.eq_ignore_ascii_case(address)))
        })
    };
    listed(message.to())
        || listed(message.cc())
        || message
            .header_raw("Delivered-To")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(address))
}

/// RFC 3834 `Auto-Submitted` other than `no`, or the older signs of an
/// automatic reply (`X-Autoreply`, `Precedence: auto_reply`).
fn is_auto_submitted(message: &Message) -> bool {
    let auto = message
        .header_raw("Auto-Submitted")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    auto || message.header_raw("X-Autoreply").is_some()
        || message
            .header_raw("Precedence")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("auto_reply"))
}

/// The sender of a mailto unsubscribe: `From` (RFC 8058 §3.2 names it).
fn sender(message: &Message) -> Option<String> {
    message
        .from()
        .and_then(|from| from.first())
        .and_then(|a| a.address())
        .and_then(|a| a.parse::<lettre::Address>().ok())
        .map(|a| a.to_string().to_lowercase())
}

//! Each fixture in `tests/fixtures/inbound/` (written from the formats'
//! specifications and what each relay is documented to send) with what it
//! must say.

use super::{Mailbox, classify};
use crate::model::InboundEvent;

fn events(name: &str) -> (Option<String>, Vec<InboundEvent>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inbound")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let message = classify(
        &bytes,
        &Mailbox {
            unsubscribe_mailto: "unsubscribe@news.example.org".to_owned(),
            return_path: None,
            envelope_recipient: None,
        },
    );
    (message.message_id, message.events)
}

fn hard(recipient: &str, status: &str, diagnostic: &str) -> InboundEvent {
    InboundEvent::HardBounce {
        recipient: Some(recipient.to_owned()),
        status: status.to_owned(),
        diagnostic: diagnostic.to_owned(),
    }
}

#[test]
fn postfix_exim_microsoft_and_ses_failures_are_hard_bounces_of_their_final_recipient() {
    let (id, postfix) = events("postfix-hard.eml");
    assert_eq!(
        id.as_deref(),
        Some("20261128220005.4A1B2C3D4E@mx.news.example.org")
    );
    assert_eq!(
        postfix,
        [hard(
            "gone@example.org",
            "5.1.1",
            "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table"
        )]
    );
    assert_eq!(
        events("exim-hard.eml").1,
        [hard(
            "nobody@example.net",
            "5.0.0",
            "550 5.1.1 <nobody@example.net>: Recipient address rejected"
        )]
    );
    assert_eq!(
        events("m365-hard.eml").1,
        [hard(
            "j.smith@contoso.com",
            "5.1.10",
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
        )]
    );
    assert_eq!(
        events("ses-hard.eml").1,
        [hard(
            "closed@example.com",
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled."
        )]
    );
}

#[test]
fn a_delay_is_a_soft_bounce() {
    assert_eq!(
        events("gmail-soft.eml").1,
        [InboundEvent::SoftBounce {
            recipient: Some("full.box@gmail.com".to_owned()),
            status: "4.2.2".to_owned(),
            diagnostic: "452 4.2.2 The recipient's inbox is out of storage space.".to_owned(),
        }]
    );
}

#[test]
fn a_report_without_a_recipient_is_unattributed_never_guessed_from_its_text() {
    assert_eq!(
        events("dsn-no-recipient.eml").1,
        [InboundEvent::HardBounce {
            recipient: None,
            status: "5.0.0".to_owned(),
            diagnostic: String::new(),
        }]
    );
}

#[test]
fn complaints_name_the_original_recipient_and_what_the_enclosed_message_says() {
    assert_eq!(
        events("yahoo-arf.eml").1,
        [InboundEvent::Complaint {
            recipient: Some("complainer@yahoo.com".to_owned()),
            enclosed_message_id: Some("2026-11-29.jkl@news.example.org".to_owned()),
            enclosed_to: Some("complainer@yahoo.com".to_owned()),
            feedback_type: "abuse".to_owned(),
        }]
    );
    assert_eq!(
        events("arf-no-rcpt.eml").1,
        [InboundEvent::Complaint {
            recipient: None,
            enclosed_message_id: None,
            enclosed_to: Some("redacted@hotmail.com".to_owned()),
            feedback_type: "abuse".to_owned(),
        }]
    );
}

#[test]
fn mail_to_the_unsubscribe_address_unsubscribes_its_sender_unless_automatic() {
    assert_eq!(
        events("mailto-unsubscribe.eml").1,
        [InboundEvent::MailtoUnsubscribe {
            address: "sam@example.org".to_owned()
        }]
    );
    assert_eq!(events("out-of-office.eml").1, [InboundEvent::AutoReply]);
}

#[test]
fn what_is_not_mail_is_other() {
    let message = classify(
        b"",
        &Mailbox {
            unsubscribe_mailto: "u@x.org".to_owned(),
            return_path: None,
            envelope_recipient: None,
        },
    );
    assert_eq!(message.events, [InboundEvent::Other]);
}

#[test]
fn the_verp_return_path_is_found_where_each_relay_puts_it() {
    let tagged = "bounces+2026-11-29.0123456789ab@news.example.org";
    let mailbox = Mailbox {
        unsubscribe_mailto: "unsubscribe@news.example.org".to_owned(),
        return_path: Some("bounces@news.example.org".to_owned()),
        envelope_recipient: None,
    };
    let expected = Some(("2026-11-29".to_owned(), "0123456789ab".to_owned()));
    let read = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/inbound")
                .join(name),
        )
        .unwrap()
    };
    // Postfix: the DSN's To, and its X-Postfix-Sender field.
    let postfix = read("postfix-hard.eml").replace(
        "X-Postfix-Sender: rfc822; bounces@news.example.org",
        &format!("X-Postfix-Sender: rfc822; {tagged}"),
    );
    assert_eq!(classify(postfix.as_bytes(), &mailbox).return_path, expected);
    // Yahoo's ARF: Original-Mail-From.
    let arf = read("yahoo-arf.eml").replace(
        "Original-Mail-From: <bounces@news.example.org>",
        &format!("Original-Mail-From: <{tagged}>"),
    );
    assert_eq!(classify(arf.as_bytes(), &mailbox).return_path, expected);
    // A pipe's envelope recipient.
    let piped = Mailbox {
        envelope_recipient: Some(tagged.to_owned()),
        ..mailbox.clone()
    };
    assert_eq!(
        classify(read("ses-hard.eml").as_bytes(), &piped).return_path,
        expected
    );
    assert_eq!(
        classify(read("ses-hard.eml").as_bytes(), &mailbox).return_path,
        None
    );
}

//! Unit tests of the SMTP transport's settings checks, DATA payload and
//! outcome rules; delivery over real TCP is in `tests/deliver_smtp.rs`.

use super::data::{DataBody, dot_stuff};
use super::outcome::{Cause, Failure, Phase};
use super::*;

fn settings(host: &str, security: Security) -> SmtpSettings {
    SmtpSettings {
        host: host.to_owned(),
        port: 25,
        security,
        username: String::new(),
        password: Some("hunter2".to_owned()),
        timeout: Duration::from_secs(5),
        hello_name: Some("gazette.test".to_owned()),
    }
}

#[test]
fn plain_smtp_refused_for_remote_host() {
    let err = SmtpTransport::new(settings("smtp.example.com", Security::None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("use \"tls\" or \"starttls\""), "{err}");
    assert!(err.contains("smtp.example.com"), "{err}");
}

#[test]
fn plain_smtp_refused_for_private_network_address() {
    assert!(SmtpTransport::new(settings("192.168.1.10", Security::None)).is_err());
    assert!(SmtpTransport::new(settings("::2", Security::None)).is_err());
}

#[test]
fn plain_smtp_allowed_on_loopback() {
    for host in [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
    ] {
        assert!(
            SmtpTransport::new(settings(host, Security::None)).is_ok(),
            "{host}"
        );
    }
}

#[test]
fn tls_settings_accepted_for_remote_host() {
    assert!(SmtpTransport::new(settings("smtp.example.com", Security::Tls)).is_ok());
    assert!(SmtpTransport::new(settings("smtp.example.com", Security::StartTls)).is_ok());
}

#[test]
fn debug_output_hides_password() {
    let text = format!("{:?}", settings("localhost", Security::None));
    assert!(!text.contains("hunter2"), "{text}");
}

/// A negative reply `code detail` to `what`, in `phase`.
fn reply(phase: Phase, what: &str, code: u16, detail: &str) -> Failure {
    Failure {
        phase,
        what: what.into(),
        cause: Cause::Reply {
            code,
            text: detail.into(),
        },
    }
}

#[test]
fn dot_stuffing_doubles_leading_dots_only() {
    assert_eq!(
        dot_stuff("a\r\n.b\r\n..c\r\nd.e\r\n"),
        "a\r\n..b\r\n...c\r\nd.e\r\n"
    );
    assert_eq!(dot_stuff(".first\r\n"), "..first\r\n");
    assert!(matches!(
        dot_stuff("plain\r\nlines\r\n"),
        std::borrow::Cow::Borrowed(_)
    ));
    assert_eq!(DataBody("x\r\n").to_string(), "x\r\n.\r\n");
    assert_eq!(DataBody("x").to_string(), "x\r\n.\r\n");
}

#[test]
fn a_refused_session_is_deferred_not_failed() {
    let step = reply(
        Phase::Session,
        "AUTH as brief",
        535,
        "5.7.8 bad credentials",
    );
    assert!(
        matches!(step.outcome(), DeliveryOutcome::Deferred(reason) if reason.contains("check [delivery.smtp]"))
    );
}

#[test]
fn classifies_enhanced_5_1_as_suppress_at_any_step() {
    let step = reply(Phase::FinalReply, "end of DATA", 554, "5.1.0 bad address");
    assert!(matches!(
        step.outcome(),
        DeliveryOutcome::Failed { suppress: true, .. }
    ));
}

#[test]
fn sender_address_problems_never_suppress_the_subscriber() {
    let step = reply(
        Phase::MailFrom,
        "MAIL FROM:<b@x>",
        550,
        "5.1.8 bad sender domain",
    );
    assert!(matches!(
        step.outcome(),
        DeliveryOutcome::Failed {
            suppress: false,
            ..
        }
    ));
    let step = reply(
        Phase::FinalReply,
        "end of DATA",
        550,
        "5.1.7 bad sender syntax",
    );
    assert!(matches!(
        step.outcome(),
        DeliveryOutcome::Failed {
            suppress: false,
            ..
        }
    ));
}

#[test]
fn rcpt_refusals_550_551_553_suppress_but_552_does_not() {
    for (code, suppress) in [
        (550, true),
        (551, true),
        (553, true),
        (552, false),
        (554, false),
    ] {
        let step = reply(Phase::RcptTo, "RCPT TO:<a@x>", code, "mailbox problem");
        assert_eq!(
            step.outcome(),
            DeliveryOutcome::Failed {
                reason: format!("RCPT TO:<a@x>: {code} mailbox problem"),
                suppress
            },
            "{code}"
        );
    }
}

#[test]
fn transient_replies_and_early_losses_defer_late_losses_are_unknown() {
    let step = reply(Phase::RcptTo, "RCPT TO:<a@x>", 421, "4.7.0 closing");
    assert!(matches!(step.outcome(), DeliveryOutcome::Deferred(_)));
    let mut lost = Failure::local(Phase::Body, "connection reset".into());
    assert!(matches!(lost.outcome(), DeliveryOutcome::Deferred(_)));
    lost.phase = Phase::FinalReply;
    assert!(matches!(lost.outcome(), DeliveryOutcome::Unknown(_)));
    // A reply wins over the position: 452 after the body is still Deferred.
    let step = reply(Phase::FinalReply, "end of DATA", 452, "4.3.1 full");
    assert!(matches!(step.outcome(), DeliveryOutcome::Deferred(_)));
}

#[test]
fn classifies_policy_rejection_without_suppress() {
    let step = reply(Phase::FinalReply, "end of DATA", 554, "5.7.1 spam");
    assert_eq!(
        step.outcome(),
        DeliveryOutcome::Failed {
            reason: "end of DATA: 554 5.7.1 spam".into(),
            suppress: false
        }
    );
}

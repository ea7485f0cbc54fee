//! Validation of the mail settings: `[digest]` (addresses, links, DKIM
//! names) and `[delivery]` (exactly one transport, plain text only to a
//! loopback relay).
//!
//! Addresses are parsed as lettre parses them when it builds a message, so
//! one that passes here never fails at send time. The DKIM key is only
//! located here; `app` reads and parses it before any work starts.

use super::raw::{RawDelivery, RawDigest, RawDkim};
use super::settings::{
    Delivery, DigestConfig, DkimConfig, SmtpConfig, SmtpSecurity, TransportKind,
};
use lettre::message::Mailbox;
use std::path::Path;

/// `address` as a mailbox (`Name <local@domain>` or a bare address) whose
/// domain has a dot: what a digest header can carry.
fn mailbox(address: &str) -> Option<Mailbox> {
    let mailbox: Mailbox = address.trim().parse().ok()?;
    mailbox.email.domain().contains('.').then_some(mailbox)
}

/// `serve_url` is `serve.public_url`, when `[serve]` is configured: the
/// mails' unsubscribe links then go to `gazette serve`.
pub(super) fn validate_digest(
    raw: RawDigest,
    root: &Path,
    serve_url: Option<&url::Url>,
    problems: &mut Vec<String>,
) -> Option<DigestConfig> {
    let from = mailbox(&raw.from);
    if from.is_none() {
        problems.push(format!(
            "digest.from `{}` is not an address; write \"Name <brief@news.example.org>\"",
            raw.from
        ));
    }
    if let Some(reply_to) = &raw.reply_to
        && mailbox(reply_to).is_none()
    {
        problems.push(format!(
            "digest.reply_to `{reply_to}` is not an address; write \"editors@news.example.org\" or remove the key"
        ));
    }
    if mailbox(&raw.unsubscribe_mailto).is_none() {
        problems.push(format!(
            "digest.unsubscribe_mailto `{}` is not an address, e.g. \"unsubscribe@news.example.org\"",
            raw.unsubscribe_mailto
        ));
    }
    let unsubscribe_url = match (serve_url, &raw.unsubscribe_url) {
        (Some(serve_url), None) => serve_url.join("unsubscribe").ok(),
        (Some(_), Some(own)) => {
            problems.push(format!(
                "digest.unsubscribe_url `{own}` and [serve] both answer unsubscribe links; remove digest.unsubscribe_url: the mails link to serve.public_url + \"unsubscribe\", which `gazette serve` answers"
            ));
            None
        }
        (None, None) => {
            problems.push(
                "[digest] needs a working unsubscribe link: add [serve] with public_url (and run `gazette serve`), or set digest.unsubscribe_url to your own handler".to_owned(),
            );
            None
        }
        (None, Some(own)) => match url::Url::parse(own) {
            Ok(url) if url.scheme() == "https" => Some(url),
            _ => {
                problems.push(format!(
                    "digest.unsubscribe_url `{own}` must be an absolute https URL (mail clients only offer one-click unsubscribe over https)"
                ));
                None
            }
        },
    };
    if raw.max_items == 0 {
        problems.push("digest.max_items must be at least 1".to_owned());
    }
    let first_window = match raw.first_window {
        days @ 1..=36500 => chrono::TimeDelta::days(days),
        days => {
            problems.push(format!(
                "digest.first_window = {days}: write the number of days of stories a first digest may hold, at least 1 (default 7)"
            ));
            chrono::TimeDelta::days(7)
        }
    };
    let return_path = match raw.return_path.as_deref().map(str::trim) {
        None => None,
        Some(address) => match address.parse::<lettre::Address>() {
            Ok(parsed) if parsed.domain().contains('.') && !parsed.user().contains('+') => {
                Some(parsed.to_string())
            }
            _ => {
                problems.push(format!(
                    "digest.return_path `{address}` must be a bare address without `+` whose mail reaches `gazette mailbox`, e.g. \"bounces@news.example.org\" (each digest leaves as bounces+<tag>@…)"
                ));
                None
            }
        },
    };
    if raw.soft_bounce_limit == 0 {
        problems.push(
            "digest.soft_bounce_limit = 0: write how many transient bounces suppress an address, at least 1 (default 5)".to_owned(),
        );
    }
    let soft_bounce_window = match raw.soft_bounce_days {
        days @ 1..=3650 => Some(chrono::TimeDelta::days(days)),
        days => {
            problems.push(format!(
                "digest.soft_bounce_days = {days}: write the days within which soft bounces count, 1 to 3650 (default 30)"
            ));
            None
        }
    };
    if raw.postal_address.trim().is_empty() {
        problems.push(
            "digest.postal_address is empty; bulk mail must carry the sender's postal address"
                .to_owned(),
        );
    }
    let from = from?;
    let from_domain = from.email.domain().to_ascii_lowercase();
    let dkim = raw
        .dkim
        .and_then(|dkim| validate_dkim(dkim, &from_domain, root, problems));
    Some(DigestConfig {
        subscribers: root.join(raw.subscribers),
        max_items: raw.max_items,
        // The text that was parsed above, so `deliver` parses it the same.
        from: raw.from.trim().to_owned(),
        from_name: from.name.clone().filter(|name| !name.trim().is_empty()),
        from_address: from.email.to_string(),
        from_domain,
        reply_to: raw.reply_to.map(|r| r.trim().to_owned()),
        untranslated: raw.untranslated,
        unsubscribe_url: unsubscribe_url?,
        unsubscribe_mailto: raw.unsubscribe_mailto,
        return_path,
        soft_bounce_limit: raw.soft_bounce_limit,
        soft_bounce_window: soft_bounce_window?,
        unsubscribe_secret_env: raw.unsubscribe_secret_env,
        postal_address: raw.postal_address,
        templates_dir: root.join(raw.templates_dir),
        dkim,
        first_window,
    })
}

fn validate_dkim(
    raw: RawDkim,
    from_domain: &str,
    root: &Path,
    problems: &mut Vec<String>,
) -> Option<DkimConfig> {
    let domain = raw
        .domain
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_else(|| from_domain.to_owned());
    let mut ok = true;
    if !is_dns_name(&domain) || !domain.contains('.') {
        problems.push(format!(
            "digest.dkim.domain `{domain}` is not a domain name; write the domain that publishes the key, e.g. \"news.example.org\" (default: the domain of digest.from)"
        ));
        ok = false;
    }
    if !is_dns_name(&raw.selector) {
        problems.push(format!(
            "digest.dkim.selector `{}` is not a DNS label; write the name the public key is published under (<selector>._domainkey.{domain}), e.g. \"brief2026\"",
            raw.selector
        ));
        ok = false;
    }
    ok.then(|| DkimConfig {
        domain,
        selector: raw.selector,
        private_key: root.join(&raw.private_key),
    })
}

/// Letters, digits, '-' and '_' in dot-separated non-empty labels.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The most rows a connection may claim ahead: beyond it another fsync saved
/// is worth less than the `unknown` rows a crash would leave.
const MAX_CLAIM_AHEAD: usize = 64;

/// `[delivery]` as the one transport it selects; `None` (with a problem
/// listed) when the settings do not make one.
pub(super) fn validate_delivery(
    raw: RawDelivery,
    root: &Path,
    problems: &mut Vec<String>,
) -> Option<Delivery> {
    // An `[delivery.smtp]` section is checked even while the file outbox
    // is selected, so switching `transport` never uncovers old mistakes.
    let smtp = raw.smtp.map(|smtp| {
        if smtp.security == SmtpSecurity::None && !crate::net::is_loopback_host(&smtp.host) {
            problems.push(format!(
                "delivery.smtp.security = \"none\" sends mail and passwords in clear text; it is only allowed to a loopback host, not `{}`: use \"tls\" or \"starttls\"",
                smtp.host
            ));
        }
        if smtp.connections == 0 {
            problems.push("delivery.smtp.connections must be at least 1".to_owned());
        }
        if smtp.claim_ahead > MAX_CLAIM_AHEAD {
            problems.push(format!(
                "delivery.smtp.claim_ahead = {} is more than {MAX_CLAIM_AHEAD}: it is how many rows per connection a crash may leave `unknown` (less one), and the messages each connection holds composed; use {MAX_CLAIM_AHEAD} or less (8 is the default)",
                smtp.claim_ahead
            ));
        }
        SmtpConfig {
            host: smtp.host,
            port: smtp.port,
            security: smtp.security,
            username: smtp.username,
            password_env: smtp.password_env,
            connections: smtp.connections.max(1),
            max_per_second: smtp.max_per_second,
            claim_ahead: smtp.claim_ahead.min(MAX_CLAIM_AHEAD),
            timeout: std::time::Duration::from_secs(smtp.timeout_seconds.max(1)),
        }
    });
    match (raw.transport, smtp) {
        (TransportKind::File, _) => Some(Delivery::File {
            outbox: root.join(raw.outbox),
        }),
        (TransportKind::Smtp, Some(smtp)) => Some(Delivery::Smtp(smtp)),
        (TransportKind::Smtp, None) => {
            problems.push(
                "delivery.transport = \"smtp\" needs a [delivery.smtp] section with at least `host`"
                    .to_owned(),
            );
            None
        }
    }
}

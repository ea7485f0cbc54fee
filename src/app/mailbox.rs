//! `gazette mailbox`: reads the messages that reached the list (standard
//! input from a Postfix pipe or `.forward`, message files, an mbox, a
//! Maildir), classifies each with `inbound`, decides what it does to the
//! list, and records it in the state database once per message.

use super::Output;
use crate::config::{Config, DigestConfig};
use crate::inbound::{self, Mailbox};
use crate::model::InboundEvent;
use crate::state::{MailChange, State};
use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset};
use sha2::Digest as _;
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// What a run did, for its summary line.
#[derive(Debug, Default)]
struct Tally {
    hard: u64,
    complaint: u64,
    mailto: u64,
    soft: u64,
    soft_suppressed: u64,
    ignored: u64,
    unattributed: u64,
    already: u64,
}

/// Runs `gazette mailbox [PATH…]`; no path reads one message from stdin.
pub fn mailbox(
    config: &Config,
    paths: &[PathBuf],
    move_to: Option<&Path>,
    now: DateTime<FixedOffset>,
    output: Output,
) -> Result<()> {
    let digest = config.digest.as_ref().ok_or_else(|| {
        anyhow!(
            "{} has no [digest] section, so the list has no mailbox; add one (see README)",
            config.path.display()
        )
    })?;
    let mailbox = Mailbox {
        unsubscribe_mailto: digest
            .unsubscribe_mailto
            .trim()
            .trim_matches(|c| c == '<' || c == '>')
            .to_lowercase(),
        return_path: digest.return_path.clone(),
        // A Postfix alias or .forward pipe says whom the message was for.
        envelope_recipient: paths
            .is_empty()
            .then(|| std::env::var("ORIGINAL_RECIPIENT").ok())
            .flatten(),
    };
    let state = State::open(&config.state)?;
    let secret = match digest.return_path {
        Some(_) => Some(super::setup::unsubscribe_secret(digest)?),
        None => None,
    };
    let mut senders = Senders {
        state: &state,
        secret: secret.as_deref(),
        domain: &digest.from_domain,
        digests: HashMap::new(),
    };
    let mut tally = Tally::default();
    let mut process = |bytes: &[u8]| -> Result<()> {
        handle(
            &state,
            digest,
            &mailbox,
            &mut senders,
            bytes,
            now,
            &mut tally,
        )
    };
    if paths.is_empty() {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the message from standard input")?;
        process(&bytes)?;
    }
    for path in paths {
        if path.join("new").is_dir() && path.join("cur").is_dir() {
            maildir(path, move_to, &mut process)?;
        } else {
            let bytes = std::fs::read(path).with_context(|| {
                format!(
                    "cannot read {}; give message files, an mbox or a Maildir",
                    path.display()
                )
            })?;
            if bytes.starts_with(b"From ") {
                for message in mail_parser::mailbox::mbox::MessageIterator::new(&bytes[..]) {
                    let message = message
                        .with_context(|| format!("cannot read the mbox {}", path.display()))?;
                    process(message.contents())?;
                }
            } else {
                process(&bytes)?;
            }
        }
    }
    if output.is_normal() {
        println!(
            "suppressed {} (hard {}, complaint {}, mailto {}), soft {}, ignored {}, unattributed {}{}",
            tally.hard + tally.complaint + tally.mailto + tally.soft_suppressed,
            tally.hard,
            tally.complaint,
            tally.mailto,
            tally.soft,
            tally.ignored,
            tally.unattributed,
            if tally.already > 0 {
                format!("; {} already processed", tally.already)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Every message of a Maildir not yet marked seen; each, once recorded,
/// moves to `cur/` (its own, or `move_to`'s) with the `S` flag, so the
/// next run skips it.
fn maildir(
    dir: &Path,
    move_to: Option<&Path>,
    process: &mut impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let destination = move_to.unwrap_or(dir);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(destination.join(sub)).with_context(|| {
            format!(
                "cannot create the Maildir folder {}",
                destination.join(sub).display()
            )
        })?;
    }
    let messages = mail_parser::mailbox::maildir::MessageIterator::new(dir)
        .with_context(|| format!("cannot read the Maildir {}", dir.display()))?;
    for message in messages {
        let message =
            message.with_context(|| format!("cannot read a message in {}", dir.display()))?;
        if message
            .flags()
            .contains(&mail_parser::mailbox::maildir::Flag::Seen)
        {
            continue;
        }
        process(message.contents())?;
        let path = message.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("a message file in {} has no UTF-8 name", dir.display()))?;
        let (base, flags) = name.split_once(":2,").unwrap_or((name, ""));
        let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
        flags.sort_unstable();
        flags.dedup();
        let target = destination.join("cur").join(format!(
            "{base}:2,{}",
            flags.into_iter().collect::<String>()
        ));
        std::fs::rename(path, &target).with_context(|| {
            format!(
                "cannot mark {} as processed (move to {})",
                path.display(),
                target.display()
            )
        })?;
    }
    Ok(())
}

/// One digest's recipients, indexed the two ways a report names one: by
/// the signature of their VERP return path, and by our Message-ID of
/// their copy.
struct DigestIndex {
    by_signature: HashMap<String, String>,
    by_message_id: HashMap<String, String>,
}

/// Who a report is about, from the ledger: each digest's deliveries read
/// once per run and indexed both ways.
struct Senders<'a> {
    state: &'a State,
    /// The return paths' secret, when digests leave with them.
    secret: Option<&'a [u8]>,
    /// `digest.from`'s domain, which our Message-IDs end in.
    domain: &'a str,
    digests: HashMap<String, DigestIndex>,
}

impl Senders<'_> {
    fn index(&mut self, digest_id: &str) -> Result<&DigestIndex> {
        if !self.digests.contains_key(digest_id) {
            let mut index = DigestIndex {
                by_signature: HashMap::new(),
                by_message_id: HashMap::new(),
            };
            for email in self.state.delivery_emails(digest_id)? {
                if let Some(secret) = self.secret {
                    let signature = crate::verp::signature(secret, digest_id, &email);
                    index.by_signature.insert(signature, email.clone());
                }
                let id = super::send::message_id(digest_id, &email, self.domain);
                index.by_message_id.insert(id, email);
            }
            self.digests.insert(digest_id.to_owned(), index);
        }
        Ok(&self.digests[digest_id])
    }

    /// The reader of a VERP return path's (digest, signature).
    fn recipient(&mut self, digest_id: &str, signature: &str) -> Result<Option<String>> {
        if self.secret.is_none() {
            return Ok(None);
        }
        Ok(self.index(digest_id)?.by_signature.get(signature).cloned())
    }

    /// The reader of one of our digests' Message-IDs
    /// (`<digest.<digest id>.<hash>@<domain>>`, see `send`'s composer).
    fn by_message_id(&mut self, id: &str) -> Result<Option<String>> {
        let id = id.trim().trim_matches(|c| c == '<' || c == '>');
        let digest_id = id
            .strip_suffix(self.domain)
            .and_then(|rest| rest.strip_suffix('@'))
            .and_then(|rest| rest.strip_prefix("digest."))
            .and_then(|local| local.rsplit_once('.'))
            .map(|(digest_id, _)| digest_id.to_owned());
        let Some(digest_id) = digest_id else {
            return Ok(None);
        };
        Ok(self
            .index(&digest_id)?
            .by_message_id
            .get(&format!("<{id}>"))
            .cloned())
    }
}

/// Classifies one message, decides, records.
fn handle(
    state: &State,
    digest: &DigestConfig,
    mailbox: &Mailbox,
    senders: &mut Senders,
    bytes: &[u8],
    now: DateTime<FixedOffset>,
    tally: &mut Tally,
) -> Result<()> {
    let mut message = inbound::classify(bytes, mailbox);
    // The return path names the delivery, whatever the report's body says.
    let mut verp_digest = None;
    if let Some((digest_id, signature)) = &message.return_path
        && let Some(email) = senders.recipient(digest_id, signature)?
    {
        verp_digest = Some(digest_id.clone());
        for event in &mut message.events {
            match event {
                InboundEvent::HardBounce { recipient, .. }
                | InboundEvent::SoftBounce { recipient, .. }
                | InboundEvent::Complaint { recipient, .. } => *recipient = Some(email.clone()),
                _ => {}
            }
        }
    }
    // A complaint without either: our Message-ID names the delivery; the
    // enclosed `To` is the last resort.
    for event in &mut message.events {
        if let InboundEvent::Complaint {
            recipient: recipient @ None,
            enclosed_message_id,
            enclosed_to,
            ..
        } = event
        {
            let by_id = match enclosed_message_id {
                Some(id) => senders.by_message_id(id)?,
                None => None,
            };
            *recipient = by_id.or_else(|| enclosed_to.clone());
        }
    }
    let key = message.message_id.clone().unwrap_or_else(|| {
        let hash = sha2::Sha256::digest(bytes);
        format!("sha256:{}", hex::encode(hash))
    });
    let mut changes = Vec::new();
    let mut counts = Tally::default();
    for event in &message.events {
        match event {
            InboundEvent::HardBounce {
                recipient: Some(email),
                status,
                diagnostic,
            } => {
                counts.hard += 1;
                changes.push(MailChange::Suppress {
                    email: email.clone(),
                    reason: format!("hard bounce: {status} {diagnostic} (message {key})"),
                });
                changes.push(MailChange::Bounced {
                    email: email.clone(),
                    digest_id: verp_digest.clone(),
                    reason: format!("{status} {diagnostic}").trim().to_owned(),
                });
            }
            InboundEvent::SoftBounce {
                recipient: Some(email),
                status,
                diagnostic,
            } => {
                counts.soft += 1;
                changes.push(MailChange::SoftBounce {
                    email: email.clone(),
                    status: status.clone(),
                    diagnostic: diagnostic.clone(),
                    limit: digest.soft_bounce_limit,
                    window: digest.soft_bounce_window,
                });
            }
            InboundEvent::Complaint {
                recipient: Some(email),
                feedback_type,
                ..
            } => {
                counts.complaint += 1;
                changes.push(MailChange::Suppress {
                    email: email.clone(),
                    reason: format!("complaint: {feedback_type} report (message {key})"),
                });
            }
            InboundEvent::MailtoUnsubscribe { address } => {
                counts.mailto += 1;
                changes.push(MailChange::Suppress {
                    email: address.clone(),
                    reason: format!(
                        "unsubscribed by mail to {} (message {key})",
                        mailbox.unsubscribe_mailto
                    ),
                });
            }
            InboundEvent::HardBounce {
                recipient: None, ..
            }
            | InboundEvent::SoftBounce {
                recipient: None, ..
            }
            | InboundEvent::Complaint {
                recipient: None, ..
            } => counts.unattributed += 1,
            InboundEvent::AutoReply | InboundEvent::Other => counts.ignored += 1,
        }
    }
    let outcome = format!("{:?}", message.events);
    let applied = state.apply_mail(&key, &outcome, &changes, now)?;
    if !applied.new {
        tally.already += 1;
        return Ok(());
    }
    if counts.unattributed > 0 {
        tracing::warn!("message {key}: a report that names no recipient; nothing suppressed");
    }
    tally.hard += counts.hard;
    tally.complaint += counts.complaint;
    tally.mailto += counts.mailto;
    tally.soft += counts.soft;
    tally.soft_suppressed += u64::from(applied.soft_suppressed);
    tally.ignored += counts.ignored;
    tally.unattributed += counts.unattributed;
    Ok(())
}

//! What the list's mailbox changed: each incoming message recorded once
//! (so the same message processed twice changes nothing more), the
//! suppressions it causes, and transient failures counted toward a limit.
//!
//! It applies what `app` decided; the reasons are the caller's.

use super::db::args;
use super::suppressions::suppress_in;
use super::{State, normalize_email, timestamp};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, TimeDelta};

/// One change an incoming message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailChange {
    /// Suppress at once, with this reason.
    Suppress { email: String, reason: String },
    /// Mark a delivery as bounced in the ledger: `digest_id`'s row to
    /// `email` (from the VERP return path), else that address's latest
    /// sent row. Its status stays `sent` (the relay took it); its
    /// `last_error` says `bounced: …`.
    Bounced {
        email: String,
        digest_id: Option<String>,
        reason: String,
    },
    /// Count a transient failure; suppress once the address has `limit`
    /// of them within `window`.
    SoftBounce {
        email: String,
        status: String,
        diagnostic: String,
        limit: u32,
        window: TimeDelta,
    },
}

/// What applying a message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailApplied {
    /// False: this message was processed before; nothing changed.
    pub new: bool,
    /// Soft bounces that reached the limit and suppressed their address.
    pub soft_suppressed: u32,
}

impl State {
    /// The ledger addresses of every delivery of `digest_id`.
    pub fn delivery_emails(&self, digest_id: &str) -> Result<Vec<String>> {
        let context = || {
            format!(
                "cannot read the deliveries of {digest_id} in {}",
                self.label
            )
        };
        self.db
            .query(
                "SELECT email FROM deliveries WHERE digest_id = ?1",
                args![digest_id],
                |row| row.text(0),
            )
            .with_context(context)
    }

    /// Each address's soft bounces on record, with the latest status.
    pub fn soft_bounce_counts(&self) -> Result<std::collections::HashMap<String, (u32, String)>> {
        let context = || format!("cannot read the soft bounces of {}", self.label);
        if !self.has_table("soft_bounces").with_context(context)? {
            return Ok(Default::default());
        }
        let mut counts = std::collections::HashMap::new();
        self.db
            .each(
                "SELECT email, count(*), (SELECT status FROM soft_bounces AS b
                     WHERE b.email = s.email ORDER BY at DESC LIMIT 1)
                 FROM soft_bounces AS s GROUP BY email",
                &[],
                |row| {
                    counts.insert(row.text(0)?, (row.count(1)?, row.text(2)?));
                    Ok(())
                },
            )
            .with_context(context)?;
        Ok(counts)
    }

    /// Applies `changes` for the message `key` in one transaction, unless
    /// `key` was processed before. `outcome` is recorded with it.
    pub fn apply_mail(
        &self,
        key: &str,
        outcome: &str,
        changes: &[MailChange],
        now: DateTime<FixedOffset>,
    ) -> Result<MailApplied> {
        let context = || format!("cannot record incoming message {key} in {}", self.label);
        let tx = self.write_transaction()?;
        let seen = self
            .db
            .query_opt(
                "SELECT 1 FROM inbound WHERE message_key = ?1",
                args![key],
                |_| Ok(()),
            )
            .with_context(context)?;
        if seen.is_some() {
            return Ok(MailApplied::default());
        }
        let at = timestamp(now);
        let mut applied = MailApplied {
            new: true,
            soft_suppressed: 0,
        };
        for change in changes {
            match change {
                MailChange::Suppress { email, reason } => {
                    suppress_in(&self.db, &normalize_email(email), reason, &at)
                        .with_context(context)?;
                }
                MailChange::Bounced {
                    email,
                    digest_id,
                    reason,
                } => {
                    let email = normalize_email(email);
                    let text = format!("bounced: {reason}");
                    match digest_id {
                        Some(digest_id) => self.db.execute(
                            "UPDATE deliveries SET last_error = ?3 WHERE digest_id = ?1 AND email = ?2",
                            args![digest_id, &email, &text],
                        ),
                        // The latest digest sent to the address.
                        None => self.db.execute(
                            "UPDATE deliveries SET last_error = ?2
                             WHERE email = ?1 AND digest_id = (
                                 SELECT digest_id FROM deliveries WHERE email = ?1 AND status = 'sent'
                                 ORDER BY updated_at DESC, digest_id DESC LIMIT 1)",
                            args![&email, &text],
                        ),
                    }
                    .with_context(context)?;
                }
                MailChange::SoftBounce {
                    email,
                    status,
                    diagnostic,
                    limit,
                    window,
                } => {
                    let email = normalize_email(email);
                    self.db
                        .execute(
                            "INSERT INTO soft_bounces (email, message_key, status, diagnostic, at)
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                            args![&email, key, status, diagnostic, &at],
                        )
                        .with_context(context)?;
                    let count: u32 = self
                        .db
                        .query_one(
                            "SELECT count(*) FROM soft_bounces WHERE email = ?1 AND at >= ?2",
                            args![&email, &timestamp(now - *window)],
                            |row| row.count(0),
                        )
                        .with_context(context)?;
                    if count >= *limit {
                        let reason = format!(
                            "soft bounces: {count} within {} days (last: {status} {diagnostic})",
                            window.num_days()
                        );
                        if suppress_in(&self.db, &email, &reason, &at).with_context(context)? {
                            applied.soft_suppressed += 1;
                        }
                    }
                }
            }
        }
        self.db
            .execute(
                "INSERT INTO inbound (message_key, outcome, processed_at) VALUES (?1, ?2, ?3)",
                args![key, outcome, &at],
            )
            .with_context(context)?;
        tx.commit().with_context(context)?;
        Ok(applied)
    }
}

//! Digests and their stories: recording a new digest, its stories in order
//! and a `pending` delivery per recipient in one transaction, and the
//! questions `build` and `send` ask about them (which stories went out
//! already, what a digest holds).
//!
//! It must never move a delivery past `pending` (that is `ledger`'s), nor
//! decide which stories or recipients a digest gets: it records what it is
//! given, refusing only what would break "a story goes into one digest".

use super::db::{Backend, Value, args, is_constraint};
use super::{State, Status, normalize_email, timestamp};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset};
use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

#[cfg(test)]
mod tests;

/// A recipient's `pending` delivery (SQLite), suppressed or not:
/// [`DROP_SUPPRESSED`] takes the suppressed out before the digest
/// commits. `?1` digest, `?2` email, `?3` locale, `?4` now. Built once
/// from `Status`'s names (see `ledger`).
static INSERT_DELIVERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO deliveries (digest_id, email, locale, status, updated_at)
         VALUES (?1, ?2, ?3, '{pending}', ?4)",
        pending = Status::Pending,
    )
});

/// The deliveries of digest `?1` to suppressed addresses, deleted in the
/// transaction that records it, on either backend. One statement after
/// the inserts instead of a `NOT EXISTS` in each: in SQLite a plain
/// `VALUES` insert is about a third cheaper than an `INSERT … SELECT` of
/// one row, and the digest is committed with or without this statement,
/// never in between.
const DROP_SUPPRESSED: &str = "DELETE FROM deliveries
     WHERE digest_id = ?1 AND email IN (SELECT email FROM suppressions)";

/// [`INSERT_DELIVERY`] for many rows at once (PostgreSQL): `?2` the
/// addresses and `?3` their locales, as arrays.
static INSERT_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO deliveries (digest_id, email, locale, status, updated_at)
         SELECT ?1, r.email, r.locale, '{pending}', ?4
         FROM unnest(?2::text[], ?3::text[]) AS r (email, locale)",
        pending = Status::Pending,
    )
});

/// Where [`State::create_digest_from`] takes its recipients from: the next
/// batch of (address, locale key), `None` after the last.
pub type RecipientBatches<'a> = dyn FnMut(&State) -> Result<Option<Vec<(String, String)>>> + 'a;

/// Rows per [`INSERT_DELIVERIES`].
const INSERT_BATCH: usize = 1000;

impl State {
    /// Every story id already in some digest.
    pub fn included_story_ids(&self) -> Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        self.db
            .each("SELECT story_id FROM digest_stories", &[], |row| {
                ids.insert(row.text(0)?);
                Ok(())
            })
            .with_context(|| format!("cannot read the stories already sent from {}", self.label))?;
        Ok(ids)
    }

    /// Whether a digest with this id was recorded.
    pub fn digest_exists(&self, id: &str) -> Result<bool> {
        self.db
            .query_opt("SELECT 1 FROM digests WHERE id = ?1", args![id], |_| Ok(()))
            .map(|row| row.is_some())
            .with_context(|| format!("cannot look up digest `{id}` in {}", self.label))
    }

    /// One transaction: the digest, its stories (in order), and a `Pending`
    /// delivery per recipient (email, locale key). Recipients already
    /// suppressed are not added. Fails, recording nothing, when the digest
    /// exists, a story is already in a digest (this one included), or an
    /// address appears twice.
    pub fn create_digest(
        &mut self,
        id: &str,
        created_at: DateTime<FixedOffset>,
        story_ids: &[String],
        recipients: &[(String, String)],
    ) -> Result<()> {
        let mut seen = HashSet::new();
        for (email, _) in recipients {
            let email = normalize_email(email);
            if !seen.insert(email.clone()) {
                bail!(
                    "recipient {email} appears twice in digest `{id}`; \
                     digest `{id}` was not recorded in {}",
                    self.label
                );
            }
        }
        let mut batches = Some(recipients.to_vec());
        self.create_digest_from(id, created_at, story_ids, &mut |_| Ok(batches.take()))
            .map(|_| ())
    }

    /// [`State::create_digest`] for recipients that come in batches
    /// (`next` returns `None` after the last), read from this same state
    /// in the same transaction, so that a digest for any number of readers
    /// is recorded whole or not at all without its list held in memory.
    /// Returns how many recipients it recorded (the suppressed left out).
    /// An address twice fails the whole digest (the deliveries' key).
    pub fn create_digest_from(
        &self,
        id: &str,
        created_at: DateTime<FixedOffset>,
        story_ids: &[String],
        next: &mut RecipientBatches<'_>,
    ) -> Result<u64> {
        let path = self.label.clone();
        let created = timestamp(created_at);
        let tx = self.write_transaction()?;

        self.db
            .execute(
                "INSERT INTO digests (id, created_at) VALUES (?1, ?2)",
                args![id, &created],
            )
            .map_err(|e| {
                if is_constraint(&e) {
                    e.context(format!("digest `{id}` already exists in {path}"))
                } else {
                    e.context(format!("cannot record digest `{id}` in {path}"))
                }
            })?;

        for (position, story_id) in story_ids.iter().enumerate() {
            let inserted = self.db.execute(
                "INSERT INTO digest_stories (digest_id, story_id, position) VALUES (?1, ?2, ?3)",
                args![id, story_id, position as i64],
            );
            if let Err(e) = inserted {
                if !is_constraint(&e) {
                    return Err(e).with_context(|| {
                        format!("cannot record story `{story_id}` of digest `{id}` in {path}")
                    });
                }
                // Out of the failed transaction (PostgreSQL reads nothing
                // more in it) to name the digest that holds the story.
                drop(tx);
                let holder: Option<String> = self
                    .db
                    .query_opt(
                        "SELECT digest_id FROM digest_stories WHERE story_id = ?1",
                        args![story_id],
                        |row| row.text(0),
                    )
                    .with_context(|| format!("cannot look up story `{story_id}` in {path}"))?;
                let holder = holder.unwrap_or_else(|| id.to_owned());
                return Err(e).with_context(|| {
                    format!(
                        "story `{story_id}` is already in digest `{holder}` ({path}); \
                         a story goes into exactly one digest, so digest `{id}` was not recorded"
                    )
                });
            }
        }

        let mut recorded = 0;
        while let Some(recipients) = next(self)? {
            let mut batch: Vec<(String, &str)> = Vec::with_capacity(INSERT_BATCH);
            for (email, locale) in &recipients {
                let email = normalize_email(email);
                match self.db.backend() {
                    // In-process: a cached statement per row costs microseconds.
                    Backend::Sqlite => {
                        recorded += self
                            .db
                            .execute(&INSERT_DELIVERY, args![id, &email, locale, &created])
                            .with_context(|| {
                                format!(
                                    "cannot record the delivery of digest `{id}` to {email} in {path}"
                                )
                            })?;
                    }
                    // Over the network a row per statement is a round trip
                    // each (minutes at 10⁶ readers): rows go in batches.
                    Backend::Postgres => {
                        batch.push((email, locale.as_str()));
                        if batch.len() == INSERT_BATCH {
                            recorded += self.insert_deliveries(id, &created, &batch)?;
                            batch.clear();
                        }
                    }
                }
            }
            if !batch.is_empty() {
                recorded += self.insert_deliveries(id, &created, &batch)?;
            }
        }
        recorded -= self
            .db
            .execute(DROP_SUPPRESSED, args![id])
            .with_context(|| {
                format!("cannot leave the suppressed out of digest `{id}` in {path}")
            })?;

        tx.commit()
            .with_context(|| format!("cannot commit digest `{id}` to {path}"))?;
        Ok(recorded)
    }

    /// PostgreSQL: one statement for a batch of (address, locale)
    /// deliveries of digest `id`.
    fn insert_deliveries(&self, id: &str, created: &str, batch: &[(String, &str)]) -> Result<u64> {
        let emails: Vec<&str> = batch.iter().map(|(email, _)| email.as_str()).collect();
        let locales: Vec<&str> = batch.iter().map(|(_, locale)| *locale).collect();
        self.db
            .execute(
                &INSERT_DELIVERIES,
                &[
                    Value::from(id),
                    Value::Texts(&emails),
                    Value::Texts(&locales),
                    Value::from(created),
                ],
            )
            .with_context(|| {
                format!(
                    "cannot record {} deliveries of digest `{id}` in {}",
                    batch.len(),
                    self.label
                )
            })
    }

    /// The stories of a digest, in their order in it. Fails for an unknown digest.
    pub fn digest_story_ids(&self, id: &str) -> Result<Vec<String>> {
        if !self.digest_exists(id)? {
            bail!("no digest `{id}` in {}", self.label);
        }
        self.db
            .query(
                "SELECT story_id FROM digest_stories WHERE digest_id = ?1 ORDER BY position",
                args![id],
                |row| row.text(0),
            )
            .with_context(|| {
                format!(
                    "cannot read the stories of digest `{id}` from {}",
                    self.label
                )
            })
    }

    /// Ids of every digest, oldest first.
    pub fn digest_ids(&self) -> Result<Vec<String>> {
        let context = || format!("cannot list digests in {}", self.label);
        self.db
            .query(
                "SELECT id FROM digests ORDER BY created_at, id",
                &[],
                |row| row.text(0),
            )
            .with_context(context)
    }

    /// Every digest as (id, when it was made), oldest first.
    pub fn digests_made(&self) -> Result<Vec<(String, DateTime<FixedOffset>)>> {
        let context = || format!("cannot list digests in {}", self.label);
        let rows = self
            .db
            .query(
                "SELECT id, created_at FROM digests ORDER BY created_at, id",
                &[],
                |row| Ok((row.text(0)?, row.text(1)?)),
            )
            .with_context(context)?;
        rows.into_iter()
            .map(|(id, at)| {
                let at = DateTime::parse_from_rfc3339(&at).with_context(context)?;
                Ok((id, at))
            })
            .collect()
    }

    /// When the first digest was made; `None` before any.
    pub fn first_digest_at(&self) -> Result<Option<DateTime<FixedOffset>>> {
        let context = || format!("cannot read the first digest's date in {}", self.label);
        let first: Option<String> = self
            .db
            .query_one("SELECT MIN(created_at) FROM digests", &[], |row| {
                row.opt_text(0)
            })
            .with_context(context)?;
        first
            .map(|text| DateTime::parse_from_rfc3339(&text).with_context(context))
            .transpose()
    }
}

//! Feed items already reported as skipped: per feed source (by its name),
//! the warning each skipped item got, so the next build stays quiet about
//! it. Under `-q` cron mails whatever is warned, and a partner item that
//! has no date would otherwise be mailed about every day.
//!
//! It must never decide what is worth a warning or parse a feed (that is
//! `app::feeds`' and `source`'s): it keeps the lines it is given.

use super::db::args;
use super::{State, timestamp};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeSet;

#[cfg(test)]
mod tests;

impl State {
    /// The skip warnings already recorded for `source`. A database from
    /// before this table (opened read-only) has none.
    pub fn skipped_items(&self, source: &str) -> Result<BTreeSet<String>> {
        let context = || {
            format!(
                "cannot read the skipped items of feed source `{source}` from {}",
                self.label
            )
        };
        if !self.has_table("skipped_items").with_context(context)? {
            return Ok(BTreeSet::new());
        }
        let mut reasons = BTreeSet::new();
        self.db
            .each(
                "SELECT reason FROM skipped_items WHERE source = ?1",
                args![source],
                |row| {
                    reasons.insert(row.text(0)?);
                    Ok(())
                },
            )
            .with_context(context)?;
        Ok(reasons)
    }

    /// Records `reasons` as the skip warnings of `source`'s current
    /// document and returns those it did not hold before, in the order
    /// given. Warnings for items no longer in the document are forgotten,
    /// so the table never outgrows the partners' feeds (an item that
    /// comes back is new again).
    pub fn record_skipped_items(
        &self,
        source: &str,
        reasons: &[String],
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<String>> {
        let context = || {
            format!(
                "cannot record the skipped items of feed source `{source}` in {}",
                self.label
            )
        };
        let known = self.skipped_items(source)?;
        let current: BTreeSet<&str> = reasons.iter().map(String::as_str).collect();
        let fresh: Vec<String> = reasons
            .iter()
            .filter(|r| !known.contains(*r))
            .cloned()
            .collect();
        let gone: Vec<&String> = known
            .iter()
            .filter(|r| !current.contains(r.as_str()))
            .collect();
        if fresh.is_empty() && gone.is_empty() {
            return Ok(fresh);
        }
        let tx = self.write_transaction()?;
        for reason in gone {
            self.db
                .execute(
                    "DELETE FROM skipped_items WHERE source = ?1 AND reason = ?2",
                    args![source, reason],
                )
                .with_context(context)?;
        }
        let seen = timestamp(now);
        for reason in &fresh {
            self.db
                .execute(
                    "INSERT INTO skipped_items (source, reason, first_seen) VALUES (?1, ?2, ?3)
                     ON CONFLICT (source, reason) DO NOTHING",
                    args![source, reason, &seen],
                )
                .with_context(context)?;
        }
        tx.commit().with_context(context)?;
        Ok(fresh)
    }
}

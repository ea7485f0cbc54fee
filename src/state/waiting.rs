//! Deliveries that wait: how many `deferred` rows there are and when the
//! first of them is due again, and `--retry-deferred`, which makes them
//! due now (an operator who just fixed the relay).
//!
//! Reads and reschedules only; it never changes a row's status and never
//! decides whether to retry (the caller does).

use super::db::args;
use super::{State, Status, timestamp};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};

#[cfg(test)]
mod tests;

/// The `deferred` rows waiting for their next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub deferred: u64,
    /// The earliest `next_attempt_at` among them; `None` when none wait.
    pub next_try: Option<DateTime<FixedOffset>>,
}

impl State {
    /// How many deliveries are deferred, and when the first is due again.
    pub fn waiting(&self) -> Result<Waiting> {
        let (deferred, next): (i64, Option<String>) = self
            .db
            .query_one(
                "SELECT COUNT(*), MIN(next_attempt_at) FROM deliveries WHERE status = ?1",
                args![Status::Deferred],
                |row| Ok((row.int(0)?, row.opt_text(1)?)),
            )
            .with_context(|| format!("cannot count the deferred deliveries in {}", self.label))?;
        let next_try = next
            .map(|text| {
                DateTime::parse_from_rfc3339(&text).with_context(|| {
                    format!(
                        "a deferred delivery in {} has the unreadable next attempt time `{text}`",
                        self.label
                    )
                })
            })
            .transpose()?;
        Ok(Waiting {
            deferred: deferred.max(0) as u64,
            next_try,
        })
    }

    /// Makes every deferred delivery due at `now`, ignoring its backoff;
    /// returns how many. Their attempt counts are kept, so a delivery that
    /// keeps failing still gives up after the usual number of attempts.
    pub fn retry_deferred_now(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        let changed = self
            .db
            .execute(
                "UPDATE deliveries SET next_attempt_at = ?1 WHERE status = ?2",
                args![&timestamp(now), Status::Deferred],
            )
            .with_context(|| {
                format!("cannot make the deferred deliveries due in {}", self.label)
            })?;
        Ok(changed)
    }
}

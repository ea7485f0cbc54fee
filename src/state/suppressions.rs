//! The suppression list: addresses that must never be mailed again (hard
//! bounces, complaints, unsubscribes), and failing an address's outstanding
//! deliveries in the same transaction that adds it.
//!
//! It never replaces an entry's first reason and never decides why an
//! address is suppressed (the caller gives the reason). An entry is
//! removed only by [`State::lift_suppression`], which `gazette subscribers
//! resubscribe` calls when the reader asked the editor to.

use super::db::{Db, args};
use super::{State, Status, normalize_email, timestamp};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use std::sync::LazyLock;

#[cfg(test)]
mod tests;

impl State {
    /// Adds an address to the suppression list and, in the same
    /// transaction, marks its `Pending`/`Deferred` deliveries as `Failed`
    /// "suppressed" so they are never sent. Returns whether the address was
    /// newly added (an existing entry keeps its first reason).
    pub fn suppress(&self, email: &str, reason: &str, now: DateTime<FixedOffset>) -> Result<bool> {
        let email = normalize_email(email);
        let context = || format!("cannot suppress {email} in {}", self.label);
        let tx = self.write_transaction()?;
        let added = suppress_in(&self.db, &email, reason, &timestamp(now)).with_context(context)?;
        tx.commit().with_context(context)?;
        Ok(added)
    }

    /// Removes the address from the suppression list; returns the reason
    /// it was suppressed for, or `None` when it was not.
    pub fn lift_suppression(&self, email: &str) -> Result<Option<String>> {
        let email = normalize_email(email);
        let context = || format!("cannot lift the suppression of {email} in {}", self.label);
        let tx = self.write_transaction()?;
        let reason: Option<String> = self
            .db
            .query_opt(
                "DELETE FROM suppressions WHERE email = ?1 RETURNING reason",
                args![&email],
                |row| row.text(0),
            )
            .with_context(context)?;
        tx.commit().with_context(context)?;
        Ok(reason)
    }

    /// Every suppression with its reason and time, by address.
    pub fn suppressions(&self) -> Result<std::collections::HashMap<String, (String, String)>> {
        let context = || format!("cannot read the suppression list of {}", self.label);
        let mut all = std::collections::HashMap::new();
        self.db
            .each(
                "SELECT email, reason, created_at FROM suppressions",
                &[],
                |row| {
                    all.insert(row.text(0)?, (row.text(1)?, row.text(2)?));
                    Ok(())
                },
            )
            .with_context(context)?;
        Ok(all)
    }

    /// Every suppressed address (as the list keys them), read at once, for
    /// planning a whole send without a query per reader.
    pub fn suppressed_addresses(&self) -> Result<std::collections::HashSet<String>> {
        let context = || format!("cannot read the suppression list of {}", self.label);
        let mut all = std::collections::HashSet::new();
        self.db
            .each("SELECT email FROM suppressions", &[], |row| {
                all.insert(row.text(0)?);
                Ok(())
            })
            .with_context(context)?;
        Ok(all)
    }

    /// Why the address is suppressed, if it is.
    pub fn suppression_reason(&self, email: &str) -> Result<Option<String>> {
        let email = normalize_email(email);
        self.db
            .query_opt(
                "SELECT reason FROM suppressions WHERE email = ?1",
                args![&email],
                |row| row.text(0),
            )
            .with_context(|| format!("cannot look up {email} in {}", self.label))
    }

    /// A number that changes whenever another connection (another process,
    /// or another thread's connection) commits to the database, SQLite's
    /// `PRAGMA data_version`; `None` on PostgreSQL, which has no such
    /// number. The ledger writer compares it between its commits to know
    /// when a suppression may have landed without looking one up.
    pub fn data_version(&self) -> Result<Option<i64>> {
        match &self.db {
            Db::Sqlite(conn) => conn
                .query_row("PRAGMA data_version", [], |row| row.get(0))
                .map(Some)
                .with_context(|| format!("cannot read the data version of {}", self.label)),
            Db::Postgres(_) => Ok(None),
        }
    }

    /// Whether the address (compared case-insensitively) is suppressed.
    pub fn is_suppressed(&self, email: &str) -> Result<bool> {
        let email = normalize_email(email);
        self.db
            .query_opt(
                "SELECT 1 FROM suppressions WHERE email = ?1",
                args![&email],
                |_| Ok(()),
            )
            .map(|row| row.is_some())
            .with_context(|| format!("cannot look up {email} in {}", self.label))
    }
}

/// An address's `pending` and `deferred` rows → `failed` "suppressed".
/// `?1` email, `?2` now. Built once from `Status`'s names (see `ledger`).
static FAIL_OUTSTANDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries
         SET status = '{failed}', last_error = 'suppressed', next_attempt_at = NULL, updated_at = ?2
         WHERE email = ?1 AND status IN ('{pending}', '{deferred}')",
        failed = Status::Failed,
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// Adds a suppression and fails the address's outstanding deliveries, on
/// `tx` (inside the caller's transaction). Returns whether the address was
/// new.
pub(super) fn suppress_in(db: &Db, email: &str, reason: &str, now: &str) -> Result<bool> {
    let added = db.execute(
        "INSERT INTO suppressions (email, reason, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (email) DO NOTHING",
        args![email, reason, now],
    )?;
    db.execute(&FAIL_OUTSTANDING, args![email, now])?;
    Ok(added == 1)
}

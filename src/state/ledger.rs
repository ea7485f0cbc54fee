//! The per-subscriber delivery ledger: every move of a delivery after it is
//! recorded `pending` (the diagram in the parent module), and reading
//! deliveries back. Every write of a claim or an outcome goes through
//! [`State::apply`], alone or batched by `group_commit`.
//!
//! It must never move a row other than along that diagram, never send, and
//! never decide on its own to retry an `unknown` delivery (only
//! [`State::requeue_unknown`], on the user's request, does).

use super::db::{Backend, Value, args};
use super::group_commit::LedgerChange;
use super::retry::{MAX_ATTEMPTS, retry_delay};
use super::suppressions::suppress_in;
use super::{State, Status, WorkerId, normalize_email, timestamp};
use crate::model::DeliveryOutcome;
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset};
use std::sync::LazyLock;

/// Whether applying `change` writes more than one row (a suppressing
/// failure also writes the suppression; an untransmitted outcome claims,
/// then records), so that a failure halfway needs a savepoint to undo the
/// first write.
fn writes_twice(change: &LedgerChange) -> bool {
    match change {
        LedgerChange::Outcome { outcome, .. } => {
            matches!(outcome, DeliveryOutcome::Failed { suppress: true, .. })
        }
        LedgerChange::Untransmitted { .. } => true,
        LedgerChange::Claim { .. } | LedgerChange::Release { .. } => false,
    }
}

#[cfg(test)]
mod tests;

/// One row of the delivery ledger: one digest for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The digest this delivery sends.
    pub digest_id: String,
    /// Lowercased address.
    pub email: String,
    /// Locale key of the digest this recipient gets.
    pub locale: String,
    /// Where the delivery stands.
    pub status: Status,
    /// How many times the message was handed to a transport.
    pub attempts: u32,
    /// Why the last attempt did not end in `sent`, if it did not.
    pub last_error: Option<String>,
}

/// How many deliveries are in each status, over all digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// In [`Status::Pending`].
    pub pending: u64,
    /// In [`Status::Sending`].
    pub sending: u64,
    /// In [`Status::Sent`].
    pub sent: u64,
    /// In [`Status::Failed`].
    pub failed: u64,
    /// In [`Status::Deferred`].
    pub deferred: u64,
    /// In [`Status::Unknown`].
    pub unknown: u64,
}

impl Counts {
    /// All deliveries in the ledger.
    pub fn total(&self) -> u64 {
        self.pending + self.sending + self.sent + self.failed + self.deferred + self.unknown
    }
}

/// Columns read into a [`Delivery`] by [`State::deliveries_where`].
const DELIVERY_COLUMNS: &str = "d.digest_id, d.email, d.locale, d.status, d.attempts, d.last_error";

// Statement text that names statuses takes the words from `Status`, so the
// enum is their one spelling. Each text is built once, on first use, and
// is then the same string on every call: `prepare_cached` finds it, and
// nothing is formatted per message. (Binding the words as parameters
// instead would copy three more strings into SQLite on every claim.)

/// [`State::due_deliveries`]'s condition on `deliveries d`; `?1` is now.
static DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "d.status = '{pending}' OR (d.status = '{deferred}' AND d.next_attempt_at <= ?1)",
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// [`State::unknown_deliveries`]'s condition on `deliveries d`.
static UNKNOWN: LazyLock<String> =
    LazyLock::new(|| format!("d.status = '{unknown}'", unknown = Status::Unknown));

/// The claim: `pending` or due `deferred` → `sending`, counting the
/// attempt, by worker `?4` (the row is nobody's, or reserved by `?4`).
/// `?1` digest, `?2` email, `?3` now.
static CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries
         SET status = '{sending}', attempts = attempts + 1, updated_at = ?3, claimed_by = ?4
         WHERE digest_id = ?1 AND email = ?2
           AND (status = '{pending}' OR (status = '{deferred}' AND next_attempt_at <= ?3))
           AND (claimed_by IS NULL OR claimed_by = ?4)
           AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = deliveries.email)",
        sending = Status::Sending,
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// The release: a `sending` row whose message never passed the point of no
/// return goes back to what it was (`pending`, or `deferred` and due: only
/// deferred rows have a `next_attempt_at`), and the attempt is not counted;
/// nobody holds it any more. `?1` digest, `?2` email, `?3` now.
static RELEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries
         SET status = CASE WHEN next_attempt_at IS NULL THEN '{pending}' ELSE '{deferred}' END,
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = ?3,
             claimed_by = NULL
         WHERE digest_id = ?1 AND email = ?2 AND status = '{sending}'",
        sending = Status::Sending,
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// A claim's answer when a suppression (`gazette unsubscribe`, a hard
/// bounce, later the HTTP endpoint or the mailbox reader) settled the row
/// since the run planned it: no error of the run, the delivery is simply
/// `suppressed` and nothing may be sent.
#[derive(Debug, thiserror::Error)]
#[error("{email} was suppressed during the run; its delivery of digest `{digest_id}` is not sent")]
pub struct Suppressed {
    /// The digest of the delivery.
    pub digest_id: String,
    /// The suppressed address.
    pub email: String,
}

/// Every `sending` row of the dead worker `?2` (`''`: rows claimed before
/// claims named their worker) → `unknown`. `?1` now.
static RECOVER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries
         SET status = '{unknown}', updated_at = ?1,
             last_error = 'interrupted after the message was handed to the transport'
         WHERE status = '{sending}' AND coalesce(claimed_by, '') = ?2",
        unknown = Status::Unknown,
        sending = Status::Sending,
    )
});

/// The rows worker `?1` reserved and never claimed (they are still due):
/// nobody's again.
static UNRESERVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries SET claimed_by = NULL
         WHERE claimed_by = ?1 AND status IN ('{pending}', '{deferred}')",
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// Workers that hold rows in flight or in reserve.
static HOLDERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT DISTINCT coalesce(claimed_by, '') FROM deliveries
         WHERE status = '{sending}'
            OR (claimed_by IS NOT NULL AND status IN ('{pending}', '{deferred}'))",
        sending = Status::Sending,
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// The next due rows of digest `?1` after address `?2`, in address order,
/// that nobody holds; `?3` now, `?4` how many. On SQLite only read: its
/// send lock admits one sender, so there is nobody to reserve them from,
/// and a write here would take the database's one write lock (and an
/// fsync) from the ledger writer, whose claims the connections wait for.
static NEXT_DUE_SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT digest_id, email FROM deliveries
         WHERE digest_id = ?1 AND email > ?2 AND claimed_by IS NULL
           AND (status = '{pending}' OR (status = '{deferred}' AND next_attempt_at <= ?3))
         ORDER BY email LIMIT ?4",
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});
/// The same on PostgreSQL, reserved for worker `?5`: workers share the
/// ledger, and the pick skips rows another worker is reserving at the same
/// moment (`FOR UPDATE SKIP LOCKED`).
static NEXT_DUE_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries d SET claimed_by = ?5
         FROM (SELECT digest_id, email FROM deliveries
               WHERE digest_id = ?1 AND email > ?2 AND claimed_by IS NULL
                 AND (status = '{pending}' OR (status = '{deferred}' AND next_attempt_at <= ?3))
               ORDER BY email LIMIT ?4
               FOR UPDATE SKIP LOCKED) AS pick
         WHERE d.digest_id = pick.digest_id AND d.email = pick.email
         RETURNING d.digest_id, d.email",
        pending = Status::Pending,
        deferred = Status::Deferred,
    )
});

/// Every `unknown` row of an address not suppressed → `pending`. `?1` now.
static REQUEUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries
         SET status = '{pending}', next_attempt_at = NULL, updated_at = ?1, claimed_by = NULL
         WHERE status = '{unknown}'
           AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = deliveries.email)",
        pending = Status::Pending,
        unknown = Status::Unknown,
    )
});

impl State {
    /// Deliveries to attempt now: `Pending` ones, and `Deferred` ones whose
    /// `next_attempt_at <= now`; oldest digest first, then by email.
    pub fn due_deliveries(&self, now: DateTime<FixedOffset>) -> Result<Vec<Delivery>> {
        self.deliveries_where(&DUE, args![&timestamp(now)])
            .with_context(|| format!("cannot read the deliveries due from {}", self.label))
    }

    /// Claims a delivery before its message is handed to a transport:
    /// `Pending` or due `Deferred` → `Sending`, counting the attempt. The
    /// change is committed (and fsynced) when this returns. Fails when the
    /// delivery is missing or not due, so nothing is sent twice; with a
    /// [`Suppressed`] error when the address is suppressed (a suppression
    /// that landed since planning settled the row).
    pub fn mark_sending(
        &self,
        digest_id: &str,
        email: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let claim = LedgerChange::Claim {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        };
        self.apply_one(&claim, now).map(|_| ())
    }

    /// Applies `changes` in order in one transaction (one fsync for all of
    /// them, see [`group_commit`](super::group_commit)) and returns each
    /// change's own result: a claim that is not due, or an outcome for a
    /// row that is not `sending`, fails alone and leaves the others
    /// standing, since each change runs in its own savepoint; but once an
    /// outcome fails, the claims after it are refused, since a ledger that
    /// cannot record what happened must not let more messages leave. A
    /// change's result is the row's new status (`Sending` for a claim).
    /// `Err` (nothing applied) when the transaction itself fails.
    ///
    /// Every ledger write goes through here: one change at a time
    /// ([`State::mark_sending`], [`State::record_outcome`]), a claim and its
    /// outcome together ([`State::fail_unsent`]), or whatever the send
    /// workers queued together ([`group_commit`](super::group_commit)).
    pub fn apply(
        &self,
        changes: &[&LedgerChange],
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<Result<Status>>> {
        let tx = self
            .db
            .begin_rows()
            .with_context(|| format!("cannot begin a transaction on {}", self.label))?;
        let mut results = Vec::with_capacity(changes.len());
        let mut outcome_failed = false;
        for change in changes {
            if outcome_failed
                && matches!(
                    change,
                    LedgerChange::Claim { .. } | LedgerChange::Untransmitted { .. }
                )
            {
                results.push(Err(anyhow!(
                    "not claimed: an earlier outcome could not be recorded in {}",
                    self.label
                )));
                continue;
            }
            let records = matches!(
                change,
                LedgerChange::Outcome { .. } | LedgerChange::Untransmitted { .. }
            );
            // On SQLite a change that writes once (a claim, a release, an
            // outcome other than a suppressing failure) is reads and one
            // UPDATE, undone on its own if it fails, the transaction going
            // on: nothing for a savepoint to undo, whose two statements
            // would cost as much as the change. PostgreSQL aborts the whole
            // transaction on any failed statement, so there every change
            // has one.
            let guarded = writes_twice(change) || self.db.backend() == Backend::Postgres;
            if guarded {
                self.savepoint("SAVEPOINT change")
                    .with_context(|| format!("cannot begin a savepoint on {}", self.label))?;
            }
            let result = match change {
                LedgerChange::Claim { digest_id, email } => self
                    .mark_sending_on(digest_id, email, now)
                    .map(|()| Status::Sending),
                LedgerChange::Outcome {
                    digest_id,
                    email,
                    outcome,
                } => self.record_outcome_on(digest_id, email, outcome, now),
                LedgerChange::Untransmitted {
                    digest_id,
                    email,
                    outcome,
                } => self
                    .mark_sending_on(digest_id, email, now)
                    .and_then(|()| self.record_outcome_on(digest_id, email, outcome, now)),
                LedgerChange::Release { digest_id, email } => {
                    self.release_on(digest_id, email, now)
                }
            };
            if guarded {
                let undone = if result.is_ok() {
                    Ok(())
                } else {
                    self.savepoint("ROLLBACK TO SAVEPOINT change")
                };
                undone
                    .and_then(|()| self.savepoint("RELEASE SAVEPOINT change"))
                    .with_context(|| format!("cannot end a savepoint on {}", self.label))?;
            }
            // A suppression that settled the row is an answer, not a
            // ledger that cannot record what happened.
            outcome_failed |= records
                && result
                    .as_ref()
                    .is_err_and(|error| !error.is::<Suppressed>());
            results.push(result);
        }
        tx.commit().with_context(|| {
            format!(
                "cannot commit {} ledger changes to {}",
                changes.len(),
                self.label
            )
        })?;
        Ok(results)
    }

    /// [`State::apply`] for one change, whose result it returns.
    fn apply_one(&self, change: &LedgerChange, now: DateTime<FixedOffset>) -> Result<Status> {
        self.apply(&[change], now)?
            .pop()
            .unwrap_or_else(|| Err(anyhow!("the ledger applied no change")))
    }

    /// Closes a due delivery as `Failed` with `reason` without it ever
    /// reaching a transport (the address left the list, was suppressed, or
    /// its message could not be built): the claim and the outcome in one
    /// transaction, through the same transitions as a real attempt.
    pub fn fail_unsent(
        &self,
        digest_id: &str,
        email: &str,
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let claim = LedgerChange::Claim {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        };
        let outcome = LedgerChange::Outcome {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
            outcome: DeliveryOutcome::Failed {
                reason: reason.to_owned(),
                suppress: false,
            },
        };
        // The claim's error first: when it fails, so does the outcome. A
        // row a suppression settled meanwhile is settled: nothing to do.
        for result in self.apply(&[&claim, &outcome], now)? {
            match result {
                Err(error) if error.is::<Suppressed>() => return Ok(()),
                result => result?,
            };
        }
        Ok(())
    }

    /// `sending` → back to due, for a claimed row whose message never
    /// passed the point of no return (the run was stopped). A row that is
    /// not `sending` is left alone. Returns the row's status.
    fn release_on(
        &self,
        digest_id: &str,
        email: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Status> {
        let email = normalize_email(email);
        self.db
            .execute(&RELEASE, args![digest_id, &email, &timestamp(now)])
            .with_context(|| {
                format!(
                    "cannot release the delivery of digest `{digest_id}` to {email} in {}",
                    self.label
                )
            })?;
        self.delivery_status(digest_id, &email)?
            .ok_or_else(|| anyhow!("no delivery of digest `{digest_id}` to {email}"))
    }

    fn mark_sending_on(
        &self,
        digest_id: &str,
        email: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let email = normalize_email(email);
        // Cached statements: these run once or twice per message sent.
        let changed = self
            .db
            .execute(
                &CLAIM,
                args![digest_id, &email, &timestamp(now), self.worker.as_str()],
            )
            .with_context(|| {
                format!(
                    "cannot mark the delivery of digest `{digest_id}` to {email} as sending in {}",
                    self.label
                )
            })?;
        if changed == 1 {
            return Ok(());
        }
        if self.is_suppressed(&email)? {
            return Err(Suppressed {
                digest_id: digest_id.to_owned(),
                email,
            }
            .into());
        }
        match self.delivery_status(digest_id, &email)? {
            None => bail!(
                "no delivery of digest `{digest_id}` to {email} in {}",
                self.label
            ),
            Some(status) => bail!(
                "the delivery of digest `{digest_id}` to {email} is {status}, not due; \
                 it was not marked as sending ({})",
                self.label
            ),
        }
    }

    /// Records what the transport reported for a delivery in `Sending`, and
    /// returns its new status:
    /// - `Sent` → `Sent`;
    /// - `Failed` → `Failed`, and with `suppress` the address is added to the
    ///   suppression list with the reason (see [`State::suppress`]);
    /// - `Deferred` → `Deferred`, due again after 5 minutes doubling per
    ///   attempt, capped at 6 hours; on the 10th attempt → `Failed`
    ///   ("gave up after 10 attempts");
    /// - `Unknown` → `Unknown`.
    pub fn record_outcome(
        &self,
        digest_id: &str,
        email: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<FixedOffset>,
    ) -> Result<Status> {
        let change = LedgerChange::Outcome {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
            outcome: outcome.clone(),
        };
        self.apply_one(&change, now)
    }

    fn record_outcome_on(
        &self,
        digest_id: &str,
        email: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<FixedOffset>,
    ) -> Result<Status> {
        let path = &self.label;
        let email = normalize_email(email);
        let context =
            || format!("cannot record the outcome of digest `{digest_id}` to {email} in {path}");
        let row: Option<(Status, u32)> = self
            .db
            .query_opt(
                "SELECT status, attempts FROM deliveries WHERE digest_id = ?1 AND email = ?2",
                args![digest_id, &email],
                |row| Ok((row.status(0)?, row.count(1)?)),
            )
            .with_context(context)?;
        let attempts = match row {
            None => bail!("no delivery of digest `{digest_id}` to {email} in {path}"),
            Some((Status::Sending, attempts)) => attempts,
            Some((status, _)) => bail!(
                "the delivery of digest `{digest_id}` to {email} is {status}, not sending, \
                 so its outcome was not recorded ({path}); call mark_sending before \
                 handing a message to a transport"
            ),
        };
        let now_text = timestamp(now);
        let (status, error, next_attempt) = match outcome {
            DeliveryOutcome::Sent => (Status::Sent, None, None),
            DeliveryOutcome::Failed { reason, suppress } => {
                if *suppress {
                    suppress_in(&self.db, &email, reason, &now_text).with_context(context)?;
                }
                (Status::Failed, Some(reason.clone()), None)
            }
            DeliveryOutcome::Deferred(reason) if attempts >= MAX_ATTEMPTS => (
                Status::Failed,
                Some(format!("gave up after {attempts} attempts; last: {reason}")),
                None,
            ),
            DeliveryOutcome::Deferred(reason) => (
                Status::Deferred,
                Some(reason.clone()),
                Some(timestamp(now + retry_delay(attempts))),
            ),
            DeliveryOutcome::Unknown(reason) => (Status::Unknown, Some(reason.clone()), None),
        };
        // A deferred row goes back to the pool: any worker may retry it.
        self.db
            .execute(
                "UPDATE deliveries
                 SET status = ?3, last_error = ?4, next_attempt_at = ?5, updated_at = ?6,
                     claimed_by = CASE WHEN ?3 = 'deferred' THEN NULL ELSE claimed_by END
                 WHERE digest_id = ?1 AND email = ?2",
                args![digest_id, &email, status, &error, &next_attempt, &now_text],
            )
            .with_context(context)?;
        Ok(status)
    }

    /// After a crash or `kill -9`: the rows of every send worker that is
    /// no longer running. Rows it left in `Sending` may have been
    /// transmitted, so they become `Unknown` (never resent automatically);
    /// rows it only reserved are nobody's again. With SQLite the caller
    /// holds the [`SendLock`](super::SendLock), so every earlier sender is
    /// gone; with PostgreSQL a worker is gone when its advisory lock is
    /// free (see `worker`). This process's own rows are never touched.
    /// Returns how many rows became `Unknown`.
    pub fn recover_interrupted(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        let context = || format!("cannot recover interrupted deliveries in {}", self.label);
        let holders = self
            .db
            .query(&HOLDERS, &[], |row| row.text(0))
            .with_context(context)?;
        let now = timestamp(now);
        let mut unknown = 0;
        for holder in holders {
            let worker = WorkerId::stored(holder);
            let mine = worker == self.worker && self.worker != WorkerId::local();
            if mine || !self.worker_is_gone(&worker).with_context(context)? {
                continue;
            }
            let tx = self.write_transaction()?;
            unknown += self
                .db
                .execute(&RECOVER, args![&now, worker.as_str()])
                .with_context(context)?;
            self.db
                .execute(&UNRESERVE, args![worker.as_str()])
                .with_context(context)?;
            tx.commit().with_context(context)?;
            if let Some(key) = worker.advisory_key().filter(|_| self.is_postgres()) {
                self.db
                    .execute("SELECT pg_advisory_unlock(?1)", args![key])
                    .with_context(context)?;
            }
        }
        Ok(unknown)
    }

    /// Whether `worker` stopped. With PostgreSQL, taking its advisory lock
    /// succeeds only then (and is held until the caller unlocks it, so the
    /// id cannot come back meanwhile); ids without a lock (a sole `send`,
    /// which runs with no worker beside it) are gone whenever someone else
    /// asks. With SQLite every other sender is gone (the lock file).
    fn worker_is_gone(&self, worker: &WorkerId) -> Result<bool> {
        match (self.db.backend(), worker.advisory_key()) {
            (Backend::Postgres, Some(key)) => {
                self.db
                    .query_one("SELECT pg_try_advisory_lock(?1)", args![key], |row| {
                        row.flag(0)
                    })
            }
            _ => Ok(true),
        }
    }

    fn is_postgres(&self) -> bool {
        self.db.backend() == Backend::Postgres
    }

    /// The next due rows of `digest_id` after `after` (by address, `""`
    /// for the first), at most `limit`, that no worker holds. On PostgreSQL
    /// they are reserved for this worker (`FOR UPDATE SKIP LOCKED`), so
    /// workers sharing the ledger take disjoint batches and a row is handed
    /// out once; a SQLite ledger has one sender, so they are only read.
    /// Returns (digest id, ledger address) in address order.
    pub fn next_due(
        &self,
        digest_id: &str,
        after: &str,
        limit: u32,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<(String, String)>> {
        let now = timestamp(now);
        let read = |row: &super::db::Row<'_>| Ok((row.text(0)?, row.text(1)?));
        let mut rows = match self.db.backend() {
            Backend::Sqlite => {
                self.db
                    .query(&NEXT_DUE_SQLITE, args![digest_id, after, &now, limit], read)
            }
            Backend::Postgres => self.db.query(
                &NEXT_DUE_POSTGRES,
                args![digest_id, after, &now, limit, self.worker.as_str()],
                read,
            ),
        }
        .with_context(|| {
            format!(
                "cannot read the next deliveries of digest `{digest_id}` due in {}",
                self.label
            )
        })?;
        rows.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        Ok(rows)
    }

    /// The digests with rows due now, oldest first.
    pub fn due_digest_ids(&self, now: DateTime<FixedOffset>) -> Result<Vec<String>> {
        self.db
            .query(
                &format!(
                    "SELECT g.id FROM digests g
                     WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.digest_id = g.id AND ({}))
                     ORDER BY g.created_at, g.id",
                    *DUE
                ),
                args![&timestamp(now)],
                |row| row.text(0),
            )
            .with_context(|| format!("cannot read the digests due in {}", self.label))
    }

    /// Gives back the rows this worker reserved and never claimed (a run
    /// that stopped early), so another worker or the next run takes them.
    pub fn release_reserved(&self) -> Result<u64> {
        self.db
            .execute(&UNRESERVE, args![self.worker.as_str()])
            .with_context(|| format!("cannot give back reserved deliveries in {}", self.label))
    }

    /// How many deliveries are due now (`pending`, or `deferred` and due),
    /// whoever holds them.
    pub fn due_count(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        let n = self
            .db
            .query_one(
                &format!("SELECT count(*) FROM deliveries d WHERE {}", *DUE),
                args![&timestamp(now)],
                |row| row.int(0),
            )
            .with_context(|| format!("cannot count the deliveries due in {}", self.label))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deliveries whose outcome is unknown, oldest digest first, then by email.
    pub fn unknown_deliveries(&self) -> Result<Vec<Delivery>> {
        self.deliveries_where(&UNKNOWN, &[])
            .with_context(|| format!("cannot read the unknown deliveries from {}", self.label))
    }

    /// `send --retry-unknown`: `Unknown` → `Pending`, on purpose, accepting
    /// that some recipients may get the digest twice. Addresses suppressed
    /// since stay `Unknown`. `last_error` is kept as a record of why. Returns how many.
    pub fn requeue_unknown(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        self.db
            .execute(&REQUEUE, args![&timestamp(now)])
            .with_context(|| format!("cannot requeue unknown deliveries in {}", self.label))
    }

    /// How many deliveries are in each status.
    pub fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        self.db
            .each(
                "SELECT status, count(*) FROM deliveries GROUP BY status",
                &[],
                |row| {
                    // count(*) is never negative.
                    let n = u64::try_from(row.int(1)?).unwrap_or(0);
                    match row.status(0)? {
                        Status::Pending => counts.pending = n,
                        Status::Sending => counts.sending = n,
                        Status::Sent => counts.sent = n,
                        Status::Failed => counts.failed = n,
                        Status::Deferred => counts.deferred = n,
                        Status::Unknown => counts.unknown = n,
                    }
                    Ok(())
                },
            )
            .with_context(|| format!("cannot count deliveries in {}", self.label))?;
        Ok(counts)
    }

    /// The status of one delivery, if it exists.
    pub(super) fn delivery_status(&self, digest_id: &str, email: &str) -> Result<Option<Status>> {
        self.db
            .query_opt(
                "SELECT status FROM deliveries WHERE digest_id = ?1 AND email = ?2",
                args![digest_id, email],
                |row| row.status(0),
            )
            .with_context(|| {
                format!(
                    "cannot look up the delivery of digest `{digest_id}` to {email} in {}",
                    self.label
                )
            })
    }

    /// Deliveries matching `condition`, oldest digest first, then by email.
    pub(super) fn deliveries_where(
        &self,
        condition: &str,
        values: &[Value<'_>],
    ) -> Result<Vec<Delivery>> {
        self.db.query(
            &format!(
                "SELECT {DELIVERY_COLUMNS}
                 FROM deliveries d JOIN digests g ON g.id = d.digest_id
                 WHERE {condition}
                 ORDER BY g.created_at, g.id, d.email"
            ),
            values,
            |row| {
                Ok(Delivery {
                    digest_id: row.text(0)?,
                    email: row.text(1)?,
                    locale: row.text(2)?,
                    status: row.status(3)?,
                    attempts: row.count(4)?,
                    last_error: row.opt_text(5)?,
                })
            },
        )
    }

    /// Runs one savepoint statement (`SAVEPOINT`, `RELEASE`, `ROLLBACK
    /// TO`): [`State::apply`] runs two or three per ledger change.
    fn savepoint(&self, sql: &str) -> Result<()> {
        self.db.execute(sql, &[]).map(|_| ())
    }
}

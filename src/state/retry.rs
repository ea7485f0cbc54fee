//! When a deferred delivery is due again, and when it is given up: the
//! backoff schedule `ledger` applies when it records a `Deferred` outcome.
//!
//! It must never touch the database, nor judge what counts as deferred
//! (that is the transport's reading of the relay's reply).

use chrono::TimeDelta;

#[cfg(test)]
mod tests;

/// Delay before the first retry of a deferred delivery; doubles per attempt.
const FIRST_RETRY_DELAY_MINUTES: i64 = 5;

/// The longest wait between two attempts.
const MAX_RETRY_DELAY_MINUTES: i64 = 6 * 60;

/// A delivery deferred on its this-many-th attempt is given up (`failed`).
pub(super) const MAX_ATTEMPTS: u32 = 10;

/// How long to wait after the `attempts`-th attempt was deferred: 5 minutes,
/// doubling per attempt, at most 6 hours.
pub(super) fn retry_delay(attempts: u32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(16);
    let minutes = (FIRST_RETRY_DELAY_MINUTES << doublings).min(MAX_RETRY_DELAY_MINUTES);
    TimeDelta::minutes(minutes)
}

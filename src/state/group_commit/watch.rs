//! What the ledger writer last knew about suppressions among the rows
//! claimed and not yet settled, so that a worker whose job was claimed
//! ahead can ask it at the job's turn instead of opening a read
//! transaction of its own for every message.
//!
//! Those lookups were a read transaction per message on a connection whose
//! page cache every ledger commit empties: ~7% of a fast send's CPU. The
//! writer, whose own cache stays warm, learns cheaply after each commit
//! whether anyone else wrote to the database since the last one (SQLite's
//! data version) and looks the claimed rows up only then. This module
//! only keeps and answers that knowledge; it never reads the database and
//! never decides what a worker does with an answer.

use crate::model::EmailKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests;

/// What the watch says about one address, for a job claimed ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Suppressed since its row was claimed: the message must not leave.
    Suppressed,
    /// Not suppressed as of a moment within the freshness asked for.
    Clear,
    /// The watch does not know (the row is not among those it watched, it
    /// has not looked recently, or the backend cannot tell it): look it up.
    Unknown,
}

/// Shared by the ledger writer, which updates it after each commit, and
/// the send workers, which ask it. Clone one per worker.
#[derive(Clone, Default)]
pub struct SuppressionWatch {
    inner: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    /// Every suppression committed before this instant is reflected in
    /// `rows`; `None` while the writer could not tell.
    as_of: Option<Instant>,
    /// The claimed, not yet settled rows by address: whether suppressed.
    rows: HashMap<String, bool>,
}

impl SuppressionWatch {
    fn lock(&self) -> MutexGuard<'_, Seen> {
        // A poisoned lock means a thread panicked mid-update: the map may
        // be off, so nothing it says is trusted until the next probe.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut seen = poisoned.into_inner();
            seen.as_of = None;
            seen
        })
    }

    /// Whether `email`, whose row was claimed ahead, was suppressed since,
    /// trusting only what the writer saw within `fresh` of now.
    pub fn verdict(&self, email: &str, fresh: Duration) -> Verdict {
        let seen = self.lock();
        let recent = seen.as_of.is_some_and(|at| at.elapsed() <= fresh);
        match seen.rows.get(EmailKey::new(email).as_str()) {
            Some(true) => Verdict::Suppressed,
            Some(false) if recent => Verdict::Clear,
            _ => Verdict::Unknown,
        }
    }

    /// A claim of `email` was committed: its row is watched from now on,
    /// not suppressed (a suppression before the claim makes it fail).
    pub(super) fn claimed(&self, email: &str) {
        self.lock()
            .rows
            .insert(EmailKey::new(email).as_str().to_owned(), false);
    }

    /// The row of `email` was settled or released: no longer watched.
    pub(super) fn settled(&self, email: &str) {
        self.lock().rows.remove(EmailKey::new(email).as_str());
    }

    /// The watched addresses, for the writer to look up.
    pub(super) fn watched(&self) -> Vec<String> {
        self.lock().rows.keys().cloned().collect()
    }

    /// The writer looked: `suppressed` are the watched addresses found
    /// suppressed (by [`SuppressionWatch::watched`]'s spelling), and
    /// everything committed before `began` is reflected.
    pub(super) fn looked(&self, began: Instant, suppressed: &[String]) {
        let mut seen = self.lock();
        for email in suppressed {
            if let Some(flag) = seen.rows.get_mut(email) {
                *flag = true;
            }
        }
        seen.as_of = Some(began);
    }

    /// Nothing but the writer wrote since its last look: what it knew then
    /// holds as of `began` too.
    pub(super) fn unchanged(&self, began: Instant) {
        let mut seen = self.lock();
        if seen.as_of.is_some() {
            seen.as_of = Some(began);
        }
    }

    /// The writer cannot tell (a failed look, a failed commit, a backend
    /// without a data version): every verdict is `Unknown` until it can.
    pub(super) fn blind(&self) {
        self.lock().as_of = None;
    }
}

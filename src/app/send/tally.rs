//! The run's tally: what happened to each delivery, the summary line, and
//! the exit decision. Counting only; it sends and records nothing.

use crate::app::Output;
use crate::model::DeliveryOutcome;
use crate::state::{Delivery, Waiting};
use anyhow::Result;

/// Raised when some digests were not delivered in this run (failed,
/// deferred or of unknown fate); the summary has already been printed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryIncomplete(pub String);

/// Problems logged one by one before the log only counts them.
const WARNINGS_LISTED: u64 = 20;

/// Tallies for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub unknown: u64,
    pub skipped: u64,
    pub suppressed: u64,
    /// Due deliveries not attempted because the run stopped early; still pending.
    pub left: u64,
    /// Subscribers the new digest has nothing for (no story on their topics).
    pub nothing_for: u64,
    /// The run stopped queueing because the relay deferred everyone
    /// (see [`super::breaker`]).
    pub(super) relay_refused: bool,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {}, deferred {}, failed {}, unknown {}, skipped {}, suppressed {}",
            self.sent, self.deferred, self.failed, self.unknown, self.skipped, self.suppressed
        )?;
        if self.nothing_for > 0 {
            write!(f, ", nothing for them {}", self.nothing_for)?;
        }
        if self.left > 0 {
            write!(f, ", left for the next run {}", self.left)?;
        }
        Ok(())
    }
}

impl Tally {
    /// Counts the relay's answer for `email`, logging the first problems
    /// one by one.
    pub fn count(&mut self, email: &str, outcome: &DeliveryOutcome) {
        let problems = self.deferred + self.failed + self.unknown;
        let listed = problems < WARNINGS_LISTED;
        if problems == WARNINGS_LISTED && !matches!(outcome, DeliveryOutcome::Sent) {
            tracing::warn!("further problems are not listed one by one; see the summary");
        }
        match outcome {
            DeliveryOutcome::Sent => {
                self.sent += 1;
            }
            DeliveryOutcome::Deferred(reason) => {
                if listed {
                    tracing::warn!("{email}: deferred: {reason}");
                }
                self.deferred += 1;
            }
            DeliveryOutcome::Failed { reason, .. } => {
                if listed {
                    tracing::warn!("{email}: failed: {reason}");
                }
                self.failed += 1;
            }
            DeliveryOutcome::Unknown(reason) => {
                if listed {
                    tracing::warn!("{email}: fate unknown: {reason}");
                }
                self.unknown += 1;
            }
        }
    }

    /// True when anything in this run was not delivered.
    fn incomplete(&self) -> bool {
        self.failed + self.deferred + self.unknown > 0
    }
}

/// What the ledger holds back after a run: for the summary.
pub struct Left<'a> {
    /// Every delivery of unknown fate, from this run or earlier ones.
    pub unknown: &'a [Delivery],
    pub waiting: Waiting,
}

/// `2 deferred, next try after 16:05 UTC`, or `None` when nothing waits.
fn waiting_line(waiting: &Waiting) -> Option<String> {
    let next = waiting.next_try?;
    Some(format!(
        "{} deferred, next try after {} (`gazette send --retry-deferred` retries them now)",
        waiting.deferred,
        next.with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
    ))
}

/// Prints the summary line, what waits for a later run, and every
/// delivery of unknown fate; an error when anything in this run was not
/// delivered, saying what happens to it.
pub fn finish(tally: &Tally, left: &Left<'_>, output: Output) -> Result<()> {
    if output.is_normal() || tally.incomplete() {
        println!("{tally}");
    }
    let waiting = waiting_line(&left.waiting);
    if let Some(line) = &waiting
        && (output.is_normal() || tally.incomplete())
    {
        println!("{line}");
    }
    for delivery in left.unknown {
        println!(
            "unknown: digest {} to {} (the relay may have accepted it; `gazette send --retry-unknown` resends on purpose)",
            delivery.digest_id, delivery.email
        );
    }
    // Unknown deliveries from earlier runs are listed every time so nobody
    // forgets them, but only this run's outcomes decide the exit code.
    if !tally.incomplete() {
        return Ok(());
    }
    let mut next = Vec::new();
    if let Some(line) = waiting {
        next.push(line);
    }
    if tally.failed > 0 {
        next.push(format!(
            "{} failed for good (the summary above and `gazette send -v` name them)",
            tally.failed
        ));
    }
    if tally.unknown > 0 {
        next.push(format!(
            "{} of unknown fate are never resent on their own: check with the relay, then `gazette send --retry-unknown` resends them",
            tally.unknown
        ));
    }
    Err(DeliveryIncomplete(format!(
        "not every digest was delivered ({tally}): {}",
        next.join("; ")
    ))
    .into())
}

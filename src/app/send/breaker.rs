//! The relay breaker: counts the deferrals in a row across every
//! connection of a run, at the moment each worker gets its answer, and
//! says when the relay is refusing everyone. It decides only; stopping the
//! workers and telling the user are the send's.
//!
//! It lives with the workers rather than the main loop's tally because the
//! main loop counts outcomes when it gets round to them: a relay that
//! refuses connections answers faster than that, and the queued jobs would
//! all be deferred before the tally saw the tenth.

use crate::model::DeliveryOutcome;
use std::sync::atomic::{AtomicU64, Ordering};

/// Stop a run after this many deferrals in a row (relay down or refusing all).
pub const STOP_AFTER_DEFERRALS_IN_A_ROW: u64 = 10;

/// Deferrals since the last message that went out, shared by the workers.
#[derive(Debug, Default)]
pub struct Breaker {
    deferred_in_a_row: AtomicU64,
}

impl Breaker {
    /// Counts one answer of the relay; true for the one deferral that
    /// makes the relay count as refusing (once per run, however many
    /// workers answer at the same time).
    pub fn trips_on(&self, outcome: &DeliveryOutcome) -> bool {
        match outcome {
            DeliveryOutcome::Sent => {
                self.deferred_in_a_row.store(0, Ordering::SeqCst);
                false
            }
            DeliveryOutcome::Deferred(_) => {
                let before = self.deferred_in_a_row.fetch_add(1, Ordering::SeqCst);
                before + 1 == STOP_AFTER_DEFERRALS_IN_A_ROW
            }
            // A failure is the recipient's, an unknown fate the session's:
            // neither says the relay refuses everyone, nor that it accepts.
            DeliveryOutcome::Failed { .. } | DeliveryOutcome::Unknown(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deferred() -> DeliveryOutcome {
        DeliveryOutcome::Deferred("421 try later".into())
    }

    #[test]
    fn trips_once_on_the_tenth_deferral_in_a_row() {
        let breaker = Breaker::default();
        let trips: Vec<bool> = (0..15).map(|_| breaker.trips_on(&deferred())).collect();
        assert_eq!(trips.iter().filter(|t| **t).count(), 1);
        assert!(trips[STOP_AFTER_DEFERRALS_IN_A_ROW as usize - 1]);
    }

    #[test]
    fn a_message_that_goes_out_starts_the_count_again() {
        let breaker = Breaker::default();
        for _ in 0..9 {
            assert!(!breaker.trips_on(&deferred()));
        }
        assert!(!breaker.trips_on(&DeliveryOutcome::Sent));
        for _ in 0..9 {
            assert!(!breaker.trips_on(&deferred()));
        }
        assert!(breaker.trips_on(&deferred()));
    }

    #[test]
    fn trips_once_when_workers_answer_together() {
        let breaker = std::sync::Arc::new(Breaker::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let breaker = std::sync::Arc::clone(&breaker);
                std::thread::spawn(move || {
                    (0..10).filter(|_| breaker.trips_on(&deferred())).count()
                })
            })
            .collect();
        let trips: usize = threads.into_iter().filter_map(|t| t.join().ok()).sum();
        assert_eq!(trips, 1);
    }
}

//! Group commit for the delivery ledger: one writer thread turns the claims
//! and outcomes of every send worker that arrive together into one
//! transaction, so N connections share each fsync instead of queueing for
//! one each.
//!
//! The guarantees are the ledger's own (see the parent module): a claim is
//! answered only once the transaction holding it is committed with
//! `synchronous = FULL`, so a worker that waits for its [`Claim`] before
//! the point of no return never sends a message whose row is not durably
//! `sending`. Outcomes are not waited for: each is queued before its
//! worker's next claim, and requests are applied in arrival order, so it is
//! committed no later than that claim, just as when a worker committed
//! both in one transaction of its own (or within a few milliseconds when
//! no claim follows). This module decides nothing about
//! retries or order of sending; it only batches what it is asked to record.

use super::State;
use crate::model::DeliveryOutcome;
use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset};
use std::sync::mpsc;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// How long outcomes wait for a claim to share their commit.
const OUTCOME_WAIT: Duration = Duration::from_millis(5);

/// One change a send worker asks of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChange {
    /// `pending` or due `deferred` → `sending` (see [`State::mark_sending`]).
    Claim {
        /// The digest of the delivery.
        digest_id: String,
        /// The recipient (compared case-insensitively).
        email: String,
    },
    /// `sending` → the outcome's status (see [`State::record_outcome`]).
    Outcome {
        /// The digest of the delivery.
        digest_id: String,
        /// The recipient (compared case-insensitively).
        email: String,
        /// What the transport reported.
        outcome: DeliveryOutcome,
    },
}

struct Request {
    change: LedgerChange,
    /// Where a claim's result goes once it is committed; `None` for outcomes.
    reply: Option<mpsc::SyncSender<Result<()>>>,
}

/// A send worker's handle on the ledger writer; clone one per worker.
#[derive(Clone)]
pub struct Ledger {
    requests: mpsc::Sender<Request>,
}

/// A claim on its way to the disk; [`Claim::wait`] returns once it is
/// committed (or refused).
pub struct Claim {
    reply: mpsc::Receiver<Result<()>>,
}

impl Claim {
    /// Blocks until the claim is durable. `Err` when the delivery was not
    /// due, the database failed, or the writer stopped: the message must not
    /// be sent.
    pub fn wait(self) -> Result<()> {
        self.reply
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("the ledger writer stopped before the claim")))
    }
}

impl Ledger {
    /// Asks for `digest_id` to `email` to be claimed; the caller may prepare
    /// the message meanwhile but must [`Claim::wait`] before it can leave.
    pub fn claim(&self, digest_id: &str, email: &str) -> Claim {
        let (reply, receiver) = mpsc::sync_channel(1);
        let request = Request {
            change: LedgerChange::Claim {
                digest_id: digest_id.to_owned(),
                email: email.to_owned(),
            },
            reply: Some(reply),
        };
        if let Err(mpsc::SendError(request)) = self.requests.send(request)
            && let Some(reply) = request.reply
        {
            let _ = reply.send(Err(anyhow!("the ledger writer stopped")));
        }
        Claim { reply: receiver }
    }

    /// Queues the outcome of a claimed delivery. A failure to record it is
    /// reported by [`LedgerWriter::run`] and refuses every later claim.
    pub fn record(&self, digest_id: String, email: String, outcome: DeliveryOutcome) {
        let _ = self.requests.send(Request {
            change: LedgerChange::Outcome {
                digest_id,
                email,
                outcome,
            },
            reply: None,
        });
    }
}

/// The thread side: owns the connection all ledger writes of a run go through.
pub struct LedgerWriter {
    state: State,
    requests: mpsc::Receiver<Request>,
    now: DateTime<FixedOffset>,
}

/// A writer over `state` and the first handle on it. Run the writer on its
/// own thread; it returns when every [`Ledger`] clone is dropped.
pub fn ledger_writer(state: State, now: DateTime<FixedOffset>) -> (Ledger, LedgerWriter) {
    let (requests, receiver) = mpsc::channel();
    (
        Ledger { requests },
        LedgerWriter {
            state,
            requests: receiver,
            now,
        },
    )
}

impl LedgerWriter {
    /// Commits what arrives, everything waiting in one transaction, until
    /// every [`Ledger`] handle is gone. After an outcome could not be
    /// recorded (or a commit failed) every later claim is refused, so
    /// nothing more leaves; the first such error is returned.
    pub fn run(self) -> Result<()> {
        let mut failure: Option<anyhow::Error> = None;
        while let Ok(first) = self.requests.recv() {
            let mut batch = vec![first];
            batch.extend(self.requests.try_iter());
            // Outcomes alone are not worth an fsync of their own while a
            // worker is about to claim its next row: wait briefly for a
            // claim to share it with (the cost is a few milliseconds more
            // in which a crash would leave the row `unknown`).
            while !batch.iter().any(|r| r.reply.is_some()) {
                match self.requests.recv_timeout(OUTCOME_WAIT) {
                    Ok(request) => {
                        batch.push(request);
                        batch.extend(self.requests.try_iter());
                    }
                    Err(_) => break,
                }
            }
            if let Some(error) = &failure {
                refuse(batch, error);
                continue;
            }
            let changes: Vec<&LedgerChange> = batch.iter().map(|r| &r.change).collect();
            match self.state.apply(&changes, self.now) {
                Ok(results) => {
                    for (request, result) in batch.into_iter().zip(results) {
                        match request.reply {
                            Some(reply) => {
                                let _ = reply.send(result.map(|_| ()));
                            }
                            None => {
                                if let Err(error) = result {
                                    failure.get_or_insert(error);
                                }
                            }
                        }
                    }
                }
                Err(error) => {
                    refuse(batch, &error);
                    failure = Some(error);
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// Answers every claim of `batch` with `error`.
fn refuse(batch: Vec<Request>, error: &anyhow::Error) {
    for request in batch {
        if let Some(reply) = request.reply {
            let _ = reply.send(Err(anyhow!("the ledger failed earlier: {error:#}")));
        }
    }
}

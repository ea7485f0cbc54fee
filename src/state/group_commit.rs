//! Group commit for the delivery ledger: one writer thread turns the claims
//! and outcomes of every send worker that arrive together into one
//! transaction, so N connections share each fsync instead of queueing for
//! one each; the claims one worker asks at once ([`Ledger::claim_all`])
//! always share one.
//!
//! The guarantees are the ledger's own (see the parent module): a claim is
//! answered only once the transaction holding it is committed with
//! `synchronous = FULL`, so a worker that waits for its [`Claim`] before
//! the point of no return never sends a message whose row is not durably
//! `sending`. Outcomes are not waited for: each is queued before its
//! worker's next claim, and a commit takes every outcome queued before the
//! requests it holds, so it is committed no later than that claim, just as
//! when a worker committed both in one transaction of its own (or within a
//! few milliseconds when no claim follows). Outcomes wait in a queue of
//! their own that wakes the writer only when it was empty: one wake-up per
//! commit, not per message (each is a thread switch, the largest single
//! cost of a fast send). Releases (a stopped run's claims whose messages never
//! left) are not waited for either, but go with the requests, after the
//! claims they undo; a flush is answered once everything queued before it
//! is committed. This module decides nothing about
//! retries or order of sending; it only batches what it is asked to record.

use super::State;
use crate::model::DeliveryOutcome;
use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests;
mod watch;

pub use watch::{SuppressionWatch, Verdict};

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
    /// A claim and its outcome at once, for a message that never reached
    /// the transport's point of no return (the connection failed before
    /// the session was ready): nothing was transmitted, so no crash
    /// between the two may leave the row `sending`.
    Untransmitted {
        /// The digest of the delivery.
        digest_id: String,
        /// The recipient (compared case-insensitively).
        email: String,
        /// What the transport reported.
        outcome: DeliveryOutcome,
    },
    /// `sending` → due again: the run stopped after the claim and before
    /// the message passed the point of no return.
    Release {
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
    /// `None`: a flush, answered once everything before it is committed.
    change: Option<LedgerChange>,
    /// Where a claim's result goes once it is committed; `None` for outcomes.
    reply: Option<mpsc::SyncSender<Result<()>>>,
}

/// What a durable claim says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// The row is `sending`: the message may leave.
    Sending,
    /// A suppression settled the row since the run planned it: nothing
    /// may be sent, and the delivery counts as suppressed.
    Suppressed,
}

/// A send worker's handle on the ledger writer; clone one per worker.
#[derive(Clone)]
pub struct Ledger {
    /// Each message is one or more requests that go into the same commit;
    /// an empty one only wakes the writer for the outcomes.
    requests: mpsc::Sender<Vec<Request>>,
    /// Outcomes not yet taken by the writer, oldest first.
    outcomes: Arc<Mutex<Vec<Request>>>,
}

/// Locks the outcome queue; a poisoned lock only means a thread panicked
/// while pushing or taking, and the queue is still whole.
fn lock(outcomes: &Mutex<Vec<Request>>) -> MutexGuard<'_, Vec<Request>> {
    outcomes.lock().unwrap_or_else(|e| e.into_inner())
}

/// A claim on its way to the disk; [`Claim::wait`] returns once it is
/// committed (or refused).
pub struct Claim {
    reply: mpsc::Receiver<Result<()>>,
}

impl Claim {
    /// Blocks until the claim is durable. [`Claimed::Suppressed`] when a
    /// suppression settled the row meanwhile. `Err` when the delivery was
    /// not due, the database failed, or the writer stopped. Only
    /// [`Claimed::Sending`] lets the message be sent.
    pub fn wait(self) -> Result<Claimed> {
        let answer = self
            .reply
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("the ledger writer stopped before the claim")));
        match answer {
            Ok(()) => Ok(Claimed::Sending),
            Err(error) if error.is::<super::ledger::Suppressed>() => Ok(Claimed::Suppressed),
            Err(error) => Err(error),
        }
    }
}

impl Ledger {
    /// Asks for `digest_id` to `email` to be claimed; the caller may prepare
    /// the message meanwhile but must [`Claim::wait`] before it can leave.
    pub fn claim(&self, digest_id: &str, email: &str) -> Claim {
        self.ask(Some(LedgerChange::Claim {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        }))
    }

    /// Asks for every `(digest_id, email)` of `rows` to be claimed in one
    /// commit (one fsync for all of them); one [`Claim`] per row, in order.
    pub fn claim_all<'a>(&self, rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Claim> {
        let (requests, claims): (Vec<Request>, Vec<Claim>) = rows
            .into_iter()
            .map(|(digest_id, email)| {
                request(Some(LedgerChange::Claim {
                    digest_id: digest_id.to_owned(),
                    email: email.to_owned(),
                }))
            })
            .unzip();
        self.send(requests);
        claims
    }

    /// Records `outcome` for a message that was never transmitted (claim
    /// and outcome in one change); the answer says whether a suppression
    /// had settled the row instead.
    pub fn untransmitted(&self, digest_id: &str, email: &str, outcome: DeliveryOutcome) -> Claim {
        self.ask(Some(LedgerChange::Untransmitted {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
            outcome,
        }))
    }

    /// Queues the release of a claimed row whose message never passed the
    /// point of no return (see [`LedgerChange::Release`]).
    pub fn release(&self, digest_id: String, email: String) {
        let _ = self.requests.send(vec![Request {
            change: Some(LedgerChange::Release { digest_id, email }),
            reply: None,
        }]);
    }

    /// Blocks until everything queued before it is committed; `Err` when
    /// the writer failed or stopped. For a run that ends without waiting
    /// for every worker (a stop while some are stuck on a silent relay).
    pub fn flush(&self) -> Result<()> {
        self.ask(None)
            .reply
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("the ledger writer stopped before the flush")))
    }

    fn ask(&self, change: Option<LedgerChange>) -> Claim {
        let (request, claim) = request(change);
        self.send(vec![request]);
        claim
    }

    /// Sends `requests` as one message; if the writer is gone, each waiting
    /// caller hears so.
    fn send(&self, requests: Vec<Request>) {
        if let Err(mpsc::SendError(requests)) = self.requests.send(requests) {
            for reply in requests.into_iter().filter_map(|r| r.reply) {
                let _ = reply.send(Err(anyhow!("the ledger writer stopped")));
            }
        }
    }

    /// Queues the outcome of a claimed delivery. A failure to record it is
    /// reported by [`LedgerWriter::run`] and refuses every later claim.
    pub fn record(&self, digest_id: String, email: String, outcome: DeliveryOutcome) {
        let mut outcomes = lock(&self.outcomes);
        let first = outcomes.is_empty();
        outcomes.push(Request {
            change: Some(LedgerChange::Outcome {
                digest_id,
                email,
                outcome,
            }),
            reply: None,
        });
        drop(outcomes);
        // Later outcomes find the queue taken care of: the writer takes
        // the whole queue once it wakes.
        if first {
            let _ = self.requests.send(Vec::new());
        }
    }
}

/// A request that waits for its answer, and the handle that receives it.
fn request(change: Option<LedgerChange>) -> (Request, Claim) {
    let (reply, receiver) = mpsc::sync_channel(1);
    (
        Request {
            change,
            reply: Some(reply),
        },
        Claim { reply: receiver },
    )
}

/// The thread side: owns the connection all ledger writes of a run go through.
pub struct LedgerWriter {
    state: State,
    requests: mpsc::Receiver<Vec<Request>>,
    outcomes: Arc<Mutex<Vec<Request>>>,
    now: DateTime<FixedOffset>,
    watch: SuppressionWatch,
}

/// A writer over `state` and the first handle on it. Run the writer on its
/// own thread; it returns when every [`Ledger`] clone is dropped.
pub fn ledger_writer(state: State, now: DateTime<FixedOffset>) -> (Ledger, LedgerWriter) {
    let (requests, receiver) = mpsc::channel();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    (
        Ledger {
            requests,
            outcomes: Arc::clone(&outcomes),
        },
        LedgerWriter {
            state,
            requests: receiver,
            outcomes,
            now,
            watch: SuppressionWatch::default(),
        },
    )
}

impl LedgerWriter {
    /// What this writer learns of suppressions among the rows it claimed,
    /// for the workers to ask (see [`SuppressionWatch`]).
    pub fn watch(&self) -> SuppressionWatch {
        self.watch.clone()
    }

    /// Commits what arrives, everything waiting in one transaction, until
    /// every [`Ledger`] handle is gone. After an outcome could not be
    /// recorded (or a commit failed) every later claim is refused, so
    /// nothing more leaves; the first such error is returned.
    pub fn run(self) -> Result<()> {
        let mut failure: Option<anyhow::Error> = None;
        // The data version at the writer's last look at the watched rows.
        let mut looked_at: Option<i64> = None;
        while let Ok(mut requests) = self.requests.recv() {
            requests.extend(self.requests.try_iter().flatten());
            // Outcomes alone are not worth an fsync of their own while a
            // worker is about to claim its next row: wait briefly for a
            // claim to share it with (the cost is a few milliseconds more
            // in which a crash would leave the row `unknown`). Outcomes
            // queued meanwhile do not wake us.
            while !requests.iter().any(|r| r.reply.is_some()) {
                match self.requests.recv_timeout(OUTCOME_WAIT) {
                    Ok(more) => {
                        requests.extend(more);
                        requests.extend(self.requests.try_iter().flatten());
                    }
                    Err(_) => break,
                }
            }
            // Taken after the requests: every outcome queued before a claim
            // among them is here, and goes first (its own claim was
            // committed before its message left).
            let mut batch = std::mem::take(&mut *lock(&self.outcomes));
            batch.extend(requests);
            if batch.is_empty() {
                // The wake-up of outcomes an earlier commit took.
                continue;
            }
            if let Some(error) = &failure {
                refuse(batch, error);
                continue;
            }
            // Flushes are answered in order with the changes around them:
            // once this batch is committed, so is everything before them.
            let (flushes, batch): (Vec<Request>, Vec<Request>) =
                batch.into_iter().partition(|r| r.change.is_none());
            let changes: Vec<&LedgerChange> =
                batch.iter().filter_map(|r| r.change.as_ref()).collect();
            // Before the transaction: whatever another connection committed
            // before this instant, the look below sees.
            let began = Instant::now();
            match self.state.apply(&changes, self.now) {
                Ok(results) => {
                    for (change, result) in changes.iter().zip(&results) {
                        if result.is_ok() {
                            self.follow(change);
                        }
                    }
                    looked_at = self.look(began, looked_at);
                    for flush in flushes.into_iter().filter_map(|r| r.reply) {
                        let _ = flush.send(match &failure {
                            None => Ok(()),
                            Some(error) => Err(anyhow!("the ledger failed: {error:#}")),
                        });
                    }
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
                    // The rolled-back changes may have been claims the
                    // watch now lacks, or settlements it still holds.
                    self.watch.blind();
                    looked_at = None;
                    refuse(flushes, &error);
                    refuse(batch, &error);
                    failure = Some(error);
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Keeps the watched rows in step with a committed change.
    fn follow(&self, change: &LedgerChange) {
        match change {
            LedgerChange::Claim { email, .. } => self.watch.claimed(email),
            LedgerChange::Outcome { email, .. }
            | LedgerChange::Untransmitted { email, .. }
            | LedgerChange::Release { email, .. } => self.watch.settled(email),
        }
    }

    /// After a commit: when another connection wrote since the last look
    /// (or there was none), looks the watched rows up on this connection,
    /// whose cache the writer's own commits keep warm; otherwise what the
    /// watch knew still holds. Returns the data version it looked at;
    /// `None`, leaving the watch blind, when it cannot tell.
    fn look(&self, began: Instant, looked_at: Option<i64>) -> Option<i64> {
        let seen = self.try_look(began, looked_at);
        if seen.is_none() {
            self.watch.blind();
        }
        seen
    }

    fn try_look(&self, began: Instant, looked_at: Option<i64>) -> Option<i64> {
        // Read before the lookups: a suppression landing while they run
        // changes it again, and the next commit looks again.
        let version = self.state.data_version().ok().flatten()?;
        if looked_at == Some(version) {
            self.watch.unchanged(began);
            return looked_at;
        }
        let mut suppressed = Vec::new();
        for email in self.watch.watched() {
            if self.state.is_suppressed(&email).ok()? {
                suppressed.push(email);
            }
        }
        self.watch.looked(began, &suppressed);
        Some(version)
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

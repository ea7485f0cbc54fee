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

/// How long outcomes wait for a claim to share their commit.
const OUTCOME_WAIT: Duration = Duration::from_millis(5);

/// One change a send worker asks of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChange {
    /// `pending` or due `deferred` → `sending` (see [`State::mark_sending`]).
    Claim { digest_id: String, email: String },
    /// `sending` → the outcome's status (see [`State::record_outcome`]).
    Outcome {
        digest_id: String,
        email: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Status;
    use chrono::DateTime;
    use tempfile::TempDir;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-05-01T08:00:00+08:00").unwrap()
    }

    fn ledger_with(emails: &[&str]) -> (TempDir, std::path::PathBuf) {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("state.db");
        let mut state = State::open(&path).unwrap();
        let recipients: Vec<(String, String)> = emails
            .iter()
            .map(|e| (e.to_string(), "en".to_string()))
            .collect();
        state
            .create_digest("d1", now(), &["s1".to_string()], &recipients)
            .unwrap();
        (dir, path)
    }

    fn status(path: &std::path::Path, email: &str) -> Status {
        State::open(path)
            .unwrap()
            .delivery_status("d1", email)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_claim_is_durable_when_wait_returns_and_outcomes_follow() {
        let (_dir, path) = ledger_with(&["a@example.com", "b@example.com"]);
        let (ledger, writer) = ledger_writer(State::open(&path).unwrap(), now());
        std::thread::scope(|scope| {
            let running = scope.spawn(|| writer.run());
            ledger.claim("d1", "a@example.com").wait().unwrap();
            // Committed: another connection sees it.
            assert_eq!(status(&path, "a@example.com"), Status::Sending);
            ledger.record("d1".into(), "a@example.com".into(), DeliveryOutcome::Sent);
            ledger.claim("d1", "b@example.com").wait().unwrap();
            // The outcome was queued before the next claim, so it is committed too.
            assert_eq!(status(&path, "a@example.com"), Status::Sent);
            ledger.record(
                "d1".into(),
                "b@example.com".into(),
                DeliveryOutcome::Deferred("451 later".into()),
            );
            drop(ledger);
            running.join().unwrap().unwrap();
        });
        assert_eq!(status(&path, "b@example.com"), Status::Deferred);
    }

    #[test]
    fn claims_from_many_threads_each_win_once() {
        let emails: Vec<String> = (0..40).map(|i| format!("r{i}@example.com")).collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let (_dir, path) = ledger_with(&refs);
        let (ledger, writer) = ledger_writer(State::open(&path).unwrap(), now());
        let won = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let running = scope.spawn(|| writer.run());
            for _ in 0..4 {
                let ledger = ledger.clone();
                let (emails, won) = (&emails, &won);
                scope.spawn(move || {
                    // Every thread tries every row: exactly one claim per row may win.
                    for email in emails {
                        if ledger.claim("d1", email).wait().is_ok() {
                            won.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            ledger.record("d1".into(), email.clone(), DeliveryOutcome::Sent);
                        }
                    }
                });
            }
            drop(ledger);
            running.join().unwrap().unwrap();
        });
        assert_eq!(won.into_inner(), 40);
        let state = State::open(&path).unwrap();
        assert_eq!(state.counts().unwrap().sent, 40);
    }

    #[test]
    fn a_claim_that_is_not_due_is_refused_naming_the_row() {
        let (_dir, path) = ledger_with(&["a@example.com"]);
        let (ledger, writer) = ledger_writer(State::open(&path).unwrap(), now());
        std::thread::scope(|scope| {
            let running = scope.spawn(|| writer.run());
            ledger.claim("d1", "a@example.com").wait().unwrap();
            let error = ledger
                .claim("d1", "a@example.com")
                .wait()
                .unwrap_err()
                .to_string();
            assert!(error.contains("is sending, not due"), "{error}");
            assert!(error.contains("a@example.com"), "{error}");
            drop(ledger);
            running.join().unwrap().unwrap();
        });
    }

    #[test]
    fn an_outcome_that_cannot_be_recorded_stops_later_claims() {
        let (_dir, path) = ledger_with(&["a@example.com", "b@example.com"]);
        let (ledger, writer) = ledger_writer(State::open(&path).unwrap(), now());
        std::thread::scope(|scope| {
            let running = scope.spawn(|| writer.run());
            // Never claimed, so its outcome cannot be recorded.
            ledger.record("d1".into(), "a@example.com".into(), DeliveryOutcome::Sent);
            let error = ledger
                .claim("d1", "b@example.com")
                .wait()
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("earlier outcome could not be recorded"),
                "{error}"
            );
            drop(ledger);
            let error = running.join().unwrap().unwrap_err().to_string();
            assert!(error.contains("not sending"), "{error}");
        });
        assert_eq!(status(&path, "b@example.com"), Status::Pending);
    }
}

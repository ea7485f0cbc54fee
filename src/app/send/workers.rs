//! The worker pool: one thread per transport connection, fed from a
//! bounded queue. Each worker claims its ledger row once its transport is
//! ready (for SMTP: an established session), passes the transport's point
//! of no return only once that claim is durable, and queues the relay's
//! answer to the ledger.
//!
//! All ledger writes go through one writer thread (`state`'s group
//! commit), so N connections share each fsync. A row is therefore
//! `sending` only while its message is on an open session, never while it
//! waits in the queue or for a relay to greet (a kill then would wrongly
//! leave it "unknown").
//!
//! Each worker shows where it stands in its [`Slot`], so that a stopped run
//! can tell a message in flight (waited for) from one stuck before its
//! point of no return (its row released; the worker is left behind, and
//! ends with the process). The pool sends and records; what to send and
//! what an outcome means are decided elsewhere.

use super::stop::Stop;
use crate::deliver::{Gate, RateLimiter, Transport};
use crate::model::DeliveryOutcome;
use crate::state::{Claim, Claimed, Ledger};
use anyhow::{Result, anyhow};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};

/// One message on its way to a transport.
pub struct Job {
    pub digest_id: String,
    /// The ledger's key for the recipient.
    pub ledger_email: String,
    /// The envelope recipient, as the subscriber wrote it.
    pub recipient: String,
    /// The envelope sender: `digest.from`'s address, or its VERP return path.
    pub envelope_from: String,
    pub message: Vec<u8>,
}

/// How a job ended, for the tally.
#[derive(Debug)]
pub enum Settled {
    /// The transport's outcome, recorded in the ledger.
    Outcome(DeliveryOutcome),
    /// A suppression settled the row during the run; nothing was sent.
    Suppressed,
    /// The run is stopping: the row is untouched or back to due, and goes
    /// out with the next run.
    Released,
}

/// What a worker reports for a job: the ledger address and how it ended,
/// or the error that stopped the worker.
pub type Report = Result<(String, Settled)>;

/// What reaches the run's main loop.
pub enum Event {
    /// A worker finished a job.
    Report(Report),
    /// The worker with this index has stopped.
    Done(usize),
    /// A stop was asked (see [`Stop`]).
    Stop,
}

/// Where a worker stands; changed under its lock by the worker and, when
/// the run stops, by the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// No row of ours is claimed (waiting for a job, connecting, greeting).
    Idle,
    /// This row is claimed (or its claim requested) and its message has not
    /// passed the point of no return.
    Claimed { digest_id: String, email: String },
    /// The message passed the point of no return: only its answer is awaited.
    InFlight,
    /// The stopped run released this worker's row and no longer waits for
    /// it: it must write and report nothing more.
    Abandoned,
}

/// Locks a slot; a poisoned lock only means a worker panicked, and the
/// value is still what it last set.
pub fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// What every worker shares, and its own slot.
pub struct Shared {
    pub index: usize,
    pub jobs: Arc<Mutex<Receiver<Job>>>,
    pub ledger: Ledger,
    pub limiter: Arc<RateLimiter>,
    pub events: Sender<Event>,
    pub stop: Arc<Stop>,
    pub slot: Arc<Mutex<Slot>>,
}

/// Tells the main loop that a worker stopped, however it stopped.
struct Done<'a>(&'a Shared);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let _ = self.0.events.send(Event::Done(self.0.index));
    }
}

/// Runs one worker until the queue closes, the run stops, or its claim fails.
pub fn work(mut transport: Box<dyn Transport>, shared: Shared) {
    let _done = Done(&shared);
    loop {
        if shared.stop.asked() {
            break;
        }
        let job = match shared.jobs.lock() {
            Ok(jobs) => jobs.recv().ok(),
            Err(_) => None,
        };
        let Some(job) = job else { break };
        // A job taken after the stop stays untouched: the run counts it
        // as left for the next one.
        if shared.stop.asked() {
            break;
        }
        shared.limiter.wait();
        let delivered = deliver_one(transport.as_mut(), &shared, &job);
        let mut slot = lock(&shared.slot);
        if *slot == Slot::Abandoned {
            // The main loop released the row and counted it as left.
            break;
        }
        let report = delivered.map(|delivered| {
            let settled = match delivered {
                Delivered::Claimed(Some(outcome)) => {
                    shared.ledger.record(
                        job.digest_id.clone(),
                        job.ledger_email.clone(),
                        outcome.clone(),
                    );
                    Settled::Outcome(outcome)
                }
                Delivered::Claimed(None) => {
                    shared
                        .ledger
                        .release(job.digest_id.clone(), job.ledger_email.clone());
                    Settled::Released
                }
                Delivered::Settled(settled) => settled,
            };
            (job.ledger_email.clone(), settled)
        });
        let stop = report.is_err();
        // Reported before the slot says idle, so a stopping main loop that
        // sees it idle has the report already.
        let sent = shared.events.send(Event::Report(report));
        *slot = Slot::Idle;
        drop(slot);
        if sent.is_err() || stop {
            break;
        }
    }
}

/// How [`deliver_one`] left the row.
enum Delivered {
    /// The row is `sending` (durably): record this outcome, or release the
    /// row when the message was abandoned at the point of no return (`None`).
    Claimed(Option<DeliveryOutcome>),
    /// Nothing more to write.
    Settled(Settled),
}

/// The worker's side of the transport's [`Gate`]: the claim starts when
/// the transport is ready and is waited for at the point of no return.
struct ClaimGate<'a> {
    shared: &'a Shared,
    job: &'a Job,
    /// The claim on its way to the disk.
    claim: Option<Claim>,
    /// Its answer, once waited for.
    answer: Option<Result<Claimed>>,
    /// The transport said it was ready.
    ready: bool,
}

impl ClaimGate<'_> {
    /// The claim's answer, waiting for it if needed; `None` if never claimed.
    fn answer(&mut self) -> Option<&Result<Claimed>> {
        if let Some(claim) = self.claim.take() {
            self.answer = Some(claim.wait());
        }
        self.answer.as_ref()
    }
}

impl Gate for ClaimGate<'_> {
    fn ready(&mut self) {
        self.ready = true;
        let mut slot = lock(&self.shared.slot);
        // Stopping: claim nothing more, so go_ahead says no.
        if *slot == Slot::Abandoned || self.shared.stop.asked() {
            return;
        }
        // Requested under the slot's lock, so a release the main loop
        // queues for this slot always follows the claim.
        self.claim = Some(
            self.shared
                .ledger
                .claim(&self.job.digest_id, &self.job.ledger_email),
        );
        *slot = Slot::Claimed {
            digest_id: self.job.digest_id.clone(),
            email: self.job.ledger_email.clone(),
        };
    }

    fn go_ahead(&mut self) -> bool {
        if !matches!(self.answer(), Some(Ok(Claimed::Sending))) {
            return false;
        }
        let mut slot = lock(&self.shared.slot);
        if *slot == Slot::Abandoned || self.shared.stop.asked() {
            return false;
        }
        *slot = Slot::InFlight;
        true
    }
}

/// Sends `job`, claiming its row once the transport is ready.
fn deliver_one(transport: &mut dyn Transport, shared: &Shared, job: &Job) -> Result<Delivered> {
    let mut gate = ClaimGate {
        shared,
        job,
        claim: None,
        answer: None,
        ready: false,
    };
    let outcome = transport.send_when(&job.envelope_from, &job.recipient, &job.message, &mut gate);
    let ready = gate.ready;
    match (gate.answer(), outcome) {
        (Some(Ok(Claimed::Sending)), outcome) => Ok(Delivered::Claimed(outcome)),
        (Some(Ok(Claimed::Suppressed)), _) => Ok(Delivered::Settled(Settled::Suppressed)),
        (Some(Err(error)), _) => Err(anyhow!("{error:#}")),
        // Failed before the session was ready: no byte of the message left,
        // so claim and outcome are recorded together.
        (None, Some(outcome)) if !ready => {
            let answer = shared
                .ledger
                .untransmitted(&job.digest_id, &job.ledger_email, outcome.clone())
                .wait()?;
            Ok(Delivered::Settled(match answer {
                Claimed::Sending => Settled::Outcome(outcome),
                Claimed::Suppressed => Settled::Suppressed,
            }))
        }
        // Ready, but the run was stopping: nothing was claimed.
        (None, _) if ready => Ok(Delivered::Settled(Settled::Released)),
        (None, _) => Err(anyhow!(
            "the delivery of digest `{}` to {} was abandoned without a reason",
            job.digest_id,
            job.ledger_email
        )),
    }
}

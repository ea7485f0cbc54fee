//! The worker pool: one thread per transport connection, fed from a
//! bounded queue. Each worker claims its ledger row once its transport is
//! ready (for SMTP: an established session), passes the transport's point
//! of no return only once that claim is durable, and queues the relay's
//! answer to the ledger.
//!
//! All ledger writes go through one writer thread (`state`'s group
//! commit), so N connections share each fsync. A row is `sending` only
//! while its message is on an open session, or while it is the one job a
//! worker has **claimed ahead**: when a message passes its point of no
//! return, its worker takes its next job (if one is waiting) and starts
//! that claim, so the fsync happens while the current message is on the
//! wire instead of between two messages. A crash can therefore leave at
//! most two rows per connection `sending` (the README's bound): the one in
//! flight (or answered, its outcome not yet durable) and the one claimed
//! ahead, never transmitted. When its turn comes, a job claimed ahead is
//! sent only if its address was not suppressed meanwhile (looked up on the
//! worker's own connection, never behind the writer's commits), so a
//! suppression stops the same messages as without claiming ahead. With a
//! rate limit there is time to spare and nothing is claimed ahead. A row never becomes `sending` while it waits
//! in the queue or for a relay to greet.
//!
//! Each worker shows where it stands in its [`Slot`], so that a stopped run
//! can tell a message in flight (waited for; its worker then releases the
//! row it claimed ahead) from one stuck before its point of no return (its
//! row released; the worker is left behind, and ends with the process).
//! The pool sends and records; what to send and what an outcome means are
//! decided elsewhere.

use super::stop::Stop;
use crate::deliver::{Gate, RateLimiter, Transport};
use crate::model::DeliveryOutcome;
use crate::state::{Claim, Claimed, Ledger, State};
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
    /// With a connection to the state: claim the worker's next job while
    /// its current message is on the wire (`None` under a rate limit, where
    /// waiting costs nothing). The connection looks up, when that job's
    /// turn comes, whether a suppression landed since its claim.
    pub claim_ahead: Option<State>,
}

/// Tells the main loop that a worker stopped, however it stopped.
struct Done<'a>(&'a Shared);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let _ = self.0.events.send(Event::Done(self.0.index));
    }
}

/// A job whose claim was started while the message before it was on the wire.
struct Ahead {
    job: Job,
    claim: Claim,
}

/// Runs one worker until the queue closes, the run stops, or its claim fails.
pub fn work(mut transport: Box<dyn Transport>, shared: Shared) {
    let _done = Done(&shared);
    let mut ahead: Option<Ahead> = None;
    loop {
        let (job, claim) = match ahead.take() {
            Some(Ahead { job, claim }) => {
                if shared.stop.asked() {
                    release_ahead(&shared, &job);
                    break;
                }
                if suppressed_since_claim(&shared, &job) {
                    match settle_suppressed(&shared, &job, claim) {
                        Ok(()) => continue,
                        Err(()) => break,
                    }
                }
                (job, Some(claim))
            }
            None => {
                if shared.stop.asked() {
                    break;
                }
                let job = match shared.jobs.lock() {
                    Ok(jobs) => jobs.recv().ok(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                // A job taken after the stop stays untouched: the run
                // counts it as left for the next one.
                if shared.stop.asked() {
                    break;
                }
                (job, None)
            }
        };
        shared.limiter.wait();
        let (delivered, next) = deliver_one(transport.as_mut(), &shared, &job, claim);
        let mut slot = lock(&shared.slot);
        if *slot == Slot::Abandoned {
            // The main loop released the row and counted it as left. (A
            // slot is never abandoned in flight, when a job is claimed
            // ahead; were it so, that row goes back too.)
            if let Some(Ahead { job, .. }) = next {
                shared.ledger.release(job.digest_id, job.ledger_email);
            }
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
        // Reported before the slot moves on, so a stopping main loop that
        // sees it idle has the report already.
        let sent = shared.events.send(Event::Report(report));
        // The job claimed ahead is now this worker's claimed row: a stop
        // before its point of no return releases it like any other.
        *slot = match &next {
            Some(Ahead { job, .. }) => Slot::Claimed {
                digest_id: job.digest_id.clone(),
                email: job.ledger_email.clone(),
            },
            None => Slot::Idle,
        };
        drop(slot);
        if sent.is_err() || stop {
            if let Some(Ahead { job, .. }) = &next {
                release_ahead(&shared, job);
            }
            break;
        }
        ahead = next;
    }
}

/// Whether `job`'s address was suppressed since its row was claimed
/// ahead (`gazette unsubscribe`, the HTTP endpoint or the mailbox reader
/// while the message before it was on the wire): the same promise as for
/// a row claimed at its own turn, that a suppression landing before the
/// envelope is sent stops the message. A failed lookup lets the claim
/// stand, as a claim that met no suppression does.
fn suppressed_since_claim(shared: &Shared, job: &Job) -> bool {
    let Some(reader) = &shared.claim_ahead else {
        return false;
    };
    match reader.is_suppressed(&job.ledger_email) {
        Ok(suppressed) => suppressed,
        Err(error) => {
            tracing::warn!("{error:#}; sending anyway, as the claim allowed");
            false
        }
    }
}

/// Settles a job claimed ahead whose address was suppressed meanwhile:
/// its row goes from `sending` to `failed` (reason `suppressed`), as the
/// suppression settles every row it finds waiting, and nothing is sent.
/// `Err` when the worker must stop (the claim failed; reported).
fn settle_suppressed(shared: &Shared, job: &Job, claim: Claim) -> Result<(), ()> {
    let claimed = claim.wait();
    // Under the slot's lock, like every outcome: a stopping main loop that
    // released the row meanwhile leaves nothing to record.
    let mut slot = lock(&shared.slot);
    if *slot == Slot::Abandoned {
        return Err(());
    }
    let failed = claimed.is_err();
    let report = claimed.map(|claimed| {
        if claimed == Claimed::Sending {
            shared.ledger.record(
                job.digest_id.clone(),
                job.ledger_email.clone(),
                DeliveryOutcome::Failed {
                    reason: "suppressed".to_owned(),
                    suppress: false,
                },
            );
        }
        (job.ledger_email.clone(), Settled::Suppressed)
    });
    let sent = shared.events.send(Event::Report(report));
    *slot = Slot::Idle;
    if sent.is_err() || failed {
        return Err(());
    }
    Ok(())
}

/// Releases the row of a job claimed ahead that will not be sent (the run
/// is stopping), unless the main loop already did when it abandoned the
/// slot.
fn release_ahead(shared: &Shared, job: &Job) {
    let mut slot = lock(&shared.slot);
    if *slot == Slot::Abandoned {
        return;
    }
    // Queued after the claim (same channel, later), so it undoes it.
    shared
        .ledger
        .release(job.digest_id.clone(), job.ledger_email.clone());
    let _ = shared.events.send(Event::Report(Ok((
        job.ledger_email.clone(),
        Settled::Released,
    ))));
    *slot = Slot::Idle;
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
/// the transport is ready (unless it was claimed ahead) and is waited for
/// at the point of no return, where the next job's claim starts.
struct ClaimGate<'a> {
    shared: &'a Shared,
    job: &'a Job,
    /// The claim on its way to the disk.
    claim: Option<Claim>,
    /// Its answer, once waited for.
    answer: Option<Result<Claimed>>,
    /// The transport said it was ready.
    ready: bool,
    /// The next job, claimed once this message passed its point of no return.
    ahead: Option<Ahead>,
}

impl ClaimGate<'_> {
    /// The claim's answer, waiting for it if needed; `None` if never claimed.
    fn answer(&mut self) -> Option<&Result<Claimed>> {
        if let Some(claim) = self.claim.take() {
            self.answer = Some(claim.wait());
        }
        self.answer.as_ref()
    }

    /// Takes the next job if one is already waiting (never waits for one,
    /// and leaves it to an idle worker, which holds the queue while it
    /// waits) and starts its claim. Called under the slot's lock.
    fn claim_ahead(&mut self) {
        if self.shared.claim_ahead.is_none() {
            return;
        }
        let Ok(jobs) = self.shared.jobs.try_lock() else {
            return;
        };
        let Ok(job) = jobs.try_recv() else {
            return;
        };
        drop(jobs);
        let claim = self.shared.ledger.claim(&job.digest_id, &job.ledger_email);
        self.ahead = Some(Ahead { job, claim });
    }
}

impl Gate for ClaimGate<'_> {
    fn ready(&mut self) {
        self.ready = true;
        if self.claim.is_some() {
            // Claimed ahead; the slot already says so.
            return;
        }
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
        self.claim_ahead();
        true
    }
}

/// Sends `job`, claiming its row once the transport is ready unless
/// `claimed` says it was claimed ahead. Also returns the next job if it
/// was claimed ahead meanwhile.
fn deliver_one(
    transport: &mut dyn Transport,
    shared: &Shared,
    job: &Job,
    claimed: Option<Claim>,
) -> (Result<Delivered>, Option<Ahead>) {
    let mut gate = ClaimGate {
        shared,
        job,
        claim: claimed,
        answer: None,
        ready: false,
        ahead: None,
    };
    let outcome = transport.send_when(&job.envelope_from, &job.recipient, &job.message, &mut gate);
    let ready = gate.ready;
    let delivered = match (gate.answer(), outcome) {
        (Some(Ok(Claimed::Sending)), outcome) => Ok(Delivered::Claimed(outcome)),
        (Some(Ok(Claimed::Suppressed)), _) => Ok(Delivered::Settled(Settled::Suppressed)),
        (Some(Err(error)), _) => Err(anyhow!("{error:#}")),
        // Failed before the session was ready: no byte of the message left,
        // so claim and outcome are recorded together.
        (None, Some(outcome)) if !ready => shared
            .ledger
            .untransmitted(&job.digest_id, &job.ledger_email, outcome.clone())
            .wait()
            .map(|answer| {
                Delivered::Settled(match answer {
                    Claimed::Sending => Settled::Outcome(outcome),
                    Claimed::Suppressed => Settled::Suppressed,
                })
            }),
        // Ready, but the run was stopping: nothing was claimed.
        (None, _) if ready => Ok(Delivered::Settled(Settled::Released)),
        (None, _) => Err(anyhow!(
            "the delivery of digest `{}` to {} was abandoned without a reason",
            job.digest_id,
            job.ledger_email
        )),
    };
    (delivered, gate.ahead)
}

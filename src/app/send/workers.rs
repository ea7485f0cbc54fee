//! The worker pool: one thread per transport connection, fed from a
//! bounded queue. Each worker claims its ledger row once its transport is
//! ready (for SMTP: an established session), passes the transport's point
//! of no return only once that claim is durable, and queues the relay's
//! answer to the ledger.
//!
//! All ledger writes go through one writer thread (`state`'s group
//! commit), so N connections share each fsync. A row is `sending` only
//! while its message is on an open session, or while it is one of the jobs
//! a worker has **claimed ahead**: when a message passes its point of no
//! return with at most one job claimed ahead behind it, the worker takes
//! jobs waiting in the queue, up to `claim_ahead` held in all, and claims
//! them in one commit, so that fsync happens while the messages before
//! them are on the wire, and one fsync serves many messages instead of
//! one. A crash can therefore leave at most `claim_ahead + 1` rows per
//! connection `sending` (the README's bound): the one in flight (or
//! answered, its outcome not yet durable: every earlier outcome is queued
//! before the next claim) and those claimed ahead, never transmitted. When its turn comes, a job
//! claimed ahead is sent only if its address was not suppressed meanwhile
//! (as the ledger writer saw it within [`WATCH_FRESH`], or else looked up
//! on the worker's own connection, never behind the writer's commits), so
//! a suppression stops the same messages as without claiming ahead. The
//! first job claimed ahead is named to the transport as the next message
//! ([`Gate::next`]), which may send its envelope behind the current body;
//! when that job does not go next, the transport gives up its connection,
//! never the delivery. With a rate limit there is time to spare and nothing
//! is claimed ahead. A row never becomes `sending` while it waits in the
//! queue or for a relay to greet.
//!
//! Each worker shows where it stands in its [`Slot`], so that a stopped run
//! can tell a message in flight (waited for; its worker then releases the
//! rows it claimed ahead) from one stuck before its point of no return
//! (its row and those claimed ahead released; the worker is left behind,
//! and ends with the process).
//! The pool sends and records; what to send and what an outcome means are
//! decided elsewhere.

use super::breaker::Breaker;
use super::reports::Reports;
use super::stop::Stop;
use crate::deliver::{Envelope, Gate, RateLimiter, Transport};
use crate::model::DeliveryOutcome;
use crate::state::{Claim, Claimed, Ledger, State, SuppressionWatch, Verdict};
use anyhow::{Result, anyhow};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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

/// What a worker reports for a job: its ledger row and how it ended, or
/// the error that stopped the worker.
pub type Report = Result<(Row, Settled)>;

/// What reaches the run's main loop.
pub enum Event {
    /// A worker finished a job (left in [`Reports`], which the main loop
    /// takes whenever it wakes).
    Report(Report),
    /// The worker with this index has stopped.
    Done(usize),
    /// A stop was asked (see [`Stop`]).
    Stop,
    /// Reports wait in [`Reports`], and the job queue may have room.
    Room,
}

/// A ledger row a worker holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Row {
    pub digest_id: String,
    pub email: String,
}

impl Row {
    /// The row `job` delivers.
    pub fn of(job: &Job) -> Row {
        Row {
            digest_id: job.digest_id.clone(),
            email: job.ledger_email.clone(),
        }
    }
}

/// Where a worker stands; changed under its lock by the worker and, when
/// the run stops, by the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// No row of ours is claimed (waiting for a job, connecting, greeting).
    Idle,
    /// These rows are claimed (or their claims requested) and none of their
    /// messages has passed the point of no return: the first is the one
    /// being sent, the others were claimed ahead of it.
    Claimed(Vec<Row>),
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
    /// Where this worker's `Done` goes.
    pub events: Sender<Event>,
    /// Where its reports go, and the count of jobs it takes.
    pub reports: Arc<Reports>,
    pub stop: Arc<Stop>,
    pub slot: Arc<Mutex<Slot>>,
    /// How many waiting jobs the worker claims, in one commit, while its
    /// last message is on the wire (0 under a rate limit, where waiting
    /// costs nothing); `suppressions` is then `Some`.
    pub claim_ahead: usize,
    /// The worker's own connection to the state, to look up, when a job
    /// claimed ahead has its turn, whether a suppression landed since.
    pub suppressions: Option<State>,
    /// What the ledger writer knows of suppressions among claimed rows,
    /// asked before `suppressions` (see [`WATCH_FRESH`]).
    pub watch: SuppressionWatch,
    /// Counts deferrals in a row across the workers; the worker whose
    /// answer trips it halts the run before anyone takes another job.
    pub breaker: Arc<Breaker>,
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
    // Claimed ahead, in the order they go out.
    let mut ahead: VecDeque<Ahead> = VecDeque::new();
    loop {
        let (job, claim) = match ahead.pop_front() {
            Some(Ahead { job, claim }) => {
                if !shared.stop.takes_new() {
                    ahead.push_front(Ahead { job, claim });
                    release_ahead(&shared, ahead);
                    break;
                }
                if suppressed_since_claim(&shared, &job) {
                    match settle_suppressed(&shared, &job, claim, &ahead) {
                        Ok(()) => continue,
                        Err(()) => break,
                    }
                }
                (job, Some(claim))
            }
            None => {
                if !shared.stop.takes_new() {
                    break;
                }
                let job = match shared.jobs.lock() {
                    Ok(jobs) => jobs.recv().ok(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                shared.reports.taken(1);
                // A job taken after the stop stays untouched: the run
                // counts it as left for the next one.
                if !shared.stop.takes_new() {
                    break;
                }
                (job, None)
            }
        };
        shared.limiter.wait();
        let refill = top_up(shared.claim_ahead, ahead.len());
        let after = ahead.front().map(|a| &a.job);
        let (delivered, next) =
            deliver_one(transport.as_mut(), &shared, &job, claim, refill, after);
        let mut slot = lock(&shared.slot);
        if *slot == Slot::Abandoned {
            // The main loop released the rows the slot showed (this job's
            // and those claimed ahead before it) and counted them as left.
            // (A slot is never abandoned in flight, when new jobs are
            // claimed ahead; were it so, their rows go back too.)
            for Ahead { job, .. } in next {
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
            (Row::of(&job), settled)
        });
        if let Ok((_, Settled::Outcome(outcome))) = &report
            && shared.breaker.trips_on(outcome)
        {
            shared.stop.halt();
        }
        let stop = report.is_err();
        // Reported before the slot moves on, so a stopping main loop that
        // sees it idle has the report already.
        shared.reports.push(report);
        // The jobs claimed ahead are now this worker's claimed rows: a stop
        // before the next one's point of no return releases them all.
        ahead.extend(next);
        *slot = holding(&ahead);
        drop(slot);
        if stop {
            release_ahead(&shared, ahead);
            break;
        }
    }
}

/// A worker tops up its jobs claimed ahead when this many or fewer are
/// left, so that their claims' commit has the whole message before the
/// last of them on the wire to land in; with none left, the next message
/// would wait for the commit at its point of no return.
const TOP_UP_AT: usize = 1;

/// How many jobs to claim ahead at the next point of no return, with
/// `ahead` still held: up to `claim_ahead` in all, so that a crash leaves
/// at most `claim_ahead + 1` rows of the connection `sending`.
fn top_up(claim_ahead: usize, ahead: usize) -> usize {
    if ahead <= TOP_UP_AT {
        claim_ahead.saturating_sub(ahead)
    } else {
        0
    }
}

/// The slot of a worker between two messages, holding the rows of `ahead`.
fn holding(ahead: &VecDeque<Ahead>) -> Slot {
    if ahead.is_empty() {
        Slot::Idle
    } else {
        Slot::Claimed(ahead.iter().map(|a| Row::of(&a.job)).collect())
    }
}

/// How recent the ledger writer's knowledge must be for a worker to trust
/// it instead of looking the address up itself. A claim made at its own
/// turn misses a suppression landing during its commit (milliseconds before
/// the envelope); a job claimed ahead misses one landing within this long
/// before the envelope: the same kind of window, no wider.
pub const WATCH_FRESH: Duration = Duration::from_millis(10);

/// Whether `job`'s address was suppressed since its row was claimed
/// ahead (`gazette unsubscribe`, the HTTP endpoint or the mailbox reader
/// while the message before it was on the wire): the same promise as for
/// a row claimed at its own turn, that a suppression landing before the
/// envelope is sent stops the message. The ledger writer's watch answers
/// when it looked recently; otherwise the worker's own connection does. A
/// failed lookup lets the claim stand, as a claim that met no suppression
/// does.
fn suppressed_since_claim(shared: &Shared, job: &Job) -> bool {
    let Some(reader) = &shared.suppressions else {
        return false;
    };
    match shared.watch.verdict(&job.ledger_email, WATCH_FRESH) {
        Verdict::Suppressed => return true,
        Verdict::Clear => return false,
        Verdict::Unknown => {}
    }
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
/// `Err` when the worker must stop (the claim failed; reported); the rows
/// still `ahead` are then released.
fn settle_suppressed(
    shared: &Shared,
    job: &Job,
    claim: Claim,
    ahead: &VecDeque<Ahead>,
) -> Result<(), ()> {
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
        (Row::of(job), Settled::Suppressed)
    });
    shared.reports.push(report);
    if failed {
        for Ahead { job, .. } in ahead {
            release_one(shared, job);
        }
        *slot = Slot::Idle;
        return Err(());
    }
    *slot = holding(ahead);
    Ok(())
}

/// Releases the rows of jobs claimed ahead that will not be sent (the run
/// is stopping, or the worker), unless the main loop already did when it
/// abandoned the slot.
fn release_ahead(shared: &Shared, ahead: VecDeque<Ahead>) {
    let mut slot = lock(&shared.slot);
    if *slot == Slot::Abandoned {
        return;
    }
    for Ahead { job, .. } in &ahead {
        release_one(shared, job);
    }
    *slot = Slot::Idle;
}

/// Queues the release of `job`'s row, claimed ahead and never sent, and
/// reports it. The release is queued after the claim (same channel,
/// later), so it undoes it.
fn release_one(shared: &Shared, job: &Job) {
    shared
        .ledger
        .release(job.digest_id.clone(), job.ledger_email.clone());
    shared.reports.push(Ok((Row::of(job), Settled::Released)));
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
    /// How many jobs this message's point of no return claims ahead (see
    /// [`top_up`]).
    refill: usize,
    /// The next jobs, claimed once this message passed its point of no return.
    ahead: Vec<Ahead>,
    /// The job claimed ahead that goes out after this one, if there was one.
    after: Option<&'a Job>,
}

impl ClaimGate<'_> {
    /// The claim's answer, waiting for it if needed; `None` if never claimed.
    fn answer(&mut self) -> Option<&Result<Claimed>> {
        if let Some(claim) = self.claim.take() {
            self.answer = Some(claim.wait());
        }
        self.answer.as_ref()
    }

    /// Takes up to `refill` of the jobs already waiting (never waits
    /// for one, and leaves them to an idle worker, which holds the queue
    /// while it waits) and starts their claims, in one commit. Called under
    /// the slot's lock.
    fn claim_ahead(&mut self) {
        if self.refill == 0 {
            return;
        }
        let Ok(jobs) = self.shared.jobs.try_lock() else {
            return;
        };
        let taken: Vec<Job> = std::iter::from_fn(|| jobs.try_recv().ok())
            .take(self.refill)
            .collect();
        drop(jobs);
        self.shared.reports.taken(taken.len());
        let claims = self.shared.ledger.claim_all(
            taken
                .iter()
                .map(|job| (job.digest_id.as_str(), job.ledger_email.as_str())),
        );
        self.ahead = taken
            .into_iter()
            .zip(claims)
            .map(|(job, claim)| Ahead { job, claim })
            .collect();
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
        *slot = Slot::Claimed(vec![Row::of(self.job)]);
    }

    /// The job this worker sends next: the first claimed ahead, which it
    /// takes before any other (a stop or a suppression since its claim
    /// sends none, and the transport drops the envelope it sent ahead).
    fn next(&self) -> Option<Envelope<'_>> {
        let job = self.after.or(self.ahead.first().map(|a| &a.job))?;
        Some(Envelope {
            from: &job.envelope_from,
            to: &job.recipient,
            message: &job.message,
        })
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
/// `claimed` says it was claimed ahead, and naming the job that follows it
/// (`after`, or the first claimed ahead now) to the transport. Also returns
/// up to `refill` next jobs, claimed ahead once this message passed its
/// point of no return.
fn deliver_one(
    transport: &mut dyn Transport,
    shared: &Shared,
    job: &Job,
    claimed: Option<Claim>,
    refill: usize,
    after: Option<&Job>,
) -> (Result<Delivered>, Vec<Ahead>) {
    let mut gate = ClaimGate {
        shared,
        job,
        claim: claimed,
        answer: None,
        ready: false,
        refill,
        ahead: Vec::new(),
        after,
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

#[cfg(test)]
mod tests {
    use super::top_up;

    #[test]
    fn claims_ahead_are_topped_up_with_one_left_and_never_past_claim_ahead() {
        // (claim_ahead, held ahead) -> how many to claim now
        for (claim_ahead, held, claim) in [
            (8, 0, 8),
            (8, 1, 7),
            (8, 2, 0),
            (8, 8, 0),
            (1, 0, 1),
            (1, 1, 0),
            (0, 0, 0),
        ] {
            assert_eq!(
                top_up(claim_ahead, held),
                claim,
                "claim_ahead {claim_ahead}, {held} held"
            );
            assert!(held + top_up(claim_ahead, held) <= claim_ahead.max(held));
        }
    }
}

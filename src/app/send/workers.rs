//! The worker pool: one thread per transport connection, fed from a
//! bounded queue. Each worker claims its ledger row when it takes a
//! message, passes the transport's point of no return only once that claim
//! is durable, and queues the relay's answer to the ledger.
//!
//! All ledger writes go through one writer thread (`state`'s group
//! commit), so N connections share each fsync. A row is therefore
//! `sending` just before its message leaves, never while it waits in the
//! queue (a kill then would wrongly leave it "unknown"). The pool sends and
//! records; what to send and what an outcome means are decided elsewhere.

use crate::deliver::{RateLimiter, Transport};
use crate::model::DeliveryOutcome;
use crate::state::Ledger;
use anyhow::{Result, anyhow};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

/// One message on its way to a transport.
pub struct Job {
    pub digest_id: String,
    /// The ledger's key for the recipient.
    pub ledger_email: String,
    /// The envelope recipient, as the subscriber wrote it.
    pub recipient: String,
    pub message: Vec<u8>,
}

/// What a worker reports for a job: the ledger address and the outcome,
/// or the error that stopped the worker.
pub type Report = Result<(String, DeliveryOutcome)>;

/// What every worker shares.
pub struct Shared<'a> {
    pub jobs: Arc<Mutex<Receiver<Job>>>,
    pub ledger: Ledger,
    pub limiter: &'a RateLimiter,
    pub envelope_from: &'a str,
    pub reports: Sender<Report>,
}

/// Runs one worker until the queue closes or its claim fails.
pub fn work(transport: &mut dyn Transport, shared: Shared<'_>) {
    loop {
        let job = match shared.jobs.lock() {
            Ok(jobs) => jobs.recv().ok(),
            Err(_) => None,
        };
        let Some(job) = job else { break };
        shared.limiter.wait();
        let report = deliver_one(transport, &shared, &job);
        let stop = report.is_err();
        if let Ok((_, outcome)) = &report {
            shared
                .ledger
                .record(job.digest_id, job.ledger_email, outcome.clone());
        }
        if shared.reports.send(report).is_err() || stop {
            break;
        }
    }
}

/// Claims `job`'s row and sends it, waiting for the claim at the
/// transport's point of no return.
fn deliver_one(transport: &mut dyn Transport, shared: &Shared<'_>, job: &Job) -> Report {
    let mut claim = Some(shared.ledger.claim(&job.digest_id, &job.ledger_email));
    let mut claimed: Option<Result<()>> = None;
    let mut wait_for_claim = || {
        if let Some(claim) = claim.take() {
            claimed = Some(claim.wait());
        }
        matches!(claimed, Some(Ok(())))
    };
    let outcome = transport.send_when(
        shared.envelope_from,
        &job.recipient,
        &job.message,
        &mut wait_for_claim,
    );
    // A transport that failed before its point of no return never asked;
    // the row is ours only if the claim held.
    wait_for_claim();
    match (claimed, outcome) {
        (Some(Ok(())), Some(outcome)) => Ok((job.ledger_email.clone(), outcome)),
        (Some(Err(error)), _) => Err(error),
        _ => Err(anyhow!(
            "the delivery of digest `{}` to {} was abandoned without a reason",
            job.digest_id,
            job.ledger_email
        )),
    }
}

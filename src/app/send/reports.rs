//! How workers' reports reach the run's main loop without waking it for
//! each one: reports wait in a queue the main loop takes whenever it wakes,
//! and a worker wakes it only when there is something to do, namely room
//! for a batch of jobs in the queue it fills (the job queue fell to half
//! while it waited) or an error.
//!
//! Each wake-up is a thread switch, and at one per message they were the
//! main loop's largest cost; now it wakes about once per half queue. Done
//! and stop events still go through the event channel, and the main loop
//! takes the reports before it looks at any event or slot, so it never
//! sees a worker stopped or idle without the reports it made before.
//!
//! This module only carries reports and counts queued jobs; what a report
//! means is the main loop's business.

use super::workers::{Event, Report};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard};

/// The reports not yet taken, and what decides when the main loop wakes.
pub struct Reports {
    queue: Mutex<Vec<Report>>,
    /// Jobs in the job queue: the main loop counts one in before it offers
    /// it (and out if the offer fails), workers count out what they take.
    queued: AtomicUsize,
    /// The main loop is about to sleep, or sleeps, until the job queue
    /// falls to `low_water`.
    waiting: AtomicBool,
    low_water: usize,
    wake: Sender<Event>,
}

impl Reports {
    /// Reports for a job queue of `capacity`, waking the main loop through
    /// `wake` when it falls to half.
    pub fn new(capacity: usize, wake: Sender<Event>) -> Reports {
        Reports {
            queue: Mutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            low_water: capacity / 2,
            wake,
        }
    }

    /// A poisoned lock only means a thread panicked while pushing or
    /// taking; the reports are still whole.
    fn queue(&self) -> MutexGuard<'_, Vec<Report>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker's report; an error wakes the main loop at once.
    pub fn push(&self, report: Report) {
        let failed = report.is_err();
        self.queue().push(report);
        if failed {
            let _ = self.wake.send(Event::Room);
        }
    }

    /// Every report not yet taken, oldest first.
    pub fn take(&self) -> Vec<Report> {
        std::mem::take(&mut *self.queue())
    }

    /// The main loop is offering a job.
    pub fn offering(&self) {
        self.queued.fetch_add(1, SeqCst);
    }

    /// The job just offered did not go into the queue.
    pub fn not_offered(&self) {
        self.queued.fetch_sub(1, SeqCst);
    }

    /// A worker took `jobs` from the queue; wakes the main loop if it waits
    /// and the queue fell to half.
    pub fn taken(&self, jobs: usize) {
        if jobs == 0 {
            return;
        }
        let left = self.queued.fetch_sub(jobs, SeqCst) - jobs;
        if left <= self.low_water && self.waiting.swap(false, SeqCst) {
            let _ = self.wake.send(Event::Room);
        }
    }

    /// The main loop found the queue full: `true` when it should sleep on
    /// its event channel (a worker will wake it once the queue is at half,
    /// as will a stop, an error or a worker that stops); `false` when the
    /// queue is at half already and it should offer again.
    pub fn wait_for_room(&self) -> bool {
        self.waiting.store(true, SeqCst);
        // Checked after saying so: a worker that took jobs before saw no
        // one waiting, and one after will wake us (SeqCst orders the two).
        if self.queued.load(SeqCst) <= self.low_water {
            self.waiting.store(false, SeqCst);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn the_main_loop_is_woken_once_when_the_queue_falls_to_half_and_on_errors() {
        let (wake, events) = mpsc::channel();
        let reports = Reports::new(8, wake);
        for _ in 0..8 {
            reports.offering();
        }
        assert!(reports.wait_for_room(), "a full queue is waited on");
        for _ in 0..3 {
            reports.taken(1);
            reports.push(Ok((
                super::super::workers::Row {
                    digest_id: "d".into(),
                    email: "a@example.com".into(),
                },
                super::super::Settled::Released,
            )));
        }
        assert!(events.try_recv().is_err(), "5 of 8 queued: no wake-up yet");
        reports.taken(1);
        assert!(matches!(events.try_recv(), Ok(Event::Room)));
        reports.taken(2);
        assert!(events.try_recv().is_err(), "woken once, not per job");
        assert_eq!(reports.take().len(), 3);
        // Not waiting, at half: offer again rather than sleep.
        assert!(!reports.wait_for_room());
        reports.push(Err(anyhow::anyhow!("the ledger failed")));
        assert!(matches!(events.try_recv(), Ok(Event::Room)));
        assert!(reports.take()[0].is_err());
    }
}

//! `gazette send`: the order of stages for delivering digests, as the
//! README's ledger describes it:
//!
//! 1. [`recovery`]: settle what an interrupted run (or a dead worker) left
//!    `sending`;
//! 2. [`recipients`]: merge the editor's file into the list, row by row
//!    (steps 1 and 2 run while the stories load on the other cores; the
//!    file's topics are checked against them after);
//! 3. record the new digest (at most one per run: the stories no earlier
//!    digest held, [`plan::fresh_digest`]) with a `pending` row for every
//!    reader of the stored list who [`plan::wants`] it, before anything
//!    leaves, reading the list in batches;
//! 4. [`workers`]: send each due row's message, batch by batch from the
//!    ledger, claiming the row (`sending`, durably) before the message
//!    passes the transport's point of no return, and recording the relay's
//!    answer as it comes back;
//! 5. [`tally`]: print the summary; exit 5 when anything was not delivered.
//!
//! Nothing in a real send holds the whole list or every due row, so its
//! memory does not grow with the list. `--dry-run` reads the file whole
//! and writes the [`plan`] it makes as files ([`dry_run`]), by the same
//! rules. Policy lives here; the ledger (`state`), rendering (`digest`)
//! and transports (`deliver`) only do what they are told.

mod breaker;
mod browser;
mod compose;
mod dry_run;
mod guard;
mod plan;
mod recipients;
mod recovery;
mod reports;
mod stop;
mod tally;
mod workers;

pub use browser::{DigestPages, browser_url, digest_pages};
pub use compose::message_id;
pub use plan::{Action, NewDigest, PlanInput, PlannedDelivery, SendPlan, SkipReason, Window};
pub use tally::{DeliveryIncomplete, Tally};

use super::{Output, SendRequest, SourceFailures, setup};
use crate::config::{Config, DigestConfig};
use crate::digest;
use crate::i18n;
use crate::model::{Corpus, Subscriber};
use crate::state::{self, Ledger, State};
use crate::{source, subscribers};
use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset};
use compose::{Composer, Renderer};
use reports::Reports;
use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use stop::Stop;
use workers::{Event, Job, Row, Settled, Slot};

/// The stories a send reads: the article sources, and the feed sources as
/// the last `build` stored them (`send` never fetches). In a real send it
/// loads while the ledger is prepared (see [`send`]).
fn load_corpus(config: &Config, now: DateTime<FixedOffset>) -> Result<Corpus> {
    let feed_articles = super::feeds::gather(
        config,
        super::feeds::Mode::CacheOnly,
        SourceFailures::Tolerate,
        now,
    )?;
    let rules = setup::ImportRules::default();
    Ok(source::load(config, feed_articles, rules.for_sources(config)?)?.into_published(now))
}

fn locale_keys(config: &Config) -> Vec<&str> {
    config.locales.iter().map(|l| l.key.as_str()).collect()
}

/// The subscriber file for a dry run, read whole (a preview writes every
/// message anyway), with each skipped row warned about with its line.
fn dry_run_list(config: &Config, digest: &DigestConfig) -> Result<Vec<Subscriber>> {
    let list = subscribers::load(&digest.subscribers, &locale_keys(config))?;
    for row in &list.skipped {
        tracing::warn!(
            "{}:{}: {}; row skipped",
            digest.subscribers.display(),
            row.line,
            row.reason
        );
    }
    Ok(list.subscribers)
}

/// Runs `gazette send`.
pub fn send(
    config: &Config,
    now: DateTime<FixedOffset>,
    request: &SendRequest,
    output: Output,
) -> Result<()> {
    let digest_config = config.digest.as_ref().ok_or_else(|| {
        anyhow!(
            "{} has no [digest] section; add one (see README) to send digests",
            config.path.display()
        )
    })?;
    let secret = setup::unsubscribe_secret(digest_config)?;
    let dkim = setup::dkim_signer(config)?;
    if let Some(signer) = &dkim {
        tracing::info!(
            "signing digests with DKIM: d={} s={}",
            signer.domain(),
            signer.selector(),
        );
    }
    let catalog = i18n::load(config)?;
    let templates = digest::load_templates(&digest_config.templates_dir)?;
    let renderer = || Renderer {
        config,
        digest: digest_config,
        catalog: &catalog,
        templates: &templates,
        now,
    };
    let envelope_from = digest_config.from_address.as_str();
    let window = Window {
        first: digest_config.first_window,
        now,
    };

    if let Some(dir) = &request.dry_run {
        let mut corpus = load_corpus(config, now)?;
        let mut composer = Composer::new(renderer(), &mut corpus, secret, dkim.as_ref());
        let dir = config.root.join(dir);
        let state = State::open_read_only(&config.state)?;
        // Read only: the file is merged as the real send would, not stored.
        let stored = match &state {
            Some(state) => state.list_overrides()?,
            None => Vec::new(),
        };
        let readers = subscribers::merge(
            dry_run_list(config, digest_config)?,
            &stored,
            &locale_keys(config),
        );
        let input = PlanInput::read(state.as_ref(), &readers, composer.corpus, window)?;
        let plan = input.plan(&readers);
        let written = dry_run::write(&plan, &mut composer, state.as_ref(), envelope_from, &dir)?;
        if output.is_normal() {
            println!(
                "dry run: {written} messages written to {}; nothing was sent or recorded",
                dir.display()
            );
        }
        return Ok(());
    }

    let mut lock = state::lock(&config.state, request.role)?;
    let mut state = State::open(&config.state)?;
    state.set_worker(lock.worker());
    let mut tally = Tally::default();
    // One sender at a time from here until the new digest is recorded,
    // so that workers starting together create it once.
    let planning = lock.planning()?;
    // The stories load (on every core) while this thread settles what an
    // interrupted run left and merges the editor's file into the list,
    // which need none of them: on a large site that is most of the time
    // before the first message. A content error still stops the send
    // before anything is recorded for a digest; the list is merged by
    // then, as a later run would merge it.
    let (corpus, merged) = std::thread::scope(|scope| {
        let loading = scope.spawn(|| load_corpus(config, now));
        let merged = (|| {
            guard::check(config, &state, request.new_state, now)?;
            tally.unknown += recovery::recover(&state, request, now)?;
            // The editor's file into the list; the list as stored (with
            // readers' own choices and sign-ups) is who this digest goes to.
            recipients::merge_file(config, digest_config, &state, now)
        })();
        let corpus = loading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (corpus, merged)
    });
    let mut corpus = corpus?;
    let merged = merged?;
    tally.skipped = merged.skipped;
    recipients::warn_unknown_topics(config, digest_config, merged, &corpus)?;
    let mut composer = Composer::new(renderer(), &mut corpus, secret, dkim.as_ref());
    let suppressed = state.suppressed_addresses()?;
    let recorded =
        recipients::record_new_digest(config, &state, composer.corpus, window, &suppressed)?;
    if let Some((id, story_ids, counts)) = recorded {
        tally.nothing_for = counts.nothing_for;
        tally.suppressed += counts.suppressed;
        tracing::info!(
            "digest {id}: {} new {} for {} {}",
            story_ids.len(),
            if story_ids.len() == 1 {
                "story"
            } else {
                "stories"
            },
            counts.recipients,
            if counts.recipients == 1 {
                "subscriber"
            } else {
                "subscribers"
            }
        );
        composer.know_digest(&id, story_ids);
    }
    drop(planning);

    let due = state.due_count(now)?;
    if due == 0 {
        if output.is_normal() {
            println!("nothing new to send");
        }
        return finish(&state, &tally, output);
    }
    let run = Run {
        config,
        state: &state,
        composer: &mut composer,
        envelope_from,
        output,
        now,
    };
    let stopped = run.deliver(&suppressed, due, &mut tally)?;
    let finished = finish(&state, &tally, output);
    match stopped {
        None => finished,
        // Exit 5 (delivery incomplete) even when everything that went out
        // was delivered: the rest waits for the next run.
        Some(signal) => {
            let incomplete = finished.err().unwrap_or_else(|| {
                DeliveryIncomplete(format!("not every digest was delivered ({tally})")).into()
            });
            Err(incomplete.context(format!(
                "stopped by {signal}: no new messages were started; {} left for the next run",
                tally.left
            )))
        }
    }
}

/// The summary, with what the ledger still holds back.
fn finish(state: &State, tally: &Tally, output: Output) -> Result<()> {
    let unknown = state.unknown_deliveries()?;
    let left = tally::Left {
        unknown: &unknown,
        waiting: state.waiting()?,
    };
    tally::finish(tally, &left, output)
}

/// One send's delivery phase: the ledger's due rows through the worker pool.
struct Run<'r, 'c> {
    config: &'r Config,
    state: &'r State,
    composer: &'r mut Composer<'c>,
    envelope_from: &'r str,
    output: Output,
    now: DateTime<FixedOffset>,
}

/// The main loop's view of the pool: the events coming back and each
/// worker's slot.
struct Crew<'p> {
    events: mpsc::Receiver<Event>,
    reports: Arc<Reports>,
    slots: Vec<Arc<Mutex<Slot>>>,
    /// Workers that said they stopped.
    finished: Vec<bool>,
    ledger: Ledger,
    stop: Arc<Stop>,
    progress: &'p indicatif::ProgressBar,
    first_error: Option<anyhow::Error>,
    /// The rows offered to the workers that have not reported yet: a later
    /// pass over the ledger finds them still due (queued, or claimed and
    /// not yet committed) and must not offer them again. At most the queue
    /// and what the workers hold.
    held: HashSet<Row>,
}

impl Crew<'_> {
    /// Counts one event; a worker's error is kept as the run's first.
    fn handle(&mut self, tally: &mut Tally, event: Event) {
        match event {
            Event::Report(Ok((row, settled))) => {
                self.held.remove(&row);
                let email = row.email;
                match settled {
                    Settled::Outcome(outcome) => {
                        tally.count(&email, &outcome);
                        self.say_if_refused(tally);
                    }
                    Settled::Suppressed => {
                        tracing::info!("{email}: suppressed during the run; not sent");
                        tally.suppressed += 1;
                    }
                    Settled::Released => return,
                }
                self.progress.inc(1);
            }
            Event::Report(Err(error)) => {
                self.first_error.get_or_insert(error);
            }
            Event::Done(index) => {
                if let Some(finished) = self.finished.get_mut(index) {
                    *finished = true;
                }
            }
            Event::Stop | Event::Room => {}
        }
    }

    /// Counts the reports the workers left since the last time.
    fn take_reports(&mut self, tally: &mut Tally) {
        for report in self.reports.take() {
            self.handle(tally, Event::Report(report));
        }
    }

    /// Once a worker found the relay refusing everyone (and halted the
    /// workers: see [`breaker`]), stops queueing and says why, once:
    /// untouched rows stay due and go out with the next run, and so do the
    /// jobs already queued.
    fn say_if_refused(&mut self, tally: &mut Tally) {
        if tally.relay_refused || !self.stop.halted() {
            return;
        }
        tally.relay_refused = true;
        tracing::warn!(
            "the relay deferred {} messages in a row; stopping, the rest is left for the next run",
            breaker::STOP_AFTER_DEFERRALS_IN_A_ROW,
        );
    }

    /// Whether the row was offered to the workers and has not reported.
    fn holds(&self, digest_id: &str, email: &str) -> bool {
        self.held.contains(&Row {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        })
    }

    /// A row the producer settled itself.
    fn settled_here(&mut self) {
        self.progress.inc(1);
    }

    /// When stopping: releases the row of every worker stuck before its
    /// point of no return and stops waiting for it (it may sit in a read
    /// from a silent relay for minutes; it ends with the process). Workers
    /// with a message in flight are waited for.
    fn abandon_stuck(&mut self) {
        for (slot, finished) in self.slots.iter().zip(&self.finished) {
            if *finished {
                continue;
            }
            let mut slot = workers::lock(slot);
            match &*slot {
                Slot::Claimed(rows) => {
                    for row in rows {
                        self.ledger
                            .release(row.digest_id.clone(), row.email.clone());
                    }
                    *slot = Slot::Abandoned;
                }
                Slot::Idle => *slot = Slot::Abandoned,
                Slot::InFlight | Slot::Abandoned => {}
            }
        }
    }

    /// Whether every worker has stopped or been left behind.
    fn all_stopped(&self) -> bool {
        self.slots
            .iter()
            .zip(&self.finished)
            .all(|(slot, finished)| *finished || *workers::lock(slot) == Slot::Abandoned)
    }

    /// Waits for the workers to finish what they hold (or, when stopping,
    /// for the messages in flight), counting their reports.
    fn wind_down(&mut self, tally: &mut Tally) {
        loop {
            // Before the slots are read: a worker reports before its slot
            // moves on.
            self.take_reports(tally);
            if self.stop.asked() {
                self.abandon_stuck();
            }
            if self.all_stopped() {
                break;
            }
            match self.events.recv() {
                Ok(event) => {
                    self.take_reports(tally);
                    self.handle(tally, event);
                }
                Err(_) => break,
            }
        }
        // Reports made before a slot was left behind.
        while let Ok(event) = self.events.try_recv() {
            self.handle(tally, event);
        }
        self.take_reports(tally);
    }
}

impl Run<'_, '_> {
    /// Sends every row the ledger has due (`due` of them when the run
    /// began, for the progress bar), skipping `suppressed` addresses,
    /// counting into `tally`. Returns the signal's name when SIGTERM or
    /// SIGINT stopped it early.
    fn deliver(
        mut self,
        suppressed: &HashSet<String>,
        due: u64,
        tally: &mut Tally,
    ) -> Result<Option<&'static str>> {
        let progress = if self.output.is_normal() {
            indicatif::ProgressBar::new(due)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let transports = setup::transports(&self.config.delivery)?;
        let mut writer_state = State::open(&self.config.state)?;
        writer_state.set_worker(self.state.worker());
        let (ledger, ledger_writer) = state::ledger_writer(writer_state, self.now);
        let watch = ledger_writer.watch();
        let writer = std::thread::spawn(move || ledger_writer.run());
        let (event_tx, events) = mpsc::channel::<Event>();
        let stop = Arc::new(Stop::default());
        let wake = event_tx.clone();
        let _watcher = stop::watch(Arc::clone(&stop), move || {
            let _ = wake.send(Event::Stop);
        })?;
        // Under a rate limit there is time to spare: nothing is claimed ahead.
        let claim_ahead = if transports.limiter.is_unlimited() {
            transports.claim_ahead
        } else {
            0
        };
        // Room for every worker to claim its next jobs ahead, and one more each.
        let capacity = transports.connections.len() * (claim_ahead + 1);
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(capacity);
        let reports = Arc::new(Reports::new(capacity, event_tx.clone()));
        // Shared by the workers only: when the last one stops, the queue
        // closes and the producer below stops instead of waiting for a taker.
        let job_rx = Arc::new(Mutex::new(job_rx));
        let limiter = Arc::new(transports.limiter);
        let mut slots = Vec::with_capacity(transports.connections.len());
        let breaker = Arc::new(breaker::Breaker::default());
        // Not scoped threads: a worker stuck in a read from a silent relay
        // must not keep a stopped run from ending (see `Crew::abandon_stuck`).
        for (index, transport) in transports.connections.into_iter().enumerate() {
            let slot = Arc::new(Mutex::new(Slot::Idle));
            // A connection of its own, so that looking up a suppression
            // never waits behind the writer's commits.
            let suppressions = if claim_ahead > 0 {
                Some(State::open(&self.config.state)?)
            } else {
                None
            };
            let shared = workers::Shared {
                index,
                jobs: Arc::clone(&job_rx),
                ledger: ledger.clone(),
                limiter: Arc::clone(&limiter),
                events: event_tx.clone(),
                reports: Arc::clone(&reports),
                stop: Arc::clone(&stop),
                slot: Arc::clone(&slot),
                claim_ahead,
                suppressions,
                watch: watch.clone(),
                breaker: Arc::clone(&breaker),
            };
            std::thread::spawn(move || workers::work(transport, shared));
            slots.push(slot);
        }
        drop((job_rx, event_tx));
        let mut crew = Crew {
            events,
            reports,
            finished: vec![false; slots.len()],
            slots,
            ledger,
            stop,
            progress: &progress,
            first_error: None,
            held: HashSet::new(),
        };

        // The queue closes when `queue` returns, so the workers finish
        // what they hold and stop.
        if let Err(error) = self.queue(suppressed, tally, job_tx, &mut crew) {
            crew.first_error.get_or_insert(error);
        }
        crew.wind_down(tally);
        progress.finish_and_clear();
        let stopped = crew.stop.signal_name();
        let Crew {
            ledger,
            slots,
            finished,
            first_error,
            ..
        } = crew;
        let left_behind = finished.iter().filter(|f| !**f).count();
        // Every outcome and release queued so far is committed when this
        // returns. When no worker was left behind, the writer also ends
        // (every handle is gone) and says how it went.
        let recorded = ledger.flush();
        drop((ledger, slots));
        // Rows reserved and never claimed go back to the pool; what is
        // still due is what the next run (or another worker) has left.
        let recorded = recorded
            .and_then(|()| self.state.release_reserved().map(|_| ()))
            .and_then(|()| {
                if stopped.is_some() || tally.relay_refused {
                    tally.left = self.state.due_count(self.now)?;
                }
                Ok(())
            });
        let recorded = if left_behind == 0 {
            match writer.join() {
                Ok(result) => recorded.and(result),
                Err(_) => Err(anyhow!("the ledger writer panicked")),
            }
        } else {
            recorded
        };
        match first_error.or(recorded.err()) {
            Some(error) => Err(error),
            None => Ok(stopped),
        }
    }

    /// Feeds the ledger's due rows to the workers, in batches of
    /// [`BATCH`] per digest (on PostgreSQL reserved for this worker, so
    /// workers sharing the ledger never queue the same row), settling
    /// skipped rows itself, and stops early when the relay refuses everyone
    /// or a stop is asked. When a pass finds nothing more, the rows of
    /// workers that died meanwhile are recovered and one more pass takes
    /// what they left due.
    fn queue(
        &mut self,
        suppressed: &HashSet<String>,
        tally: &mut Tally,
        jobs: mpsc::SyncSender<Job>,
        crew: &mut Crew<'_>,
    ) -> Result<()> {
        let digests = self.state.due_digest_ids(self.now)?;
        let mut pass = 0;
        loop {
            let mut found = false;
            for digest_id in &digests {
                let mut after = String::new();
                loop {
                    // A pass meets each row once, so only a later one can
                    // find rows it offered (on SQLite, which reserves
                    // nothing, every row still queued or in flight). Reports
                    // are taken before the read: a row reported by then has
                    // its outcome queued, and is `sending` until it commits.
                    if pass > 0 {
                        crew.take_reports(tally);
                    }
                    let batch = self.state.next_due(digest_id, &after, BATCH, self.now)?;
                    let Some((_, last)) = batch.last() else {
                        break;
                    };
                    after = last.clone();
                    let batch = if pass == 0 {
                        batch
                    } else {
                        batch
                            .into_iter()
                            .filter(|(digest_id, email)| !crew.holds(digest_id, email))
                            .collect()
                    };
                    found |= !batch.is_empty();
                    let actions = recipients::actions(self.config, self.state, &batch, suppressed)?;
                    for ((digest_id, email), action) in batch.iter().zip(&actions) {
                        if self.offer(digest_id, email, action.as_action(), tally, &jobs, crew)?
                            == Next::Stop
                        {
                            return Ok(());
                        }
                    }
                }
            }
            tally.unknown += self.state.recover_interrupted(self.now)?;
            if !found {
                return Ok(());
            }
            pass += 1;
        }
    }

    /// Sends (or settles) one planned row; [`Next::Stop`] when the run
    /// must stop queueing.
    fn offer(
        &mut self,
        digest_id: &str,
        email: &str,
        action: Action<'_>,
        tally: &mut Tally,
        jobs: &mpsc::SyncSender<Job>,
        crew: &mut Crew<'_>,
    ) -> Result<Next> {
        if crew.stop.asked() {
            return Ok(Next::Stop);
        }
        let return_path = self
            .config
            .digest
            .as_ref()
            .and_then(|d| d.return_path.as_deref());
        // A suppression that lands after planning is caught by the
        // row's claim, which answers `Suppressed` (see `workers`).
        let subscriber = match action {
            Action::Send(subscriber) => subscriber,
            Action::Skip(reason) => {
                self.state
                    .fail_unsent(digest_id, email, reason.ledger_text(), self.now)?;
                match reason {
                    SkipReason::NotInList => tally.skipped += 1,
                    SkipReason::Suppressed => tally.suppressed += 1,
                }
                crew.settled_here();
                return Ok(Next::Go);
            }
        };
        let message = match self
            .composer
            .message(Some(self.state), digest_id, subscriber)
        {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!("{email}: cannot build the message: {error:#}");
                let reason = format!("cannot build the message: {error:#}");
                self.state
                    .fail_unsent(digest_id, email, &reason, self.now)?;
                tally.failed += 1;
                crew.settled_here();
                return Ok(Next::Go);
            }
        };
        let envelope_from = match return_path {
            Some(return_path) => {
                crate::verp::address(return_path, &self.composer.secret, digest_id, email)
            }
            None => self.envelope_from.to_owned(),
        };
        let mut job = Job {
            digest_id: digest_id.to_owned(),
            ledger_email: email.to_owned(),
            recipient: subscriber.email.clone(),
            envelope_from,
            message,
        };
        let row = Row::of(&job);
        // While the queue is full, sleep until it is at half (see
        // `reports`); a stop, an error or a worker that stops wakes us too.
        loop {
            crew.reports.offering();
            match jobs.try_send(job) {
                Ok(()) => {
                    crew.held.insert(row);
                    break;
                }
                Err(mpsc::TrySendError::Full(back)) => {
                    crew.reports.not_offered();
                    job = back;
                    if crew.reports.wait_for_room() {
                        // Workers that stop on a signal hang up: that is
                        // the stop, not a failure.
                        let Ok(event) = crew.events.recv() else {
                            return stopped_or(&crew.stop).map(|()| Next::Stop);
                        };
                        crew.take_reports(tally);
                        crew.handle(tally, event);
                    }
                    if crew.stop.asked() {
                        return Ok(Next::Stop);
                    }
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    crew.reports.not_offered();
                    return stopped_or(&crew.stop).map(|()| Next::Stop);
                }
            }
        }
        while let Ok(event) = crew.events.try_recv() {
            crew.handle(tally, event);
        }
        crew.take_reports(tally);
        if let Some(error) = crew.first_error.take() {
            return Err(error);
        }
        if tally.relay_refused {
            return Ok(Next::Stop);
        }
        Ok(Next::Go)
    }
}

/// Whether [`Run::queue`] goes on after a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Go,
    Stop,
}

/// Due rows read (and, on PostgreSQL, reserved) per query: enough to
/// keep the connections busy between queries, few enough that a worker
/// that dies strands little until another recovers it.
const BATCH: u32 = 200;

/// Ok when the workers are gone because a stop was asked or the relay
/// refused everyone (they halt themselves); an error otherwise.
fn stopped_or(stop: &Stop) -> Result<()> {
    if !stop.takes_new() {
        Ok(())
    } else {
        Err(anyhow!("every delivery worker stopped"))
    }
}

#[cfg(test)]
mod tests;

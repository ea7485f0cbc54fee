//! `gazette send`: the order of stages for delivering digests. Creates at
//! most one new digest per run (the stories no earlier digest held),
//! records a ledger row per recipient before anything leaves, marks each
//! row `sending` (durably, through the ledger's group commit) before its
//! message passes the transport's point of no return, and records the
//! relay's answer as it comes back.
//!
//! Policy lives here; the ledger (`state`), rendering (`digest`) and
//! transports (`deliver`) only do what they are told.

use crate::config::{Config, DigestConfig, SmtpSecurity, TransportKind};
use crate::deliver::{
    self, DkimSigner, EncodedBody, FileOutbox, RateLimiter, Security, SmtpSettings, SmtpTransport,
    Transport,
};
use crate::digest::{self, DigestSettings, RenderedDigest, Templates, Untranslated};
use crate::i18n::{self, Catalog};
use crate::model::{Corpus, DeliveryOutcome, Email, Subscriber};
use crate::state::{self, Delivery, State};
use crate::{source, subscribers, unsubscribe};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Raised when some digests were not delivered in this run (failed,
/// deferred or of unknown fate); the summary has already been printed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryIncomplete(pub String);

/// What `send` was asked to do.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Render every message into this folder as `.eml`; send and record nothing.
    pub dry_run: Option<PathBuf>,
    /// Resend deliveries whose fate is unknown, on purpose.
    pub retry_unknown: bool,
    pub quiet: bool,
}

/// Tallies for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub unknown: u64,
    pub skipped: u64,
    pub suppressed: u64,
    /// Due deliveries not attempted because the run stopped early; still pending.
    pub left: u64,
}

/// Stop a run after this many deferrals in a row (relay down or refusing all).
const STOP_AFTER_DEFERRALS_IN_A_ROW: u64 = 10;
/// Problems logged one by one before the log only counts them.
const WARNINGS_LISTED: u64 = 20;

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {}, deferred {}, failed {}, unknown {}, skipped {}, suppressed {}",
            self.sent, self.deferred, self.failed, self.unknown, self.skipped, self.suppressed
        )?;
        if self.left > 0 {
            write!(f, ", left for the next run {}", self.left)?;
        }
        Ok(())
    }
}

/// One message on its way to a transport.
struct Job {
    digest_id: String,
    ledger_email: String,
    recipient: String,
    message: Vec<u8>,
}

/// Everything needed to turn a ledger row into a message.
struct Composer<'a> {
    config: &'a Config,
    digest: &'a DigestConfig,
    corpus: &'a mut Corpus,
    catalog: &'a Catalog,
    templates: &'a Templates,
    secret: Vec<u8>,
    now: DateTime<FixedOffset>,
    prepared: HashMap<(String, String, Vec<String>), Prepared>,
    story_ids: HashMap<String, Vec<String>>,
}

/// A digest for one (locale, topics), ready for any of its subscribers.
struct Prepared {
    subject: String,
    /// The body encoded once; each message fills in its own values.
    body: EncodedBody,
}

impl Composer<'_> {
    /// The message bytes of `digest_id` for `subscriber`: the digest
    /// rendered and encoded once per (digest, locale, topics), then only
    /// the headers and the subscriber's values per message.
    fn message(
        &mut self,
        state: Option<&State>,
        digest_id: &str,
        subscriber: &Subscriber,
        dkim: Option<&DkimSigner>,
    ) -> Result<Vec<u8>> {
        self.prepare(state, digest_id, subscriber)?;
        let (email, body) = self.compose(digest_id, subscriber)?;
        deliver::build_message(&email, body, dkim)
    }

    /// Renders the digest `subscriber` gets from `digest_id`, unless done.
    fn prepare(
        &mut self,
        state: Option<&State>,
        digest_id: &str,
        subscriber: &Subscriber,
    ) -> Result<()> {
        let key = (
            digest_id.to_owned(),
            subscriber.locale.clone(),
            subscriber.topics.clone(),
        );
        if self.prepared.contains_key(&key) {
            return Ok(());
        }
        let ids = match self.story_ids.get(digest_id) {
            Some(ids) => ids.clone(),
            None => {
                let ids = match state {
                    Some(state) => state.digest_story_ids(digest_id)?,
                    None => Vec::new(),
                };
                self.story_ids.insert(digest_id.to_owned(), ids.clone());
                ids
            }
        };
        let rendered = render_digest(
            self.config,
            self.digest,
            self.corpus,
            self.catalog,
            self.templates,
            digest_id,
            &ids,
            &subscriber.locale,
            &subscriber.topics,
            self.now,
        )?;
        let prepared = Prepared {
            body: EncodedBody::new(&digest::body_template(&rendered)),
            subject: rendered.subject,
        };
        self.prepared.insert(key, prepared);
        Ok(())
    }

    /// The message for `subscriber` and the body it fills in, from the
    /// digest [`Composer::prepare`] made: it can run on many threads at once.
    fn compose(&self, digest_id: &str, subscriber: &Subscriber) -> Result<(Email, &EncodedBody)> {
        let key = (
            digest_id.to_owned(),
            subscriber.locale.clone(),
            subscriber.topics.clone(),
        );
        let prepared = self
            .prepared
            .get(&key)
            .ok_or_else(|| anyhow!("digest {digest_id} was not rendered"))?;
        let unsubscribe_url = unsubscribe::url(
            &self.digest.unsubscribe_url,
            &self.secret,
            &subscriber.email,
        );
        let email = Email {
            from: self.digest.from.clone(),
            reply_to: self.digest.reply_to.clone(),
            to_name: subscriber.name.clone(),
            to_email: subscriber.email.clone(),
            subject: prepared.subject.clone(),
            personal: digest::personal(&subscriber.name, unsubscribe_url.as_str()),
            message_id: message_id(digest_id, &subscriber.email, &self.digest.from_domain),
            list_id: list_id(self.digest),
            unsubscribe_url: unsubscribe_url.to_string(),
            unsubscribe_mailto: format!(
                "mailto:{}?subject=unsubscribe",
                self.digest.unsubscribe_mailto
            ),
            date: self.now,
        };
        Ok((email, &prepared.body))
    }
}

/// Renders one digest for one locale and topic set.
#[allow(clippy::too_many_arguments)]
fn render_digest(
    config: &Config,
    digest_config: &DigestConfig,
    corpus: &mut Corpus,
    catalog: &Catalog,
    templates: &Templates,
    digest_id: &str,
    story_ids: &[String],
    locale_key: &str,
    topics: &[String],
    now: DateTime<FixedOffset>,
) -> Result<RenderedDigest> {
    let locale = config
        .locale(locale_key)
        .ok_or_else(|| anyhow!("locale `{locale_key}` is not configured"))?;
    let localizer = catalog.localizer(locale_key)?;
    let browser_url = browser_url(config, locale_key, digest_id)?;
    let settings = DigestSettings {
        site_url: &locale.home_url,
        max_items: digest_config.max_items,
        untranslated: match digest_config.untranslated {
            crate::config::UntranslatedMode::Label => Untranslated::Label,
            crate::config::UntranslatedMode::Skip => Untranslated::Skip,
        },
        postal_address: &digest_config.postal_address,
        browser_url,
        words_per_minute: 230,
        cjk_chars_per_minute: 400,
    };
    // Only the stories this digest shows need their bodies rendered.
    let shown: source::Selection = digest::shown_versions(
        corpus,
        story_ids,
        locale,
        topics,
        settings.untranslated,
        settings.max_items,
        now,
    )
    .into_iter()
    .collect();
    source::render_selected(corpus, &shown)?;
    let corpus = &*corpus;
    let view = digest::digest_view(corpus, story_ids, locale, topics, localizer, &settings, now)
        .with_context(|| format!("cannot prepare digest {digest_id} for locale `{locale_key}`"))?;
    digest::render(templates, &view, localizer)
        .with_context(|| format!("cannot render digest {digest_id} for locale `{locale_key}`"))
}

/// Where `build` publishes the web copy of a digest ("view in browser").
pub fn browser_url(config: &Config, locale_key: &str, digest_id: &str) -> Result<url::Url> {
    config
        .feeds
        .url
        .join(&format!("{locale_key}/digest/{digest_id}.html"))
        .with_context(|| format!("cannot build the web address of digest {digest_id}"))
}

/// `<digest.hash@domain>`: the same for the same digest and subscriber, so
/// a resend on purpose is recognisable as the same message.
fn message_id(digest_id: &str, email: &str, domain: &str) -> String {
    let hash = Sha256::digest(email.to_lowercase().as_bytes());
    let short: String = hash.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("<digest.{digest_id}.{short}@{domain}>")
}

/// `List-Id`: the sender's name and a list identifier on its domain.
fn list_id(digest: &DigestConfig) -> String {
    let name = digest
        .from
        .split('<')
        .next()
        .map(|n| n.trim().trim_matches('"'))
        .filter(|n| !n.is_empty())
        .unwrap_or("Digest");
    format!("{name} <digest.{}>", digest.from_domain)
}

/// The DKIM signer config loaded (once per run), if `[digest.dkim]` is set.
fn dkim_signer(digest_config: &DigestConfig) -> Option<&DkimSigner> {
    let settings = digest_config.dkim.as_ref()?;
    tracing::info!(
        "signing digests with DKIM: d={} s={} (key from {})",
        settings.signer.domain(),
        settings.signer.selector(),
        settings.private_key.display()
    );
    Some(settings.signer.as_ref())
}

/// The bare address of `Name <addr>`.
fn envelope_address(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim().to_owned(),
        _ => from.trim().to_owned(),
    }
}

/// Stories no earlier digest held, newest first (tie-break by id).
fn new_story_ids(corpus: &Corpus, included: &BTreeSet<String>) -> Vec<String> {
    let mut fresh: Vec<(DateTime<FixedOffset>, &str)> = corpus
        .stories
        .iter()
        .filter(|story| !included.contains(&story.id))
        .filter_map(|story| {
            story
                .translations
                .values()
                .map(|a| a.date)
                .max()
                .map(|d| (d, story.id.as_str()))
        })
        .collect();
    fresh.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    fresh.into_iter().map(|(_, id)| id.to_owned()).collect()
}

/// True when `subscriber` wants at least one of `story_ids` (no topics: all).
fn wants_any(subscriber: &Subscriber, corpus: &Corpus, story_ids: &[String]) -> bool {
    if subscriber.topics.is_empty() {
        return !story_ids.is_empty();
    }
    corpus
        .stories
        .iter()
        .filter(|s| story_ids.contains(&s.id))
        .flat_map(|s| s.translations.values())
        .any(|a| a.tags.iter().any(|t| subscriber.topics.contains(t)))
}

/// The first free digest id for `now`'s date: `2026-11-29`, then `2026-11-29-2`, …
fn next_digest_id(state: Option<&State>, now: DateTime<FixedOffset>) -> Result<String> {
    let date = now.format("%Y-%m-%d").to_string();
    let Some(state) = state else { return Ok(date) };
    let mut candidate = date.clone();
    let mut n = 2;
    while state.digest_exists(&candidate)? {
        candidate = format!("{date}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Runs `gazette send`.
pub fn send(config: &Config, now: DateTime<FixedOffset>, options: &SendOptions) -> Result<()> {
    let digest_config = config.digest.as_ref().ok_or_else(|| {
        anyhow!(
            "{} has no [digest] section; add one (see README) to send digests",
            config.path.display()
        )
    })?;
    let secret = std::env::var(&digest_config.unsubscribe_secret_env)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "the environment variable {} is not set; it holds the secret that signs unsubscribe links (any long random string, kept the same between runs)",
                digest_config.unsubscribe_secret_env
            )
        })?
        .into_bytes();
    let locale_keys: Vec<&str> = config.locales.iter().map(|l| l.key.as_str()).collect();
    let list = subscribers::load(&digest_config.subscribers, &locale_keys)?;
    for row in &list.skipped {
        tracing::warn!(
            "{}:{}: {}; row skipped",
            digest_config.subscribers.display(),
            row.line,
            row.reason
        );
    }
    // Feed sources: what the last `build` stored; `send` never fetches.
    let feed_articles = super::feeds::gather(config, super::feeds::Mode::CacheOnly, false, now)?;
    let mut corpus = source::load(config, feed_articles)?.into_published(now);
    let catalog = i18n::load(config)?;
    let templates = digest::load_templates(&digest_config.templates_dir)?;

    let mut tally = Tally {
        skipped: list.skipped.len() as u64,
        ..Tally::default()
    };
    let by_email: HashMap<String, &Subscriber> = list
        .subscribers
        .iter()
        .map(|s| (s.email.to_lowercase(), s))
        .collect();

    if let Some(dir) = &options.dry_run {
        return dry_run(
            config,
            digest_config,
            &mut corpus,
            &catalog,
            &templates,
            secret,
            &list.subscribers,
            now,
            dir,
            options.quiet,
        );
    }

    let _lock = state::lock(&config.state_path)?;
    let mut state = State::open(&config.state_path)?;
    let interrupted = state.recover_interrupted(now)?;
    tally.unknown += interrupted;
    if interrupted > 0 {
        tracing::warn!(
            "{interrupted} deliveries were interrupted by a crash after they started; their fate is unknown and they are not resent (see `send --retry-unknown`)"
        );
    }
    if options.retry_unknown {
        let requeued = state.requeue_unknown(now)?;
        tracing::info!("{requeued} deliveries of unknown fate queued again on purpose");
    }

    let fresh = new_story_ids(&corpus, &state.included_story_ids()?);
    if !fresh.is_empty() {
        let id = next_digest_id(Some(&state), now)?;
        let mut recipients: Vec<(String, String)> = Vec::new();
        for subscriber in list
            .subscribers
            .iter()
            .filter(|s| wants_any(s, &corpus, &fresh))
        {
            if state.is_suppressed(&subscriber.email)? {
                tally.suppressed += 1;
            } else {
                recipients.push((subscriber.email.to_lowercase(), subscriber.locale.clone()));
            }
        }
        state.create_digest(&id, now, &fresh, &recipients)?;
        tracing::info!(
            "digest {id}: {} new stories for {} subscribers",
            fresh.len(),
            recipients.len()
        );
    }

    let due = state.due_deliveries(now)?;
    if due.is_empty() {
        let unknown = state.unknown_deliveries()?;
        if !options.quiet {
            println!("nothing new to send");
        }
        return finish(tally, &unknown, options.quiet);
    }

    let mut composer = Composer {
        config,
        digest: digest_config,
        corpus: &mut corpus,
        catalog: &catalog,
        templates: &templates,
        secret,
        now,
        prepared: HashMap::new(),
        story_ids: HashMap::new(),
    };
    let progress = if options.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(due.len() as u64)
    };
    let envelope_from = envelope_address(&digest_config.from);
    let dkim = dkim_signer(digest_config);
    let (workers, limiter) = transports(config)?;
    // All ledger writes of the workers go through one writer thread that
    // commits whatever arrives together in one transaction (group commit):
    // with N connections, N claims share an fsync. A worker claims its row
    // when it takes the message, and sends the message only once the claim
    // is durable; the relay's answers to MAIL, RCPT and DATA arrive
    // meanwhile. So a row is `sending` just before its message leaves,
    // never while it waits in a queue (a kill then would wrongly leave it
    // "unknown").
    let (ledger, ledger_writer) = state::ledger_writer(State::open(&config.state_path)?, now);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers.len());
    // Shared by the workers only: when the last one stops, the queue
    // closes and the loop below ends instead of waiting for a taker.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (result_tx, result_rx) = mpsc::channel::<Result<(String, DeliveryOutcome)>>();

    let outcome: Result<()> = std::thread::scope(|scope| {
        let writer = scope.spawn(move || ledger_writer.run());
        for mut transport in workers {
            let job_rx = Arc::clone(&job_rx);
            let result_tx = result_tx.clone();
            let limiter = &limiter;
            let envelope_from = &envelope_from;
            let ledger = ledger.clone();
            scope.spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv().ok(),
                        Err(_) => None,
                    };
                    let Some(job) = job else { break };
                    limiter.wait();
                    let mut claim = Some(ledger.claim(&job.digest_id, &job.ledger_email));
                    let mut claimed: Option<Result<()>> = None;
                    let mut wait_for_claim = || {
                        if let Some(claim) = claim.take() {
                            claimed = Some(claim.wait());
                        }
                        matches!(claimed, Some(Ok(())))
                    };
                    let outcome = transport.send_when(
                        envelope_from,
                        &job.recipient,
                        &job.message,
                        &mut wait_for_claim,
                    );
                    // A transport that failed before its point of no return
                    // never asked; the row is ours only if the claim held.
                    wait_for_claim();
                    let outcome = match (claimed, outcome) {
                        (Some(Ok(())), Some(outcome)) => outcome,
                        (Some(Err(error)), _) => {
                            let _ = result_tx.send(Err(error));
                            break;
                        }
                        _ => {
                            let _ = result_tx.send(Err(anyhow!(
                                "the delivery of digest `{}` to {} was abandoned without a reason",
                                job.digest_id,
                                job.ledger_email
                            )));
                            break;
                        }
                    };
                    ledger.record(job.digest_id, job.ledger_email.clone(), outcome.clone());
                    if result_tx.send(Ok((job.ledger_email, outcome))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(ledger);
        drop(job_rx);
        drop(result_tx);
        // Deferrals in a row since the last message that went out.
        let streak = std::cell::Cell::new(0u64);
        let count = |tally: &mut Tally, result: Result<(String, DeliveryOutcome)>| -> Result<()> {
            let (email, outcome) = result?;
            let problems = tally.deferred + tally.failed + tally.unknown;
            let noisy = problems < WARNINGS_LISTED;
            if problems == WARNINGS_LISTED && !matches!(outcome, DeliveryOutcome::Sent) {
                tracing::warn!("further problems are not listed one by one; see the summary");
            }
            match &outcome {
                DeliveryOutcome::Sent => {
                    tally.sent += 1;
                    streak.set(0);
                }
                DeliveryOutcome::Deferred(reason) => {
                    if noisy {
                        tracing::warn!("{email}: deferred: {reason}");
                    }
                    tally.deferred += 1;
                    streak.set(streak.get() + 1);
                }
                DeliveryOutcome::Failed { reason, .. } => {
                    if noisy {
                        tracing::warn!("{email}: failed: {reason}");
                    }
                    tally.failed += 1
                }
                DeliveryOutcome::Unknown(reason) => {
                    if noisy {
                        tracing::warn!("{email}: fate unknown: {reason}");
                    }
                    tally.unknown += 1
                }
            }
            progress.inc(1);
            Ok(())
        };

        let result = (|| -> Result<()> {
            for (position, delivery) in due.iter().enumerate() {
                let Delivery {
                    digest_id, email, ..
                } = delivery;
                let Some(subscriber) = by_email.get(email) else {
                    state.fail_unsent(digest_id, email, "no longer in the subscriber list", now)?;
                    tally.skipped += 1;
                    progress.inc(1);
                    continue;
                };
                if state.is_suppressed(email)? {
                    state.fail_unsent(
                        digest_id,
                        email,
                        "address is on the suppression list",
                        now,
                    )?;
                    tally.suppressed += 1;
                    progress.inc(1);
                    continue;
                }
                let message = composer.message(Some(&state), digest_id, subscriber, dkim);
                let message = match message {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!("{email}: cannot build the message: {error:#}");
                        let reason = format!("cannot build the message: {error:#}");
                        state.fail_unsent(digest_id, email, &reason, now)?;
                        tally.failed += 1;
                        progress.inc(1);
                        continue;
                    }
                };
                job_tx
                    .send(Job {
                        digest_id: digest_id.clone(),
                        ledger_email: email.clone(),
                        recipient: subscriber.email.clone(),
                        message,
                    })
                    .map_err(|_| anyhow!("every delivery worker stopped"))?;
                while let Ok(result) = result_rx.try_recv() {
                    count(&mut tally, result)?;
                }
                if streak.get() >= STOP_AFTER_DEFERRALS_IN_A_ROW {
                    // The relay is down or refusing everyone: hammering it
                    // with the rest helps nobody. Untouched rows stay
                    // pending and go out with the next run.
                    tally.left = (due.len() - position - 1) as u64;
                    tracing::warn!(
                        "the relay deferred {} messages in a row; stopping, {} left for the next run",
                        streak.get(),
                        tally.left
                    );
                    break;
                }
            }
            Ok(())
        })();
        drop(job_tx);
        let mut first_error = result.err();
        for received in result_rx.iter() {
            if let Err(error) = count(&mut tally, received) {
                first_error.get_or_insert(error);
            }
        }
        // The writer ends once every worker is gone, having committed
        // every outcome they queued.
        let recorded = match writer.join() {
            Ok(recorded) => recorded,
            Err(_) => Err(anyhow!("the ledger writer panicked")),
        };
        if let Err(error) = recorded {
            first_error.get_or_insert(error);
        }
        first_error.map_or(Ok(()), Err)
    });
    progress.finish_and_clear();
    outcome?;
    let unknown = state.unknown_deliveries()?;
    finish(tally, &unknown, options.quiet)
}

/// Prints the summary line; an error when anything was not delivered.
fn finish(tally: Tally, unknown: &[Delivery], quiet: bool) -> Result<()> {
    if !quiet || tally.failed + tally.deferred + tally.unknown > 0 {
        println!("{tally}");
    }
    for delivery in unknown {
        println!(
            "unknown: digest {} to {} (the relay may have accepted it; `gazette send --retry-unknown` resends on purpose)",
            delivery.digest_id, delivery.email
        );
    }
    // Unknown deliveries from earlier runs are listed every time so nobody
    // forgets them, but only this run's outcomes decide the exit code.
    if tally.failed + tally.deferred + tally.unknown > 0 {
        return Err(DeliveryIncomplete(format!(
            "not every digest was delivered ({tally}); deferred ones are retried by the next run"
        ))
        .into());
    }
    Ok(())
}

/// One transport per worker, and the shared rate limit.
fn transports(config: &Config) -> Result<(Vec<Box<dyn Transport>>, RateLimiter)> {
    match config.delivery.transport {
        TransportKind::File => Ok((
            vec![Box::new(FileOutbox::new(config.delivery.outbox.clone())?) as Box<dyn Transport>],
            RateLimiter::new(0),
        )),
        TransportKind::Smtp => {
            let smtp =
                config.delivery.smtp.as_ref().ok_or_else(|| {
                    anyhow!("delivery.transport = \"smtp\" needs [delivery.smtp]")
                })?;
            let password = if smtp.username.is_empty() {
                None
            } else {
                Some(std::env::var(&smtp.password_env).map_err(|_| {
                    anyhow!(
                        "delivery.smtp.username is set but the environment variable {} (the SMTP password) is not",
                        smtp.password_env
                    )
                })?)
            };
            let mut workers = Vec::with_capacity(smtp.connections);
            for _ in 0..smtp.connections {
                let settings = SmtpSettings {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    security: match smtp.security {
                        SmtpSecurity::Tls => Security::Tls,
                        SmtpSecurity::Starttls => Security::StartTls,
                        SmtpSecurity::None => Security::None,
                    },
                    username: smtp.username.clone(),
                    password: password.clone(),
                    timeout: smtp.timeout,
                    hello_name: None,
                };
                workers.push(Box::new(SmtpTransport::new(settings)?) as Box<dyn Transport>);
            }
            Ok((workers, RateLimiter::new(smtp.max_per_second)))
        }
    }
}

/// `send --dry-run DIR`: every message the run would send, as `.eml`
/// files in `dir`; the state database is only read.
#[allow(clippy::too_many_arguments)]
fn dry_run(
    config: &Config,
    digest_config: &DigestConfig,
    corpus: &mut Corpus,
    catalog: &Catalog,
    templates: &Templates,
    secret: Vec<u8>,
    subscribers: &[Subscriber],
    now: DateTime<FixedOffset>,
    dir: &Path,
    quiet: bool,
) -> Result<()> {
    use rayon::prelude::*;
    let state = if config.state_path.exists() {
        Some(State::open(&config.state_path)?)
    } else {
        None
    };
    let included = match &state {
        Some(state) => state.included_story_ids()?,
        None => BTreeSet::new(),
    };
    let mut planned: BTreeMap<(String, String), &Subscriber> = BTreeMap::new();
    let by_email: HashMap<String, &Subscriber> = subscribers
        .iter()
        .map(|s| (s.email.to_lowercase(), s))
        .collect();
    if let Some(state) = &state {
        for delivery in state.due_deliveries(now)? {
            if let Some(subscriber) = by_email.get(&delivery.email) {
                planned.insert((delivery.digest_id, delivery.email), subscriber);
            }
        }
    }
    let fresh = new_story_ids(corpus, &included);
    let fresh_id = if fresh.is_empty() {
        None
    } else {
        let id = next_digest_id(state.as_ref(), now)?;
        for subscriber in subscribers.iter().filter(|s| wants_any(s, corpus, &fresh)) {
            planned.insert((id.clone(), subscriber.email.to_lowercase()), subscriber);
        }
        Some(id)
    };
    if let Some(state) = &state {
        let mut kept = BTreeMap::new();
        for (key, subscriber) in planned {
            if !state.is_suppressed(&subscriber.email)? {
                kept.insert(key, subscriber);
            }
        }
        planned = kept;
    }
    let mut composer = Composer {
        config,
        digest: digest_config,
        corpus,
        catalog,
        templates,
        secret,
        now,
        prepared: HashMap::new(),
        story_ids: HashMap::new(),
    };
    if let Some(id) = fresh_id {
        composer.story_ids.insert(id, fresh);
    }
    // Render each (digest, locale, topics) once, then personalise, build
    // and write the messages in parallel.
    for ((digest_id, _), subscriber) in &planned {
        composer.prepare(state.as_ref(), digest_id, subscriber)?;
    }
    // A preview, not an outbox: no fsync per file.
    let outbox = FileOutbox::preview(dir.to_path_buf())?;
    let envelope_from = envelope_address(&digest_config.from);
    let dkim = dkim_signer(digest_config);
    let composer = &composer;
    let written = planned
        .par_iter()
        .map(|((digest_id, _), subscriber)| -> Result<()> {
            let (email, body) = composer.compose(digest_id, subscriber)?;
            let message = deliver::build_message(&email, body, dkim)?;
            match outbox.store(&envelope_from, &subscriber.email, &message) {
                DeliveryOutcome::Sent => Ok(()),
                other => bail!(
                    "cannot write the dry-run message for {}: {other:?}",
                    subscriber.email
                ),
            }
        })
        .collect::<Result<Vec<()>>>()?
        .len();
    if !quiet {
        println!(
            "dry run: {written} messages written to {}; nothing was sent or recorded",
            dir.display()
        );
    }
    Ok(())
}

/// The web copy of each locale's current digest for `build`: the stories
/// the next `send` would include (or today's digest if one went out).
pub fn browser_copies(
    config: &Config,
    corpus: &mut Corpus,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
) -> Result<Vec<(PathBuf, String)>> {
    let Some(digest_config) = &config.digest else {
        return Ok(Vec::new());
    };
    let templates = digest::load_templates(&digest_config.templates_dir)?;
    // Read-only: `check` renders these too and must write nothing.
    let state = State::open_read_only(&config.state_path)?;
    let today = now.format("%Y-%m-%d").to_string();
    let story_ids = match &state {
        Some(state) if state.digest_exists(&today)? => state.digest_story_ids(&today)?,
        Some(state) => new_story_ids(corpus, &state.included_story_ids()?),
        None => new_story_ids(corpus, &BTreeSet::new()),
    };
    if story_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pages = Vec::new();
    for locale in &config.locales {
        let rendered = render_digest(
            config,
            digest_config,
            corpus,
            catalog,
            &templates,
            &today,
            &story_ids,
            &locale.key,
            &[],
            now,
        )?;
        let (_, html, _) =
            digest::personalise(&rendered, "", digest_config.unsubscribe_url.as_str());
        pages.push((
            PathBuf::from(&locale.key)
                .join("digest")
                .join(format!("{today}.html")),
            html,
        ));
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_is_deterministic_and_on_the_sender_domain() {
        let a = message_id("2026-11-29", "Li.Wei@example.org", "news.example.org");
        assert_eq!(
            a,
            message_id("2026-11-29", "li.wei@example.org", "news.example.org")
        );
        assert!(
            a.starts_with("<digest.2026-11-29.") && a.ends_with("@news.example.org>"),
            "{a}"
        );
        assert_ne!(
            a,
            message_id("2026-11-30", "li.wei@example.org", "news.example.org")
        );
    }

    #[test]
    fn list_id_and_envelope_come_from_the_from_header() {
        let from = "Chengdu–Chongqing Brief <brief@news.example.org>";
        assert_eq!(envelope_address(from), "brief@news.example.org");
        assert_eq!(
            envelope_address("brief@news.example.org"),
            "brief@news.example.org"
        );
    }

    /// The messages `send` builds decode to what `digest::personalise`
    /// writes, for named, anonymous and awkward subscribers of both locales.
    #[test]
    fn messages_decode_to_the_personalised_digest() {
        use mail_parser::MimeHeaders as _;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
        let config = crate::config::load(&root.join("config.toml")).unwrap();
        let digest_config = config.digest.as_ref().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-29T06:00:00+08:00").unwrap();
        let mut corpus = source::load(&config, BTreeMap::new())
            .unwrap()
            .into_published(now);
        let catalog = i18n::load(&config).unwrap();
        let templates = digest::load_templates(&digest_config.templates_dir).unwrap();
        let story_ids = new_story_ids(&corpus, &BTreeSet::new());
        let digest_id = "2026-11-29";
        let mut composer = Composer {
            config: &config,
            digest: digest_config,
            corpus: &mut corpus,
            catalog: &catalog,
            templates: &templates,
            secret: b"secret".to_vec(),
            now,
            prepared: HashMap::new(),
            story_ids: HashMap::from([(digest_id.to_owned(), story_ids.clone())]),
        };
        let long = "Zoë Ö'Brien-李 ".repeat(14);
        let names = [
            "李伟",
            "Zoë",
            "A=B & <C>",
            "",
            "  ",
            long.as_str(),
            "Line\r\nbreak and\nfeed",
            ".dot",
        ];
        for locale in ["en", "zh"] {
            for name in names {
                let subscriber = Subscriber {
                    email: "li.wei@example.org".into(),
                    name: name.into(),
                    locale: locale.into(),
                    topics: Vec::new(),
                };
                let bytes = composer
                    .message(None, digest_id, &subscriber, None)
                    .unwrap();
                let rendered = render_digest(
                    &config,
                    digest_config,
                    composer.corpus,
                    &catalog,
                    &templates,
                    digest_id,
                    &story_ids,
                    locale,
                    &[],
                    now,
                )
                .unwrap();
                let url =
                    unsubscribe::url(&digest_config.unsubscribe_url, b"secret", &subscriber.email);
                let (subject, html, text) = digest::personalise(&rendered, name, url.as_str());

                let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                assert_eq!(parsed.subject(), Some(subject.as_str()));
                let content_type = parsed.root_part().content_type().unwrap();
                assert_eq!(content_type.subtype(), Some("alternative"));
                let (text_index, html_index) = (parsed.text_body[0], parsed.html_body[0]);
                assert!(text_index < html_index, "text part first");
                let decoded = |index: u32| {
                    parsed.parts[index as usize]
                        .text_contents()
                        .unwrap()
                        .replace("\r\n", "\n")
                };
                assert_eq!(
                    decoded(text_index),
                    text.replace("\r\n", "\n"),
                    "{locale} {name:?}"
                );
                assert_eq!(
                    decoded(html_index),
                    html.replace("\r\n", "\n"),
                    "{locale} {name:?}"
                );
            }
        }
    }

    #[test]
    fn tally_reads_as_the_summary_line() {
        let tally = Tally {
            sent: 3,
            unknown: 1,
            ..Tally::default()
        };
        assert_eq!(
            tally.to_string(),
            "sent 3, deferred 0, failed 0, unknown 1, skipped 0, suppressed 0"
        );
    }
}

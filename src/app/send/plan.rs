//! The send plan: who gets which digest in this run. The rules are here
//! for every send ([`fresh_digest`]: which stories a new digest holds;
//! [`wants`]: which readers get it); a dry run also makes the whole plan
//! in memory ([`PlanInput`], [`SendPlan`]) from the file it read whole,
//! while a real send applies the same rules to the stored list in batches
//! (`recipients`).
//!
//! Planning reads the ledger and the corpus; it writes nothing and
//! renders nothing.

use crate::digest::Topics;
use crate::model::{Corpus, Story, Subscriber};
use crate::state::State;
use anyhow::Result;
use chrono::{DateTime, FixedOffset, TimeDelta};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Who gets which digest in this run.
#[derive(Debug)]
pub struct SendPlan<'a> {
    /// The digest this run creates: the stories no earlier digest held.
    pub new_digest: Option<&'a NewDigest>,
    /// Every delivery this run attempts, in order: the ledger's due rows
    /// (oldest digest first, then by address), then the new digest's
    /// (by address), as the ledger will list them once it is recorded.
    pub deliveries: Vec<PlannedDelivery<'a>>,
    /// Subscribers the new digest leaves out because they are suppressed.
    pub suppressed_from_new: u64,
    /// Subscribers the new digest leaves out because none of its stories
    /// carries one of their topics.
    pub nothing_for: u64,
}

/// A digest to record: its id, its stories (newest first) and a
/// recipient per subscriber who wants any of them and is not suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDigest {
    pub id: String,
    pub story_ids: Vec<String>,
    /// (ledger address, locale key), ordered by address.
    pub recipients: Vec<(String, String)>,
}

/// One ledger row of this run and what to do with it.
#[derive(Debug, Clone, Copy)]
pub struct PlannedDelivery<'a> {
    pub digest_id: &'a str,
    /// The address as the ledger keys it (normalised).
    pub email: &'a str,
    pub action: Action<'a>,
}

/// What the run does with a planned delivery.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Compose and send this subscriber's digest.
    Send(&'a Subscriber),
    /// Record it as failed without sending: the reason says why.
    Skip(SkipReason),
}

/// Why a due delivery is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The address left the subscriber list since the digest was made.
    NotInList,
    /// The address is on the suppression list.
    Suppressed,
}

impl SkipReason {
    /// The reason written to the ledger.
    pub fn ledger_text(self) -> &'static str {
        match self {
            SkipReason::NotInList => "no longer in the subscriber list",
            SkipReason::Suppressed => "address is on the suppression list",
        }
    }
}

/// The ledger rows a plan refers to, owned here so that the plan can
/// borrow them (and the subscribers) without copying either.
#[derive(Debug, Default)]
pub struct PlanInput {
    /// (digest id, ledger address) of the rows due now.
    due: Vec<(String, String)>,
    /// Addresses on the suppression list among the subscribers and due rows.
    suppressed: HashSet<String>,
    /// Without the suppressed subscribers, who are counted instead.
    new_digest: Option<NewDigest>,
    suppressed_from_new: u64,
    nothing_for: u64,
}

/// Which stories a new digest may hold.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// `digest.first_window`: how far back a first digest reaches.
    pub first: TimeDelta,
    pub now: DateTime<FixedOffset>,
}

impl Window {
    /// The oldest story date any digest may hold: `first_window` before the
    /// first digest (`first_digest`, or now when there is none). Stories
    /// older than that were never news to this list, so they stay out of
    /// later digests too.
    pub fn since(&self, first_digest: Option<DateTime<FixedOffset>>) -> DateTime<FixedOffset> {
        first_digest.unwrap_or(self.now) - self.first
    }
}

impl PlanInput {
    /// Reads what planning needs from the ledger (`None`: no state yet, as
    /// in a dry run before the first send) and the corpus.
    pub fn read(
        state: Option<&State>,
        subscribers: &[Subscriber],
        corpus: &Corpus,
        window: Window,
    ) -> Result<PlanInput> {
        let now = window.now;
        let fresh = fresh_digest(state, corpus, window)?;
        let Some(state) = state else {
            let (new_digest, nothing_for) = new_digest(fresh, subscribers, corpus, now);
            return Ok(PlanInput {
                new_digest,
                nothing_for,
                ..PlanInput::default()
            });
        };
        let due: Vec<(String, String)> = state
            .due_deliveries(now)?
            .into_iter()
            .map(|delivery| (delivery.digest_id, delivery.email))
            .collect();
        // One read of the list, not a query per reader.
        let suppressed = state.suppressed_addresses()?;
        let (mut new_digest, nothing_for) = new_digest(fresh, subscribers, corpus, now);
        let mut suppressed_from_new = 0;
        if let Some(digest) = &mut new_digest {
            let before = digest.recipients.len();
            digest
                .recipients
                .retain(|(email, _)| !suppressed.contains(email));
            suppressed_from_new = (before - digest.recipients.len()) as u64;
        }
        Ok(PlanInput {
            due,
            suppressed,
            new_digest,
            suppressed_from_new,
            nothing_for,
        })
    }

    /// The plan: this input's rows matched to `subscribers`.
    pub fn plan<'a>(&'a self, subscribers: &'a [Subscriber]) -> SendPlan<'a> {
        let by_address: HashMap<String, &Subscriber> = subscribers
            .iter()
            .map(|s| (s.key().as_str().to_owned(), s))
            .collect();
        let action = |email: &str| match by_address.get(email) {
            None => Action::Skip(SkipReason::NotInList),
            Some(_) if self.suppressed.contains(email) => Action::Skip(SkipReason::Suppressed),
            Some(subscriber) => Action::Send(subscriber),
        };
        let mut deliveries: Vec<PlannedDelivery<'a>> = self
            .due
            .iter()
            .map(|(digest_id, email)| PlannedDelivery {
                digest_id,
                email,
                action: action(email),
            })
            .collect();
        if let Some(digest) = &self.new_digest {
            deliveries.extend(digest.recipients.iter().map(|(email, _)| PlannedDelivery {
                digest_id: &digest.id,
                email,
                action: action(email),
            }));
        }
        SendPlan {
            new_digest: self.new_digest.as_ref(),
            deliveries,
            suppressed_from_new: self.suppressed_from_new,
            nothing_for: self.nothing_for,
        }
    }
}

/// The digest of the fresh stories, if there are any, with every
/// subscriber who wants at least one of them; and how many subscribers
/// want none of them.
fn new_digest(
    fresh: Option<(String, Vec<String>)>,
    subscribers: &[Subscriber],
    corpus: &Corpus,
    now: DateTime<FixedOffset>,
) -> (Option<NewDigest>, u64) {
    let Some((id, story_ids)) = fresh else {
        return (None, 0);
    };
    let stories = stories_of(&story_ids, corpus);
    let mut recipients: Vec<(String, String)> = subscribers
        .iter()
        .filter(|subscriber| wants(subscriber, &stories, now))
        .map(|s| (s.key().as_str().to_owned(), s.locale.clone()))
        .collect();
    recipients.sort();
    let nothing_for = (subscribers.len() - recipients.len()) as u64;
    (
        Some(NewDigest {
            id,
            story_ids,
            recipients,
        }),
        nothing_for,
    )
}

/// Whether `subscriber` gets a digest of `stories`: one of them is news
/// to them (published after they joined) and on one of their topics (any,
/// when they chose none). The one rule for who a new digest goes to.
pub fn wants(subscriber: &Subscriber, stories: &[&Story], now: DateTime<FixedOffset>) -> bool {
    let topics = Topics::new(&subscriber.topics);
    stories
        .iter()
        .any(|story| subscriber.may_get(story) && (topics.is_empty() || topics.matches(story, now)))
}

/// The corpus's stories with these ids.
pub fn stories_of<'c>(story_ids: &[String], corpus: &'c Corpus) -> Vec<&'c Story> {
    let ids: BTreeSet<&str> = story_ids.iter().map(String::as_str).collect();
    corpus
        .stories
        .iter()
        .filter(|story| ids.contains(story.id.as_str()))
        .collect()
}

/// The digest this run may create: its id and its stories (newest
/// first), or `None` when no story is new. `state` is `None` when there
/// is none yet (a dry run before the first send).
pub fn fresh_digest(
    state: Option<&State>,
    corpus: &Corpus,
    window: Window,
) -> Result<Option<(String, Vec<String>)>> {
    let story_ids = fresh_story_ids(state, corpus, window)?;
    if story_ids.is_empty() {
        return Ok(None);
    }
    Ok(Some((next_digest_id(state, window.now)?, story_ids)))
}

/// The stories a new digest would hold at `window.now`: none that a digest
/// of `state` already held, none older than the window; newest first.
pub fn fresh_story_ids(
    state: Option<&State>,
    corpus: &Corpus,
    window: Window,
) -> Result<Vec<String>> {
    let Some(state) = state else {
        return Ok(new_story_ids(
            corpus,
            &BTreeSet::new(),
            Some(window.since(None)),
        ));
    };
    let since = window.since(state.first_digest_at()?);
    Ok(new_story_ids(
        corpus,
        &state.included_story_ids()?,
        Some(since),
    ))
}

/// Stories no earlier digest held, newest first (tie-break by id); with
/// `since`, only those whose newest version is at least that recent.
pub fn new_story_ids(
    corpus: &Corpus,
    included: &BTreeSet<String>,
    since: Option<DateTime<FixedOffset>>,
) -> Vec<String> {
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
        .filter(|(date, _)| since.is_none_or(|since| *date >= since))
        .collect();
    fresh.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    fresh.into_iter().map(|(_, id)| id.to_owned()).collect()
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

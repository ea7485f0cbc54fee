//! The list into the ledger, a batch at a time, for a list of any size:
//! the editor's file merged into the state database row by row (each bad
//! row warned with its line), the new digest's recipients chosen from the
//! list as stored and recorded with it, and the readers of each batch of
//! due rows looked up for sending.
//!
//! The rules are the plan's and the list's (`plan::wants`,
//! `subscribers::reader_of`); this file only walks the list in batches,
//! so memory does not grow with it. It renders and sends nothing.

use super::plan::{self, Action, SkipReason, Window};
use crate::config::{Config, DigestConfig};
use crate::model::{Corpus, Subscriber};
use crate::state::{FileKind, State};
use crate::subscribers;
use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use std::collections::HashSet;

/// Readers read from the list per query while choosing recipients.
const LIST_BATCH: u32 = 10_000;

/// What [`merge_file`] found in the editor's file.
#[derive(Debug)]
pub struct MergedFile {
    /// Rows skipped (each warned about with its line).
    pub skipped: u64,
    /// Every topic a usable row names, lowercased, for
    /// [`warn_unknown_topics`] once the corpus is loaded.
    topics: HashSet<String>,
    /// The file as merged, kept until then: the merge read it whole
    /// anyway, and reading it again could find another file.
    bytes: Vec<u8>,
}

/// Merges the editor's file into the list, warning about every row it
/// skips. It needs no story, so it runs while the corpus loads; the topics
/// the rows name come back for [`warn_unknown_topics`].
pub fn merge_file(
    config: &Config,
    digest: &DigestConfig,
    state: &State,
    now: DateTime<FixedOffset>,
) -> Result<MergedFile> {
    let bytes = subscribers::read_file(&digest.subscribers)?;
    let mut topics = HashSet::new();
    let merged = crate::app::list::merge_rows(
        config,
        state,
        &digest.subscribers,
        &bytes,
        FileKind::Editors,
        now,
        &mut |_, subscriber| {
            topics.extend(subscriber.topics.iter().map(|topic| topic.to_lowercase()));
        },
    )?;
    tracing::debug!("subscriber file merged: {:?}", merged.sync);
    Ok(MergedFile {
        skipped: merged.skipped,
        topics,
        bytes,
    })
}

/// Warns about every row of the merged file that names a topic no story
/// carries, with its line. The rows are walked again only when there is
/// such a topic (a typo, rarely): the merge ran before the stories were
/// known, and keeping every row's line for this would make its memory grow
/// with the list.
pub fn warn_unknown_topics(
    config: &Config,
    digest: &DigestConfig,
    merged: MergedFile,
    corpus: &Corpus,
) -> Result<()> {
    let tags: HashSet<String> = corpus
        .stories
        .iter()
        .flat_map(|story| story.translations.values())
        .flat_map(|article| &article.tags)
        .map(|tag| tag.to_lowercase())
        .collect();
    if merged.topics.is_subset(&tags) {
        return Ok(());
    }
    let file = digest.subscribers.display();
    subscribers::for_each_row(&merged.bytes, &super::locale_keys(config), &mut |line, subscriber| {
        for topic in &subscriber.topics {
            if !tags.contains(&topic.to_lowercase()) {
                tracing::warn!(
                    "{file}:{line}: topic `{topic}` of {} is on no story; check its spelling against the articles' tags",
                    subscriber.email
                );
            }
        }
        Ok(None)
    })
    .map_err(|e| e.context(format!("invalid subscriber list {file}")))?;
    Ok(())
}

/// What recording a new digest counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorded {
    /// Deliveries recorded (`pending`).
    pub recipients: u64,
    /// Readers none of its stories is for.
    pub nothing_for: u64,
    /// Readers it would be for who are suppressed.
    pub suppressed: u64,
}

/// Records the digest of the stories no earlier digest held, if there
/// are any, with a `pending` delivery for every reader of the list (as
/// stored, after [`merge_file`]) who [`plan::wants`] it and is not
/// suppressed; the list is read [`LIST_BATCH`] readers at a time, in the
/// same transaction. Returns the digest's id, its stories and the counts.
pub fn record_new_digest(
    config: &Config,
    state: &State,
    corpus: &Corpus,
    window: Window,
    suppressed: &HashSet<String>,
) -> Result<Option<(String, Vec<String>, Recorded)>> {
    let Some((id, story_ids)) = plan::fresh_digest(Some(state), corpus, window)? else {
        return Ok(None);
    };
    let locales = super::locale_keys(config);
    let stories = plan::stories_of(&story_ids, corpus);
    let mut counts = Recorded::default();
    let mut after = String::new();
    counts.recipients = state.create_digest_from(&id, window.now, &story_ids, &mut |state| {
        let page = state.active_entries(&after, LIST_BATCH)?;
        let Some((last, _)) = page.last() else {
            return Ok(None);
        };
        after = last.clone();
        let mut batch = Vec::with_capacity(page.len());
        for (key, entry) in page {
            let Some(reader) = subscribers::reader_of(entry, &locales) else {
                continue;
            };
            if !plan::wants(&reader, &stories, window.now) {
                counts.nothing_for += 1;
            } else if suppressed.contains(&key) {
                counts.suppressed += 1;
            } else {
                batch.push((key, reader.locale));
            }
        }
        Ok(Some(batch))
    })?;
    Ok(Some((id, story_ids, counts)))
}

/// What to do with a due row: send to this reader, or settle it unsent.
#[derive(Debug)]
pub enum RowAction {
    Send(Subscriber),
    Skip(SkipReason),
}

impl RowAction {
    /// As the plan says it.
    pub fn as_action(&self) -> Action<'_> {
        match self {
            RowAction::Send(subscriber) => Action::Send(subscriber),
            RowAction::Skip(reason) => Action::Skip(*reason),
        }
    }
}

/// The action for each of these due rows' (digest id, ledger address),
/// from one lookup of their readers: a reader no longer on the list (or
/// no longer getting mail) is skipped as not in the list, a suppressed
/// address as suppressed.
pub fn actions(
    config: &Config,
    state: &State,
    rows: &[(String, String)],
    suppressed: &HashSet<String>,
) -> Result<Vec<RowAction>> {
    let locales = super::locale_keys(config);
    let emails: Vec<&str> = rows.iter().map(|(_, email)| email.as_str()).collect();
    let mut entries = state.entries_for(&emails)?;
    Ok(rows
        .iter()
        .map(|(_, email)| {
            match entries
                .remove(email)
                .and_then(|e| subscribers::reader_of(e, &locales))
            {
                None => RowAction::Skip(SkipReason::NotInList),
                Some(_) if suppressed.contains(email) => RowAction::Skip(SkipReason::Suppressed),
                Some(reader) => RowAction::Send(reader),
            }
        })
        .collect())
}

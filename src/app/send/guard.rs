//! The lost-state guard: a state database that knows no digest, in a site
//! whose published digest pages show digests from earlier days, was
//! probably deleted, truncated or replaced. Sending then would treat every
//! story as new, so `send` refuses unless told to go on.
//!
//! Reads the feeds folder and the ledger; writes nothing.

use crate::app::NewState;
use crate::config::Config;
use crate::state::State;
use anyhow::{Result, bail};
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeSet;

/// Refuses (unless `new_state` accepts it) when `state` knows no digest
/// but `feeds/<locale>/digest/` holds pages of digests from before today.
pub fn check(
    config: &Config,
    state: &State,
    new_state: NewState,
    now: DateTime<FixedOffset>,
) -> Result<()> {
    if new_state == NewState::Accept || !state.digest_ids()?.is_empty() {
        return Ok(());
    }
    let earlier = earlier_digest_pages(config, now);
    if earlier.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = earlier.iter().take(5).map(String::as_str).collect();
    let more = earlier.len().saturating_sub(shown.len());
    let days = config
        .digest
        .as_ref()
        .map_or(7, |digest| digest.first_window.num_days());
    bail!(
        "the state database {} knows no digest, but {} holds pages of {} earlier digest{} ({}{}): \
         the database was probably deleted, truncated or replaced, and sending now could mail stories readers already had. \
         Restore it from a backup if you can; to start afresh, run `gazette send --accept-new-state` \
         (the first digest then holds only the stories of the last {days} days, `digest.first_window`)",
        state.label(),
        config.feeds.dir.display(),
        earlier.len(),
        if earlier.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The digest ids of `feeds/<locale>/digest/*.html` pages dated before
/// `now`'s day (a build writes today's page before today's send).
fn earlier_digest_pages(config: &Config, now: DateTime<FixedOffset>) -> BTreeSet<String> {
    let today = now.date_naive();
    let mut ids = BTreeSet::new();
    for locale in &config.locales {
        let dir = config.feeds.dir.join(&locale.key).join("digest");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".html")) else {
                continue;
            };
            let day = id
                .get(..10)
                .and_then(|day| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok());
            if day.is_some_and(|day| day < today) {
                ids.insert(id.to_owned());
            }
        }
    }
    ids
}

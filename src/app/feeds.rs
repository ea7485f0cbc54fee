//! The order of steps for feed sources: look up the last good copy in the
//! state database, fetch (conditionally), parse, keep the copy if it is
//! good, and fall back to the cache when anything fails.
//!
//! Policy lives here (what a failure means, whether to write the cache);
//! `source::http` only fetches, `source::feed` only maps, `state` only stores.

use super::SourceFailures;
use crate::config::{Config, FeedLocation, FeedSource, Source};
use crate::model::Article;
use crate::source::feed::{self, FeedItems};
use crate::source::http::{FetchOutcome, Fetcher, Validators};
use crate::state::{CachedFetch, State};
use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;

/// How a command treats feed sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `build`: fetch, and store each good new copy in the cache.
    FetchAndStore,
    /// `check`: fetch (conditionally, from the cache's validators) and
    /// parse, but write nothing: the cache is opened read-only.
    FetchReadOnly,
    /// `send`: no network; use what the last `build` stored.
    CacheOnly,
}

/// Raised under `--strict` when a feed source failed.
#[derive(Debug, thiserror::Error)]
#[error("{} feed source{} failed (--strict); nothing was published:\n{}",
    .0.len(),
    if .0.len() == 1 { "" } else { "s" },
    .0.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
pub struct SourceFailed(pub Vec<String>);

/// The articles of every feed source, by index in `config.sources`, ready
/// for `source::load`. A failing source is a warning (its last good copy
/// is used, if any) unless failures are refused (`--strict`), when every
/// failure is collected and raised as [`SourceFailed`].
pub fn gather(
    config: &Config,
    mode: Mode,
    on_failure: SourceFailures,
    now: DateTime<FixedOffset>,
) -> Result<BTreeMap<usize, Vec<Article>>> {
    let feeds: Vec<(usize, &FeedSource)> = config
        .sources
        .iter()
        .enumerate()
        .filter_map(|(index, source)| match source {
            Source::Feed(feed) => Some((index, feed)),
            _ => None,
        })
        .collect();
    let mut out = BTreeMap::new();
    if feeds.is_empty() {
        return Ok(out);
    }
    // Every feed source needs the state: URL sources for the fetch cache,
    // all of them for the items already warned about as skipped.
    let state = match mode {
        Mode::FetchAndStore => Some(State::open(&config.state)?),
        _ => State::open_read_only(&config.state)?,
    };
    let mut fetcher = (mode != Mode::CacheOnly).then(|| Fetcher::new(&config.fetch));
    let mut failures = Vec::new();
    for (index, source) in feeds {
        // The last good copy: its validators make the fetch conditional,
        // and it is the fallback when the fetch or the parse fails.
        let cached = match (&source.location, &state) {
            (FeedLocation::Url(url), Some(state)) => state.cached_fetch(url.as_str())?,
            _ => None,
        };
        let result = match &source.location {
            FeedLocation::Path(path) => match std::fs::read(path) {
                Ok(bytes) => parse(&bytes, source).map(Some),
                Err(e) => Err(format!("cannot read the file: {e}")),
            },
            FeedLocation::Url(url) => {
                let write = match mode {
                    Mode::FetchAndStore => state.as_ref(),
                    _ => None,
                };
                from_url(url, source, cached.as_ref(), fetcher.as_mut(), write, now)?
            }
        };
        match result {
            Ok(Some(items)) => {
                for reason in new_skips(state.as_ref(), mode, source, &items.skipped, now)? {
                    tracing::warn!("feed source {}: {reason}; item skipped", source.location);
                }
                out.insert(index, items.articles);
            }
            Ok(None) => {}
            Err(reason) => {
                let line = format!("feed source {} failed: {reason}", source.location);
                if on_failure == SourceFailures::Refuse {
                    failures.push(line);
                    continue;
                }
                // Fall back to the last good copy, if there is one.
                let fallback = cached
                    .as_ref()
                    .and_then(|c| parse(&c.body, source).ok().map(|items| (c, items)));
                match fallback {
                    Some((cached, items)) => {
                        tracing::warn!(
                            "{line}; using the last good copy, fetched at {}",
                            cached.fetched_at
                        );
                        out.insert(index, items.articles);
                    }
                    None => tracing::warn!(
                        "{line}; there is no good copy of it yet, so it contributes nothing"
                    ),
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(SourceFailed(failures).into())
    }
}

/// The skip warnings of `source`'s document that no build has given yet:
/// an item skipped today (no date, say) is still skipped tomorrow, and
/// under `-q` cron would mail the same warning every day. `build` records
/// them; `check` and `send` only read what builds recorded. Without a
/// state database (`check` before any build) every one is new.
fn new_skips(
    state: Option<&State>,
    mode: Mode,
    source: &FeedSource,
    skipped: &[String],
    now: DateTime<FixedOffset>,
) -> Result<Vec<String>> {
    match (state, mode) {
        (Some(state), Mode::FetchAndStore) => {
            state.record_skipped_items(&source.name, skipped, now)
        }
        (Some(state), _) => {
            let known = state.skipped_items(&source.name)?;
            Ok(skipped
                .iter()
                .filter(|r| !known.contains(*r))
                .cloned()
                .collect())
        }
        (None, _) => Ok(skipped.to_vec()),
    }
}

/// `Ok(None)`: nothing to contribute and nothing wrong (`send` before any
/// `build`). `Err(reason)`: the source failed this time.
fn from_url(
    url: &url::Url,
    source: &FeedSource,
    cached: Option<&CachedFetch>,
    fetcher: Option<&mut Fetcher>,
    store: Option<&State>,
    now: DateTime<FixedOffset>,
) -> Result<Result<Option<FeedItems>, String>> {
    let Some(fetcher) = fetcher else {
        return Ok(match cached {
            Some(cached) => parse(&cached.body, source).map(Some),
            None => {
                tracing::warn!(
                    "feed source {url} has no cached copy yet; run `gazette build` first"
                );
                Ok(None)
            }
        });
    };
    let validators = cached
        .map(|c| Validators {
            etag: c.etag.as_deref(),
            last_modified: c.last_modified.as_deref(),
        })
        .unwrap_or_default();
    Ok(match fetcher.fetch(url, validators) {
        FetchOutcome::Fresh {
            body,
            etag,
            last_modified,
        } => match parse(&body, source) {
            Ok(items) => {
                if let Some(state) = store {
                    state.store_fetch(
                        url.as_str(),
                        etag.as_deref(),
                        last_modified.as_deref(),
                        &body,
                        now,
                    )?;
                }
                Ok(Some(items))
            }
            Err(reason) => Err(reason),
        },
        FetchOutcome::NotModified => match cached {
            Some(cached) => {
                tracing::debug!("{url}: not modified since {}", cached.fetched_at);
                parse(&cached.body, source).map(Some)
            }
            None => Err("the server answered 304 Not Modified to a plain GET".to_owned()),
        },
        FetchOutcome::Failed(reason) => Err(reason),
    })
}

fn parse(bytes: &[u8], source: &FeedSource) -> Result<FeedItems, String> {
    feed::items_to_articles(bytes, source).map_err(|problem| problem.message)
}

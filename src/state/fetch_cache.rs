//! The feed fetch cache: the last good copy of each remote feed source,
//! keyed by URL, with the HTTP validators the server sent with it.
//!
//! It must never fetch, parse or judge a document (that is `source`'s): it
//! stores what the caller says parsed, and hands it back.

use super::db::args;
use super::{State, timestamp};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};

#[cfg(test)]
mod tests;

/// The last good copy of a feed source, from the fetch cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFetch {
    /// The `ETag` the server sent with `body`, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent with `body`, if any (as sent).
    pub last_modified: Option<String>,
    /// The raw document.
    pub body: Vec<u8>,
    /// When `body` was fetched (RFC 3339 UTC).
    pub fetched_at: String,
}

impl State {
    /// The last good copy of the feed at `url`, if one was stored. A
    /// database from before the fetch cache (opened read-only) has none.
    pub fn cached_fetch(&self, url: &str) -> Result<Option<CachedFetch>> {
        let context = || format!("cannot read the cached copy of {url} from {}", self.label);
        if !self.has_table("fetch_cache").with_context(context)? {
            return Ok(None);
        }
        self.db
            .query_opt(
                "SELECT etag, last_modified, body, fetched_at FROM fetch_cache WHERE url = ?1",
                args![url],
                |row| {
                    Ok(CachedFetch {
                        etag: row.opt_text(0)?,
                        last_modified: row.opt_text(1)?,
                        body: row.bytes(2)?,
                        fetched_at: row.text(3)?,
                    })
                },
            )
            .with_context(context)
    }

    /// Records `body` as the last good copy of the feed at `url`, with the
    /// validators the server sent, replacing the previous copy.
    pub fn store_fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        body: &[u8],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO fetch_cache (url, etag, last_modified, body, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                     last_modified = excluded.last_modified, body = excluded.body,
                     fetched_at = excluded.fetched_at",
                args![url, etag, last_modified, body, &timestamp(now)],
            )
            .map(|_| ())
            .with_context(|| format!("cannot store the fetched copy of {url} in {}", self.label))
    }
}

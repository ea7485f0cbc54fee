//! The pre-publish gate: every feed is parsed back with `feed-rs` (an
//! independent reader) and compared with the view it came from. A feed that
//! fails here is never published.
//!
//! It only reads and compares; it never changes a feed or writes files.

use super::Format;
use crate::view::FeedView;
use anyhow::{Result, bail};
use std::collections::BTreeSet;

/// Parses `text` and checks it against `view`: item count, unique ids equal
/// to the view's, exact titles, publication dates, absolute http(s) links,
/// language, and a self link that matches where the file is published.
pub fn check(view: &FeedView, format: Format, text: &str) -> Result<()> {
    let feed = match feed_rs::parser::parse(text.as_bytes()) {
        Ok(feed) => feed,
        Err(e) => bail!("a feed reader cannot parse it: {e}"),
    };
    let mut problems = Vec::new();

    if feed.entries.len() != view.items.len() {
        problems.push(format!(
            "it holds {} entries, expected {}",
            feed.entries.len(),
            view.items.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for (entry, item) in feed.entries.iter().zip(&view.items) {
        if !seen.insert(entry.id.as_str()) {
            problems.push(format!("id `{}` appears twice", entry.id));
        }
        if entry.id != item.id {
            problems.push(format!(
                "entry id `{}` reads back as `{}`",
                item.id, entry.id
            ));
        }
        let title = entry.title.as_ref().map(|t| t.content.as_str());
        if title != Some(item.title.as_str()) {
            problems.push(format!(
                "title of `{}` reads back as {:?}, expected {:?}",
                item.id, title, item.title
            ));
        }
        if entry.published != Some(item.published.to_utc()) {
            problems.push(format!(
                "publication date of `{}` reads back as {:?}, expected {}",
                item.id,
                entry.published,
                item.published.to_rfc3339()
            ));
        }
        for link in &entry.links {
            if !is_absolute_http(&link.href) {
                problems.push(format!(
                    "link `{}` of `{}` is not an absolute http(s) URL",
                    link.href, item.id
                ));
            }
        }
        if entry.links.is_empty() {
            problems.push(format!("entry `{}` has no link", item.id));
        }
    }

    let expected_self = format.self_url(view)?;
    let expected_self = expected_self.as_str();
    let has_self = feed.links.iter().any(|link| {
        link.href == expected_self
            && (format == Format::Json || link.rel.as_deref() == Some("self"))
    });
    if !has_self {
        problems.push(format!(
            "no self link to {expected_self}, where this file is published; check feeds.url"
        ));
    }
    for link in &feed.links {
        if !is_absolute_http(&link.href) {
            problems.push(format!(
                "feed link `{}` is not an absolute http(s) URL",
                link.href
            ));
        }
    }
    let language = feed.language.as_deref().unwrap_or_default();
    if !language.eq_ignore_ascii_case(&view.language) {
        problems.push(format!(
            "language reads back as `{language}`, expected `{}`",
            view.language
        ));
    }

    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}", problems.join("; "))
    }
}

fn is_absolute_http(href: &str) -> bool {
    url::Url::parse(href)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

//! The public pages of the digests, for `build`: each digest's web copy
//! ("view in browser": today's as the next `send` would mail it, or as it
//! went out; every earlier one as it went out) and each locale's archive
//! of them, newest first. Reads the state database only.

use super::compose::{DigestRequest, Renderer};
use super::plan::{Window, fresh_story_ids};
use crate::config::Config;
use crate::digest::{
    self, ArchiveEntry, ArchiveView, FeedLinkView, LinkView, PageLinks, TranslationView,
    WebCopyView,
};
use crate::feed_index::IndexEntry;
use crate::i18n::Catalog;
use crate::model::Corpus;
use crate::state::State;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where `build` publishes the web copy of a digest ("view in browser").
pub fn browser_url(config: &Config, locale_key: &str, digest_id: &str) -> Result<url::Url> {
    config
        .feeds
        .url
        .join(&format!("{locale_key}/digest/{digest_id}.html"))
        .with_context(|| format!("cannot build the web address of digest {digest_id}"))
}

/// Where `build` publishes a locale's digest archive.
pub fn archive_url(config: &Config, locale_key: &str) -> Result<url::Url> {
    config
        .feeds
        .url
        .join(&format!("{locale_key}/digest/"))
        .with_context(|| format!("cannot build the web address of the `{locale_key}` archive"))
}

/// A digest a page is made for: its id, the moment it is shown as of (when
/// it was made; now for today's, not yet sent), and its stories.
struct PageDigest {
    id: String,
    at: DateTime<FixedOffset>,
    story_ids: Vec<String>,
}

/// (path under the feeds folder, HTML) of every digest's web copy in every
/// locale, and of each locale's archive. `feeds` are each locale's main
/// feeds, which the pages link to.
pub fn digest_pages(
    config: &Config,
    corpus: &mut Corpus,
    catalog: &Catalog,
    feeds: &BTreeMap<String, Vec<IndexEntry>>,
    now: DateTime<FixedOffset>,
) -> Result<Vec<(PathBuf, String)>> {
    let Some(digest_config) = &config.digest else {
        return Ok(Vec::new());
    };
    let templates = digest::load_templates(&digest_config.templates_dir)?;
    let digests = page_digests(config, corpus, now)?;
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let mut pages = Vec::new();
    for locale in &config.locales {
        let localizer = catalog.localizer(&locale.key)?;
        let links = page_links(config, catalog, feeds, &locale.key, |key| {
            Ok(archive_url(config, key)?.to_string())
        })?;
        let archive_link = LinkView {
            label: localizer.text("web-copy-archive")?,
            url: archive_url(config, &locale.key)?.to_string(),
        };
        let mut archive = Vec::new();
        for page in &digests {
            let renderer = Renderer {
                config,
                digest: digest_config,
                catalog,
                templates: &templates,
                now: page.at,
            };
            let view = renderer.view(
                corpus,
                &DigestRequest {
                    digest_id: &page.id,
                    story_ids: &page.story_ids,
                    locale_key: &locale.key,
                    topics: &[],
                },
            )?;
            let url = browser_url(config, &locale.key, &page.id)?.to_string();
            archive.push(ArchiveEntry {
                date: view.date.clone(),
                intro: view.intro.clone(),
                url: url.clone(),
            });
            let copy = WebCopyView {
                title: localizer.message(
                    "web-copy-title",
                    &[("date", localizer.long_date(&page.at).into())],
                )?,
                canonical_url: url,
                digest: view,
                archive: archive_link.clone(),
                links: page_links(config, catalog, feeds, &locale.key, |key| {
                    Ok(browser_url(config, key, &page.id)?.to_string())
                })?,
            };
            pages.push((
                PathBuf::from(&locale.key)
                    .join("digest")
                    .join(format!("{}.html", page.id)),
                digest::render_web_copy(&templates, &copy)?,
            ));
        }
        archive.reverse();
        let view = ArchiveView {
            lang: locale.tag.clone(),
            title: localizer.text("web-copy-archive-title")?,
            canonical_url: archive_link.url.clone(),
            site_title: localizer.text("site-title")?,
            site_url: locale.home_url.to_string(),
            digests: archive,
            links,
        };
        pages.push((
            PathBuf::from(&locale.key).join("digest").join("index.html"),
            digest::render_archive(&templates, &view)?,
        ));
    }
    Ok(pages)
}

/// Every digest made, oldest first, then today's if none was made today
/// and it would hold stories.
fn page_digests(
    config: &Config,
    corpus: &Corpus,
    now: DateTime<FixedOffset>,
) -> Result<Vec<PageDigest>> {
    let Some(digest_config) = &config.digest else {
        return Ok(Vec::new());
    };
    // Read-only: `check` renders these too and must write nothing.
    let state = State::open_read_only(&config.state_path)?;
    let today = now.format("%Y-%m-%d").to_string();
    let mut digests = Vec::new();
    if let Some(state) = &state {
        for (id, at) in state.digests_made()? {
            let story_ids = state.digest_story_ids(&id)?;
            digests.push(PageDigest { id, at, story_ids });
        }
    }
    if !digests.iter().any(|d| d.id == today) {
        // Digests reach back only `digest.first_window` before the first one, as in `send`.
        let window = Window {
            first: digest_config.first_window,
            now,
        };
        let story_ids = fresh_story_ids(state.as_ref(), corpus, window)?;
        if !story_ids.is_empty() {
            digests.push(PageDigest {
                id: today,
                at: now,
                story_ids,
            });
        }
    }
    Ok(digests)
}

/// The feeds of `locale_key` and the same page in the other locales
/// (`page_url` gives its URL for a locale key).
fn page_links(
    config: &Config,
    catalog: &Catalog,
    feeds: &BTreeMap<String, Vec<IndexEntry>>,
    locale_key: &str,
    page_url: impl Fn(&str) -> Result<String>,
) -> Result<PageLinks> {
    let localizer = catalog.localizer(locale_key)?;
    let mut translations = Vec::new();
    for other in config.locales.iter().filter(|l| l.key != locale_key) {
        translations.push(TranslationView {
            lang: other.tag.clone(),
            label: catalog.localizer(&other.key)?.text("web-copy-language")?,
            url: page_url(&other.key)?,
        });
    }
    Ok(PageLinks {
        feeds: feeds
            .get(locale_key)
            .into_iter()
            .flatten()
            .map(|entry| FeedLinkView {
                title: format!("{} ({})", entry.title, entry.format_name),
                format_name: entry.format_name.to_owned(),
                mime_type: entry.mime_type.to_owned(),
                url: entry.url.to_string(),
            })
            .collect(),
        feeds_label: localizer.text("web-copy-feeds")?,
        translations,
        subscribe: None,
    })
}

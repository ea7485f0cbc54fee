//! The public pages of the digests, for `build`: each digest's web copy
//! ("view in browser": today's as the next `send` would mail it, or as it
//! went out; every earlier one as it went out), each locale's archive of
//! them, newest first, and the view of each locale's Atom feed of digests.
//! Reads the state database only.

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
use crate::view::{FeedView, ItemView, tag_uri};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What `build` publishes about the digests.
#[derive(Default)]
pub struct DigestPages {
    /// (path under the feeds folder, HTML) of every web copy and archive.
    pub pages: Vec<(PathBuf, String)>,
    /// Each locale's feed of digests (`<locale>/digest/`), for the Atom writer.
    pub feeds: Vec<FeedView>,
}

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

/// Where `build` publishes a locale's Atom feed of digests.
pub fn digest_feed_url(config: &Config, locale_key: &str) -> Result<url::Url> {
    Ok(archive_url(config, locale_key)?.join("atom.xml")?)
}

/// A digest a page is made for: its id, the moment it is shown as of (when
/// it was made; now for today's, not yet sent), its date in the feed of
/// digests (when it was made; for today's, its newest story's change, so
/// that a rebuild with nothing new changes nothing), and its stories.
struct PageDigest {
    id: String,
    at: DateTime<FixedOffset>,
    published: DateTime<FixedOffset>,
    story_ids: Vec<String>,
}

/// Every digest's web copy in every locale, each locale's archive and
/// its feed of digests. `feeds` are each locale's main feeds, which the
/// pages link to.
///
/// The newest digest is also rendered as mail (and dropped), so that a
/// digest template that cannot render fails `check` and `build`, not the
/// cron's `send` after them.
pub fn digest_pages(
    config: &Config,
    corpus: &mut Corpus,
    catalog: &Catalog,
    feeds: &BTreeMap<String, Vec<IndexEntry>>,
    now: DateTime<FixedOffset>,
) -> Result<DigestPages> {
    let Some(digest_config) = &config.digest else {
        return Ok(DigestPages::default());
    };
    let templates = digest::load_templates(&digest_config.templates_dir)?;
    let last_changes = story_last_changes(corpus);
    let digests = page_digests(config, corpus, &last_changes, now)?;
    let Some(newest) = digests.last() else {
        return Ok(DigestPages::default());
    };
    let mut result = DigestPages::default();
    for locale in &config.locales {
        let localizer = catalog.localizer(&locale.key)?;
        Renderer {
            config,
            digest: digest_config,
            catalog,
            templates: &templates,
            now: newest.at,
        }
        .render(
            corpus,
            &DigestRequest {
                digest_id: &newest.id,
                story_ids: &newest.story_ids,
                locale_key: &locale.key,
                topics: &[],
            },
        )?;
        let mut feeds = feeds.clone();
        feeds
            .entry(locale.key.clone())
            .or_default()
            .push(IndexEntry {
                title: localizer.text("digest-feed-title")?,
                format_name: crate::feed::Format::Atom.name(),
                mime_type: crate::feed::Format::Atom.mime_type(),
                url: digest_feed_url(config, &locale.key)?,
            });
        let feeds = &feeds;
        let links = page_links(config, catalog, feeds, &locale.key, |key| {
            Ok(archive_url(config, key)?.to_string())
        })?;
        let archive_link = LinkView {
            label: localizer.text("web-copy-archive")?,
            url: archive_url(config, &locale.key)?.to_string(),
        };
        let mut archive = Vec::new();
        let mut items = Vec::new();
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
            let url = browser_url(config, &locale.key, &page.id)?;
            archive.push(ArchiveEntry {
                date: view.date.clone(),
                intro: view.intro.clone(),
                url: url.to_string(),
            });
            let title = localizer.message(
                "web-copy-title",
                &[("date", localizer.long_date(&page.at).into())],
            )?;
            let mut alternates = vec![(locale.tag.clone(), url.clone())];
            for other in config.locales.iter().filter(|l| l.key != locale.key) {
                alternates.push((
                    other.tag.clone(),
                    browser_url(config, &other.key, &page.id)?,
                ));
            }
            let newest_story = page
                .story_ids
                .iter()
                .filter_map(|id| last_changes.get(id).copied())
                .max();
            items.push(ItemView {
                id: tag_uri(
                    &config.site.tag_authority,
                    &format!("digest/{}/{}", locale.key, page.id),
                ),
                url: url.clone(),
                title: title.clone(),
                summary: view.intro.clone(),
                content_html: digest::render_feed_entry(&templates, &view)?,
                published: page.published,
                updated: newest_story.map_or(page.published, |s| s.max(page.published)),
                tags: Vec::new(),
                authors: vec![config.site.author.name.clone()],
                image: None,
                alternates,
                attribution: None,
            });
            let copy = WebCopyView {
                title,
                canonical_url: url.to_string(),
                digest: view,
                archive: archive_link.clone(),
                links: page_links(config, catalog, feeds, &locale.key, |key| {
                    Ok(browser_url(config, key, &page.id)?.to_string())
                })?,
            };
            result.pages.push((
                PathBuf::from(&locale.key)
                    .join("digest")
                    .join(format!("{}.html", page.id)),
                digest::render_web_copy(&templates, &copy)?,
            ));
        }
        archive.reverse();
        items.reverse();
        result
            .feeds
            .push(digest_feed_view(config, locale, localizer, items)?);
        let view = ArchiveView {
            lang: locale.tag.clone(),
            title: localizer.text("web-copy-archive-title")?,
            canonical_url: archive_link.url.clone(),
            site_title: localizer.text("site-title")?,
            site_url: locale.home_url.to_string(),
            digests: archive,
            links,
        };
        result.pages.push((
            PathBuf::from(&locale.key).join("digest").join("index.html"),
            digest::render_archive(&templates, &view)?,
        ));
    }
    Ok(result)
}

/// The feed of one locale's digests, newest first: dated by its newest
/// entry, never by the clock.
fn digest_feed_view(
    config: &Config,
    locale: &crate::model::Locale,
    localizer: &crate::i18n::Localizer,
    items: Vec<ItemView>,
) -> Result<FeedView> {
    let feeds_url = archive_url(config, &locale.key)?;
    Ok(FeedView {
        id: tag_uri(
            &config.site.tag_authority,
            &format!("feed/{}/digest", locale.key),
        ),
        locale_key: locale.key.clone(),
        language: locale.tag.clone(),
        title: localizer.text("digest-feed-title")?,
        description: localizer.text("digest-feed-description")?,
        home_url: feeds_url.clone(),
        feeds_url,
        relative_dir: PathBuf::from(&locale.key).join("digest"),
        updated: items
            .iter()
            .map(|item| item.updated)
            .max()
            .context("a feed of digests needs at least one digest")?,
        author_name: config.site.author.name.clone(),
        author_email: config.site.author.email.clone(),
        hub: config.feeds.websub_hub.clone(),
        items,
    })
}

/// Each story's newest change in any language, by id.
fn story_last_changes(corpus: &Corpus) -> HashMap<String, DateTime<FixedOffset>> {
    corpus
        .stories
        .iter()
        .filter_map(|story| {
            let newest = story.translations.values().map(|a| a.last_change()).max()?;
            Some((story.id.clone(), newest))
        })
        .collect()
}

/// Every digest made, oldest first, then today's if none was made today
/// and it would hold stories.
fn page_digests(
    config: &Config,
    corpus: &Corpus,
    last_changes: &HashMap<String, DateTime<FixedOffset>>,
    now: DateTime<FixedOffset>,
) -> Result<Vec<PageDigest>> {
    let Some(digest_config) = &config.digest else {
        return Ok(Vec::new());
    };
    // Read-only: `check` renders these too and must write nothing.
    let state = State::open_read_only(&config.state)?;
    let today = now.format("%Y-%m-%d").to_string();
    let mut digests = Vec::new();
    if let Some(state) = &state {
        for (id, at) in state.digests_made()? {
            let story_ids = state.digest_story_ids(&id)?;
            digests.push(PageDigest {
                id,
                at,
                published: at,
                story_ids,
            });
        }
    }
    if !digests.iter().any(|d| d.id == today) {
        // Digests reach back only `digest.first_window` before the first one, as in `send`.
        let window = Window {
            first: digest_config.first_window,
            now,
        };
        let story_ids = fresh_story_ids(state.as_ref(), corpus, window)?;
        let newest_story = story_ids
            .iter()
            .filter_map(|id| last_changes.get(id).copied())
            .max();
        if let Some(published) = newest_story {
            digests.push(PageDigest {
                id: today,
                at: now,
                published,
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
        // The sign-up form, when `gazette serve` answers for this list.
        subscribe: match &config.serve {
            Some(serve) => Some(LinkView {
                label: localizer.text("web-copy-subscribe")?,
                url: serve
                    .public_url
                    .join(&format!("subscribe?lang={locale_key}"))
                    .context("cannot build the sign-up link under serve.public_url")?
                    .to_string(),
            }),
            None => None,
        },
    })
}

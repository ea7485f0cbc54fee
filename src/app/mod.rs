//! The orchestrator: the only module that knows the order of stages for
//! each command. It parses no formats itself; it passes `model` values
//! from one stage to the next and reports what happened.

pub mod feeds;
pub mod import;
pub mod incremental;
mod list;
mod mailbox;
mod request;
pub mod send;
pub mod serve;
pub mod setup;

pub use request::{
    Command, DeferredDeliveries, ExistingFiles, ImportDate, ImportRequest, NewState, Output,
    Request, SendRequest, SourceFailures, SubscribersRequest, UnknownDeliveries,
};

use crate::config::{self, Config};
use crate::feed::{self, RenderedFeed};
use crate::i18n;
use crate::publish;
use crate::scaffold;
use crate::source;
pub use crate::state::SendRole;
use crate::view;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Local};
use std::path::{Path, PathBuf};

/// Runs the command the user asked for.
pub fn run(request: &Request) -> Result<()> {
    let now = request.now.unwrap_or_else(|| Local::now().fixed_offset());
    let output = request.output;
    match &request.command {
        Command::Build { failures } => build(&request.config, now, output, *failures),
        Command::Check { failures } => check(&request.config, now, output, *failures),
        Command::Init { dir } => init(dir, now, output),
        Command::Send(send) => send::send(&config::load(&request.config)?, now, send, output),
        Command::Unsubscribe { address } => unsubscribe(&request.config, address, now, output),
        Command::Import(import) => import::import(&config::load(&request.config)?, import, output),
        Command::Subscribers(action) => {
            list::subscribers(&config::load(&request.config)?, action, now, output)
        }
        Command::Mailbox { paths, move_to } => mailbox::mailbox(
            &config::load(&request.config)?,
            paths,
            move_to.as_deref(),
            now,
            output,
        ),
        Command::Serve { listen } => {
            serve::serve(&config::load(&request.config)?, *listen, request.now)
        }
    }
}

/// Every file `build` publishes, rendered in memory: the feeds (each has
/// passed the pre-publish gate) and the web copy of each locale's digest.
pub struct Site {
    pub feeds: Vec<RenderedFeed>,
    /// (path under the feeds folder, HTML)
    pub digest_pages: Vec<(PathBuf, String)>,
    /// (path under the feeds folder, HTML) of each locale's feed index.
    pub index_pages: Vec<(PathBuf, String)>,
    /// The span of `now` in which the same stories are published.
    pub window: (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>),
    /// Per locale, the message ids it leaves to its fallback chain.
    pub missing_ids: std::collections::BTreeMap<String, Vec<String>>,
}

impl Site {
    /// (path under the feeds folder, bytes) of every file.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.feeds
            .iter()
            .map(|f| (f.relative_path.as_path(), f.text.as_bytes()))
            .chain(
                self.digest_pages
                    .iter()
                    .chain(&self.index_pages)
                    .map(|(p, html)| (p.as_path(), html.as_bytes())),
            )
    }
}

/// Loads, localises and renders everything `build` publishes, in memory.
/// `feed_articles` are the feed sources' articles from [`feeds::gather`].
pub fn render_site(
    config: &Config,
    feed_articles: std::collections::BTreeMap<usize, Vec<crate::model::Article>>,
    now: DateTime<FixedOffset>,
) -> Result<Site> {
    let rules = setup::ImportRules::default();
    let corpus = source::load(config, feed_articles, rules.for_sources(config)?)?;
    let window = corpus.publication_window(now);
    let mut corpus = corpus.into_published(now);
    // Render only the bodies that reach a feed: the newest `max_items` of
    // each locale (the digest pages render theirs in `digest_pages`).
    let tags = tag_feeds(config, &corpus)?;
    let mut selection = feed_selection(&corpus, &config.locales, config.feeds.max_items);
    for (locale, tag) in &tags {
        selection.extend(
            view::feed_stories(config, &corpus, locale, Some(tag))
                .into_iter()
                .map(|(story, _)| (story.id.clone(), locale.clone())),
        );
    }
    source::render_selected(&mut corpus, &selection)?;
    let catalog = i18n::load(config)?;
    let mut views = Vec::new();
    for locale in &config.locales {
        let localizer = catalog.localizer(&locale.key)?;
        let view = view::feed_view(config, &corpus, locale, localizer)
            .with_context(|| format!("cannot prepare the feeds of locale `{}`", locale.key))?;
        views.push(view);
        for (_, tag) in tags.iter().filter(|(key, _)| *key == locale.key) {
            let view = view::tag_feed_view(config, &corpus, locale, localizer, tag).with_context(
                || {
                    format!(
                        "cannot prepare the feeds of tag `{}` in locale `{}`",
                        tag.slug, locale.key
                    )
                },
            )?;
            views.push(view);
        }
    }
    // Each feed is written and then read back by the gate on its own, so
    // they render in parallel (in the same order; the first error wins).
    let feeds = {
        use rayon::prelude::*;
        let jobs: Vec<_> = views
            .iter()
            .flat_map(|view| {
                config
                    .feeds
                    .formats
                    .iter()
                    .map(move |&format| (view, feed::Format::from(format)))
            })
            .collect();
        let rendered: Vec<Result<RenderedFeed>> = jobs
            .into_par_iter()
            .map(|(view, format)| feed::render(view, format))
            .collect();
        rendered.into_iter().collect::<Result<Vec<_>>>()?
    };
    let mut index_pages = Vec::new();
    // Each locale's main feeds (its first view), which the digest pages link to.
    let mut main_feeds = std::collections::BTreeMap::new();
    for locale in &config.locales {
        let localizer = catalog.localizer(&locale.key)?;
        let mut entries = Vec::new();
        for (n, view) in views
            .iter()
            .filter(|v| v.locale_key == locale.key)
            .enumerate()
        {
            if n == 1 {
                main_feeds.insert(locale.key.clone(), entries.clone());
            }
            for &format in &config.feeds.formats {
                let format = feed::Format::from(format);
                entries.push(crate::feed_index::IndexEntry {
                    title: view.title.clone(),
                    format_name: format.name(),
                    mime_type: format.mime_type(),
                    url: format.self_url(view)?,
                });
            }
        }
        main_feeds
            .entry(locale.key.clone())
            .or_insert_with(|| entries.clone());
        let text = crate::feed_index::IndexText {
            language: locale.tag.clone(),
            title: localizer.text("feed-index-title")?,
            intro: localizer.text("feed-index-intro")?,
        };
        index_pages.push(crate::feed_index::render(&locale.key, &text, &entries));
        index_pages.push(crate::feed_stylesheet::render(
            &locale.key,
            &locale.tag,
            &localizer.text("feed-stylesheet-intro")?,
        ));
    }
    let send::DigestPages {
        pages: digest_pages,
        feeds: digest_feeds,
    } = send::digest_pages(config, &mut corpus, &catalog, &main_feeds, now)?;
    let mut feeds = feeds;
    // The feed of digests is Atom whatever `feeds.formats` says: one feed
    // per language for whoever follows the digests rather than the stories.
    for view in &digest_feeds {
        feeds.push(feed::render(view, feed::Format::Atom)?);
    }
    // Freeing a large corpus (a dozen allocations per article) takes longer
    // than publishing what was rendered from it; a worker thread frees it
    // meanwhile. If the process ends first, the OS reclaims the memory.
    rayon::spawn(move || drop(corpus));
    Ok(Site {
        feeds,
        digest_pages,
        index_pages,
        window,
        missing_ids: catalog.missing_ids(),
    })
}

/// (locale key, tag) of every tag feed `feeds.tags` asks for. A listed
/// slug that no story carries in any locale (and no `[tags.<slug>]` table
/// names) is an error: it is most likely a typo.
fn tag_feeds(
    config: &Config,
    corpus: &crate::model::Corpus,
) -> Result<Vec<(String, view::TagRef)>> {
    if config.feeds.tags == config::TagFeeds::None {
        return Ok(Vec::new());
    }
    let mut tags = Vec::new();
    for locale in &config.locales {
        for tag in view::locale_tags(config, corpus, &locale.key) {
            if config.feeds.tags.includes(&tag.slug) {
                tags.push((locale.key.clone(), tag));
            }
        }
    }
    if let config::TagFeeds::Only(slugs) = &config.feeds.tags {
        let unknown: Vec<&str> = slugs
            .iter()
            .filter(|s| {
                !tags.iter().any(|(_, t)| &t.slug == *s) && !config.feeds.tag_names.contains_key(*s)
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            anyhow::bail!(
                "{}: feeds.tags lists {}, which no published story carries and no [tags.<slug>] table names; use a tag slug (a Chinese tag's is its pinyin, e.g. `jing-ji` for 经济) or remove the entry",
                config.path.display(),
                unknown
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(tags)
}

/// The versions that reach a feed: the newest `max_items` of each locale.
fn feed_selection(
    corpus: &crate::model::Corpus,
    locales: &[crate::model::Locale],
    max_items: usize,
) -> source::Selection {
    locales
        .iter()
        .flat_map(|locale| {
            corpus
                .newest(&locale.key, max_items)
                .into_iter()
                .map(|(story, _)| (story.id.clone(), locale.key.clone()))
        })
        .collect()
}

fn build(
    config_path: &Path,
    now: DateTime<FixedOffset>,
    output: Output,
    failures: SourceFailures,
) -> Result<()> {
    let config = config::load(config_path)?;
    // Every part is built before anything is written, so a key that cannot
    // sign is reported now rather than by the next send.
    setup::dkim_signer(&config)?;
    // Files modified since shortly before this moment are not trusted to
    // reveal their next change (see `incremental`).
    let started = std::time::SystemTime::now();
    // One read-only look at what the last run recorded; closed before
    // this build writes to the database.
    let previous = crate::state::State::open_read_only(&config.state)?;
    let record = match &previous {
        Some(state) => state.build_record()?,
        None => None,
    };
    let digests = incremental::digest_ids(&config, previous.as_ref())?;
    drop(previous);
    let (fingerprint, site) = match record {
        Some(record) => {
            // Built before: first see whether anything changed.
            let fingerprint = incremental::fingerprint(&config, &digests, now, started)?;
            if let Some(fingerprint) = &fingerprint
                && incremental::up_to_date(&config, &record, fingerprint, now)
            {
                // Nothing to publish, but a killed build's temp files may
                // still sit beside the outputs.
                let outputs: Vec<PathBuf> = record
                    .outputs
                    .iter()
                    .map(|(path, _, _)| config.feeds.dir.join(path))
                    .collect();
                publish::remove_stale_temps_beside(outputs.iter().map(PathBuf::as_path));
                if output.is_normal() {
                    println!(
                        "nothing changed since the last build; {} is up to date",
                        config.feeds.dir.display()
                    );
                }
                return Ok(());
            }
            let feed_articles = feeds::gather(&config, feeds::Mode::FetchAndStore, failures, now)?;
            (fingerprint, render_site(&config, feed_articles, now)?)
        }
        None => {
            // Nothing to compare with: the fingerprint is only recorded at
            // the end, so it is taken while the site is built. That is
            // sound because any input modified after `started` (less the
            // racy window) marks the fingerprint racy, and a racy build is
            // not recorded.
            let config = &config;
            let (fingerprint, site) = rayon::join(
                || incremental::fingerprint(config, &digests, now, started),
                || -> Result<Site> {
                    let feed_articles =
                        feeds::gather(config, feeds::Mode::FetchAndStore, failures, now)?;
                    render_site(config, feed_articles, now)
                },
            );
            (fingerprint?, site?)
        }
    };
    // All or nothing: every changed file is staged and fsynced before the
    // first rename, so a kill or an error leaves yesterday's feeds whole
    // and a locale's formats are never half old, half new.
    let publish::Published { written, unchanged } =
        publish::publish_all(&config.feeds.dir, site.files())?;
    if let Some(fingerprint) = &fingerprint {
        let outputs: Vec<PathBuf> = site.files().map(|(path, _)| path.to_path_buf()).collect();
        incremental::record(&config, fingerprint, site.window, &outputs)?;
    }
    if output.is_normal() {
        println!(
            "built {} feeds and {} digest pages for {} locales into {}: {} written, {unchanged} unchanged",
            site.feeds.len(),
            site.digest_pages.len(),
            config.locales.len(),
            config.feeds.dir.display(),
            written.len()
        );
    }
    announce_changed_feeds(&config, &site, &written);
    Ok(())
}

/// Pings the WebSub hub, if there is one, for each feed this build wrote
/// (feeds only: index and digest pages have no subscribers). A failing
/// hub is a warning: the feeds are published and readers still poll.
fn announce_changed_feeds(config: &Config, site: &Site, written: &[PathBuf]) {
    let Some(hub) = &config.feeds.websub_hub else {
        return;
    };
    let changed: Vec<url::Url> = site
        .feeds
        .iter()
        .filter(|feed| written.contains(&feed.relative_path))
        .filter_map(|feed| {
            let relative = feed.relative_path.to_string_lossy().replace('\\', "/");
            config.feeds.url.join(&relative).ok()
        })
        .collect();
    if changed.is_empty() {
        return;
    }
    let failures = crate::websub::ping(hub, &changed, &config.fetch.user_agent);
    for failure in &failures {
        tracing::warn!(
            "WebSub hub {hub} did not take the update of {}: {}; subscribers will see it at their next poll",
            failure.feed,
            failure.reason
        );
    }
    tracing::info!(
        "WebSub: told {hub} about {} changed feeds",
        changed.len() - failures.len()
    );
}

fn check(
    config_path: &Path,
    now: DateTime<FixedOffset>,
    output: Output,
    failures: SourceFailures,
) -> Result<()> {
    let config = config::load(config_path)?;
    setup::dkim_signer(&config)?;
    let feed_articles = feeds::gather(&config, feeds::Mode::FetchReadOnly, failures, now)?;
    let site = render_site(&config, feed_articles, now)?;
    for (locale, ids) in &site.missing_ids {
        tracing::warn!(
            "locale `{locale}` does not define {} (they fall back): add them to locales/{locale}/*.ftl",
            ids.join(", ")
        );
    }
    let would_change = site
        .files()
        .filter(|(path, bytes)| {
            std::fs::read(config.feeds.dir.join(path)).map_or(true, |old| old != *bytes)
        })
        .count();
    if output.is_normal() {
        println!(
            "check passed: {} feeds and {} digest pages for {} locales; a build would change {would_change} file{}",
            site.feeds.len(),
            site.digest_pages.len(),
            config.locales.len(),
            if would_change == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn unsubscribe(
    config_path: &Path,
    address: &str,
    now: DateTime<FixedOffset>,
    output: Output,
) -> Result<()> {
    let config = config::load(config_path)?;
    if address.parse::<lettre::Address>().is_err() {
        anyhow::bail!("`{address}` is not an email address");
    }
    let state = crate::state::State::open(&config.state)?;
    let added = state.suppress(address, "unsubscribed by request", now)?;
    if output.is_normal() {
        if added {
            println!("{address} is suppressed: it will never get mail again");
        } else {
            println!("{address} was already suppressed");
        }
    }
    Ok(())
}

fn init(dir: &Path, now: DateTime<FixedOffset>, output: Output) -> Result<()> {
    let written = scaffold::create_site(dir, now)?;
    if output.is_normal() {
        println!(
            "created a site in {} ({} files); next: cd {} && gazette build",
            dir.display(),
            written,
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadContext, markdown};

    fn locales() -> Vec<crate::model::Locale> {
        vec![crate::model::Locale {
            key: "en".into(),
            tag: "en".into(),
            fallback: vec![],
            home_url: url::Url::parse("https://news.example.org/").unwrap(),
        }]
    }

    #[test]
    fn only_the_newest_max_items_are_rendered_and_bad_utf8_is_reported_unrendered() {
        let dir = tempfile::tempdir().unwrap();
        let locales = locales();
        let base = url::Url::parse("https://news.example.org/").unwrap();
        let ctx = LoadContext {
            locales: &locales,
            default_locale: "en",
            base_url: &base,
        };
        let mut articles = Vec::new();
        for n in 1..=51u32 {
            let path = dir.path().join(format!("s{n:02}.md"));
            // Smaller n is newer, so s51 is position 51 of 51.
            let day = 60 - n;
            let text = format!(
                "+++\ntitle = \"S{n}\"\ndate = 2026-{:02}-{:02}T00:00:00Z\n+++\nBody **{n}**.\n",
                1 + day / 28,
                1 + day % 28
            );
            std::fs::write(&path, &text).unwrap();
            articles.push(Box::new(
                markdown::index_file(&path, text.as_bytes(), &ctx).unwrap(),
            ));
        }
        assert!(articles.iter().all(|a| a.body.is_indexed()));
        let (mut corpus, problems) = source::pair(articles);
        assert!(problems.is_empty(), "{problems:?}");
        let selection = feed_selection(&corpus, &locales, 50);
        assert_eq!(selection.len(), 50);
        source::render_selected(&mut corpus, &selection).unwrap();
        let newest = corpus.newest_first("en");
        assert_eq!(newest[49].0.id, "s50");
        assert_eq!(newest[50].0.id, "s51");
        assert!(
            newest[49]
                .1
                .content_html()
                .unwrap()
                .contains("<strong>50</strong>")
        );
        assert_eq!(newest[49].1.summary().unwrap(), "Body 50.");
        assert!(
            newest[50].1.content_html().is_err(),
            "position 51 is not rendered"
        );
        assert!(newest[50].1.body.is_indexed());

        // A body that is not UTF-8 is reported when indexing, rendered or not.
        let bad = dir.path().join("bad.md");
        let mut bytes = b"+++\ntitle = \"B\"\ndate = 2026-01-01T00:00:00Z\n+++\nok\n".to_vec();
        bytes.extend_from_slice(b"\xff\xfe broken\n");
        std::fs::write(&bad, &bytes).unwrap();
        let problem = markdown::index_file(&bad, &bytes, &ctx).unwrap_err();
        assert_eq!(problem.line, Some(6));
        assert!(problem.message.contains("invalid UTF-8"), "{problem}");
    }
}

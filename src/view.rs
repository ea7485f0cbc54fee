//! Views: the plain, localised data that feeds (and later templates) are
//! rendered from, built from the corpus for one locale.
//!
//! Pure functions: no I/O, no format syntax. Every visible string comes
//! from the [`Localizer`]; every URL here is absolute.

use crate::config::{Config, ContentMode};
use crate::i18n::Localizer;
use crate::model::{Corpus, Locale};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone, Utc};
use url::Url;

/// One locale's feed, ready for any format writer.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedView {
    /// `tag:` id of the feed itself.
    pub id: String,
    pub locale_key: String,
    /// BCP 47 tag for `<language>`, `xml:lang` and JSON `language`.
    pub language: String,
    pub title: String,
    pub description: String,
    pub home_url: Url,
    /// The folder this locale's feeds are published in (`feeds.url` +
    /// `<locale>/`); each format's self link is its file name in it.
    pub feeds_url: Url,
    /// The same folder relative to the feeds folder: `<locale>` for the
    /// main feed, `<locale>/tags/<slug>` for a tag's.
    pub relative_dir: std::path::PathBuf,
    /// Newest change among the items; a fixed date when there are none,
    /// never the clock, so unchanged input gives unchanged output.
    pub updated: DateTime<FixedOffset>,
    pub author_name: String,
    pub author_email: Option<String>,
    /// The WebSub hub to name with `rel="hub"` (`feeds.websub_hub`).
    pub hub: Option<Url>,
    pub items: Vec<ItemView>,
}

/// One story in one language, as a feed item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// Absolute, stable id (`tag:` URI) used as Atom id, RSS guid and JSON id.
    pub id: String,
    pub url: Url,
    pub title: String,
    pub summary: String,
    /// Full sanitised HTML, or the summary with a "read more" link.
    pub content_html: String,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    pub tags: Vec<String>,
    pub authors: Vec<String>,
    pub image: Option<Url>,
    /// This version first, then every published translation: (BCP 47 tag, URL).
    pub alternates: Vec<(String, Url)>,
    /// For a story taken from a partner's feed: who published it.
    pub attribution: Option<Attribution>,
}

/// The publication a story was taken from.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub name: String,
    /// Its feed (or home page), when known.
    pub url: Option<Url>,
}

/// Builds the feed view of `locale`: its published stories, newest first,
/// at most `max_items`.
pub fn feed_view(
    config: &Config,
    corpus: &Corpus,
    locale: &Locale,
    localizer: &Localizer,
) -> Result<FeedView> {
    build_view(config, corpus, locale, localizer, None)
}

/// One tag of one locale: its stable ASCII slug and its name there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagRef {
    pub slug: String,
    pub name: String,
}

/// The feed slug of `tag` as written in `locale`: the `[tags.<slug>]`
/// table naming it so, else its pinyin/ASCII slug (the `import` slugify).
pub fn tag_slug(config: &Config, locale: &str, tag: &str) -> String {
    config
        .feeds
        .tag_names
        .iter()
        .find(|(_, names)| names.get(locale).is_some_and(|n| n == tag))
        .map_or_else(
            || crate::source::text::slugify(tag),
            |(slug, _)| slug.clone(),
        )
}

/// Every tag the published stories of `locale` carry, by slug (the first
/// name seen, in slug order, when two names share a slug).
pub fn locale_tags(config: &Config, corpus: &Corpus, locale: &str) -> Vec<TagRef> {
    let mut tags = std::collections::BTreeMap::new();
    for (_, article) in corpus.newest_first(locale) {
        for tag in &article.tags {
            tags.entry(tag_slug(config, locale, tag))
                .or_insert_with(|| tag.clone());
        }
    }
    tags.into_iter()
        .map(|(slug, name)| TagRef { slug, name })
        .collect()
}

/// The feed of one tag in `locale`: the newest `max_items` stories whose
/// version in that language carries a tag with `tag.slug`.
pub fn tag_feed_view(
    config: &Config,
    corpus: &Corpus,
    locale: &Locale,
    localizer: &Localizer,
    tag: &TagRef,
) -> Result<FeedView> {
    build_view(config, corpus, locale, localizer, Some(tag))
}

/// The stories a feed of `locale` shows, newest first.
pub fn feed_stories<'c>(
    config: &Config,
    corpus: &'c Corpus,
    locale: &str,
    tag: Option<&TagRef>,
) -> Vec<(&'c crate::model::Story, &'c crate::model::Article)> {
    match tag {
        None => corpus.newest(locale, config.feeds.max_items),
        Some(tag) => corpus
            .newest_first(locale)
            .into_iter()
            .filter(|(_, a)| {
                a.tags
                    .iter()
                    .any(|t| tag_slug(config, locale, t) == tag.slug)
            })
            .take(config.feeds.max_items)
            .collect(),
    }
}

fn build_view(
    config: &Config,
    corpus: &Corpus,
    locale: &Locale,
    localizer: &Localizer,
    tag: Option<&TagRef>,
) -> Result<FeedView> {
    let read_more = match config.feeds.content {
        ContentMode::Summary => Some(localizer.text("feed-read-more")?),
        ContentMode::Full => None,
    };
    let items: Vec<ItemView> = feed_stories(config, corpus, &locale.key, tag)
        .into_iter()
        .map(|(story, article)| -> Result<ItemView> {
            // A partner's story links to the original: its canonical URL.
            let url = article
                .origin
                .as_ref()
                .map_or(&article.url, |o| &o.canonical_url);
            let alternates = std::iter::once((locale.tag.clone(), url.clone()))
                .chain(
                    story
                        .translations
                        .iter()
                        .filter(|(key, _)| **key != locale.key)
                        .filter_map(|(key, other)| {
                            config
                                .locale(key)
                                .map(|l| (l.tag.clone(), other.url.clone()))
                        }),
                )
                .collect();
            // An unrendered body is an error naming the file, never empty text.
            let summary = article.summary()?;
            let content_html = match &read_more {
                None => article.content_html()?.to_owned(),
                Some(read_more) => {
                    let published = localizer.message(
                        "feed-published-on",
                        &[("date", localizer.long_date(&article.date).into())],
                    )?;
                    summary_html(summary, url, &published, read_more)
                }
            };
            Ok(ItemView {
                id: tag_uri(
                    &config.site.tag_authority,
                    &format!("{}/{}", locale.key, story.id),
                ),
                url: url.clone(),
                title: article.title.clone(),
                summary: summary.to_owned(),
                content_html,
                published: article.date,
                updated: article.last_change(),
                tags: article.tags.clone(),
                // A partner's story is credited to its own authors or to no
                // one: never to us.
                authors: if article.authors.is_empty() && article.origin.is_none() {
                    vec![config.site.author.name.clone()]
                } else {
                    article.authors.clone()
                },
                image: article.image.clone(),
                alternates,
                attribution: article.origin.as_ref().map(|o| Attribution {
                    name: o.source_name.clone(),
                    url: o.source_url.clone(),
                }),
            })
        })
        .collect::<Result<_>>()?;

    let relative_dir = match tag {
        None => std::path::PathBuf::from(&locale.key),
        Some(tag) => std::path::Path::new(&locale.key)
            .join("tags")
            .join(&tag.slug),
    };
    let dir_url = match tag {
        None => format!("{}/", locale.key),
        Some(tag) => format!("{}/tags/{}/", locale.key, tag.slug),
    };
    let feeds_url = config.feeds.url.join(&dir_url).with_context(|| {
        format!(
            "cannot build the feed URLs of locale `{}` under feeds.url",
            locale.key
        )
    })?;
    let updated = items
        .iter()
        .map(|i| i.updated)
        .max()
        .unwrap_or_else(|| fixed_epoch(&config.site.tag_authority));
    let (title, description) = match tag {
        None => (
            localizer.text("feed-title")?,
            localizer.text("feed-description")?,
        ),
        Some(tag) => (
            localizer.message("feed-tag-title", &[("tag", tag.name.clone().into())])?,
            localizer.message("feed-tag-description", &[("tag", tag.name.clone().into())])?,
        ),
    };
    Ok(FeedView {
        id: tag_uri(&config.site.tag_authority, &format!("feed/{dir_url}"))
            .trim_end_matches('/')
            .to_owned(),
        locale_key: locale.key.clone(),
        language: locale.tag.clone(),
        title,
        description,
        home_url: locale.home_url.clone(),
        feeds_url,
        relative_dir,
        updated,
        author_name: config.site.author.name.clone(),
        author_email: config.site.author.email.clone(),
        hub: config.feeds.websub_hub.clone(),
        items,
    })
}

/// `<p>summary</p><p>Published 8 March 2021 · <a href="url">Read more</a></p>`, escaped.
fn summary_html(summary: &str, url: &Url, published: &str, read_more: &str) -> String {
    use pulldown_cmark_escape::{escape_href, escape_html};
    let mut html = String::from("<p>");
    let _ = escape_html(&mut html, summary);
    html.push_str("</p><p>");
    let _ = escape_html(&mut html, published);
    html.push_str(" · <a href=\"");
    let _ = escape_href(&mut html, url.as_str());
    html.push_str("\">");
    let _ = escape_html(&mut html, read_more);
    html.push_str("</a></p>");
    html
}

/// `tag:<authority>:<specific>` (RFC 4151) with the specific part
/// percent-encoded, so any front matter id makes a valid URI.
pub fn tag_uri(authority: &str, specific: &str) -> String {
    let encoded: String = specific
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~/".contains(c) {
                c.to_string()
            } else {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect();
    format!("tag:{authority}:{encoded}")
}

/// Midnight UTC of the authority's date: the `updated` of an empty feed.
fn fixed_epoch(authority: &str) -> DateTime<FixedOffset> {
    let date = authority
        .rsplit_once(',')
        .and_then(|(_, d)| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_default();
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
        .fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Article, Body, Story};
    use std::collections::BTreeMap;

    /// A one-story corpus whose `en` version was only indexed, never rendered.
    fn unrendered(own_summary: Option<&str>) -> Corpus {
        let article = Article {
            story_id: "rail".into(),
            slug: "rail".into(),
            locale: "en".into(),
            title: "Rail".into(),
            date: DateTime::parse_from_rfc3339("2026-11-20T09:30:00+08:00").unwrap(),
            updated: None,
            own_summary: own_summary.map(str::to_owned),
            body: Body::Indexed { offset: 40 },
            tags: vec![],
            authors: vec![],
            image: None,
            url: Url::parse("https://news.example.org/rail/").unwrap(),
            draft: false,
            source_path: "articles/rail.md".into(),
            origin: None,
        };
        Corpus {
            stories: vec![Story {
                id: "rail".into(),
                slug: "rail".into(),
                translations: BTreeMap::from([("en".to_owned(), Box::new(article))]),
            }],
        }
    }

    #[test]
    fn a_feed_over_an_unrendered_body_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for (mode, own_summary) in [("full", Some("Its own summary.")), ("summary", None)] {
            let text = format!(
                "{}[feeds]\ncontent = \"{mode}\"\n",
                crate::test_support::BILINGUAL_CONFIG
            );
            let config =
                crate::config::parse(&text, std::path::Path::new("config.toml"), dir.path())
                    .unwrap();
            let catalog = crate::i18n::load(&config).unwrap();
            let locale = config.locale("en").unwrap();
            let error = feed_view(
                &config,
                &unrendered(own_summary),
                locale,
                catalog.localizer("en").unwrap(),
            )
            .unwrap_err();
            let message = format!("{error:#}");
            assert!(
                message.starts_with(
                    "the body of articles/rail.md (`rail` in locale `en`) was never rendered"
                ),
                "{mode}: {message}"
            );
        }
    }

    #[test]
    fn tag_uri_encodes_unsafe_characters() {
        assert_eq!(
            tag_uri("news.example.org,2026-01-01", "zh/成渝 #1"),
            "tag:news.example.org,2026-01-01:zh/%E6%88%90%E6%B8%9D%20%231"
        );
    }

    #[test]
    fn empty_feed_is_dated_by_the_fixed_id_date() {
        assert_eq!(
            fixed_epoch("news.example.org,2026-01-01").to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
    }
}

//! Feed source: another publication's RSS 0.9x/1.0/2.0, Atom or JSON Feed
//! document, parsed with `feed-rs`, becomes articles of the source's locale
//! with attribution and the original link as canonical link.
//!
//! Pure: it maps bytes the caller obtained (fetched, cached or read from a
//! file) to `model` values. It never fetches, never touches the state
//! database and never decides what a failure means for the build.

mod offsets;

use super::Problem;
use super::clean::{excerpt, html_to_text, sanitize_html, strip_xml_illegal};
use crate::config::{FeedLocation, FeedSource};
use crate::model::{Article, Body, Origin};
use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use url::Url;

/// What one feed document yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedItems {
    /// Newest first, at most the source's `max_items`.
    pub articles: Vec<Article>,
    /// One line per item left out, saying which and why (for a warning).
    pub skipped: Vec<String>,
}

/// Maps a feed document to articles of `source`'s locale.
///
/// - `story_id` is `<source name>:<item id>` (RSS guid, Atom id, JSON Feed
///   id), so it is stable across fetches and two sources never clash; an
///   item without an id gets one from its link (else its title), never a
///   random one.
/// - `slug` is the source name made URL-safe plus the first 12 hex digits
///   of SHA-256(story id): deterministic and unlikely to meet a Markdown
///   slug (if it does, pairing reports it).
/// - `date` is the item's published date, else its updated date, in the
///   offset the partner wrote it with (see `offsets`). An item
///   with neither is skipped: a made-up date would move it in every feed on
///   every run. So is an item without a title or an absolute http(s) link.
/// - Content is sanitised with the item's link as base; the summary is the
///   item's own (as plain text), else an excerpt of the content.
pub fn items_to_articles(bytes: &[u8], source: &FeedSource) -> Result<FeedItems, Problem> {
    let location = source.location.to_string();
    let base = match &source.location {
        FeedLocation::Url(url) => Some(url.as_str().to_owned()),
        FeedLocation::Path(_) => None,
    };
    let feed = feed_rs::parser::Builder::new()
        .base_uri(base)
        .id_generator(stable_id)
        .build()
        .parse(bytes)
        .map_err(|e| Problem {
            path: PathBuf::from(&location),
            line: None,
            message: format!("not a readable RSS, Atom or JSON feed: {e}"),
        })?;
    let source_url = match &source.location {
        FeedLocation::Url(url) => Some(url.clone()),
        FeedLocation::Path(_) => feed.links.iter().find_map(|l| absolute_http(&l.href)),
    };

    let offsets = offsets::written_offsets(bytes);
    let mut items = FeedItems::default();
    for entry in &feed.entries {
        match entry_to_article(entry, source, &location, source_url.as_ref(), &offsets) {
            Ok(article) => items.articles.push(article),
            Err(reason) => items.skipped.push(reason),
        }
    }
    items.articles.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| a.story_id.cmp(&b.story_id))
    });
    if let Some(max) = source.max_items {
        items.articles.truncate(max);
    }
    Ok(items)
}

fn entry_to_article(
    entry: &feed_rs::model::Entry,
    source: &FeedSource,
    location: &str,
    source_url: Option<&Url>,
    offsets: &HashMap<DateTime<Utc>, FixedOffset>,
) -> Result<Article, String> {
    let item_id = strip_xml_illegal(entry.id.trim()).into_owned();
    if item_id.is_empty() {
        return Err("an item has no id, link or title".to_owned());
    }
    let link = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .find_map(|l| absolute_http(&l.href))
        .or_else(|| absolute_http(&item_id))
        .ok_or_else(|| format!("item `{item_id}` has no absolute http(s) link"))?;
    let title = entry
        .title
        .as_ref()
        .map(|t| text_of(&t.content, t.content_type.as_str()))
        .unwrap_or_default();
    if title.is_empty() {
        return Err(format!("item `{item_id}` has no title"));
    }
    let date = entry
        .published
        .or(entry.updated)
        .map(|d| offsets::as_written(d, offsets))
        .ok_or_else(|| format!("item `{item_id}` has no date (published or updated)"))?;
    let updated = entry
        .updated
        .map(|u| offsets::as_written(u, offsets))
        .filter(|u| *u > date);

    let content_html = match (&entry.content, &entry.summary) {
        (Some(content), _)
            if content
                .body
                .as_deref()
                .is_some_and(|b| !b.trim().is_empty()) =>
        {
            as_html(
                content.body.as_deref().unwrap_or_default(),
                content.content_type.as_str(),
            )
        }
        (_, Some(summary)) => as_html(&summary.content, summary.content_type.as_str()),
        _ => String::new(),
    };
    let content_html = sanitize_html(&strip_xml_illegal(&content_html), &link);
    let own_summary = entry
        .summary
        .as_ref()
        .map(|s| text_of(&s.content, s.content_type.as_str()))
        .filter(|s| !s.is_empty())
        .map(|s| excerpt(&s));
    // Without a summary of its own, an excerpt of the content stands in.
    let body = match own_summary {
        Some(_) => Body::rendered(content_html),
        None => Body::Rendered {
            excerpt: excerpt(&html_to_text(&content_html)),
            html: content_html,
        },
    };

    let mut tags: Vec<String> = Vec::new();
    for category in &entry.categories {
        let tag = clean(category.label.as_deref().unwrap_or(&category.term));
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let authors = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(clean))
        .filter(|n| !n.is_empty())
        .collect();

    let story_id = format!("{}:{item_id}", source.name);
    let slug = format!(
        "{}-{}",
        slug_prefix(&source.name),
        &hex_sha256(&story_id)[..12]
    );
    Ok(Article {
        story_id,
        slug,
        locale: source.locale.clone(),
        title,
        date,
        updated,
        own_summary,
        body,
        tags,
        authors,
        image: image_of(entry),
        url: link.clone(),
        draft: false,
        source_path: PathBuf::from(location),
        origin: Some(Box::new(Origin {
            source_name: source.name.clone(),
            source_url: source_url.cloned(),
            canonical_url: link,
            item_id,
        })),
    })
}

/// feed-rs calls this for items (and feeds) without an id. The default
/// falls back to a random UUID, which would make a new story on every
/// fetch; this uses the first link, else the title, else nothing (the item
/// is then skipped).
fn stable_id(
    links: &[feed_rs::model::Link],
    title: &Option<feed_rs::model::Text>,
    _base: Option<&str>,
) -> String {
    links
        .first()
        .map(|l| l.href.trim().to_owned())
        .filter(|href| !href.is_empty())
        .or_else(|| title.as_ref().map(|t| t.content.trim().to_owned()))
        .unwrap_or_default()
}

/// The first image among the item's media (thumbnails, then image
/// content such as an RSS enclosure), or an `enclosure` link of an image type.
fn image_of(entry: &feed_rs::model::Entry) -> Option<Url> {
    let thumbnails = entry
        .media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| t.image.uri.as_str());
    let contents = entry
        .media
        .iter()
        .flat_map(|m| &m.content)
        .filter(|c| {
            c.content_type
                .as_ref()
                .is_some_and(|t| t.as_str().starts_with("image/"))
        })
        .filter_map(|c| c.url.as_ref().map(|u| u.as_str()));
    let links = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .filter(|l| {
            l.media_type
                .as_deref()
                .is_some_and(|t| t.starts_with("image/"))
        })
        .map(|l| l.href.as_str());
    thumbnails
        .chain(contents)
        .chain(links)
        .find_map(absolute_http)
}

fn absolute_http(href: &str) -> Option<Url> {
    Url::parse(href.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn is_html(media_type: &str) -> bool {
    media_type.contains("html")
}

/// Plain text of a feed text construct: markup removed from HTML, spaces collapsed.
fn text_of(content: &str, media_type: &str) -> String {
    let text = if is_html(media_type) {
        html_to_text(content)
    } else {
        content.to_owned()
    };
    clean(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A text construct as HTML: plain text is escaped and made a paragraph.
fn as_html(content: &str, media_type: &str) -> String {
    if is_html(media_type) {
        content.to_owned()
    } else {
        let mut html = String::from("<p>");
        let _ = pulldown_cmark_escape::escape_html(&mut html, content.trim());
        html.push_str("</p>");
        html
    }
}

fn clean(text: &str) -> String {
    strip_xml_illegal(text.trim()).into_owned()
}

/// Lowercase ASCII letters and digits of `name`, other runs as one '-';
/// `feed` when nothing is left (a name in Chinese, say).
fn slug_prefix(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "feed".to_owned()
    } else {
        out.to_owned()
    }
}

fn hex_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn source(name: &str) -> FeedSource {
        FeedSource {
            location: FeedLocation::Url(
                Url::parse("https://partner.example.com/feed.xml").unwrap(),
            ),
            name: name.to_owned(),
            locale: "zh".to_owned(),
            max_items: None,
        }
    }

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Partner</title><link>https://partner.example.com/</link><description>d</description>
<item>
  <title>Rail &amp; roads</title>
  <link>https://partner.example.com/2026/rail</link>
  <guid isPermaLink="false">partner-42</guid>
  <pubDate>Fri, 27 Nov 2026 08:00:00 +0800</pubDate>
  <description>&lt;p&gt;Short &lt;b&gt;summary&lt;/b&gt;.&lt;/p&gt;</description>
  <content:encoded><![CDATA[<p onclick="x()">Body<script>alert(1)</script> <a href="/about">about</a></p>]]></content:encoded>
  <category>Transport</category><category>Transport</category>
  <author>desk@partner.example.com (Desk)</author>
  <enclosure url="https://partner.example.com/rail.jpg" length="10" type="image/jpeg"/>
</item>
<item>
  <title>Older</title>
  <link>https://partner.example.com/2026/older</link>
  <pubDate>Thu, 26 Nov 2026 08:00:00 +0800</pubDate>
</item>
<item><title>Undated</title><link>https://partner.example.com/undated</link><guid>u1</guid></item>
<item><title>No link</title><guid isPermaLink="false">n1</guid><pubDate>Thu, 26 Nov 2026 08:00:00 +0800</pubDate></item>
</channel></rss>"#;

    #[test]
    fn maps_an_rss_item_with_stable_id_attribution_and_clean_content() {
        let items = items_to_articles(RSS.as_bytes(), &source("Partner Daily")).unwrap();
        assert_eq!(items.articles.len(), 2, "{:?}", items.skipped);
        let a = &items.articles[0];
        assert_eq!(a.story_id, "Partner Daily:partner-42");
        assert!(a.slug.starts_with("partner-daily-"), "{}", a.slug);
        assert_eq!(a.slug.len(), "partner-daily-".len() + 12);
        assert_eq!(a.locale, "zh");
        assert_eq!(a.title, "Rail & roads");
        assert_eq!(
            a.date,
            DateTime::parse_from_rfc3339("2026-11-27T08:00:00+08:00").unwrap()
        );
        assert_eq!(a.url.as_str(), "https://partner.example.com/2026/rail");
        assert_eq!(a.summary().unwrap(), "Short summary.");
        assert!(
            !a.content_html().unwrap().contains("script"),
            "{}",
            a.content_html().unwrap()
        );
        assert!(
            !a.content_html().unwrap().contains("onclick"),
            "{}",
            a.content_html().unwrap()
        );
        assert!(
            a.content_html()
                .unwrap()
                .contains(r#"href="https://partner.example.com/about""#),
            "{}",
            a.content_html().unwrap()
        );
        assert_eq!(a.tags, vec!["Transport"]);
        assert_eq!(
            a.image.as_ref().map(Url::as_str),
            Some("https://partner.example.com/rail.jpg")
        );
        let origin = a.origin.as_ref().unwrap();
        assert_eq!(origin.source_name, "Partner Daily");
        assert_eq!(origin.item_id, "partner-42");
        assert_eq!(origin.canonical_url, a.url);
        assert_eq!(
            origin.source_url.as_ref().map(Url::as_str),
            Some("https://partner.example.com/feed.xml")
        );
    }

    #[test]
    fn an_item_without_guid_takes_its_link_as_id_every_time() {
        let first = items_to_articles(RSS.as_bytes(), &source("P")).unwrap();
        let second = items_to_articles(RSS.as_bytes(), &source("P")).unwrap();
        assert_eq!(
            first.articles[1].story_id,
            "P:https://partner.example.com/2026/older"
        );
        assert_eq!(first, second);
    }

    #[test]
    fn undated_and_unlinked_items_are_skipped_with_a_reason() {
        let items = items_to_articles(RSS.as_bytes(), &source("P")).unwrap();
        assert_eq!(
            items.skipped,
            vec![
                "item `u1` has no date (published or updated)".to_owned(),
                "item `n1` has no absolute http(s) link".to_owned(),
            ]
        );
    }

    #[test]
    fn max_items_keeps_the_newest() {
        let mut s = source("P");
        s.max_items = Some(1);
        let items = items_to_articles(RSS.as_bytes(), &s).unwrap();
        assert_eq!(items.articles.len(), 1);
        assert_eq!(items.articles[0].title, "Rail & roads");
    }

    #[test]
    fn maps_atom_and_json_feed_entries() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2026-11-27T00:00:00Z</updated>
<entry><id>urn:a:1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; title</title>
<updated>2026-11-28T00:00:00Z</updated>
<link rel="alternate" href="https://a.example/1"/><author><name>Li Wei</name></author>
<content type="html">&lt;p&gt;成渝。&lt;/p&gt;</content></entry></feed>"#;
        let items = items_to_articles(atom.as_bytes(), &source("A")).unwrap();
        let a = &items.articles[0];
        assert_eq!(a.title, "Bold title");
        assert_eq!(a.story_id, "A:urn:a:1");
        assert_eq!(a.authors, vec!["Li Wei"]);
        assert_eq!(a.summary().unwrap(), "成渝。");
        assert_eq!(a.date.to_rfc3339(), "2026-11-28T00:00:00+00:00");

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"7","url":"https://j.example/7","title":"Seven","content_text":"a < b",
             "date_published":"2026-11-27T10:00:00+08:00","tags":["x"]}]}"#;
        let items = items_to_articles(json.as_bytes(), &source("J")).unwrap();
        let a = &items.articles[0];
        assert_eq!(a.story_id, "J:7");
        assert_eq!(a.content_html().unwrap(), "<p>a &lt; b</p>");
        assert_eq!(a.summary().unwrap(), "a < b");
        assert_eq!(a.tags, vec!["x"]);
        assert_eq!(a.date.to_rfc3339(), "2026-11-27T10:00:00+08:00");
        assert!(a.authors.is_empty());
    }

    #[test]
    fn malformed_xml_is_a_problem_naming_the_source() {
        let problem = items_to_articles(b"<rss><channel><item>", &source("P")).unwrap_err();
        assert_eq!(
            problem.path,
            PathBuf::from("https://partner.example.com/feed.xml")
        );
        assert!(
            problem
                .message
                .starts_with("not a readable RSS, Atom or JSON feed: "),
            "{}",
            problem.message
        );
    }

    #[test]
    fn slug_prefix_keeps_ascii_words() {
        assert_eq!(slug_prefix("Partner Daily!"), "partner-daily");
        assert_eq!(slug_prefix("新华社"), "feed");
        assert_eq!(slug_prefix("news.example.org"), "news-example-org");
    }
}

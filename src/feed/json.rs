//! JSON Feed 1.1 writer: typed serde structs, fields in spec order, so the
//! output is deterministic and escaping is serde_json's job.
//!
//! Maps a view to text only: never writes files or escapes by hand.

use super::Format;
use super::{GENERATOR, GENERATOR_URI};
use crate::view::{FeedView, ItemView};
use anyhow::Result;
use serde::Serialize;

const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: String,
    description: &'a str,
    language: &'a str,
    authors: Vec<JsonAuthor<'a>>,
    /// JSON Feed 1.1 `hubs`: the WebSub hub, when there is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub>,
    #[serde(rename = "_gazette")]
    generator: JsonGenerator,
    items: Vec<JsonItem<'a>>,
}

/// Custom extension objects start with `_` (JSON Feed 1.1 §"Extensions").
#[derive(Serialize)]
struct JsonGenerator {
    about: &'static str,
    generator: &'static str,
}

#[derive(Serialize)]
struct JsonHub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    summary: &'a str,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    tags: &'a [String],
    /// Empty for a partner's item that names no author (never ours).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor<'a>>,
    language: &'a str,
    /// Attribution of a partner's story; JSON Feed has no field for it,
    /// so it is an extension object (`_` prefix, JSON Feed 1.1).
    #[serde(rename = "_gazette", skip_serializing_if = "Option::is_none")]
    gazette: Option<JsonItemExtension<'a>>,
}

/// gazette's item extension: a partner story's source, and the item's
/// translations (JSON Feed has no field for either). Each part is left out
/// when empty, and the whole object when both are.
#[derive(Serialize)]
struct JsonItemExtension<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<JsonSource<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    translations: Vec<JsonTranslation<'a>>,
}

/// One translation of an item: its BCP 47 language and its page.
#[derive(Serialize)]
struct JsonTranslation<'a> {
    language: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

/// The `_gazette` object of an item, or `None` when it would be empty. The
/// first of `alternates` is the item itself (its `url`), so translations
/// are the rest.
fn item_extension(item: &ItemView) -> Option<JsonItemExtension<'_>> {
    let source = item.attribution.as_ref().map(|a| JsonSource {
        name: &a.name,
        url: a.url.as_ref().map(|u| u.as_str()),
    });
    let translations: Vec<JsonTranslation> = item
        .alternates
        .iter()
        .skip(1)
        .map(|(language, url)| JsonTranslation {
            language,
            url: url.as_str(),
        })
        .collect();
    (source.is_some() || !translations.is_empty()).then_some(JsonItemExtension {
        source,
        translations,
    })
}

/// Renders `view` as a JSON Feed 1.1 document.
pub fn render(view: &FeedView) -> Result<String> {
    let feed = JsonFeed {
        version: VERSION,
        title: &view.title,
        home_page_url: view.home_url.as_str(),
        feed_url: Format::Json.self_url(view)?.to_string(),
        description: &view.description,
        language: &view.language,
        authors: vec![JsonAuthor {
            name: &view.author_name,
        }],
        hubs: view
            .hub
            .iter()
            .map(|hub| JsonHub {
                kind: "WebSub",
                url: hub.to_string(),
            })
            .collect(),
        generator: JsonGenerator {
            about: GENERATOR_URI,
            generator: GENERATOR,
        },
        items: view
            .items
            .iter()
            .map(|item| JsonItem {
                id: &item.id,
                url: item.url.as_str(),
                title: &item.title,
                summary: &item.summary,
                content_html: &item.content_html,
                image: item.image.as_ref().map(|u| u.as_str()),
                date_published: item.published.to_rfc3339(),
                date_modified: item.updated.to_rfc3339(),
                tags: &item.tags,
                authors: item
                    .authors
                    .iter()
                    .map(|name| JsonAuthor { name })
                    .collect(),
                language: &view.language,
                gazette: item_extension(item),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&feed)?;
    text.push('\n');
    Ok(text)
}

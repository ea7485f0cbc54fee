//! RSS 2.0 writer, via the `rss` crate (content, Atom and Dublin Core
//! extensions). Escaping is the crate's job; this only maps fields.
//!
//! Never writes files.

use super::Format;
use super::{GENERATOR, image_mime_type};
use crate::view::FeedView;
use anyhow::Result;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Guid, Item, Source};
use std::collections::BTreeMap;

/// Media RSS (https://www.rssboard.org/media-rss), for items' images.
const MEDIA_PREFIX: &str = "media";
const MEDIA_NAMESPACE: &str = "http://search.yahoo.com/mrss/";

/// Renders `view` as an RSS 2.0 document.
pub fn render(view: &FeedView) -> Result<String> {
    let self_link = Link {
        href: Format::Rss.self_url(view)?.to_string(),
        rel: "self".to_owned(),
        mime_type: Some("application/rss+xml".to_owned()),
        ..Link::default()
    };
    let newest = view.items.first().map(|_| view.updated.to_rfc2822());
    let items: Vec<Item> = view
        .items
        .iter()
        .map(|item| Item {
            title: Some(item.title.clone()),
            link: Some(item.url.to_string()),
            // RSS descriptions are HTML: the plain-text summary is escaped,
            // so `<script>` in it is text in every reader.
            description: Some(super::text_as_html(&item.summary)),
            guid: Some(Guid {
                value: item.id.clone(),
                permalink: false,
            }),
            pub_date: Some(item.published.to_rfc2822()),
            content: Some(item.content_html.clone()),
            categories: item
                .tags
                .iter()
                .map(|tag| Category {
                    name: tag.clone(),
                    domain: None,
                })
                .collect(),
            // The lead image as Media RSS `media:content`, which readers
            // show as the item's picture. Not an `<enclosure>`: RSS requires
            // its length in bytes, and gazette references images by URL
            // without publishing (or measuring) them; `length="0"` is a
            // W3C validator warning and a lie to podcast clients.
            extensions: item.image.as_ref().map(media_content).unwrap_or_default(),
            // RSS 2.0 `<source url>` names the feed a story came from; it
            // needs a URL, so the name also goes into `dc:publisher`.
            source: item.attribution.as_ref().and_then(|a| {
                a.url.as_ref().map(|url| Source {
                    url: url.to_string(),
                    title: Some(a.name.clone()),
                })
            }),
            // Translations as `atom:link rel="alternate" hreflang`, then the
            // item's own page again (see `language_links`).
            atom_ext: Some(AtomExtension {
                links: super::language_links(item, Format::Rss)
                    .into_iter()
                    .map(|(lang, url)| Link {
                        href: url.to_string(),
                        rel: "alternate".to_owned(),
                        mime_type: Some("text/html".to_owned()),
                        hreflang: lang.map(str::to_owned),
                        ..Link::default()
                    })
                    .collect(),
            })
            .filter(|ext| !ext.links.is_empty()),
            dublin_core_ext: Some(DublinCoreExtension {
                creators: item.authors.clone(),
                publishers: item.attribution.iter().map(|a| a.name.clone()).collect(),
                ..DublinCoreExtension::default()
            }),
            ..Item::default()
        })
        .collect();
    let channel = Channel {
        title: view.title.clone(),
        link: view.home_url.to_string(),
        description: view.description.clone(),
        language: Some(view.language.clone()),
        last_build_date: newest.clone(),
        pub_date: newest,
        generator: Some(GENERATOR.to_owned()),
        managing_editor: view
            .author_email
            .as_ref()
            .map(|email| format!("{email} ({})", view.author_name)),
        // The WebSub hub, as an `atom:link rel="hub"` (WebSub §4).
        atom_ext: Some(AtomExtension {
            links: std::iter::once(self_link)
                .chain(view.hub.iter().map(|hub| Link {
                    href: hub.to_string(),
                    rel: "hub".to_owned(),
                    ..Link::default()
                }))
                .collect(),
        }),
        namespaces: if items.iter().any(|i| !i.extensions.is_empty()) {
            BTreeMap::from([(MEDIA_PREFIX.to_owned(), MEDIA_NAMESPACE.to_owned())])
        } else {
            BTreeMap::new()
        },
        items,
        ..Channel::default()
    };
    let mut out = Vec::new();
    channel.pretty_write_to(&mut out, b' ', 2)?;
    out.push(b'\n');
    Ok(hex_references_in_titles(&String::from_utf8(out)?))
}

/// `<media:content url=… type=… medium="image"/>` for an item's image.
fn media_content(image: &url::Url) -> ExtensionMap {
    let content = Extension {
        name: format!("{MEDIA_PREFIX}:content"),
        attrs: BTreeMap::from([
            ("url".to_owned(), image.to_string()),
            ("type".to_owned(), image_mime_type(image).to_owned()),
            ("medium".to_owned(), "image".to_owned()),
        ]),
        ..Extension::default()
    };
    BTreeMap::from([(
        MEDIA_PREFIX.to_owned(),
        BTreeMap::from([("content".to_owned(), vec![content])]),
    )])
}

/// The RSS Advisory Board's profile (which the W3C validator applies) asks
/// for `&` and `<` in plain text (titles, the channel's description) as
/// hexadecimal character references,
/// because some readers decode `&amp;` in a title twice. The `rss` writer
/// escapes with named entities, so inside `<title>` elements, which it
/// writes as escaped text without attributes or CDATA, `&amp;` becomes
/// `&#x26;` and `&lt;` becomes `&#x3C;`: the same characters to any XML
/// parser.
fn hex_references_in_titles(xml: &str) -> String {
    let xml = hex_references_in(xml, "<title>", "</title>");
    hex_references_in(&xml, "<description>", "</description>")
}

/// Rewrites `&amp;`/`&lt;` in every `open`…`close` element written as
/// escaped text; one written as CDATA (an item's HTML description) has no
/// references and is left alone.
fn hex_references_in(xml: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(open) {
        let (before, after) = rest.split_at(start + open.len());
        out.push_str(before);
        let Some(end) = after.find(close) else {
            rest = after;
            break;
        };
        let text = &after[..end];
        if text.starts_with("<![CDATA[") {
            out.push_str(text);
        } else {
            out.push_str(&text.replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;"));
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::hex_references_in_titles;
    use proptest::prelude::*;

    fn channel_xml(title: &str, item_title: &str, description: &str) -> String {
        let channel = rss::Channel {
            title: title.to_owned(),
            link: "https://news.example.org/".to_owned(),
            description: description.to_owned(),
            items: vec![rss::Item {
                title: Some(item_title.to_owned()),
                description: Some(description.to_owned()),
                ..rss::Item::default()
            }],
            ..rss::Channel::default()
        };
        let mut out = Vec::new();
        channel.pretty_write_to(&mut out, b' ', 2).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn titles_use_hexadecimal_references_and_nothing_else_changes() {
        let xml = hex_references_in_titles(&channel_xml("A & <B>", "C && <d>", "x &amp; <y>"));
        assert!(xml.contains("<title>A &#x26; &#x3C;B&gt;</title>"), "{xml}");
        assert!(
            xml.contains("<title>C &#x26;&#x26; &#x3C;d&gt;</title>"),
            "{xml}"
        );
        // The channel's description is escaped text, the item's is CDATA.
        assert!(
            xml.contains("<description>x &#x26;amp; &#x3C;y&gt;</description>"),
            "{xml}"
        );
        assert!(
            xml.contains("<description><![CDATA[x &amp; <y>]]></description>"),
            "{xml}"
        );
    }

    proptest! {
        /// Any text reads back the same from the rewritten document.
        #[test]
        fn rewritten_titles_read_back_unchanged(
            title in "[a-z&<>\"'猫\\]]{1,20}",
            item_title in "[a-z&<>\"'猫\\]]{1,20}",
            description in "[a-z&<>]{1,20}",
        ) {
            let xml = hex_references_in_titles(&channel_xml(&title, &item_title, &description));
            let channel = rss::Channel::read_from(xml.as_bytes()).unwrap();
            prop_assert_eq!(channel.title(), title.as_str());
            prop_assert_eq!(channel.items()[0].title(), Some(item_title.as_str()));
            prop_assert_eq!(channel.items()[0].description(), Some(description.as_str()));
        }
    }
}

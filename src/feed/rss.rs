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
use rss::{Category, Channel, Enclosure, Guid, Item, Source};

/// Renders `view` as an RSS 2.0 document.
pub fn render(view: &FeedView) -> Result<String> {
    let self_link = Link {
        href: Format::Rss.self_url(view)?.to_string(),
        rel: "self".to_owned(),
        mime_type: Some("application/rss+xml".to_owned()),
        ..Link::default()
    };
    let newest = view.items.first().map(|_| view.updated.to_rfc2822());
    let items = view
        .items
        .iter()
        .map(|item| Item {
            title: Some(item.title.clone()),
            link: Some(item.url.to_string()),
            description: Some(item.summary.clone()),
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
            enclosure: item.image.as_ref().map(|image| Enclosure {
                url: image.to_string(),
                // RSS requires a length; 0 is the agreed value when unknown.
                length: "0".to_owned(),
                mime_type: image_mime_type(image).to_owned(),
            }),
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
        atom_ext: Some(AtomExtension {
            links: vec![self_link],
        }),
        items,
        ..Channel::default()
    };
    let mut out = Vec::new();
    channel.pretty_write_to(&mut out, b' ', 2)?;
    out.push(b'\n');
    Ok(String::from_utf8(out)?)
}

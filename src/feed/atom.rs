//! Atom 1.0 writer, via `atom_syndication`. Each entry links to its own
//! page and to every translation of its story with `rel="alternate"` and
//! `hreflang`, in the order [`super::language_links`] explains.
//!
//! Maps a view to text only: never writes files or escapes by hand.

use super::Format;
use super::{GENERATOR, GENERATOR_URI, image_mime_type};
use crate::view::FeedView;
use anyhow::Result;
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Source, Text};

fn person(name: &str, email: Option<&String>) -> Person {
    Person {
        name: name.to_owned(),
        email: email.cloned(),
        uri: None,
        ..Person::default()
    }
}

fn link(href: &str, rel: &str, mime_type: &str, hreflang: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: Some(mime_type.to_owned()),
        hreflang: hreflang.map(str::to_owned),
        ..Link::default()
    }
}

/// Renders `view` as an Atom 1.0 document.
pub fn render(view: &FeedView) -> Result<String> {
    let self_href = Format::Atom.self_url(view)?.to_string();
    let entries = view
        .items
        .iter()
        .map(|item| {
            let mut links: Vec<Link> = super::language_links(item, Format::Atom)
                .into_iter()
                .map(|(lang, url)| link(url.as_str(), "alternate", "text/html", lang))
                .collect();
            if let Some(image) = &item.image {
                links.push(link(
                    image.as_str(),
                    "enclosure",
                    image_mime_type(image),
                    None,
                ));
            }
            Entry {
                id: item.id.clone(),
                title: Text::plain(item.title.clone()),
                updated: item.updated,
                published: Some(item.published),
                // Escaped into HTML and so declared: a plain-text summary
                // that mentions `<b>` is text, and says so to readers and
                // the W3C validator alike.
                summary: Some(Text::html(super::text_as_html(&item.summary))),
                content: Some(Content {
                    content_type: Some("html".to_owned()),
                    value: Some(item.content_html.clone()),
                    ..Content::default()
                }),
                categories: item
                    .tags
                    .iter()
                    .map(|tag| Category {
                        term: tag.clone(),
                        ..Category::default()
                    })
                    .collect(),
                authors: item.authors.iter().map(|name| person(name, None)).collect(),
                // Atom's `<source>` carries the metadata of the feed an entry
                // was copied from (RFC 4287 §4.2.11).
                source: item.attribution.as_ref().map(|a| Source {
                    title: Text::plain(a.name.clone()),
                    id: a.url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
                    updated: item.updated,
                    links: a
                        .url
                        .iter()
                        // No `type`: the partner's feed may be RSS, Atom or
                        // JSON, and a guessed type misleads (the W3C
                        // validator flags a non-Atom type on `self`).
                        .map(|u| Link {
                            href: u.to_string(),
                            rel: "self".to_owned(),
                            ..Link::default()
                        })
                        .collect(),
                    ..Source::default()
                }),
                links,
                ..Entry::default()
            }
        })
        .collect();
    let feed = Feed {
        id: view.id.clone(),
        title: Text::plain(view.title.clone()),
        subtitle: Some(Text::plain(view.description.clone())),
        updated: view.updated,
        authors: vec![person(&view.author_name, view.author_email.as_ref())],
        links: [
            link(&self_href, "self", "application/atom+xml", None),
            link(
                view.home_url.as_str(),
                "alternate",
                "text/html",
                Some(&view.language),
            ),
        ]
        .into_iter()
        .chain(view.hub.iter().map(|hub| Link {
            href: hub.to_string(),
            rel: "hub".to_owned(),
            ..Link::default()
        }))
        .collect(),
        generator: Some(Generator {
            value: GENERATOR.to_owned(),
            uri: Some(GENERATOR_URI.to_owned()),
            version: None,
        }),
        lang: Some(view.language.clone()),
        entries,
        ..Feed::default()
    };
    let config = atom_syndication::WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    let mut out = Vec::new();
    feed.write_with_config(&mut out, config)?;
    out.push(b'\n');
    Ok(String::from_utf8(out)?)
}

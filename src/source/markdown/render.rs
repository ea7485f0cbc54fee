//! Rendering of Markdown bodies: pulldown-cmark (CommonMark plus tables,
//! footnotes and strikethrough) to HTML, sanitised once with links made
//! absolute against the article's URL, and the plain text of the
//! paragraphs for an excerpt when the article has no summary of its own.
//!
//! Pure: a body's text in, a [`Body::Rendered`] out. Never reads files or
//! checks front matter.

use crate::model::{Article, Body};
use crate::source::clean::{excerpt, sanitize_html, strip_xml_illegal};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Renders `body` into the article: sanitised HTML with links absolute
/// against the article's URL, and an excerpt when it has no summary.
pub(super) fn render_body(article: &mut Article, body: &str) {
    let body = strip_xml_illegal(body);
    let (html, plain) = render_markdown(&body);
    // The excerpt is only made when it will be shown.
    let excerpt = match article.own_summary {
        Some(_) => String::new(),
        None => excerpt(&plain),
    };
    article.body = Body::Rendered {
        html: sanitize_html(&html, &article.url),
        excerpt,
    };
}

/// Renders Markdown (CommonMark plus tables, footnotes, strikethrough) to
/// HTML, and collects the plain text of its paragraphs for excerpts.
fn render_markdown(body: &str) -> (String, String) {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let events: Vec<Event> = Parser::new_ext(body, options).collect();
    let mut plain = String::new();
    let mut depth_skipped = 0usize;
    let mut in_paragraph = false;
    for event in &events {
        match event {
            Event::Start(Tag::FootnoteDefinition(_) | Tag::Table(_) | Tag::CodeBlock(_)) => {
                depth_skipped += 1
            }
            Event::End(TagEnd::FootnoteDefinition | TagEnd::Table | TagEnd::CodeBlock) => {
                depth_skipped = depth_skipped.saturating_sub(1)
            }
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) => {
                in_paragraph = false;
                plain.push(' ');
            }
            Event::Text(text) | Event::Code(text) if in_paragraph && depth_skipped == 0 => {
                plain.push_str(text)
            }
            Event::SoftBreak | Event::HardBreak if in_paragraph && depth_skipped == 0 => {
                plain.push(' ')
            }
            _ => {}
        }
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    (html, plain)
}

//! Feed index stage: the page `feeds/<locale>/index.html` listing every
//! feed of one locale (main and per tag, each format) with `<link
//! rel="alternate">` autodiscovery.
//!
//! Pure: takes plain data and localised strings, returns HTML text (well
//! formed, so XML tools can read it too); `publish` writes it.

use pulldown_cmark_escape::{escape_href, escape_html};
use std::path::PathBuf;
use url::Url;

/// One feed file the index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The feed's own title (the main feed's, or "<site> — <tag>").
    pub title: String,
    /// "RSS 2.0", "Atom 1.0", "JSON Feed 1.1": names, not translated.
    pub format_name: &'static str,
    pub mime_type: &'static str,
    /// The feed's self URL.
    pub url: Url,
}

/// The localised strings of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexText {
    pub language: String,
    pub title: String,
    pub intro: String,
}

/// Renders the index of one locale; `entries` in display order. Returns
/// (path under the feeds folder, HTML).
pub fn render(locale_key: &str, text: &IndexText, entries: &[IndexEntry]) -> (PathBuf, String) {
    let mut html = String::from("<!DOCTYPE html>\n<html lang=\"");
    let _ = escape_html(&mut html, &text.language);
    html.push_str("\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
    let _ = escape_html(&mut html, &text.title);
    html.push_str("</title>\n");
    for entry in entries {
        html.push_str("<link rel=\"alternate\" type=\"");
        html.push_str(entry.mime_type);
        html.push_str("\" title=\"");
        let _ = escape_html(
            &mut html,
            &format!("{} ({})", entry.title, entry.format_name),
        );
        html.push_str("\" href=\"");
        let _ = escape_href(&mut html, entry.url.as_str());
        html.push_str("\"/>\n");
    }
    html.push_str("</head>\n<body>\n<h1>");
    let _ = escape_html(&mut html, &text.title);
    html.push_str("</h1>\n<p>");
    let _ = escape_html(&mut html, &text.intro);
    html.push_str("</p>\n<ul>\n");
    for entry in entries {
        html.push_str("<li><a href=\"");
        let _ = escape_href(&mut html, entry.url.as_str());
        html.push_str("\">");
        let _ = escape_html(&mut html, &entry.title);
        html.push_str("</a> (");
        html.push_str(entry.format_name);
        html.push_str(")</li>\n");
    }
    html.push_str("</ul>\n</body>\n</html>\n");
    (PathBuf::from(locale_key).join("index.html"), html)
}

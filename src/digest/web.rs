//! The public pages of the digests: each digest's web copy
//! (`<locale>/digest/<date>.html`) and the archive of every digest
//! (`<locale>/digest/index.html`), and the HTML of each digest's entry in
//! the feed of digests (`<locale>/digest/atom.xml`). Anyone may read them, so they carry no
//! greeting, no "you are receiving this" footer and no unsubscribe link:
//! only the stories, the locale's feeds (with autodiscovery), the other
//! languages' copies (`hreflang`) and, when the list has a sign-up page,
//! a subscribe link.
//!
//! Renders views to HTML through the digest's template registry
//! (`web-copy.html.hbs`, `archive.html.hbs`, `digest-entry.html.hbs`, replaceable like the others);
//! never reads the state database or writes files.

use super::templates::{ARCHIVE, FEED_ENTRY, Templates, WEB_COPY};
use super::{DigestView, LinkView};
use anyhow::{Result, anyhow};
use serde::Serialize;

/// A feed of the page's locale, for `<link rel="alternate">` and a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedLinkView {
    pub title: String,
    /// "RSS 2.0", "Atom 1.0", "JSON Feed 1.1".
    pub format_name: String,
    pub mime_type: String,
    pub url: String,
}

/// The same page in another language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranslationView {
    /// BCP 47 tag.
    pub lang: String,
    /// The language's name in itself ("English", "中文").
    pub label: String,
    pub url: String,
}

/// What the web copy and the archive of one locale share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLinks {
    pub feeds: Vec<FeedLinkView>,
    /// "Follow in a feed reader".
    pub feeds_label: String,
    pub translations: Vec<TranslationView>,
    /// The sign-up page, when the list has one.
    pub subscribe: Option<LinkView>,
}

/// One digest's web copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebCopyView {
    pub title: String,
    pub canonical_url: String,
    /// The digest as mailed; its greeting and footer are not shown.
    pub digest: DigestView,
    pub archive: LinkView,
    #[serde(flatten)]
    pub links: PageLinks,
}

/// One digest in the archive list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveEntry {
    /// The digest's date, long form.
    pub date: String,
    /// "3 new stories".
    pub intro: String,
    pub url: String,
}

/// The archive of one locale's digests, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveView {
    pub lang: String,
    pub title: String,
    pub canonical_url: String,
    pub site_title: String,
    pub site_url: String,
    pub digests: Vec<ArchiveEntry>,
    #[serde(flatten)]
    pub links: PageLinks,
}

/// Renders a web copy.
pub fn render_web_copy(templates: &Templates, view: &WebCopyView) -> Result<String> {
    render(templates, WEB_COPY, view)
}

/// Renders an archive page.
pub fn render_archive(templates: &Templates, view: &ArchiveView) -> Result<String> {
    render(templates, ARCHIVE, view)
}

/// The HTML content of a digest's entry in the feed of digests
/// (`digest-entry.html.hbs`): its stories as a list of links.
pub fn render_feed_entry(templates: &Templates, view: &DigestView) -> Result<String> {
    render(templates, FEED_ENTRY, view)
}

fn render(templates: &Templates, name: &str, view: &impl Serialize) -> Result<String> {
    templates
        .html
        .render(name, view)
        .map_err(|e| anyhow!("cannot render {}: {e}", templates.origin(name)))
}

//! Feed stage: turns a [`FeedView`] into RSS 2.0, Atom 1.0 and JSON Feed
//! 1.1 text through the format crates' typed writers, then reads each one
//! back with `feed-rs` and checks it before anything may be published.
//!
//! This module must not write files; `publish` does that.

mod atom;
mod gate;
mod json;
mod rss;

use crate::config::FeedFormat;
use crate::view::FeedView;
use anyhow::{Context, Result};
use std::fmt;
use std::path::PathBuf;
use url::Url;

/// A syndication format gazette writes: its file name, its name in
/// messages, and (in [`render`]) its writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    /// File name of this format inside `feeds/<locale>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::Json => "feed.json",
        }
    }

    /// Where this format of `view`'s feed is published: its self link.
    pub fn self_url(self, view: &FeedView) -> Result<Url> {
        view.feeds_url.join(self.file_name()).with_context(|| {
            format!(
                "cannot build the {self} feed URL of locale `{}` under feeds.url",
                view.locale_key
            )
        })
    }
}

impl From<FeedFormat> for Format {
    fn from(format: FeedFormat) -> Format {
        match format {
            FeedFormat::Rss => Format::Rss,
            FeedFormat::Atom => Format::Atom,
            FeedFormat::Json => Format::Json,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Rss => "RSS 2.0",
            Format::Atom => "Atom 1.0",
            Format::Json => "JSON Feed 1.1",
        })
    }
}

impl Format {
    /// The MIME type a `<link rel="alternate">` names for this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    /// The format's proper name, as [`fmt::Display`] writes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rss => "RSS 2.0",
            Format::Atom => "Atom 1.0",
            Format::Json => "JSON Feed 1.1",
        }
    }
}

/// The `generator` named in every feed.
pub const GENERATOR: &str = "gazette";
/// The generator's home page.
pub const GENERATOR_URI: &str = "https://github.com/gazette-news/gazette";

/// One rendered feed file, checked and ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFeed {
    pub format: Format,
    /// Path under the feeds folder: `<locale>/<file>`, or
    /// `<locale>/tags/<slug>/<file>` for a tag's feed.
    pub relative_path: PathBuf,
    pub text: String,
}

/// Renders `view` in `format` and checks the result with the gate.
pub fn render(view: &FeedView, format: Format) -> Result<RenderedFeed> {
    let text = match format {
        Format::Rss => rss::render(view),
        Format::Atom => atom::render(view),
        Format::Json => json::render(view),
    }
    .with_context(|| {
        format!(
            "cannot write the {format} feed of locale `{}`",
            view.locale_key
        )
    })?;
    let text = match format {
        Format::Rss | Format::Atom => with_stylesheet(
            &text,
            &crate::feed_stylesheet::href_from(&view.relative_dir),
        ),
        Format::Json => text,
    };
    let relative_path = view.relative_dir.join(format.file_name());
    gate::check(view, format, &text).with_context(|| {
        format!(
            "the {format} feed {} failed the pre-publish check; nothing was published",
            relative_path.display()
        )
    })?;
    Ok(RenderedFeed {
        format,
        relative_path,
        text,
    })
}

/// `xml` with an `<?xml-stylesheet?>` naming `href` after its XML
/// declaration, so a browser shows the feed as a page. Neither feed crate
/// writes processing instructions; `href` is a relative path of dots,
/// slashes and a file name, so nothing in it needs escaping.
fn with_stylesheet(xml: &str, href: &str) -> String {
    let pi = format!("<?xml-stylesheet type=\"text/xsl\" href=\"{href}\"?>\n");
    let split = if xml.starts_with("<?xml ") {
        xml.find("?>").map_or(0, |end| end + 2)
    } else {
        0
    };
    let (declaration, rest) = xml.split_at(split);
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    if declaration.is_empty() {
        format!("{pi}{rest}")
    } else {
        format!("{declaration}\n{pi}{rest}")
    }
}

/// Readers disagree on which of an entry's `text/html` alternates is its
/// link: feed-rs and Miniflux take the first, feedparser and newsboat the
/// last. So the entry's own language comes first and last, with the
/// translations (each with its `hreflang`) between; a reader that takes
/// either end opens the page in the feed's language. Atom allows the repeat
/// because the last carries no `hreflang` (RFC 4287 forbids only two
/// alternates with the same type and hreflang). RSS has its own `<link>` for
/// the first place, so there the list is the translations, then the own page.
/// Without translations an entry has its one own alternate.
pub(crate) fn language_links(
    item: &crate::view::ItemView,
    format: Format,
) -> Vec<(Option<&str>, &url::Url)> {
    let Some(((own_lang, own_url), translations)) = item.alternates.split_first() else {
        return Vec::new();
    };
    let translations = translations
        .iter()
        .map(|(lang, url)| (Some(lang.as_str()), url));
    let own = (Some(own_lang.as_str()), own_url);
    match (format, translations.len()) {
        (Format::Rss, 0) => Vec::new(),
        (Format::Rss, _) => translations.chain(std::iter::once(own)).collect(),
        (_, 0) => vec![own],
        (_, _) => std::iter::once(own)
            .chain(translations)
            .chain(std::iter::once((None, own_url)))
            .collect(),
    }
}

/// Plain text as HTML that shows exactly that text (`<`, `>`, `&`, quotes
/// escaped), for the feed fields that are HTML.
fn text_as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut html, text);
    html
}

/// A MIME type for an image URL, from its extension.
fn image_mime_type(url: &url::Url) -> &'static str {
    let path = url.path().to_ascii_lowercase();
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("svg") => "image/svg+xml",
        _ => "image/jpeg",
    }
}

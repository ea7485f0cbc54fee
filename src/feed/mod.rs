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
use std::path::PathBuf;

/// The `generator` named in every feed.
pub const GENERATOR: &str = "gazette";
/// The generator's home page.
pub const GENERATOR_URI: &str = "https://github.com/gazette-news/gazette";

/// One rendered feed file, checked and ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFeed {
    pub format: FeedFormat,
    /// Path under the feeds folder: `<locale>/<file>`.
    pub relative_path: PathBuf,
    pub text: String,
}

/// Renders `view` in `format` and checks the result with the gate.
pub fn render(view: &FeedView, format: FeedFormat) -> Result<RenderedFeed> {
    let text = match format {
        FeedFormat::Rss => rss::render(view),
        FeedFormat::Atom => atom::render(view),
        FeedFormat::Json => json::render(view),
    }
    .with_context(|| {
        format!(
            "cannot write the {format} feed of locale `{}`",
            view.locale_key
        )
    })?;
    let relative_path = PathBuf::from(&view.locale_key).join(format.file_name());
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

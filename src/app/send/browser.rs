//! The web copy of each locale's current digest, for `build` ("view in
//! browser"): the stories the next `send` would include, or today's
//! digest if one went out. Reads the state database only.

use super::compose::{DigestRequest, Renderer};
use super::plan::{Window, fresh_story_ids};
use crate::config::Config;
use crate::digest;
use crate::i18n::Catalog;
use crate::model::Corpus;
use crate::state::State;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use std::path::PathBuf;

/// Where `build` publishes the web copy of a digest ("view in browser").
pub fn browser_url(config: &Config, locale_key: &str, digest_id: &str) -> Result<url::Url> {
    config
        .feeds
        .url
        .join(&format!("{locale_key}/digest/{digest_id}.html"))
        .with_context(|| format!("cannot build the web address of digest {digest_id}"))
}

/// (path under the feeds folder, HTML) of each locale's current digest.
pub fn browser_copies(
    config: &Config,
    corpus: &mut Corpus,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
) -> Result<Vec<(PathBuf, String)>> {
    let Some(digest_config) = &config.digest else {
        return Ok(Vec::new());
    };
    let templates = digest::load_templates(&digest_config.templates_dir)?;
    // Read-only: `check` renders these too and must write nothing.
    let state = State::open_read_only(&config.state_path)?;
    let today = now.format("%Y-%m-%d").to_string();
    // Digests reach back only `digest.first_window` before the first one, as in `send`.
    let window = Window {
        first: digest_config.first_window,
        now,
    };
    let story_ids = match &state {
        Some(state) if state.digest_exists(&today)? => state.digest_story_ids(&today)?,
        _ => fresh_story_ids(state.as_ref(), corpus, window)?,
    };
    if story_ids.is_empty() {
        return Ok(Vec::new());
    }
    let renderer = Renderer {
        config,
        digest: digest_config,
        catalog,
        templates: &templates,
        now,
    };
    let mut pages = Vec::new();
    for locale in &config.locales {
        let rendered = renderer.render(
            corpus,
            &DigestRequest {
                digest_id: &today,
                story_ids: &story_ids,
                locale_key: &locale.key,
                topics: &[],
            },
        )?;
        let (_, html, _) =
            digest::personalise(&rendered, "", digest_config.unsubscribe_url.as_str());
        pages.push((
            PathBuf::from(&locale.key)
                .join("digest")
                .join(format!("{today}.html")),
            html,
        ));
    }
    Ok(pages)
}

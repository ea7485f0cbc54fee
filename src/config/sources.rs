//! Validation of where articles come from: `[[sources]]`, `[fetch]` (how
//! feed sources are fetched) and `[import]` (patterns for scraped pages).
//!
//! Patterns are only checked here; `app` compiles them, once, for the
//! stages that match them.

use super::raw::{RawFeedSource, RawFetch, RawImport, RawLocale, RawSource};
use super::settings::{FeedLocation, FeedSource, FetchConfig, Source, default_user_agent};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::Path;
use url::Url;

/// What checking one source needs to know about the rest of the file.
pub(super) struct SourceContext<'a> {
    pub default_locale: &'a str,
    pub locales: &'a BTreeMap<String, RawLocale>,
    /// The config file's folder; source paths are relative to it.
    pub root: &'a Path,
}

impl SourceContext<'_> {
    fn configured(&self) -> String {
        self.locales.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

pub(super) fn validate_sources(
    raw: Vec<RawSource>,
    ctx: &SourceContext<'_>,
    problems: &mut Vec<String>,
) -> Vec<Source> {
    let sources = raw
        .into_iter()
        .enumerate()
        .filter_map(|(index, source)| match source {
            RawSource::Markdown { path } => Some(Source::Markdown {
                path: ctx.root.join(path),
            }),
            RawSource::Feed(feed) => {
                validate_feed_source(index + 1, feed, ctx, problems).map(Source::Feed)
            }
            RawSource::Text { path, locale } => {
                let locale = locale.unwrap_or_else(|| ctx.default_locale.to_owned());
                if !ctx.locales.contains_key(&locale) {
                    problems.push(format!(
                        "[[sources]] kind = \"text\" path = \"{}\": locale `{locale}` has no [locales.{locale}] section",
                        path.display()
                    ));
                }
                Some(Source::Text {
                    path: ctx.root.join(path),
                    locale,
                })
            }
        })
        .collect::<Vec<_>>();
    if sources.is_empty() && problems.is_empty() {
        problems.push(
            "no [[sources]]: add one, e.g. [[sources]] kind = \"markdown\" path = \"articles\""
                .to_owned(),
        );
    }
    sources
}

/// Checks one `kind = "feed"` entry; `number` counts `[[sources]]` from 1.
fn validate_feed_source(
    number: usize,
    raw: RawFeedSource,
    ctx: &SourceContext<'_>,
    problems: &mut Vec<String>,
) -> Option<FeedSource> {
    let at = format!("[[sources]] #{number} (kind = \"feed\")");
    let location = match (raw.url, raw.path) {
        (Some(url), None) => match Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(FeedLocation::Url(u))
            }
            _ => {
                problems.push(format!(
                    "{at}: url `{url}` must be an absolute http(s) URL, e.g. \"https://partner.example.com/feed.xml\""
                ));
                None
            }
        },
        (None, Some(path)) => Some(FeedLocation::Path(ctx.root.join(path))),
        (Some(_), Some(_)) => {
            problems.push(format!("{at} sets both `url` and `path`; keep exactly one"));
            None
        }
        (None, None) => {
            problems.push(format!(
                "{at} needs `url = \"https://…\"` or `path = \"file.xml\"`"
            ));
            None
        }
    };
    let locale = raw.locale.unwrap_or_else(|| ctx.default_locale.to_owned());
    if !ctx.locales.contains_key(&locale) {
        problems.push(format!(
            "{at}: locale `{locale}` has no [locales.{locale}] section; configured: {}",
            ctx.configured()
        ));
    }
    if raw.max_items == Some(0) {
        problems.push(format!("{at}: max_items must be at least 1"));
    }
    if raw.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        problems.push(format!("{at}: name is empty; leave it out to use the host"));
    }
    let location = location?;
    let name = raw
        .name
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| match &location {
            FeedLocation::Url(url) => url.host_str().unwrap_or_default().to_owned(),
            FeedLocation::Path(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        });
    Some(FeedSource {
        location,
        name,
        locale,
        max_items: raw.max_items,
    })
}

pub(super) fn validate_fetch(raw: RawFetch, problems: &mut Vec<String>) -> FetchConfig {
    if raw.timeout_seconds == 0 {
        problems.push("fetch.timeout_seconds must be at least 1".to_owned());
    }
    if raw.max_bytes == 0 {
        problems.push("fetch.max_bytes must be at least 1".to_owned());
    }
    let user_agent = match raw.user_agent {
        Some(agent) if agent.trim().is_empty() || agent.contains(['\r', '\n']) => {
            problems.push(
                "fetch.user_agent must be one non-empty line; leave it out for the default"
                    .to_owned(),
            );
            agent
        }
        Some(agent) => agent,
        None => default_user_agent(),
    };
    FetchConfig {
        timeout: std::time::Duration::from_secs(raw.timeout_seconds),
        max_bytes: raw.max_bytes,
        host_delay: std::time::Duration::from_millis(raw.host_delay_ms),
        user_agent,
    }
}

pub(super) fn validate_import(raw: &RawImport, problems: &mut Vec<String>) {
    for (key, patterns) in [("chrome", &raw.chrome), ("captions", &raw.captions)] {
        for (index, pattern) in patterns.iter().enumerate() {
            if let Err(message) = check_pattern(pattern) {
                problems.push(format!("import.{key}[{index}]: {message}"));
            }
        }
    }
}

/// Checks one user pattern as the import rules will use it (matched
/// case-insensitively anywhere in a line); the message says what is wrong.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("`` is empty; it would match every line".to_owned());
    }
    Regex::new(&format!("(?i:{pattern})"))
        .map(drop)
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or_default().trim();
            format!("`{pattern}` is not a regular expression ({last})")
        })
}

//! Cross-field validation of the whole file: site, locales and feeds here;
//! sources and mail settings in their own files. Every problem is
//! collected, so one run lists them all.
//!
//! Must not touch anything but the config text it is given (the sources'
//! and templates' files are read by later stages).

use super::ConfigError;
use super::mail::{validate_delivery, validate_digest};
use super::raw::{RawConfig, RawTagFeeds};
use super::settings::{Config, Feeds, ImportConfig, Site, TagFeeds};
use super::sources::{SourceContext, validate_fetch, validate_import, validate_sources};
use crate::model::Locale;
use anyhow::Result;
use std::path::Path;
use url::Url;

pub(super) fn validate(raw: RawConfig, path: &Path, root: &Path) -> Result<Config> {
    let mut problems = Vec::new();

    let base_url = match Url::parse(&raw.site.base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(with_trailing_slash(url))
        }
        Ok(_) => {
            problems.push(format!(
                "site.base_url `{}` must be an absolute http(s) URL, e.g. \"https://news.example.org/\"",
                raw.site.base_url
            ));
            None
        }
        Err(e) => {
            problems.push(format!(
                "site.base_url `{}` is not a URL ({e}); write it like \"https://news.example.org/\"",
                raw.site.base_url
            ));
            None
        }
    };

    if raw.locales.is_empty() {
        problems.push(
            "no [locales.<key>] section: add at least one, e.g. [locales.en] tag = \"en\""
                .to_owned(),
        );
    }
    if !raw.locales.contains_key(&raw.site.default_locale) {
        problems.push(format!(
            "site.default_locale `{}` has no [locales.{}] section; configured: {}",
            raw.site.default_locale,
            raw.site.default_locale,
            raw.locales.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if chrono::NaiveDate::parse_from_str(&raw.site.id_date, "%Y-%m-%d").is_err() {
        problems.push(format!(
            "site.id_date `{}` must be a date like 2026-01-01 (it goes into every tag: id and must never change)",
            raw.site.id_date
        ));
    }

    let time_zone = raw.site.time_zone.as_deref().and_then(|name| {
        parse_time_zone(name)
            .map_err(|hint| problems.push(format!("site.time_zone `{name}` {hint}")))
            .ok()
    });

    let locales = validate_locales(&raw, base_url.as_ref(), &mut problems);
    let sources = validate_sources(
        raw.sources,
        &SourceContext {
            default_locale: &raw.site.default_locale,
            locales: &raw.locales,
            root,
        },
        &mut problems,
    );

    let mut formats = raw.feeds.formats.clone();
    formats.sort();
    formats.dedup();
    if formats.len() != raw.feeds.formats.len() {
        problems.push("feeds.formats lists a format twice".to_owned());
    }
    if raw.feeds.max_items == 0 {
        problems.push("feeds.max_items must be at least 1".to_owned());
    }
    let feeds_url = match (&raw.feeds.url, &base_url) {
        (Some(url), _) => match Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(with_trailing_slash(u)),
            _ => {
                problems.push(format!(
                    "feeds.url `{url}` must be an absolute http(s) URL where feeds.dir is served"
                ));
                None
            }
        },
        (None, Some(base)) => base.join("feeds/").ok(),
        (None, None) => None,
    };

    let websub_hub = raw.feeds.websub_hub.as_deref().and_then(|hub| {
        match Url::parse(hub) {
            Ok(url)
                if url.scheme() == "https"
                    || (url.scheme() == "http"
                        && url.host_str().is_some_and(crate::net::is_loopback_host)) =>
            {
                Some(url)
            }
            _ => {
                problems.push(format!(
                    "feeds.websub_hub `{hub}` must be an absolute https URL of a WebSub hub (http only for a hub on this machine), e.g. \"https://pubsubhubbub.appspot.com/\""
                ));
                None
            }
        }
    });
    let tags = match &raw.feeds.tags {
        RawTagFeeds::Switch(false) => TagFeeds::None,
        RawTagFeeds::Switch(true) => TagFeeds::All,
        RawTagFeeds::List(slugs) => TagFeeds::Only(slugs.clone()),
    };
    for (slug, names) in &raw.tags {
        if !is_tag_slug(slug) {
            problems.push(format!(
                "[tags.{slug}]: a tag slug is lowercase ASCII letters, digits and '-' (it names the folder feeds/<locale>/tags/<slug>/)"
            ));
        }
        for locale in names.keys() {
            if !raw.locales.contains_key(locale) {
                problems.push(format!(
                    "[tags.{slug}] names locale `{locale}`, which is not in [locales]"
                ));
            }
        }
    }

    let serve = raw
        .serve
        .and_then(|serve| super::serve::validate_serve(serve, &mut problems));
    let digest = raw.digest.and_then(|d| {
        validate_digest(
            d,
            root,
            serve.as_ref().map(|s| &s.public_url),
            &mut problems,
        )
    });
    let delivery = validate_delivery(raw.delivery, root, &mut problems);
    let state = super::state::validate_state(raw.state, root, &mut problems);
    let fetch = validate_fetch(raw.fetch, &mut problems);
    validate_import(&raw.import, &mut problems);

    match (base_url, feeds_url, delivery) {
        (Some(base_url), Some(feeds_url), Some(delivery)) if problems.is_empty() => {
            let host = base_url.host_str().unwrap_or_default().to_owned();
            Ok(Config {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
                site: Site {
                    tag_authority: format!("{host},{}", raw.site.id_date),
                    base_url,
                    default_locale: raw.site.default_locale,
                    author: raw.site.author,
                    locales_dir: root.join(raw.site.locales_dir),
                    time_zone,
                },
                locales,
                sources,
                feeds: Feeds {
                    dir: root.join(raw.feeds.dir),
                    url: feeds_url,
                    formats: raw.feeds.formats,
                    max_items: raw.feeds.max_items,
                    content: raw.feeds.content,
                    tags,
                    tag_names: raw.tags,
                    websub_hub,
                },
                state,
                digest,
                delivery,
                fetch,
                import: ImportConfig {
                    chrome: raw.import.chrome,
                    captions: raw.import.captions,
                },
                serve,
            })
        }
        _ => Err(ConfigError {
            path: path.to_path_buf(),
            problems,
        }
        .into()),
    }
}

/// `[locales.*]`: default locale first, then the others by key; each home
/// page resolved under `base_url`.
fn validate_locales(
    raw: &RawConfig,
    base_url: Option<&Url>,
    problems: &mut Vec<String>,
) -> Vec<Locale> {
    let mut locales = Vec::new();
    for (key, locale) in &raw.locales {
        if !is_locale_key(key) {
            problems.push(format!(
                "locales.{key}: a locale key is letters, digits and '-' only (it is a file-name suffix)"
            ));
        }
        if locale
            .tag
            .parse::<unic_langid::LanguageIdentifier>()
            .is_err()
            || icu_locale_core::Locale::try_from_str(&locale.tag).is_err()
        {
            problems.push(format!(
                "locales.{key}.tag `{}` is not a BCP 47 language tag (e.g. \"en\", \"zh-CN\")",
                locale.tag
            ));
        }
        for fallback in &locale.fallback {
            if fallback == key {
                problems.push(format!("locales.{key}.fallback lists `{key}` itself"));
            } else if !raw.locales.contains_key(fallback) {
                problems.push(format!(
                    "locales.{key}.fallback names `{fallback}`, which has no [locales.{fallback}] section"
                ));
            }
        }
        let Some(base_url) = base_url else { continue };
        let prefix = locale.path.clone().unwrap_or_else(|| {
            if *key == raw.site.default_locale {
                String::new()
            } else {
                format!("{key}/")
            }
        });
        match base_url.join(&prefix) {
            Ok(home) if home.as_str().starts_with(base_url.as_str()) => locales.push(Locale {
                key: key.clone(),
                tag: locale.tag.clone(),
                fallback: locale.fallback.clone(),
                home_url: with_trailing_slash(home),
            }),
            _ => problems.push(format!(
                "locales.{key}.path `{prefix}` must be a relative path under site.base_url, e.g. \"{key}/\""
            )),
        }
    }
    locales.sort_by_key(|l| (l.key != raw.site.default_locale, l.key.clone()));
    locales
}

fn is_locale_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// The IANA time zone `name` (`Asia/Shanghai`, `UTC`), or what is wrong
/// with it, worded to follow the key or flag that gave it (`site.time_zone
/// `X` is not …`, `--tz`). Names are matched exactly, as the tz database
/// spells them; a name that differs only in case, or a city without its
/// region (`Shanghai`), gets the right spelling as a hint.
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    if let Ok(zone) = name.parse::<chrono_tz::Tz>() {
        return Ok(zone);
    }
    let wanted = name.trim().to_ascii_lowercase().replace(' ', "_");
    let suggestion = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .find(|known| {
            let known = known.to_ascii_lowercase();
            known == wanted
                || known
                    .rsplit_once('/')
                    .is_some_and(|(_, city)| city == wanted)
        });
    Err(match suggestion {
        Some(known) => format!("is not an IANA time zone name; did you mean `{known}`?"),
        None => "is not an IANA time zone name: use one such as Asia/Shanghai, Europe/London or America/New_York (UTC for UTC), not an abbreviation (CST) or an offset (+08:00)".to_owned(),
    })
}

/// A slug a `[tags.<slug>]` table may use: what `slugify` produces.
fn is_tag_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

//! Fluent bundles: the `.ftl` files compiled into the binary, replaced file
//! by file by a site's `locales/<key>/`, parsed into one bundle per locale
//! with every syntax error and duplicate id reported by file and line.
//!
//! It reads Fluent files and builds bundles; it never formats a message,
//! walks a fallback chain or touches templates.

use super::icu::format_number;
use crate::model::Locale;
use crate::walk::{Depth, Hidden, Listing, Missing};
use anyhow::{Context, Result, bail};
use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `.ftl` files compiled into the binary: (locale key, file name, text).
/// A site's `locales/<key>/<file>` replaces the file of the same name.
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    (
        "en",
        "site.ftl",
        include_str!("../../defaults/locales/en/site.ftl"),
    ),
    (
        "en",
        "feeds.ftl",
        include_str!("../../defaults/locales/en/feeds.ftl"),
    ),
    (
        "en",
        "digest.ftl",
        include_str!("../../defaults/locales/en/digest.ftl"),
    ),
    (
        "en",
        "pages.ftl",
        include_str!("../../defaults/locales/en/pages.ftl"),
    ),
    (
        "zh",
        "site.ftl",
        include_str!("../../defaults/locales/zh/site.ftl"),
    ),
    (
        "zh",
        "feeds.ftl",
        include_str!("../../defaults/locales/zh/feeds.ftl"),
    ),
    (
        "zh",
        "digest.ftl",
        include_str!("../../defaults/locales/zh/digest.ftl"),
    ),
    (
        "zh",
        "pages.ftl",
        include_str!("../../defaults/locales/zh/pages.ftl"),
    ),
];

/// One locale's messages (and terms), formatting numbers with ICU4X.
pub(super) type Bundle = FluentBundle<FluentResource>;

/// The message ids and bundle of one locale, before fallback is applied.
pub(super) struct LocaleBundle {
    pub(super) key: String,
    pub(super) bundle: Bundle,
    /// The message ids its files define.
    pub(super) ids: BTreeSet<String>,
}

/// (file name, where it came from, text), sorted by file name.
pub(super) fn locale_files(locales_dir: &Path, key: &str) -> Result<Vec<(String, String, String)>> {
    let mut files: BTreeMap<String, (String, String)> = EMBEDDED
        .iter()
        .filter(|(k, _, _)| *k == key)
        .map(|(_, name, text)| {
            (
                name.to_string(),
                (format!("<embedded>/{key}/{name}"), text.to_string()),
            )
        })
        .collect();
    let dir = locales_dir.join(key);
    // The site's folder is optional (the embedded files may be enough).
    let site_files = Listing {
        extensions: &["ftl"],
        depth: Depth::Flat,
        hidden: Hidden::Include,
        missing: Missing::Empty,
    }
    .files(&dir)
    .map_err(|e| {
        anyhow::Error::new(e.source).context(format!("cannot read {}", e.dir.display()))
    })?;
    for path in site_files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (Fluent files must be UTF-8)",
                path.display()
            )
        })?;
        files.insert(name, (path.display().to_string(), text));
    }
    if files.is_empty() {
        bail!(
            "locale `{key}` has no messages: add Fluent files to {} (copy locales/en/*.ftl and translate them)",
            dir.display()
        );
    }
    Ok(files
        .into_iter()
        .map(|(name, (origin, text))| (name, origin, text))
        .collect())
}

/// The bundle of `locale` from its `files` (as [`locale_files`] gives them),
/// or every problem in them: syntax errors by file and line, ids defined twice.
pub(super) fn build_bundle(
    locale: &Locale,
    files: &[(String, String, String)],
) -> Result<LocaleBundle, Vec<String>> {
    let langid: unic_langid::LanguageIdentifier = locale.tag.parse().map_err(|_| {
        vec![format!(
            "locale `{}`: tag `{}` is not a language tag",
            locale.key, locale.tag
        )]
    })?;
    let mut bundle = Bundle::new_concurrent(vec![langid]);
    // Isolation marks (U+2068/U+2069) protect bidirectional text in rich
    // output, but our strings land in plain-text places (feed titles, mail
    // subjects, text parts) where the marks show up as junk characters.
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(format_number));
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut defined_in: BTreeMap<String, &str> = BTreeMap::new();
    for (_, origin, text) in files {
        let resource = match FluentResource::try_new(text.clone()) {
            Ok(resource) => resource,
            Err((_, errors)) => {
                for error in errors {
                    let line = 1 + text[..error
                        .slice
                        .as_ref()
                        .unwrap_or(&error.pos)
                        .start
                        .min(text.len())]
                        .matches('\n')
                        .count();
                    problems.push(format!("{origin}:{line}: {error}"));
                }
                continue;
            }
        };
        let file_ids: Vec<String> = resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect();
        // Messages and terms share one namespace in a bundle.
        let entry_names: Vec<String> = resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                fluent_syntax::ast::Entry::Term(t) => Some(t.id.name.to_owned()),
                _ => None,
            })
            .collect();
        if let Err(errors) = bundle.add_resource(resource) {
            for error in errors {
                // Name the file that defined it first: it may be the site's
                // own file while this one is embedded, or the other way round.
                let message = match &error {
                    fluent_bundle::FluentError::Overriding { kind, id } => {
                        match defined_in.get(id.as_str()) {
                            Some(first) => format!("{kind} `{id}` is already defined in {first}"),
                            None => format!("{kind} `{id}` is defined twice in this file"),
                        }
                    }
                    other => other.to_string(),
                };
                problems.push(format!(
                    "{origin}: {message}; each message id may be defined once per locale"
                ));
            }
        }
        for name in entry_names {
            defined_in.entry(name).or_insert(origin.as_str());
        }
        ids.extend(file_ids);
    }
    if problems.is_empty() {
        Ok(LocaleBundle {
            key: locale.key.clone(),
            bundle,
            ids,
        })
    } else {
        Err(problems)
    }
}

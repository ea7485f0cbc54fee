//! Localisation stage: one Fluent bundle per configured locale (embedded
//! defaults replaced file by file by the site's `locales/<key>/`), the
//! fallback chain, and locale-correct dates and numbers via ICU4X.
//!
//! This module must not touch templates or feed formats; it turns message
//! ids and arguments into text.

use crate::config::Config;
use crate::model::Locale;
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Datelike, FixedOffset};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDE};
use icu_decimal::DecimalFormatter;
use intl_memoizer::Memoizable;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

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
        "zh",
        "site.ftl",
        include_str!("../../defaults/locales/zh/site.ftl"),
    ),
    (
        "zh",
        "feeds.ftl",
        include_str!("../../defaults/locales/zh/feeds.ftl"),
    ),
];

type Bundle = FluentBundle<FluentResource>;

/// Every problem found in the Fluent files (syntax errors, ids defined twice).
#[derive(Debug, thiserror::Error)]
#[error("{} problem{} in the Fluent files; nothing was published:\n{}",
    .problems.len(),
    if .problems.len() == 1 { "" } else { "s" },
    .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct CatalogError {
    pub problems: Vec<String>,
}

/// The message ids and bundle of one locale, before fallback is applied.
struct LocaleBundle {
    key: String,
    bundle: Bundle,
    ids: BTreeSet<String>,
}

/// Every configured locale's [`Localizer`].
pub struct Catalog {
    localizers: BTreeMap<String, Localizer>,
    default_locale: String,
}

impl Catalog {
    /// The localizer of locale `key`.
    pub fn localizer(&self, key: &str) -> Result<&Localizer> {
        self.localizers
            .get(key)
            .ok_or_else(|| anyhow!("locale `{key}` is not configured"))
    }

    /// For each locale other than the default, the ids the default locale
    /// defines that it does not (they resolve only through fallback).
    pub fn missing_ids(&self) -> BTreeMap<String, Vec<String>> {
        let Some(reference) = self.localizers.get(&self.default_locale) else {
            return BTreeMap::new();
        };
        let reference_ids = &reference.own_ids;
        self.localizers
            .iter()
            .filter(|(key, _)| **key != self.default_locale)
            .map(|(key, l)| {
                (
                    key.clone(),
                    reference_ids
                        .difference(&l.own_ids)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, missing)| !missing.is_empty())
            .collect()
    }
}

/// Formats messages, dates and numbers for one locale, walking its fallback
/// chain for messages it does not define.
pub struct Localizer {
    key: String,
    tag: String,
    /// This locale's bundle first, then its fallbacks in order.
    chain: Vec<(String, Arc<Bundle>)>,
    own_ids: BTreeSet<String>,
    long_date: DateTimeFormatter<YMD>,
    full_date: DateTimeFormatter<YMDE>,
    decimal: DecimalFormatter,
}

impl Localizer {
    /// Locale key (`zh`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// BCP 47 tag (`zh-CN`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Formats message `id` with `args`. A message missing from the whole
    /// fallback chain, or one that fails to format, is an error: never an
    /// empty string.
    pub fn message(&self, id: &str, args: &[(&str, FluentValue)]) -> Result<String> {
        let (found_in, bundle, pattern) = self
            .chain
            .iter()
            .find_map(|(key, bundle)| {
                bundle
                    .get_message(id)
                    .and_then(|m| m.value())
                    .map(|pattern| (key, bundle, pattern))
            })
            .ok_or_else(|| {
                anyhow!(
                    "message `{id}` is missing in locale `{}` (looked in {}); add it to locales/{}/*.ftl",
                    self.key,
                    self.chain.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
                    self.key
                )
            })?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            bail!(
                "message `{id}` of locale `{found_in}` failed to format: {}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        Ok(text.into_owned())
    }

    /// A message without arguments.
    pub fn text(&self, id: &str) -> Result<String> {
        self.message(id, &[])
    }

    /// The date in this locale's long form: "8 March 2021" (en-GB), "2021年3月8日" (zh).
    pub fn long_date(&self, date: &DateTime<FixedOffset>) -> String {
        match icu_date(date) {
            Some(d) => self.long_date.format(&d).to_string(),
            None => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// The date with its weekday: "Sunday, 29 November 2026", "2026年11月29日星期日".
    pub fn full_date(&self, date: &DateTime<FixedOffset>) -> String {
        match icu_date(date) {
            Some(d) => self.full_date.format(&d).to_string(),
            None => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// An integer with this locale's digits and grouping: "1,600".
    pub fn number(&self, n: i64) -> String {
        self.decimal
            .format(&icu_decimal::input::Decimal::from(n))
            .to_string()
    }
}

fn icu_date(date: &DateTime<FixedOffset>) -> Option<icu_datetime::input::Date<icu_calendar::Iso>> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    icu_datetime::input::Date::try_new_iso(date.year(), month, day).ok()
}

/// Loads the bundles of every configured locale: embedded defaults, replaced
/// file by file by `<locales_dir>/<key>/*.ftl`.
pub fn load(config: &Config) -> Result<Catalog> {
    let mut bundles = BTreeMap::new();
    let mut problems = Vec::new();
    for locale in &config.locales {
        let files = locale_files(&config.site.locales_dir, &locale.key)?;
        match build_bundle(locale, &files) {
            Ok(bundle) => {
                bundles.insert(locale.key.clone(), bundle);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    if !problems.is_empty() {
        return Err(CatalogError { problems }.into());
    }
    assemble(config, bundles)
}

/// (file name, where it came from, text), sorted by file name.
fn locale_files(locales_dir: &Path, key: &str) -> Result<Vec<(String, String, String)>> {
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
    if dir.is_dir() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot read {}", dir.display()))?
                .path();
            if path.extension().is_none_or(|e| e != "ftl") {
                continue;
            }
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

fn build_bundle(
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
    for (_, origin, text) in files {
        let resource = match FluentResource::try_new(text.clone()) {
            Ok(resource) => resource,
            Err((_, errors)) => {
                for error in errors {
                    let line = 1 + text[..error.pos.start.min(text.len())]
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
        if let Err(errors) = bundle.add_resource(resource) {
            for error in errors {
                problems.push(format!(
                    "{origin}: {error}; each message id may be defined once per locale"
                ));
            }
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

fn assemble(config: &Config, bundles: BTreeMap<String, LocaleBundle>) -> Result<Catalog> {
    let mut shared: BTreeMap<String, (Arc<Bundle>, BTreeSet<String>)> = bundles
        .into_values()
        .map(|b| (b.key, (Arc::new(b.bundle), b.ids)))
        .collect();
    let mut localizers = BTreeMap::new();
    for locale in &config.locales {
        let chain_keys = fallback_chain(config, &locale.key);
        let chain = chain_keys
            .iter()
            .filter_map(|k| shared.get(k).map(|(b, _)| (k.clone(), Arc::clone(b))))
            .collect();
        let own_ids = shared
            .get(&locale.key)
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        let icu_locale = icu_locale_core::Locale::try_from_str(&locale.tag).map_err(|e| {
            anyhow!(
                "locale `{}`: tag `{}` is not usable for dates: {e}",
                locale.key,
                locale.tag
            )
        })?;
        let long_date = DateTimeFormatter::try_new((&icu_locale).into(), YMD::long())
            .with_context(|| {
                format!(
                    "no date formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        let full_date = DateTimeFormatter::try_new((&icu_locale).into(), YMDE::long())
            .with_context(|| {
                format!(
                    "no date formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        let decimal = DecimalFormatter::try_new((&icu_locale).into(), Default::default())
            .with_context(|| {
                format!(
                    "no number formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        localizers.insert(
            locale.key.clone(),
            Localizer {
                key: locale.key.clone(),
                tag: locale.tag.clone(),
                chain,
                own_ids,
                long_date,
                full_date,
                decimal,
            },
        );
    }
    shared.clear();
    Ok(Catalog {
        localizers,
        default_locale: config.site.default_locale.clone(),
    })
}

/// `key`, then its fallbacks, then theirs, each once.
fn fallback_chain(config: &Config, key: &str) -> Vec<String> {
    let mut chain = vec![key.to_owned()];
    let mut next = 0;
    while next < chain.len() {
        if let Some(locale) = config.locale(&chain[next]) {
            for fallback in &locale.fallback {
                if !chain.contains(fallback) {
                    chain.push(fallback.clone());
                }
            }
        }
        next += 1;
    }
    chain
}

/// ICU4X decimal formatter, memoized per bundle language by fluent.
struct IcuDecimal(DecimalFormatter);

impl Memoizable for IcuDecimal {
    type Args = ();
    type Error = String;
    fn construct(lang: unic_langid::LanguageIdentifier, _: ()) -> Result<Self, String> {
        let locale =
            icu_locale_core::Locale::try_from_str(&lang.to_string()).map_err(|e| e.to_string())?;
        DecimalFormatter::try_new((&locale).into(), Default::default())
            .map(IcuDecimal)
            .map_err(|e| e.to_string())
    }
}

/// Formats whole numbers in Fluent placeables with ICU4X grouping; other
/// numbers keep Fluent's own formatting.
fn format_number(
    value: &FluentValue,
    memoizer: &intl_memoizer::concurrent::IntlLangMemoizer,
) -> Option<String> {
    let FluentValue::Number(number) = value else {
        return None;
    };
    let is_plain_integer = number.value.fract() == 0.0
        && number.value.abs() < 1e15
        && number.options.minimum_fraction_digits.is_none();
    if !is_plain_integer {
        return None;
    }
    let decimal = icu_decimal::input::Decimal::from(number.value as i64);
    memoizer
        .with_try_get::<IcuDecimal, _, _>((), |f| f.0.format(&decimal).to_string())
        .ok()
}

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
        "en",
        "digest.ftl",
        include_str!("../../defaults/locales/en/digest.ftl"),
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
            .ok_or_else(|| CatalogError {
                problems: vec![format!(
                    "message `{id}` is missing in locale `{}` (looked in {}); add it to locales/{}/*.ftl",
                    self.key,
                    self.chain.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
                    self.key
                )],
            })?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            return Err(CatalogError {
                problems: vec![format!(
                    "message `{id}` of locale `{found_in}` failed to format: {}",
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )],
            }
            .into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::test_support::BILINGUAL_CONFIG as CONFIG;

    const STORIES_EN: &str =
        "stories = { $count ->\n    [one] { $count } story\n   *[other] { $count } stories\n}\n";
    // Chinese has no `one` plural category: `[one]` must never be chosen.
    const STORIES_ZH: &str =
        "stories = { $count ->\n    [one] WRONG\n   *[other] { $count } 篇新文章\n}\n";

    /// A site in a temp dir with `config` and `files` (path under `locales/`, text).
    struct Site {
        dir: tempfile::TempDir,
        config: Config,
    }

    impl Site {
        fn new(config: &str, files: &[(&str, &str)]) -> Site {
            let dir = tempfile::tempdir().unwrap();
            for (path, text) in files {
                let path = dir.path().join("locales").join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            let config =
                crate::config::parse(config, Path::new("config.toml"), dir.path()).unwrap();
            Site { dir, config }
        }

        fn locales_dir(&self) -> std::path::PathBuf {
            self.dir.path().join("locales")
        }

        fn load(&self) -> Result<Catalog> {
            load(&self.config)
        }

        fn catalog(&self) -> Catalog {
            self.load().unwrap_or_else(|e| panic!("{e:#}"))
        }

        fn error(&self) -> String {
            match self.load() {
                Ok(_) => panic!("loading the catalog should fail"),
                Err(e) => format!("{e:#}"),
            }
        }
    }

    fn catalog(files: &[(&str, &str)]) -> Catalog {
        Site::new(CONFIG, files).catalog()
    }

    fn date(rfc3339: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap()
    }

    fn count(localizer: &Localizer, n: i64) -> String {
        localizer
            .message("stories", &[("count", FluentValue::from(n))])
            .unwrap()
    }

    /// Message ids (and `-term` ids) defined by one `.ftl` text.
    fn ftl_ids(origin: &str, text: &str) -> BTreeSet<String> {
        let resource = fluent_syntax::parser::parse(text)
            .unwrap_or_else(|(_, errors)| panic!("{origin}: {errors:?}"));
        resource
            .body
            .iter()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                fluent_syntax::ast::Entry::Term(t) => Some(format!("-{}", t.id.name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn embedded_en_and_zh_define_the_same_message_ids() {
        let files_of = |key: &str| -> BTreeMap<&str, BTreeSet<String>> {
            EMBEDDED
                .iter()
                .filter(|(k, _, _)| *k == key)
                .map(|(k, name, text)| (*name, ftl_ids(&format!("{k}/{name}"), text)))
                .collect()
        };
        let en = files_of("en");
        let zh = files_of("zh");
        assert!(!en.is_empty());
        assert_eq!(
            en.keys().collect::<Vec<_>>(),
            zh.keys().collect::<Vec<_>>(),
            "en and zh embed different files"
        );
        for (name, en_ids) in &en {
            let zh_ids = &zh[name];
            assert!(!en_ids.is_empty(), "en/{name} defines no messages");
            assert_eq!(
                en_ids.difference(zh_ids).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "ids in en/{name} but not zh/{name}"
            );
            assert_eq!(
                zh_ids.difference(en_ids).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "ids in zh/{name} but not en/{name}"
            );
        }
    }

    #[test]
    fn embedded_defaults_parse_and_format_without_errors() {
        let catalog = catalog(&[]);
        assert!(
            catalog.missing_ids().is_empty(),
            "{:?}",
            catalog.missing_ids()
        );
        for (key, _, text) in EMBEDDED {
            let localizer = catalog.localizer(key).unwrap();
            for id in ftl_ids(key, text) {
                let args = [
                    ("date", FluentValue::from("8 March 2021")),
                    ("title", FluentValue::from("A story")),
                    ("name", FluentValue::from("Zoë")),
                    ("count", FluentValue::from(3)),
                    ("minutes", FluentValue::from(3)),
                    ("language", FluentValue::from("en")),
                ];
                let text = localizer
                    .message(&id, &args)
                    .unwrap_or_else(|e| panic!("{key}/{id}: {e:#}"));
                assert!(!text.trim().is_empty(), "{key}/{id} is empty");
            }
        }
    }

    #[test]
    fn messages_come_from_embedded_defaults() {
        let catalog = catalog(&[]);
        let en = catalog.localizer("en").unwrap();
        let zh = catalog.localizer("zh").unwrap();
        assert_eq!((en.key(), en.tag()), ("en", "en-GB"));
        assert_eq!((zh.key(), zh.tag()), ("zh", "zh-CN"));
        assert_eq!(en.text("feed-read-more").unwrap(), "Read more");
        assert_eq!(zh.text("feed-read-more").unwrap(), "阅读全文");
        assert_eq!(en.text("feed-title").unwrap(), "Gazette");
        assert_eq!(
            zh.message(
                "feed-published-on",
                &[("date", FluentValue::from("2021年3月8日"))]
            )
            .unwrap(),
            "发布于2021年3月8日"
        );
    }

    #[test]
    fn site_file_replaces_the_embedded_file_of_the_same_name() {
        let catalog = catalog(&[("en/site.ftl", "site-title = Chengdu–Chongqing Brief\n")]);
        let en = catalog.localizer("en").unwrap();
        assert_eq!(en.text("site-title").unwrap(), "Chengdu–Chongqing Brief");
        // Other embedded files still apply, and see the site's messages.
        assert_eq!(en.text("feed-title").unwrap(), "Chengdu–Chongqing Brief");
        assert_eq!(en.text("feed-read-more").unwrap(), "Read more");
        // The whole file is replaced, not merged: the embedded
        // site-description is gone from en.
        let err = format!("{:#}", en.text("site-description").unwrap_err());
        assert!(err.contains("`site-description`"), "{err}");
        // zh keeps its own embedded site.ftl.
        assert_eq!(
            catalog.localizer("zh").unwrap().text("site-title").unwrap(),
            "公报"
        );
    }

    #[test]
    fn files_that_are_not_ftl_are_ignored() {
        let catalog = catalog(&[("en/site.ftl.bak", "site-title = Old\n")]);
        assert_eq!(
            catalog.localizer("en").unwrap().text("site-title").unwrap(),
            "Gazette"
        );
    }

    #[test]
    fn message_missing_in_zh_falls_back_to_en() {
        let catalog = catalog(&[("en/extra.ftl", "only-en = Only in English\n")]);
        let zh = catalog.localizer("zh").unwrap();
        assert_eq!(zh.text("only-en").unwrap(), "Only in English");
        assert_eq!(zh.text("site-title").unwrap(), "公报");
    }

    #[test]
    fn fallback_follows_the_chain_transitively() {
        let config = CONFIG.to_owned() + "[locales.fr]\ntag = \"fr-FR\"\nfallback = [\"zh\"]\n";
        let site = Site::new(
            &config,
            &[
                ("fr/site.ftl", "site-title = La Gazette\n"),
                ("en/extra.ftl", "only-en = Only in English\n"),
            ],
        );
        let catalog = site.catalog();
        let fr = catalog.localizer("fr").unwrap();
        assert_eq!(fr.text("site-title").unwrap(), "La Gazette");
        assert_eq!(fr.text("feed-read-more").unwrap(), "阅读全文");
        assert_eq!(fr.text("only-en").unwrap(), "Only in English");
        let err = format!("{:#}", fr.text("nowhere").unwrap_err());
        assert!(err.contains("(looked in fr, zh, en)"), "{err}");
    }

    #[test]
    fn message_missing_everywhere_is_an_error_naming_id_and_locale() {
        let catalog = catalog(&[]);
        let zh = catalog.localizer("zh").unwrap();
        let err = format!("{:#}", zh.text("no-such-message").unwrap_err());
        assert!(
            err.contains(
                "message `no-such-message` is missing in locale `zh` (looked in zh, en); add it to locales/zh/*.ftl"
            ),
            "{err}"
        );
        let en = catalog.localizer("en").unwrap();
        let err = format!("{:#}", en.text("no-such-message").unwrap_err());
        assert!(
            err.contains("message `no-such-message` is missing in locale `en` (looked in en)"),
            "{err}"
        );
    }

    #[test]
    fn message_without_value_is_missing_not_empty() {
        let catalog = catalog(&[("en/extra.ftl", "attrs-only =\n    .title = T\n")]);
        let en = catalog.localizer("en").unwrap();
        let err = format!("{:#}", en.text("attrs-only").unwrap_err());
        assert!(err.contains("message `attrs-only` is missing"), "{err}");
    }

    #[test]
    fn missing_argument_is_an_error_not_a_placeholder() {
        let catalog = catalog(&[]);
        let en = catalog.localizer("en").unwrap();
        let err = format!("{:#}", en.text("feed-published-on").unwrap_err());
        assert!(
            err.contains("message `feed-published-on` of locale `en` failed to format: "),
            "{err}"
        );
        assert!(err.contains("date"), "{err}");
    }

    #[test]
    fn zh_falling_back_reports_the_locale_that_failed_to_format() {
        let catalog = catalog(&[("en/extra.ftl", "greet = Hello { $name }\n")]);
        let zh = catalog.localizer("zh").unwrap();
        let err = format!("{:#}", zh.text("greet").unwrap_err());
        assert!(
            err.contains("message `greet` of locale `en` failed to format"),
            "{err}"
        );
    }

    #[test]
    fn unknown_locale_is_an_error() {
        let catalog = catalog(&[]);
        let err = format!("{:#}", catalog.localizer("fr").err().unwrap());
        assert_eq!(err, "locale `fr` is not configured");
    }

    #[test]
    fn fluent_syntax_error_reports_file_and_line() {
        let site = Site::new(
            CONFIG,
            &[(
                "zh/site.ftl",
                "site-title = 公报\nsite-description = 本社新闻\nbroken = { $count\n",
            )],
        );
        let err = site.error();
        let path = site.locales_dir().join("zh").join("site.ftl");
        assert!(err.contains(&format!("{}:3: ", path.display())), "{err}");
        assert!(
            err.contains("problem in the Fluent files; nothing was published"),
            "{err}"
        );
    }

    #[test]
    fn fluent_syntax_error_in_a_later_entry_reports_its_own_line() {
        let site = Site::new(
            CONFIG,
            &[(
                "en/extra.ftl",
                "# comment\n\nok = Fine\n\n\nbad-id! = x\nalso-ok = Fine\n",
            )],
        );
        let err = site.error();
        let path = site.locales_dir().join("en").join("extra.ftl");
        assert!(err.contains(&format!("{}:6: ", path.display())), "{err}");
    }

    #[test]
    fn every_syntax_error_of_every_locale_is_reported() {
        let site = Site::new(
            CONFIG,
            &[("en/extra.ftl", "a = {\n"), ("zh/extra.ftl", "b = }\n")],
        );
        let err = site.error();
        assert!(err.contains("2 problems in the Fluent files"), "{err}");
        assert!(
            err.contains(&format!("{}", Path::new("en").join("extra.ftl").display())),
            "{err}"
        );
        assert!(
            err.contains(&format!("{}", Path::new("zh").join("extra.ftl").display())),
            "{err}"
        );
    }

    #[test]
    fn message_defined_twice_in_one_locale_is_an_error() {
        let site = Site::new(CONFIG, &[("en/extra.ftl", "site-title = Again\n")]);
        let err = site.error();
        // Both definitions are named: the site's file and the embedded one.
        let extra = site.locales_dir().join("en").join("extra.ftl");
        assert!(
            err.contains(&format!(
                "<embedded>/en/site.ftl: message `site-title` is already defined in {}; each message id may be defined once per locale",
                extra.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn message_defined_twice_in_one_file_is_an_error() {
        let site = Site::new(CONFIG, &[("en/extra.ftl", "dup = One\ndup = Two\n")]);
        let err = site.error();
        let path = site.locales_dir().join("en").join("extra.ftl");
        assert!(
            err.contains(&format!(
                "{}: message `dup` is defined twice in this file; each message id may be defined once per locale",
                path.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn third_locale_works_with_only_site_files() {
        let config = CONFIG.to_owned() + "[locales.fr]\ntag = \"fr-FR\"\nfallback = [\"en\"]\n";
        let site = Site::new(
            &config,
            &[(
                "fr/site.ftl",
                "site-title = La Gazette\nsite-description = Nouvelles\nfeed-read-more = Lire la suite\n",
            )],
        );
        let catalog = site.catalog();
        let fr = catalog.localizer("fr").unwrap();
        assert_eq!(fr.tag(), "fr-FR");
        assert_eq!(fr.text("site-title").unwrap(), "La Gazette");
        assert_eq!(fr.text("feed-read-more").unwrap(), "Lire la suite");
        // `feed-title` comes from en's embedded feeds.ftl, resolved in en's bundle.
        assert_eq!(fr.text("feed-title").unwrap(), "Gazette");
        assert_eq!(
            fr.long_date(&date("2021-03-08T12:00:00+01:00")),
            "8 mars 2021"
        );
        let missing: Option<Vec<String>> = catalog.missing_ids().get("fr").map(|ids| {
            ids.iter()
                .filter(|id| !id.starts_with("digest-"))
                .cloned()
                .collect()
        });
        assert_eq!(
            missing.as_ref(),
            Some(&vec![
                "feed-description".to_owned(),
                "feed-published-on".to_owned(),
                "feed-title".to_owned(),
            ])
        );
    }

    #[test]
    fn locale_without_any_messages_is_an_error() {
        let config = CONFIG.to_owned() + "[locales.fr]\ntag = \"fr-FR\"\n";
        let site = Site::new(&config, &[]);
        let err = site.error();
        let dir = site.locales_dir().join("fr");
        assert!(
            err.contains(&format!(
                "locale `fr` has no messages: add Fluent files to {} (copy locales/en/*.ftl and translate them)",
                dir.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn missing_ids_lists_ids_zh_lacks() {
        let catalog = catalog(&[
            (
                "en/extra.ftl",
                "only-en = Only\nalso-en = Also\nshared = Shared\n",
            ),
            ("zh/extra.ftl", "shared = 共享\nonly-zh = 仅中文\n"),
        ]);
        let missing = catalog.missing_ids();
        assert_eq!(
            missing,
            BTreeMap::from([(
                "zh".to_owned(),
                vec!["also-en".to_owned(), "only-en".to_owned()]
            )])
        );
    }

    #[test]
    fn long_date_is_locale_correct() {
        let catalog = catalog(&[]);
        let en = catalog.localizer("en").unwrap();
        let zh = catalog.localizer("zh").unwrap();
        let d = date("2021-03-08T09:30:00+08:00");
        assert_eq!(en.long_date(&d), "8 March 2021");
        assert_eq!(zh.long_date(&d), "2021年3月8日");
    }

    #[test]
    fn dates_use_the_articles_own_offset() {
        // 23:30 on 8 March in New York is already 9 March in UTC.
        let catalog = catalog(&[]);
        let en = catalog.localizer("en").unwrap();
        assert_eq!(
            en.long_date(&date("2021-03-08T23:30:00-05:00")),
            "8 March 2021"
        );
    }

    #[test]
    fn full_date_names_the_weekday() {
        let catalog = catalog(&[]);
        let d = date("2026-11-29T10:00:00+08:00");
        let en = catalog.localizer("en").unwrap().full_date(&d);
        let zh = catalog.localizer("zh").unwrap().full_date(&d);
        assert!(en.contains("Sunday"), "{en}");
        assert!(en.contains("29 November 2026"), "{en}");
        assert!(zh.contains("星期日"), "{zh}");
        assert!(zh.contains("2026年11月29日"), "{zh}");
    }

    #[test]
    fn number_uses_locale_grouping() {
        let catalog = catalog(&[]);
        assert_eq!(catalog.localizer("en").unwrap().number(1600), "1,600");
        assert_eq!(
            catalog.localizer("en").unwrap().number(-1234567),
            "-1,234,567"
        );
        assert_eq!(catalog.localizer("zh").unwrap().number(1600), "1,600");
        assert_eq!(catalog.localizer("en").unwrap().number(7), "7");
    }

    #[test]
    fn english_plurals_select_one_and_other() {
        let catalog = catalog(&[("en/extra.ftl", STORIES_EN), ("zh/extra.ftl", STORIES_ZH)]);
        let en = catalog.localizer("en").unwrap();
        assert_eq!(count(en, 1), "1 story");
        assert_eq!(count(en, 3), "3 stories");
        assert_eq!(count(en, 0), "0 stories");
    }

    #[test]
    fn chinese_plurals_always_select_other() {
        let catalog = catalog(&[("en/extra.ftl", STORIES_EN), ("zh/extra.ftl", STORIES_ZH)]);
        let zh = catalog.localizer("zh").unwrap();
        assert_eq!(count(zh, 0), "0 篇新文章");
        assert_eq!(count(zh, 1), "1 篇新文章");
        assert_eq!(count(zh, 2), "2 篇新文章");
        assert_eq!(count(zh, 21), "21 篇新文章");
    }

    #[test]
    fn messages_have_no_bidi_isolation_marks() {
        let catalog = catalog(&[("en/extra.ftl", STORIES_EN), ("zh/extra.ftl", STORIES_ZH)]);
        let mut outputs = Vec::new();
        for key in ["en", "zh"] {
            let l = catalog.localizer(key).unwrap();
            outputs.push(count(l, 1));
            outputs.push(count(l, 1600));
            outputs.push(l.text("feed-title").unwrap());
            outputs.push(
                l.message("feed-published-on", &[("date", FluentValue::from("x"))])
                    .unwrap(),
            );
        }
        for text in outputs {
            assert!(
                !text.contains(['\u{2068}', '\u{2069}']),
                "isolation marks in {text:?}"
            );
        }
    }

    #[test]
    fn numbers_inside_messages_use_icu_grouping() {
        let catalog = catalog(&[("en/extra.ftl", STORIES_EN), ("zh/extra.ftl", STORIES_ZH)]);
        assert_eq!(
            count(catalog.localizer("en").unwrap(), 1600),
            "1,600 stories"
        );
        assert_eq!(
            count(catalog.localizer("zh").unwrap(), 1600),
            "1,600 篇新文章"
        );
    }

    #[test]
    fn fractional_numbers_inside_messages_keep_fluent_formatting() {
        let catalog = catalog(&[("en/extra.ftl", "n = { $n }\n")]);
        let en = catalog.localizer("en").unwrap();
        assert_eq!(
            en.message("n", &[("n", FluentValue::from(1.5))]).unwrap(),
            "1.5"
        );
    }
}

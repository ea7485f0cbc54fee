use super::*;
use chrono::{DateTime, FixedOffset};
use fluent_bundle::FluentValue;
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
        let config = crate::config::parse(config, Path::new("config.toml"), dir.path()).unwrap();
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
                ("tag", FluentValue::from("Economy")),
                ("email", FluentValue::from("zoe@example.org")),
                (
                    "url",
                    FluentValue::from("https://news.example.org/list/confirm"),
                ),
                ("days", FluentValue::from(7)),
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
            .filter(|id| {
                !["digest-", "page-", "signup-"]
                    .iter()
                    .any(|p| id.starts_with(p))
            })
            .cloned()
            .collect()
    });
    assert_eq!(
        missing.as_ref(),
        Some(&vec![
            "feed-description".to_owned(),
            "feed-index-intro".to_owned(),
            "feed-index-title".to_owned(),
            "feed-published-on".to_owned(),
            "feed-stylesheet-intro".to_owned(),
            "feed-tag-description".to_owned(),
            "feed-tag-title".to_owned(),
            "feed-title".to_owned(),
            "web-copy-archive".to_owned(),
            "web-copy-archive-title".to_owned(),
            "web-copy-feeds".to_owned(),
            "web-copy-language".to_owned(),
            "web-copy-subscribe".to_owned(),
            "web-copy-title".to_owned(),
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

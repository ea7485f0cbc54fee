//! Unit tests of the digest stage: views, plurals, dates, labels, HTML for
//! mail clients, escaping, personalisation, size guard and template errors,
//! against the real embedded templates and Fluent files.

use super::*;
use crate::config::Config;
use crate::i18n::Catalog;
use crate::model::{Article, Body, Corpus, Story};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::test_support::BILINGUAL_CONFIG as CONFIG;

const ADDRESS: &str = "Gazette Ltd, 1 Fleet Street, London EC4Y 1AA";

/// A site with embedded locales, and its catalog.
struct Site {
    _dir: tempfile::TempDir,
    config: Config,
    catalog: Catalog,
    site_url: Url,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::parse(CONFIG, Path::new("config.toml"), dir.path()).unwrap();
        let catalog = crate::i18n::load(&config).unwrap_or_else(|e| panic!("{e:#}"));
        let site_url = config.site.base_url.clone();
        Site {
            _dir: dir,
            config,
            catalog,
            site_url,
        }
    }

    fn locale(&self, key: &str) -> &Locale {
        self.config.locale(key).unwrap()
    }

    fn localizer(&self, key: &str) -> &Localizer {
        self.catalog.localizer(key).unwrap()
    }

    fn settings(&self, key: &str, untranslated: Untranslated) -> DigestSettings<'_> {
        DigestSettings {
            site_url: &self.site_url,
            max_items: 10,
            untranslated,
            postal_address: ADDRESS,
            browser_url: self
                .site_url
                .join(&format!("digest/{key}/2026-11-29/"))
                .unwrap(),
            words_per_minute: 230,
            cjk_chars_per_minute: 400,
        }
    }

    fn view(
        &self,
        corpus: &Corpus,
        ids: &[&str],
        key: &str,
        topics: &[&str],
        untranslated: Untranslated,
    ) -> DigestView {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let topics: Vec<String> = topics.iter().map(|s| s.to_string()).collect();
        digest_view(
            corpus,
            &ids,
            self.locale(key),
            &topics,
            self.localizer(key),
            &self.settings(key, untranslated),
            now(),
        )
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn rendered(&self, corpus: &Corpus, ids: &[&str], key: &str) -> RenderedDigest {
        let view = self.view(corpus, ids, key, &[], Untranslated::Label);
        render(&default_templates(), &view, self.localizer(key)).unwrap_or_else(|e| panic!("{e:#}"))
    }
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-29T07:00:00+08:00").unwrap()
}

fn default_templates() -> Templates {
    load_templates(Path::new("/nonexistent/templates")).unwrap_or_else(|e| panic!("{e:#}"))
}

fn article(
    id: &str,
    locale: &str,
    title: &str,
    summary: &str,
    body: &str,
    tags: &[&str],
) -> Article {
    let home = if locale == "en" {
        "https://news.example.org/".to_owned()
    } else {
        format!("https://news.example.org/{locale}/")
    };
    Article {
        story_id: id.to_owned(),
        slug: id.to_owned(),
        locale: locale.to_owned(),
        title: title.to_owned(),
        date: DateTime::parse_from_rfc3339("2026-11-28T09:00:00+08:00").unwrap(),
        updated: None,
        own_summary: (!summary.is_empty()).then(|| summary.to_owned()),
        body: Body::Rendered {
            html: body.to_owned(),
            excerpt: String::new(),
        },
        tags: tags.iter().map(|t| t.to_string()).collect(),
        authors: vec![],
        image: None,
        url: Url::parse(&home).unwrap().join(&format!("{id}/")).unwrap(),
        draft: false,
        source_path: PathBuf::from(format!("articles/{id}.{locale}.md")),
        origin: None,
    }
}

fn corpus(articles: Vec<Article>) -> Corpus {
    let mut stories: BTreeMap<String, Story> = BTreeMap::new();
    for a in articles {
        stories
            .entry(a.story_id.clone())
            .or_insert_with(|| Story {
                id: a.story_id.clone(),
                slug: a.slug.clone(),
                translations: BTreeMap::new(),
            })
            .translations
            .insert(a.locale.clone(), Box::new(a));
    }
    Corpus {
        stories: stories.into_values().collect(),
    }
}

/// Three stories: `rail` in both languages (with an image), `budget` only in
/// English, `tea` in both; tags differ.
fn sample() -> Corpus {
    let english_body = format!("<p>{}</p>", "word ".repeat(600)); // 3 minutes
    let chinese_body = format!("<p>{}</p>", "成渝双城经济圈建设".repeat(100)); // 900 chars: 3 minutes
    let mut rail_en = article(
        "rail",
        "en",
        "Chengdu & Chongqing <linked> by new rail",
        "A new line cuts the trip to 50 minutes.",
        &english_body,
        &["transport"],
    );
    rail_en.image = Some(Url::parse("https://news.example.org/rail/train.jpg").unwrap());
    let mut rail_zh = article(
        "rail",
        "zh",
        "成渝新铁路通车",
        "新线路将行程缩短至 50 分钟。",
        &chinese_body,
        &["交通"],
    );
    rail_zh.image = rail_en.image.clone();
    corpus(vec![
        rail_en,
        rail_zh,
        article(
            "budget",
            "en",
            "City budget approved",
            "The council passed the budget.",
            "<p>Short.</p>",
            &["Politics"],
        ),
        article(
            "tea",
            "en",
            "Teahouses of Chengdu",
            "A guide to the old teahouses.",
            "<p>Tea and talk.</p>",
            &["culture"],
        ),
        article(
            "tea",
            "zh",
            "成都的老茶馆",
            "老茶馆指南。",
            "<p>喝茶聊天。</p>",
            &["文化"],
        ),
    ])
}

const IDS: &[&str] = &["rail", "budget", "tea"];

fn titles(view: &DigestView) -> Vec<&str> {
    view.stories.iter().map(|s| s.title.as_str()).collect()
}

#[test]
fn english_view_has_stories_in_order_with_localised_strings() {
    let site = Site::new();
    let view = site.view(&sample(), IDS, "en", &[], Untranslated::Label);
    assert_eq!(view.lang, "en-GB");
    assert_eq!(view.site_title, "Gazette");
    assert_eq!(view.date, "Sunday, 29 November 2026");
    assert_eq!(view.subject, "Gazette: 29 November 2026");
    assert_eq!(view.intro, "3 new stories");
    assert_eq!(view.story_count, 3);
    assert_eq!(
        titles(&view),
        [
            "Chengdu & Chongqing <linked> by new rail",
            "City budget approved",
            "Teahouses of Chengdu"
        ]
    );
    assert_eq!(view.stories[0].reading_time, "3 min read");
    assert_eq!(view.stories[1].reading_time, "1 min read");
    assert_eq!(view.stories[0].url, "https://news.example.org/rail/");
    assert!(view.stories.iter().all(|s| s.label.is_none()));
    assert_eq!(
        view.preheader,
        "New on Gazette: Chengdu & Chongqing <linked> by new rail"
    );
    assert!(view.more.is_none());
    assert_eq!(view.footer.unsubscribe_label, "Unsubscribe");
    assert_eq!(view.footer.postal_address, ADDRESS);
}

#[test]
fn chinese_view_uses_chinese_versions_dates_and_labels() {
    let site = Site::new();
    let view = site.view(&sample(), IDS, "zh", &[], Untranslated::Label);
    assert_eq!(view.lang, "zh-CN");
    assert!(view.date.contains("2026年11月29日"), "{}", view.date);
    assert!(view.date.contains("星期日"), "{}", view.date);
    assert_eq!(view.intro, "3 篇新文章");
    // The reader's language first (newest first), then the labelled story,
    // although the budget story is newer than the teahouses.
    assert_eq!(
        titles(&view),
        ["成渝新铁路通车", "成都的老茶馆", "City budget approved"]
    );
    assert_eq!(view.stories[0].reading_time, "阅读约 3 分钟");
    assert_eq!(view.stories[0].url, "https://news.example.org/zh/rail/");
    assert_eq!(view.stories[2].label.as_deref(), Some("仅有英文版"));
    assert_eq!(view.stories[2].lang.as_deref(), Some("en"));
    assert_eq!(view.stories[2].url, "https://news.example.org/budget/");
    assert_eq!(view.stories[0].label, None);
    assert!(view.subject.contains("2026年11月29日"), "{}", view.subject);
}

#[test]
fn untranslated_stories_are_skipped_when_asked() {
    let site = Site::new();
    let view = site.view(&sample(), IDS, "zh", &[], Untranslated::Skip);
    assert_eq!(titles(&view), ["成渝新铁路通车", "成都的老茶馆"]);
    assert_eq!(view.intro, "2 篇新文章");
}

#[test]
fn untranslated_label_names_the_language_shown() {
    let site = Site::new();
    let only_zh = corpus(vec![article(
        "zh-only",
        "zh",
        "仅中文",
        "摘要",
        "<p>文</p>",
        &[],
    )]);
    let view = site.view(&only_zh, &["zh-only"], "en", &[], Untranslated::Label);
    assert_eq!(view.stories[0].label.as_deref(), Some("Chinese only"));
    assert_eq!(view.stories[0].lang.as_deref(), Some("zh"));
}

#[test]
fn topics_keep_only_stories_with_a_matching_tag_in_any_version() {
    let site = Site::new();
    let view = site.view(
        &sample(),
        IDS,
        "zh",
        &["politics", "culture"],
        Untranslated::Label,
    );
    assert_eq!(titles(&view), ["成都的老茶馆", "City budget approved"]);
    assert_eq!(view.intro, "2 篇新文章");
    let view = site.view(&sample(), IDS, "en", &["sport"], Untranslated::Label);
    assert!(view.stories.is_empty());
    assert_eq!(view.intro, "0 new stories");
}

#[test]
fn unknown_duplicate_draft_and_future_stories_are_left_out() {
    let site = Site::new();
    let mut draft = article("draft", "en", "Draft", "", "", &[]);
    draft.draft = true;
    let mut future = article("future", "en", "Future", "", "", &[]);
    future.date = DateTime::parse_from_rfc3339("2026-12-01T00:00:00+00:00").unwrap();
    let corpus = corpus(vec![article("a", "en", "A", "", "", &[]), draft, future]);
    let view = site.view(
        &corpus,
        &["a", "missing", "a", "draft", "future"],
        "en",
        &[],
        Untranslated::Label,
    );
    assert_eq!(titles(&view), ["A"]);
}

#[test]
fn shown_versions_are_the_stories_the_view_shows_in_order() {
    let site = Site::new();
    let mut draft = article("s1", "en", "s1", "", "", &[]);
    draft.draft = true;
    let mut articles = vec![draft];
    for i in [0, 2, 3, 4, 5] {
        let id = format!("s{i}");
        articles.push(article(&id, "en", &id, "", "", &[]));
    }
    articles.push(article("s3", "zh", "s3 zh", "", "", &[]));
    let corpus = corpus(articles);
    // Unknown, duplicate and draft ids in between; the limit counts shown stories.
    let ids: Vec<String> = ["s0", "nope", "s1", "s0", "s2", "s3", "s4", "s5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for key in ["en", "zh"] {
        for max_items in [0, 1, 2, 3, 10] {
            let mut settings = site.settings(key, Untranslated::Label);
            settings.max_items = max_items;
            let view = digest_view(
                &corpus,
                &ids,
                site.locale(key),
                &[],
                site.localizer(key),
                &settings,
                now(),
            )
            .unwrap();
            let shown = shown_versions(
                &corpus,
                &ids,
                site.locale(key),
                &[],
                Untranslated::Label,
                max_items,
                now(),
            );
            let view_ids: Vec<&str> = view.stories.iter().map(|s| s.id.as_str()).collect();
            let shown_ids: Vec<&str> = shown.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(shown_ids, view_ids, "{key} {max_items}");
            if key == "zh" && max_items == 10 {
                let versions: Vec<(&str, &str)> = shown
                    .iter()
                    .map(|(id, locale)| (id.as_str(), locale.as_str()))
                    .collect();
                assert_eq!(
                    versions,
                    [
                        ("s3", "zh"),
                        ("s0", "en"),
                        ("s2", "en"),
                        ("s4", "en"),
                        ("s5", "en")
                    ]
                );
            }
        }
    }
}

#[test]
fn max_items_cuts_and_links_to_the_site() {
    let site = Site::new();
    let ids: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
    let corpus = corpus(
        ids.iter()
            .map(|id| article(id, "en", id, "", "", &[]))
            .collect(),
    );
    let mut settings = site.settings("en", Untranslated::Label);
    settings.max_items = 2;
    let view = digest_view(
        &corpus,
        &ids,
        site.locale("en"),
        &[],
        site.localizer("en"),
        &settings,
        now(),
    )
    .unwrap();
    assert_eq!(titles(&view), ["s0", "s1"]);
    assert_eq!(view.story_count, 2);
    assert_eq!(view.intro, "5 new stories");
    let more = view.more.unwrap();
    assert_eq!(more.label, "More stories on the web");
    assert_eq!(more.url, "https://news.example.org/");
}

#[test]
fn intro_plurals_follow_each_language() {
    let site = Site::new();
    let intro = |key: &str, count: usize| {
        site.localizer(key)
            .message("digest-intro", &[("count", FluentValue::from(count))])
            .unwrap()
    };
    assert_eq!(intro("zh", 0), "0 篇新文章");
    assert_eq!(intro("zh", 1), "1 篇新文章");
    assert_eq!(intro("zh", 2), "2 篇新文章");
    assert_eq!(intro("zh", 21), "21 篇新文章");
    assert_eq!(intro("en", 1), "1 new story");
    assert_eq!(intro("en", 3), "3 new stories");
    let one = site.view(&sample(), &["tea"], "en", &[], Untranslated::Label);
    assert_eq!(one.intro, "1 new story");
}

#[test]
fn reading_time_counts_chinese_by_character_and_english_by_word() {
    let site = Site::new();
    // 1,000 Chinese characters at 400 a minute: 3 minutes; 1,000 English
    // words at 230 a minute: 5 minutes.
    let corpus = corpus(vec![
        article(
            "zh",
            "zh",
            "中",
            "",
            &format!("<p>{}</p>", "文".repeat(1000)),
            &[],
        ),
        article(
            "en",
            "en",
            "E",
            "",
            &format!("<p>{}</p>", "word ".repeat(1000)),
            &[],
        ),
    ]);
    let zh = site.view(&corpus, &["zh", "en"], "zh", &[], Untranslated::Label);
    assert_eq!(zh.stories[0].reading_time, "阅读约 3 分钟");
    assert_eq!(zh.stories[1].reading_time, "阅读约 5 分钟");
    // An English reader gets the English story first, the labelled Chinese one after.
    let en = site.view(&corpus, &["zh", "en"], "en", &[], Untranslated::Label);
    assert_eq!(en.stories[0].reading_time, "5 min read");
    assert_eq!(en.stories[1].reading_time, "3 min read");
}

#[test]
fn en_and_zh_define_the_same_digest_message_ids() {
    let ids = |key: &str| -> BTreeSet<String> {
        let (_, _, text) = crate::i18n::EMBEDDED
            .iter()
            .find(|(k, name, _)| *k == key && *name == "digest.ftl")
            .unwrap();
        let resource = fluent_syntax::parser::parse(*text).unwrap();
        resource
            .body
            .iter()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    };
    let en = ids("en");
    assert!(en.contains("digest-subject") && en.contains("digest-intro"));
    assert_eq!(en, ids("zh"));
}

#[test]
fn subject_and_text_have_no_isolation_marks() {
    let site = Site::new();
    for key in ["en", "zh"] {
        let rendered = site.rendered(&sample(), IDS, key);
        let (subject, _, text) = personalise(&rendered, "Zoë", "https://news.example.org/u/1");
        for s in [&rendered.subject, &rendered.text, &subject, &text] {
            assert!(!s.contains(['\u{2068}', '\u{2069}']), "{key}: {s:?}");
        }
    }
}

#[test]
fn html_is_built_for_mail_clients() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "zh");
    let html = &rendered.html;
    let lower = html.to_lowercase();
    assert!(lower.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains(r#"<html lang="zh-CN">"#), "{html}");
    assert!(lower.contains(r#"<meta charset="utf-8">"#), "{html}");
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    assert!(html.contains(r#"<meta name="supported-color-schemes" content="light dark">"#));
    assert!(html.contains(r#"width="600""#), "{html}");
    assert!(html.contains("width: 600px"), "inlined: {html}");
    assert!(
        html.contains(r#"class="preheader" style="display:none"#),
        "{html}"
    );
    // CSS inlined into style attributes, @media kept, no stylesheet links.
    assert!(
        html.contains(r#"<td class="story" style="padding: 16px"#),
        "{html}"
    );
    assert!(
        html.contains("@media only screen and (max-width: 620px)"),
        "{html}"
    );
    assert!(html.contains("prefers-color-scheme: dark"), "{html}");
    assert!(
        !html.contains(".story-title {"),
        "plain rules left in <style>: {html}"
    );
    assert!(!lower.contains("<link"), "{html}");
    // Every image has alt text.
    let images: Vec<&str> = html.split("<img").skip(1).collect();
    assert!(!images.is_empty());
    for img in images {
        let tag = &img[..img.find('>').unwrap()];
        assert!(tag.contains(" alt=\""), "{tag}");
    }
    // Every link is absolute https.
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with("https://") || href.starts_with(UNSUBSCRIBE_TOKEN),
            "{href}"
        );
    }
}

#[test]
fn text_is_not_html_escaped_but_html_is() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "en");
    let title = "Chengdu & Chongqing <linked> by new rail";
    assert!(rendered.text.contains(title), "{}", rendered.text);
    assert!(!rendered.text.contains("&amp;"), "{}", rendered.text);
    assert!(!rendered.html.contains(title), "{}", rendered.html);
    assert!(
        rendered
            .html
            .contains("Chengdu &amp; Chongqing &lt;linked&gt; by new rail"),
        "{}",
        rendered.html
    );
}

#[test]
fn personalise_fills_name_and_unsubscribe_url() {
    let site = Site::new();
    let url = "https://news.example.org/unsubscribe?t=a1&l=zh";
    let zh = site.rendered(&sample(), IDS, "zh");
    let (subject, html, text) = personalise(&zh, "李伟", url);
    assert_eq!(subject, zh.subject);
    assert!(text.contains("李伟，您好："), "{text}");
    assert!(html.contains("李伟，您好："), "{html}");
    assert!(text.contains(url), "{text}");
    assert!(
        html.contains(r#"href="https://news.example.org/unsubscribe?t=a1&amp;l=zh""#),
        "{html}"
    );
    let en = site.rendered(&sample(), IDS, "en");
    let (_, html, text) = personalise(&en, "Zoë", url);
    assert!(text.contains("Hello Zoë,"), "{text}");
    assert!(html.contains("Hello Zoë,"), "{html}");
    for part in [&html, &text] {
        assert!(
            !part.contains(['\u{E000}', '\u{E001}', '\u{E002}', '\u{E003}']),
            "placeholder left: {part:?}"
        );
    }
}

#[test]
fn personalise_escapes_the_name_in_html_only() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "en");
    let name = "<script>alert(1)</script> & Co";
    let (_, html, text) = personalise(&rendered, name, "https://x.example/u");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co,"),
        "{html}"
    );
    assert!(text.contains(&format!("Hello {name},")), "{text}");
}

#[test]
fn personalise_without_a_name_uses_the_anonymous_greeting() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "zh");
    let (_, html, text) = personalise(&rendered, "  ", "https://x.example/u");
    assert!(text.contains("\n您好：\n"), "{text}");
    assert!(html.contains(">您好：<"), "{html}");
    assert!(!text.contains("，您好"), "{text}");
    let rendered = site.rendered(&sample(), IDS, "en");
    let (_, _, text) = personalise(&rendered, "", "https://x.example/u");
    assert!(text.contains("\nHello,\n"), "{text}");
}

#[test]
fn placeholders_survive_escaping_and_css_inlining() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "en");
    for part in [&rendered.html, &rendered.text] {
        assert!(part.contains(NAME_TOKEN), "{part:?}");
        assert!(part.contains(UNSUBSCRIBE_TOKEN), "{part:?}");
        assert_eq!(part.matches(GREETING_START).count(), 1);
        assert_eq!(part.matches(GREETING_END).count(), 1);
    }
    assert!(
        rendered
            .html
            .contains(&format!(r#"href="{UNSUBSCRIBE_TOKEN}""#)),
        "{}",
        rendered.html
    );
}

#[test]
fn placeholder_characters_in_articles_cannot_fake_a_token() {
    let site = Site::new();
    let corpus = corpus(vec![article(
        "x",
        "en",
        &format!("Title {NAME_TOKEN}"),
        &format!("{GREETING_START}sneaky{GREETING_END}"),
        "",
        &[],
    )]);
    let view = site.view(&corpus, &["x"], "en", &[], Untranslated::Label);
    let rendered = render(&default_templates(), &view, site.localizer("en")).unwrap();
    let (_, html, text) = personalise(&rendered, "Zoë", "https://x.example/u");
    assert!(text.contains("Title name\n"), "{text}");
    assert!(text.contains("sneaky"), "{text}");
    assert!(html.contains("sneaky"), "{html}");
}

#[test]
fn oversized_html_drops_stories_from_the_end_and_links_to_the_site() {
    let site = Site::new();
    let long = "A long summary sentence that goes on and on. ".repeat(40); // ~1.8 KB
    let ids: Vec<String> = (0..100).map(|i| format!("story-{i:03}")).collect();
    let corpus = corpus(
        ids.iter()
            .map(|id| article(id, "en", &format!("Title {id}"), &long, "<p>x</p>", &[]))
            .collect(),
    );
    let mut settings = site.settings("en", Untranslated::Label);
    settings.max_items = 100;
    let view = digest_view(
        &corpus,
        &ids,
        site.locale("en"),
        &[],
        site.localizer("en"),
        &settings,
        now(),
    )
    .unwrap();
    assert_eq!(view.story_count, 100);
    assert!(view.more.is_none());
    let rendered = render(&default_templates(), &view, site.localizer("en")).unwrap();
    assert!(
        rendered.html.len() <= render::MAX_HTML_BYTES,
        "{}",
        rendered.html.len()
    );
    let shown = rendered.html.matches(r#"<td class="story""#).count();
    assert!((10..100).contains(&shown), "{shown}");
    // The first stories are kept, in order, and the next one would not fit.
    assert!(rendered.html.contains("Title story-000"));
    assert!(
        rendered
            .html
            .contains(&format!("Title story-{:03}", shown - 1))
    );
    assert!(!rendered.html.contains(&format!("Title story-{shown:03}")));
    let mut one_more = view.clone();
    one_more.stories.truncate(shown + 1);
    one_more.more = Some(more_link(site.localizer("en"), &view.site_url).unwrap());
    let bigger = render(&default_templates(), &one_more, site.localizer("en")).unwrap();
    assert!(bigger.html.matches(r#"<td class="story""#).count() <= shown);
    // Both parts show the same stories and the link to the site.
    assert_eq!(rendered.text.matches("Title story-").count(), shown);
    let more = &rendered.html[rendered.html.find(r#"<td class="more""#).unwrap()..];
    assert!(
        more.contains(r#"href="https://news.example.org/""#),
        "{more}"
    );
    assert!(more.contains(">More stories on the web</a>"), "{more}");
    assert!(
        rendered
            .text
            .contains("More stories on the web <https://news.example.org/>")
    );
    assert!(rendered.text.contains("100 new stories"));
}

#[test]
fn a_site_template_replaces_only_its_embedded_file() {
    let site = Site::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("story.txt.hbs"), "* {{title}} <{{url}}>\n").unwrap();
    let templates = load_templates(dir.path()).unwrap();
    let view = site.view(&sample(), IDS, "en", &[], Untranslated::Label);
    let rendered = render(&templates, &view, site.localizer("en")).unwrap();
    assert!(
        rendered.text.contains(
            "* Chengdu & Chongqing <linked> by new rail <https://news.example.org/rail/>"
        ),
        "{}",
        rendered.text
    );
    // The other templates are still the embedded ones.
    assert!(rendered.text.contains("Unsubscribe <"), "{}", rendered.text);
    assert!(rendered.html.contains("story-title"), "{}", rendered.html);
}

#[test]
fn template_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digest.html.hbs");
    std::fs::write(
        &path,
        "<html>\n<body>\n{{#each stories}}\n{{title}}\n</body>\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("story.txt.hbs"), "{{title}\n").unwrap();
    let err = format!("{:#}", load_templates(dir.path()).unwrap_err());
    assert!(err.contains("2 templates could not be parsed"), "{err}");
    assert!(err.contains(&format!("{}:", path.display())), "{err}");
    let story = dir.path().join("story.txt.hbs");
    assert!(err.contains(&format!("{}:1:", story.display())), "{err}");
}

#[test]
fn strict_mode_rejects_an_unknown_variable() {
    let site = Site::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digest.txt.hbs");
    std::fs::write(&path, "{{intro}}\n{{no_such_field}}\n").unwrap();
    let templates = load_templates(dir.path()).unwrap();
    let view = site.view(&sample(), IDS, "en", &[], Untranslated::Label);
    let error = render(&templates, &view, site.localizer("en")).unwrap_err();
    assert_eq!(crate::ExitCode::for_error(&error), crate::ExitCode::Content);
    let err = format!("{error:#}");
    assert!(
        err.contains(&format!(
            "{}:2:1: `no_such_field` is not a value digest templates are given; check the spelling (the digest has date, footer,",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("; each of its stories has id, image, label,"),
        "{err}"
    );
    assert!(!err.contains("Some(\""), "{err}");
}

#[test]
fn an_unknown_variable_in_a_partial_names_the_partial_file() {
    let site = Site::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("story.html.hbs");
    std::fs::write(&path, "<tr><td>\n{{titel}}</td></tr>\n").unwrap();
    let templates = load_templates(dir.path()).unwrap();
    let view = site.view(&sample(), IDS, "en", &[], Untranslated::Label);
    let err = format!(
        "{:#}",
        render(&templates, &view, site.localizer("en")).unwrap_err()
    );
    assert!(
        err.contains(&format!("{}:2:1: `titel` is not a value", path.display())),
        "{err}"
    );
}

#[test]
fn embedded_templates_are_named_as_embedded_in_errors() {
    let templates = default_templates();
    assert_eq!(
        templates.origin("digest.txt"),
        "<embedded>/templates/digest.txt.hbs"
    );
}

#[test]
fn text_snapshot_en() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "en");
    let (subject, _, text) = personalise(
        &rendered,
        "Zoë",
        "https://news.example.org/unsubscribe?t=abc&l=en",
    );
    insta::assert_snapshot!("text_en", format!("Subject: {subject}\n\n{text}"));
}

#[test]
fn text_snapshot_zh() {
    let site = Site::new();
    let rendered = site.rendered(&sample(), IDS, "zh");
    let (subject, _, text) = personalise(
        &rendered,
        "李伟",
        "https://news.example.org/unsubscribe?t=abc&l=zh",
    );
    insta::assert_snapshot!("text_zh", format!("Subject: {subject}\n\n{text}"));
}

#[test]
fn a_story_whose_body_was_never_rendered_is_an_error_naming_its_file_not_empty_text() {
    let site = Site::new();
    for own_summary in [None, Some("A summary of its own.".to_owned())] {
        let mut budget = article(
            "budget",
            "en",
            "City budget approved",
            "",
            "<p>Short.</p>",
            &["Politics"],
        );
        // Left out of the render selection: only indexed.
        budget.body = Body::Indexed { offset: 42 };
        budget.own_summary = own_summary;
        let corpus = corpus(vec![budget]);
        let error = digest_view(
            &corpus,
            &["budget".to_owned()],
            site.locale("en"),
            &[],
            site.localizer("en"),
            &site.settings("en", Untranslated::Label),
            now(),
        )
        .map(|_| ())
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains(
                "the body of articles/budget.en.md (`budget` in locale `en`) was never rendered"
            ),
            "{message}"
        );
    }
}

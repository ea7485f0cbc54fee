//! Micro-benchmarks of the per-item stages (criterion; `cargo bench`):
//! front matter parsing, Markdown + sanitising of one article, one 50-item
//! feed per format, and personalising one digest (a subscriber's message
//! bytes from the digest encoded once). The whole-process
//! comparisons against other tools live in `bench/run`.
//!
//! Only public APIs are used. `source::markdown::parse_file` does front
//! matter, Markdown and sanitising in one call (the helpers that split them
//! are private), so "front matter" parses an article with a one-line body
//! and "markdown+sanitise" is the full article: the difference is the body.

use chrono::{DateTime, FixedOffset};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gazette::config;
use gazette::feed::Format;
use gazette::model::{Email, Locale};
use gazette::source::{self, LoadContext, markdown};
use gazette::{deliver, digest, feed, i18n, unsubscribe, view};
use std::hint::black_box;
use std::path::Path;
use url::Url;

const EN_SENTENCES: &[&str] = &[
    "The city council announced on Tuesday that spending on infrastructure has risen by 12.5 percent since 2021.",
    "However, independent analysts warned that the project budget could take several years to complete.",
    "Maria Chen, a senior analyst, said in an interview that demand for electric vehicles is making steady progress.",
    "Meanwhile, residents of the northern district reported that air quality remains well below pre-pandemic levels.",
    "In addition, the regional transport authority confirmed that public transport ridership will be reviewed next month.",
    "As a result, economists surveyed by the bank estimated that household income fell by 3.2 percent in the last quarter.",
];
const ZH_SENTENCES: &[&str] = &[
    "市政府表示，基础设施投资比去年同期增长了12.5%，这与此前的预测基本一致。",
    "与此同时，业内人士指出，新能源汽车的需求正在稳步推进，但具体细节尚未公布。",
    "高级分析师陈玛丽在接受采访时认为，城市公共交通仍将是政府工作的重点。",
    "此外，环保组织提醒，空气质量仍低于疫情前的水平，目前仍有待最终批准。",
    "值得注意的是，居民可支配收入上个季度下降了3.2%，这让不少观察人士感到意外。",
];

/// A corpus-like article body: `##` headings, paragraphs, an image, a link
/// and a list; about 900 English words or 1,400 Chinese characters.
fn body(zh: bool, seed: usize) -> String {
    let (sentences, heads, per_para, paras) = if zh {
        (ZH_SENTENCES, ["背景", "各方反应", "展望"], 5, 12)
    } else {
        (
            EN_SENTENCES,
            ["Background", "Reaction", "Looking ahead"],
            6,
            10,
        )
    };
    let mut out = String::new();
    for p in 0..paras {
        if p % 4 == 1 {
            out.push_str(&format!("## {}\n\n", heads[(p / 4) % heads.len()]));
        }
        if p == 2 {
            out.push_str(&format!("![Photo](/images/a{seed:05}.jpg)\n\n"));
        }
        if p == 5 {
            out.push_str("- first point\n- second point with [a link](https://example.org/report)\n- third point\n\n");
        }
        let para: Vec<&str> = (0..per_para)
            .map(|i| sentences[(seed + p * per_para + i) % sentences.len()])
            .collect();
        out.push_str(&para.join(if zh { "" } else { " " }));
        out.push_str("\n\n");
    }
    out
}

fn article(zh: bool, seed: usize, with_body: bool) -> String {
    let (title, summary) = if zh {
        (
            format!("研发&创新：市政府批准新预算 {seed}"),
            ZH_SENTENCES[seed % ZH_SENTENCES.len()],
        )
    } else {
        (
            format!("R&D spending: City council approves <update> {seed}"),
            EN_SENTENCES[seed % EN_SENTENCES.len()],
        )
    };
    let day = 1 + seed % 28;
    let hour = seed % 24;
    format!(
        "+++\ntitle = {title:?}\ndate = 2024-06-{day:02}T{hour:02}:30:00+08:00\nsummary = {summary:?}\n\
         tags = [\"economy\", \"transport\"]\nauthors = [\"Maria Chen\", \"李伟\"]\n+++\n\n{}",
        if with_body {
            body(zh, seed)
        } else {
            "One line.\n".to_owned()
        }
    )
}

fn locales() -> Vec<Locale> {
    vec![
        Locale {
            key: "en".to_owned(),
            tag: "en-GB".to_owned(),
            fallback: Vec::new(),
            home_url: Url::parse("https://news.example.com/").unwrap(),
        },
        Locale {
            key: "zh".to_owned(),
            tag: "zh-CN".to_owned(),
            fallback: vec!["en".to_owned()],
            home_url: Url::parse("https://news.example.com/zh/").unwrap(),
        },
    ]
}

fn parsing(c: &mut Criterion) {
    let locales = locales();
    let base_url = Url::parse("https://news.example.com/").unwrap();
    let ctx = LoadContext {
        locales: &locales,
        default_locale: "en",
        base_url: &base_url,
    };
    let mut group = c.benchmark_group("parse_file");
    for (lang, zh) in [("en", false), ("zh", true)] {
        let name = if zh {
            "a00001-economy.zh.md"
        } else {
            "a00001-economy.md"
        };
        for (what, with_body) in [("front_matter", false), ("markdown+sanitise", true)] {
            let text = article(zh, 1, with_body);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::new(what, lang), &text, |b, text| {
                b.iter(|| {
                    markdown::parse_file(Path::new(name), black_box(text.as_bytes()), &ctx).unwrap()
                })
            });
        }
    }
    group.finish();
}

/// A site of 50 en + 50 zh articles in a temp dir, loaded like `build` does.
struct Site {
    _dir: tempfile::TempDir,
    config: config::Config,
    corpus: gazette::model::Corpus,
    catalog: i18n::Catalog,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    for i in 0..50 {
        std::fs::write(
            articles.join(format!("a{i:05}-economy.md")),
            article(false, i, true),
        )
        .unwrap();
        std::fs::write(
            articles.join(format!("a{i:05}-economy.zh.md")),
            article(true, i, true),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("subscribers.csv"), "email,name,locale\n").unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        r#"
[site]
base_url = "https://news.example.com/"
default_locale = "en"
author = { name = "Bench News", email = "news@example.com" }
[locales.en]
tag = "en-GB"
[locales.zh]
tag = "zh-CN"
fallback = ["en"]
[[sources]]
kind = "markdown"
path = "articles"
[feeds]
max_items = 50
content = "full"
[digest]
subscribers = "subscribers.csv"
max_items = 20
from = "Bench News <news@example.com>"
unsubscribe_url = "https://news.example.com/unsubscribe"
unsubscribe_mailto = "unsubscribe@example.com"
postal_address = "Bench News, 1 Example Street, Chengdu"
"#,
    )
    .unwrap();
    let config = config::load(&config_path).unwrap();
    let mut corpus = source::load(&config, Default::default(), None).unwrap();
    // Loading only indexes bodies; `build` and `send` render the versions
    // they show, and every version here is shown.
    let every_version: source::Selection = corpus
        .stories
        .iter()
        .flat_map(|s| s.translations.keys().map(|k| (s.id.clone(), k.clone())))
        .collect();
    source::render_selected(&mut corpus, &every_version).unwrap();
    let catalog = i18n::load(&config).unwrap();
    Site {
        _dir: dir,
        config,
        corpus,
        catalog,
    }
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-29T08:00:00+08:00").unwrap()
}

fn feeds(c: &mut Criterion) {
    let site = site();
    let mut group = c.benchmark_group("feed_50_items");
    for locale in &site.config.locales {
        let localizer = site.catalog.localizer(&locale.key).unwrap();
        let view = view::feed_view(&site.config, &site.corpus, locale, localizer).unwrap();
        assert_eq!(view.items.len(), 50);
        group.bench_function(BenchmarkId::new("feed_view", &locale.key), |b| {
            b.iter(|| view::feed_view(&site.config, &site.corpus, locale, localizer).unwrap())
        });
        for format in [Format::Rss, Format::Atom, Format::Json] {
            // feed::render = the format's writer + the feed-rs read-back gate.
            group.bench_function(BenchmarkId::new(format!("{format}"), &locale.key), |b| {
                b.iter(|| feed::render(black_box(&view), format).unwrap())
            });
        }
    }
    group.finish();
}

fn digests(c: &mut Criterion) {
    let site = site();
    let digest_config = site.config.digest.as_ref().unwrap();
    let templates = digest::load_templates(&site.config.root.join("templates")).unwrap();
    let story_ids: Vec<String> = {
        let mut stories: Vec<_> = site.corpus.stories.iter().collect();
        stories.sort_by_key(|s| std::cmp::Reverse(s.translations.values().map(|a| a.date).max()));
        stories.iter().map(|s| s.id.clone()).collect()
    };
    let secret = b"bench-unsubscribe-secret-0123456789abcdef";
    let mut group = c.benchmark_group("digest");
    for locale in &site.config.locales {
        let localizer = site.catalog.localizer(&locale.key).unwrap();
        let settings = digest::DigestSettings {
            site_url: &locale.home_url,
            max_items: digest_config.max_items,
            untranslated: digest::Untranslated::Label,
            postal_address: &digest_config.postal_address,
            browser_url: Url::parse("https://news.example.com/feeds/en/digest/2026-11-29.html")
                .unwrap(),
            words_per_minute: 230,
            cjk_chars_per_minute: 400,
        };
        let view = digest::digest_view(
            &site.corpus,
            &story_ids,
            locale,
            &[],
            localizer,
            &settings,
            now(),
        )
        .unwrap();
        group.bench_function(BenchmarkId::new("render_once", &locale.key), |b| {
            b.iter(|| digest::render(&templates, black_box(&view), localizer).unwrap())
        });
        let rendered = digest::render(&templates, &view, localizer).unwrap();
        let (name, email) = if locale.key == "zh" {
            ("王芳", "user1@example.cn")
        } else {
            ("Zoë O'Connor", "zoe.oconnor2@example.com")
        };
        // Once per digest: cut into a template, then encode it as MIME.
        group.bench_function(BenchmarkId::new("encode_body_once", &locale.key), |b| {
            b.iter(|| deliver::EncodedBody::new(&digest::body_template(black_box(&rendered))))
        });
        let body = deliver::EncodedBody::new(&digest::body_template(&rendered));
        // What `send` does per subscriber: the unsubscribe URL (HMAC), the
        // subscriber's values, and the message bytes (headers by lettre, the
        // values encoded into the pre-encoded body).
        let message = |url: &Url| Email {
            from: digest_config.from.clone(),
            reply_to: None,
            to_name: name.to_owned(),
            to_email: email.to_owned(),
            subject: rendered.subject.clone(),
            personal: digest::personal(name, url.as_str()),
            message_id: "<digest.2026-11-29.0123456789abcdef0123@example.com>".to_owned(),
            list_id: "Bench News <digest.example.com>".to_owned(),
            unsubscribe_url: url.to_string(),
            unsubscribe_mailto: "mailto:unsubscribe@example.com?subject=unsubscribe".to_owned(),
            date: now(),
        };
        let url = unsubscribe::url(&digest_config.unsubscribe_url, secret, email);
        let bytes = deliver::build_message(&message(&url), &body, None).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("personalise", &locale.key), |b| {
            b.iter(|| {
                let url = unsubscribe::url(&digest_config.unsubscribe_url, secret, email);
                deliver::build_message(&message(black_box(&url)), &body, None).unwrap()
            })
        });
        group.throughput(Throughput::Elements(1));
        eprintln!(
            "digest {}: html {} B, text {} B, message {} B",
            locale.key,
            rendered.html.len(),
            rendered.text.len(),
            bytes.len()
        );
    }
    group.finish();
}

criterion_group!(benches, parsing, feeds, digests);
criterion_main!(benches);

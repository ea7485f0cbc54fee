//! The feeds as real clients read them: feedparser (Python, the library
//! most feed readers and planets are built on), newsboat (a reader people
//! run, reading `file://` URLs into its SQLite cache) and feed-rs. Each
//! entry must open its own language's page, its translations must stay
//! discoverable, and plain text must reach every reader as text.

mod common;

use common::Site;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The fixture's stories: slug → (English URL, Chinese URL) for the ones
/// both languages publish.
fn own_and_translation(locale: &str, slug: &str) -> (String, String) {
    let en = format!("https://news.example.org/{slug}/");
    let zh = format!("https://news.example.org/zh/{slug}/");
    match locale {
        "en" => (en, zh),
        _ => (zh, en),
    }
}

/// Every entry's link as feedparser resolves it (`entries[i].link`), keyed
/// by the entry's title.
fn feedparser_links(path: &Path) -> BTreeMap<String, String> {
    let script = "import feedparser, json, sys\n\
                  d = feedparser.parse(sys.argv[1])\n\
                  assert not d.bozo, d.bozo_exception\n\
                  print(json.dumps({e.title: e.link for e in d.entries}))\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs (the test setup installs feedparser)");
    assert!(
        output.status.success(),
        "feedparser on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every entry's `rel="alternate"` links (hreflang, href) as feedparser
/// reads them, from Atom links or RSS `atom:link`s, keyed by title.
fn feedparser_alternates(path: &Path) -> BTreeMap<String, Vec<(Option<String>, String)>> {
    let script = "import feedparser, json, sys\n\
                  d = feedparser.parse(sys.argv[1])\n\
                  print(json.dumps({e.title: [(l.get('hreflang'), l.href) for l in e.get('links', [])\n\
                      if l.get('rel', 'alternate') == 'alternate'] for e in d.entries}))\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs (the test setup installs feedparser)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every item's URL as newsboat stores it after reading `path`, keyed by
/// title.
fn newsboat_links(path: &Path) -> BTreeMap<String, String> {
    let home = tempfile::tempdir().unwrap();
    let urls = home.path().join("urls");
    std::fs::write(&urls, format!("file://{}\n", path.display())).unwrap();
    let cache = home.path().join("cache.db");
    let output = Command::new("newsboat")
        .arg("-u")
        .arg(&urls)
        .arg("-c")
        .arg(&cache)
        .args(["-C", "/dev/null", "-x", "reload"])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("newsboat runs (the test setup installs it)");
    assert!(
        output.status.success(),
        "newsboat on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let db = rusqlite::Connection::open(&cache).unwrap();
    let mut query = db.prepare("SELECT title, url FROM rss_item").unwrap();
    query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Titles of the stories published in both languages, per locale.
fn translated_titles(locale: &str) -> BTreeMap<&'static str, &'static str> {
    match locale {
        "en" => BTreeMap::from([(
            "tricky-title",
            "Cats & <dogs> \"quoted\" 'single' 🐼 ]]> end",
        )]),
        _ => BTreeMap::from([("tricky-title", "猫与狗：成渝“双城”🐼")]),
    }
}

#[test]
fn every_reader_opens_an_entry_in_the_feeds_own_language() {
    let site = Site::from_fixture("site");
    site.build();
    for locale in ["en", "zh"] {
        for file in ["atom.xml", "rss.xml"] {
            let path = site.path(&format!("feeds/{locale}/{file}"));
            let by_feedparser = feedparser_links(&path);
            let by_newsboat = newsboat_links(&path);
            let by_feed_rs: BTreeMap<String, String> = site
                .feed(locale, file)
                .entries
                .into_iter()
                .map(|e| (e.title.unwrap().content, e.links[0].href.clone()))
                .collect();
            assert!(!by_feedparser.is_empty(), "{locale}/{file} has entries");
            for (reader, links) in [
                ("feedparser", &by_feedparser),
                ("newsboat", &by_newsboat),
                ("feed-rs", &by_feed_rs),
            ] {
                assert_eq!(
                    links.keys().collect::<Vec<_>>(),
                    by_feedparser.keys().collect::<Vec<_>>(),
                    "{reader} sees the same entries in {locale}/{file}"
                );
                for (title, link) in links {
                    let page = link.trim_start_matches("https://news.example.org/");
                    let in_chinese = page.starts_with("zh/");
                    assert_eq!(
                        in_chinese,
                        locale == "zh",
                        "{reader} opens {title:?} of {locale}/{file} at {link}"
                    );
                }
                for (slug, title) in translated_titles(locale) {
                    let (own, _) = own_and_translation(locale, slug);
                    assert_eq!(links.get(title), Some(&own), "{reader}, {locale}/{file}");
                }
            }
        }
    }
}

#[test]
fn translations_stay_discoverable_in_every_format() {
    let site = Site::from_fixture("site");
    site.build();
    for locale in ["en", "zh"] {
        let other = if locale == "en" { "zh-CN" } else { "en-GB" };
        for (slug, title) in translated_titles(locale) {
            let (own, translation) = own_and_translation(locale, slug);
            for file in ["atom.xml", "rss.xml"] {
                let path = site.path(&format!("feeds/{locale}/{file}"));
                let alternates = feedparser_alternates(&path);
                let hreflang: Vec<(Option<&str>, &str)> = alternates[title]
                    .iter()
                    .map(|(lang, href)| (lang.as_deref(), href.as_str()))
                    .collect();
                assert!(
                    hreflang.contains(&(Some(other), translation.as_str())),
                    "{locale}/{file}: {hreflang:?}"
                );
                assert!(
                    hreflang
                        .iter()
                        .all(|(lang, href)| *href == own || *lang == Some(other)),
                    "{locale}/{file}: every alternate is the own page or a labelled translation: {hreflang:?}"
                );
            }
            let json: serde_json::Value =
                serde_json::from_str(&site.read(&format!("feeds/{locale}/feed.json"))).unwrap();
            let item = json["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["title"] == title)
                .unwrap();
            assert_eq!(item["url"], own.as_str());
            assert_eq!(
                item["_gazette"]["translations"],
                serde_json::json!([{ "language": other, "url": translation }])
            );
        }
        // A story with no translation carries no translations extension.
        let json: serde_json::Value =
            serde_json::from_str(&site.read(&format!("feeds/{locale}/feed.json"))).unwrap();
        for item in json["items"].as_array().unwrap() {
            if !translated_titles(locale)
                .values()
                .any(|t| item["title"] == *t)
            {
                assert!(item.get("_gazette").is_none(), "{item}");
            }
        }
    }
}

/// The text of an HTML fragment, and the tags it opens, as Python's HTML
/// parser reads them.
fn html_text_and_tags(html: &str) -> (String, Vec<String>) {
    let page = common::html::parse(html);
    (page.all_text, page.tags)
}

const MARKUP_SUMMARY: &str =
    "Why <script>alert(1)</script> and <img src=x onerror=alert(1)> matter: a < b && c";

#[test]
fn a_summary_that_mentions_markup_arrives_as_text_in_every_format() {
    let site = Site::from_fixture("site");
    site.write(
        "articles/markup.md",
        format!(
            "+++\ntitle = \"Markup\"\ndate = 2026-11-22T09:00:00+08:00\nsummary = {MARKUP_SUMMARY:?}\n+++\n\nBody.\n"
        ),
    );
    site.build();
    // RSS `<description>` and Atom `<summary type="html">` are HTML whose
    // text is the summary, with no element in it.
    for file in ["rss.xml", "atom.xml"] {
        let feed = site.feed("en", file);
        let entry = feed
            .entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content == "Markup")
            .unwrap();
        let html = &entry.summary.as_ref().unwrap().content;
        let (text, tags) = html_text_and_tags(html);
        assert_eq!(text, MARKUP_SUMMARY, "{file}: {html}");
        assert!(tags.is_empty(), "{file}: {tags:?}");
    }
    // JSON Feed's `summary` is plain text by definition.
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/en/feed.json")).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Markup")
        .unwrap();
    assert_eq!(item["summary"], MARKUP_SUMMARY);
    let (_, tags) = html_text_and_tags(item["content_html"].as_str().unwrap());
    assert!(
        !tags.iter().any(|t| t == "script" || t == "img"),
        "{tags:?}"
    );
}

#[test]
fn a_summary_that_mentions_markup_is_text_in_the_digest_its_web_copy_and_feed_entry() {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site.write(
        "articles/markup.md",
        format!(
            "+++\ntitle = \"Markup\"\ndate = 2026-11-28T09:00:00+08:00\nsummary = {MARKUP_SUMMARY:?}\n+++\n\nBody.\n"
        ),
    );
    site.build();
    let web_copies: Vec<_> = std::fs::read_dir(site.path("feeds/en/digest"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // The archive lists dates, not summaries.
        .filter(|p| p.extension().is_some_and(|e| e == "html") && !p.ends_with("index.html"))
        .collect();
    assert!(!web_copies.is_empty());
    // So does the digest's entry in the feed of digests.
    let digests = site.feed("en", "digest/atom.xml");
    let entry_html = digests.entries[0]
        .content
        .as_ref()
        .unwrap()
        .body
        .clone()
        .unwrap();
    let (text, tags) = html_text_and_tags(&entry_html);
    assert!(text.contains(MARKUP_SUMMARY), "{entry_html}");
    assert!(
        !tags.iter().any(|t| t == "script" || t == "img"),
        "{tags:?}"
    );
    for page in web_copies {
        let (text, tags) = html_text_and_tags(&std::fs::read_to_string(&page).unwrap());
        assert!(text.contains(MARKUP_SUMMARY), "{}", page.display());
        assert!(
            !tags.iter().any(|t| t == "script" || t == "img"),
            "{tags:?}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--now", common::NOW, "send"])
        .current_dir(site.dir.path())
        .env(
            "GAZETTE_UNSUBSCRIBE_SECRET",
            "test-secret-0123456789abcdef0123456789",
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    let mut checked = 0;
    for message in std::fs::read_dir(site.path("outbox")).unwrap() {
        let bytes = std::fs::read(message.unwrap().path()).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let html = parsed.body_html(0).unwrap();
        let text = parsed.body_text(0).unwrap();
        if !text.contains("Markup") {
            continue; // a Chinese reader's digest without English stories
        }
        let (html_text, tags) = html_text_and_tags(&html);
        assert!(html_text.contains(MARKUP_SUMMARY), "{html}");
        assert!(
            !tags.iter().any(|t| t == "script" || t == "img"),
            "{tags:?}"
        );
        assert!(text.contains(MARKUP_SUMMARY), "{text}");
        checked += 1;
    }
    assert!(checked > 0, "some digest holds the story");
}

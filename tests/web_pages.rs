//! The public pages `build` writes beside the feeds: each digest's web
//! copy, the digest archive and the feed index. They are for anyone, so
//! they hold no personal text, and every link works: a URL under the
//! feeds folder is a file there, any other is a page the site's feeds
//! link to (a story or the locale's home page).

mod common;

use common::html::{Page, parse as parse_page};
use common::{NOW, Site, stderr};
use std::collections::BTreeSet;
use std::process::Command;

const SECRET: &str = "test-secret-0123456789abcdef0123456789";
const FEEDS_URL: &str = "https://news.example.org/feeds/";

fn mail_site() -> Site {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site
}

fn send(site: &Site, now: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--now", now, "send"])
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Every link the site's feeds of every locale carry: stories and homes.
fn feed_links(site: &Site) -> BTreeSet<String> {
    let mut links = BTreeSet::new();
    for locale in ["en", "zh"] {
        let feed = site.feed(locale, "atom.xml");
        links.extend(feed.links.iter().map(|l| l.href.clone()));
        for entry in feed.entries {
            links.extend(entry.links.into_iter().map(|l| l.href));
        }
    }
    links
}

/// Checks that every link of `page` works (see the module header).
fn assert_links_work(site: &Site, name: &str, page: &Page, configured: &BTreeSet<String>) {
    for (tag, url) in &page.links {
        if let Some(relative) = url.strip_prefix(FEEDS_URL) {
            let mut path = site.path("feeds").join(relative);
            if url.ends_with('/') {
                path = path.join("index.html");
            }
            assert!(
                path.is_file(),
                "{name}: <{tag}> {url} is no file ({})",
                path.display()
            );
        } else {
            assert!(
                configured.contains(url),
                "{name}: <{tag}> {url} is no page the site links to"
            );
        }
    }
}

/// The personal parts of a digest email, in every language.
const PERSONAL: [&str; 8] = [
    "Hello",
    "You are receiving this email",
    "Unsubscribe",
    "View in your browser",
    "您好",
    "您收到这封邮件",
    "退订",
    "在浏览器中查看",
];

#[test]
fn web_copies_archive_and_index_are_public_pages_whose_links_work() {
    let site = mail_site();
    site.build();
    send(&site, NOW);
    // The next day: a second digest with a new story.
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T20:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    let next_day = "2026-11-30T06:00:00+08:00";
    site.build_at(next_day);
    let configured = feed_links(&site);

    for (locale, other_tag) in [("en", "zh-CN"), ("zh", "en-GB")] {
        let dir = format!("feeds/{locale}/digest");
        for day in ["2026-11-29", "2026-11-30"] {
            let name = format!("{dir}/{day}.html");
            let page = parse_page(&site.read(&name));
            for personal in PERSONAL {
                assert!(
                    !page.text.contains(personal),
                    "{name} says {personal:?}:\n{}",
                    page.text
                );
            }
            assert!(
                !page
                    .links
                    .iter()
                    .any(|(_, url)| url.contains("unsubscribe")),
                "{name}"
            );
            assert_links_work(&site, &name, &page, &configured);
            let canonical: Vec<_> = page.heads.iter().filter(|h| h.0 == "canonical").collect();
            assert_eq!(canonical.len(), 1, "{name}");
            assert_eq!(
                canonical[0].3,
                format!("{FEEDS_URL}{locale}/digest/{day}.html")
            );
            assert!(
                page.heads.iter().any(|h| h.0 == "alternate"
                    && h.1 == other_tag
                    && h.3
                        == format!(
                            "{FEEDS_URL}{}/digest/{day}.html",
                            if locale == "en" { "zh" } else { "en" }
                        )),
                "{name}: {:?}",
                page.heads
            );
            let discovered: BTreeSet<&str> = page
                .heads
                .iter()
                .filter(|h| h.0 == "alternate" && !h.2.is_empty())
                .map(|h| h.2.as_str())
                .collect();
            assert_eq!(
                discovered,
                BTreeSet::from([
                    "application/atom+xml",
                    "application/feed+json",
                    "application/rss+xml"
                ]),
                "{name}"
            );
        }
        // Each day's copy shows that day's digest: the bridge only on the 30th.
        let first = parse_page(&site.read(&format!("{dir}/2026-11-29.html")));
        let second = parse_page(&site.read(&format!("{dir}/2026-11-30.html")));
        assert!(!first.text.contains("Bridge opens"));
        assert!(second.text.contains("Bridge opens"), "{}", second.text);

        let name = format!("{dir}/index.html");
        let archive = parse_page(&site.read(&name));
        assert_links_work(&site, &name, &archive, &configured);
        let copies: Vec<&str> = archive
            .links
            .iter()
            .filter(|(tag, url)| tag == "a" && url.contains("/digest/2026-"))
            .map(|(_, url)| url.as_str())
            .collect();
        assert_eq!(
            copies,
            [
                format!("{FEEDS_URL}{locale}/digest/2026-11-30.html"),
                format!("{FEEDS_URL}{locale}/digest/2026-11-29.html")
            ],
            "{name}: newest first"
        );
        for personal in PERSONAL {
            assert!(!archive.text.contains(personal), "{name} says {personal:?}");
        }

        let name = format!("feeds/{locale}/index.html");
        let index = parse_page(&site.read(&name));
        assert_links_work(&site, &name, &index, &configured);
    }
}

/// The `<link rel="alternate">` of `entry` with `hreflang`, as (lang, href).
fn language_links(entry: &feed_rs::model::Entry) -> Vec<(String, String)> {
    entry
        .links
        .iter()
        .filter_map(|l| Some((l.href_lang.clone()?, l.href.clone())))
        .collect()
}

#[test]
fn the_feed_of_digests_has_one_entry_per_digest_linking_its_web_copies() {
    let site = mail_site();
    site.build();
    // Before any send: today's digest, dated by its newest story so that a
    // later build with nothing new rewrites nothing.
    let pending = site.feed("en", "digest/atom.xml");
    assert_eq!(
        pending.title.as_ref().unwrap().content,
        "Chengdu–Chongqing Brief: digests"
    );
    assert_eq!(pending.language.as_deref(), Some("en-GB"));
    let self_links: Vec<&str> = pending
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("self"))
        .map(|l| l.href.as_str())
        .collect();
    assert_eq!(self_links, [format!("{FEEDS_URL}en/digest/atom.xml")]);
    assert_eq!(pending.entries.len(), 1);
    let entry = &pending.entries[0];
    assert_eq!(
        entry.id,
        "tag:news.example.org,2026-01-01:digest/en/2026-11-29"
    );
    assert_eq!(
        entry.published.unwrap().to_rfc3339(),
        "2026-11-24T02:00:00+00:00"
    );
    assert_eq!(
        language_links(entry),
        [
            (
                "en-GB".to_owned(),
                format!("{FEEDS_URL}en/digest/2026-11-29.html")
            ),
            (
                "zh-CN".to_owned(),
                format!("{FEEDS_URL}zh/digest/2026-11-29.html")
            ),
        ]
    );
    let content = entry.content.as_ref().unwrap().body.as_deref().unwrap();
    let content = parse_page(content);
    assert!(
        content
            .text
            .contains("The region's car makers by the numbers"),
        "{}",
        content.text
    );
    assert!(
        content
            .links
            .contains(&("a".to_owned(), "https://news.example.org/autos/".to_owned())),
        "{:?}",
        content.links
    );
    let before = site.read("feeds/en/digest/atom.xml");
    site.build_at("2026-11-29T07:00:00+08:00");
    assert_eq!(site.read("feeds/en/digest/atom.xml"), before);

    // Sent, then a story and a second digest the next day: newest first,
    // each dated when it was made, ids unchanged.
    send(&site, NOW);
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T20:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    let next_day = "2026-11-30T06:00:00+08:00";
    site.build_at(next_day);
    send(&site, next_day);
    site.build_at(next_day);
    for (locale, tag) in [("en", "en-GB"), ("zh", "zh-CN")] {
        let feed = site.feed(locale, "digest/atom.xml");
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                format!("tag:news.example.org,2026-01-01:digest/{locale}/2026-11-30"),
                format!("tag:news.example.org,2026-01-01:digest/{locale}/2026-11-29"),
            ]
        );
        let published: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.published.unwrap().to_rfc3339())
            .collect();
        assert_eq!(
            published,
            ["2026-11-29T22:00:00+00:00", "2026-11-28T22:00:00+00:00"]
        );
        assert_eq!(feed.updated, feed.entries[0].updated);
        for entry in &feed.entries {
            let own = &language_links(entry)[0];
            assert_eq!(own.0, tag);
            let file = own.1.strip_prefix(FEEDS_URL).unwrap();
            assert!(site.path("feeds").join(file).is_file(), "{file}");
        }
        // The archive names it for autodiscovery.
        let archive = parse_page(&site.read(&format!("feeds/{locale}/digest/index.html")));
        assert!(
            archive.heads.iter().any(|h| h.0 == "alternate"
                && h.2 == "application/atom+xml"
                && h.3 == format!("{FEEDS_URL}{locale}/digest/atom.xml")),
            "{:?}",
            archive.heads
        );
    }
}

/// The page Chromium shows for `path` (a feed on disk), as its DOM. File
/// access from files lets the feed load its stylesheet beside it, as a
/// browser does when both come from one web server.
fn browser_dom(path: &std::path::Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--allow-file-access-from-files",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium runs (.ci/run installs Debian's chromium)");
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_browser_opening_a_feed_shows_a_page_of_its_stories() {
    let site = mail_site();
    site.build();
    let intros = [
        (
            "en",
            "This is a feed: copy this page's address into a feed reader to follow it.",
        ),
        ("zh", "这是一个订阅源：把本页地址复制到阅读器中即可订阅。"),
    ];
    for (locale, intro) in intros {
        for file in ["rss.xml", "atom.xml", "digest/atom.xml"] {
            let name = format!("feeds/{locale}/{file}");
            let feed = site.feed(locale, file);
            let page = parse_page(&browser_dom(&site.path(&name)));
            let title = feed.title.as_ref().unwrap().content.clone();
            assert!(page.text.contains(&title), "{name}: {}", page.text);
            assert!(page.text.contains(intro), "{name}: {}", page.text);
            // Each entry once, linked to its page in the feed's language.
            let shown: Vec<&str> = page
                .links
                .iter()
                .filter(|(tag, _)| tag == "a")
                .map(|(_, url)| url.as_str())
                .collect();
            let expected: Vec<&str> = feed
                .entries
                .iter()
                .map(|e| e.links[0].href.as_str())
                .collect();
            assert!(!expected.is_empty(), "{name}");
            assert_eq!(shown, expected, "{name}");
            for entry in &feed.entries {
                let title = &entry.title.as_ref().unwrap().content;
                assert!(page.text.contains(title.as_str()), "{name}: {title}");
            }
        }
    }
}

#[test]
fn with_serve_the_web_copy_and_archive_link_to_the_sign_up_form_in_their_language() {
    let site = mail_site();
    let config = site.read("config.toml").replace(
        "unsubscribe_url = \"https://news.example.org/unsubscribe\"\n",
        "",
    );
    site.write(
        "config.toml",
        format!("{config}\n[serve]\npublic_url = \"https://news.example.org/list/\"\n"),
    );
    site.build();
    for (locale, label) in [
        ("en", "Get the digest by email"),
        ("zh", "通过电子邮件接收简报"),
    ] {
        for file in ["2026-11-29.html", "index.html"] {
            let name = format!("feeds/{locale}/digest/{file}");
            let page = parse_page(&site.read(&name));
            let url = format!("https://news.example.org/list/subscribe?lang={locale}");
            assert!(
                page.links.contains(&("a".to_owned(), url)),
                "{name}: {:?}",
                page.links
            );
            assert!(page.text.contains(label), "{name}");
        }
    }
}

//! `gazette build` on a fixture site, with every feed parsed back by feed-rs.

mod common;

use common::{NOW, Site, stderr, stdout};
use feed_rs::model::{Entry, Feed};

const FORMATS: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];
const TRICKY_TITLE: &str = "Cats & <dogs> \"quoted\" 'single' 🐼 ]]> end";

fn entry<'a>(feed: &'a Feed, title: &str) -> &'a Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().is_some_and(|t| t.content == title))
        .unwrap_or_else(|| panic!("no entry titled {title:?}"))
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[test]
fn every_format_round_trips_titles_dates_ids_and_language() {
    let site = Site::from_fixture("site");
    site.build();
    for file in FORMATS {
        let en = site.feed("en", file);
        assert_eq!(
            en.title.as_ref().unwrap().content,
            "Fixture & <Friends> \"Daily\"",
            "{file}"
        );
        assert_eq!(
            en.language.as_deref().map(str::to_lowercase).as_deref(),
            Some("en-gb"),
            "{file}"
        );
        assert_eq!(titles(&en), [TRICKY_TITLE, "English only story"], "{file}");
        let tricky = entry(&en, TRICKY_TITLE);
        assert_eq!(
            tricky.id, "tag:news.example.org,2026-01-01:en/story-0001",
            "{file}"
        );
        assert_eq!(
            tricky.published.unwrap().to_rfc3339(),
            "2026-11-20T01:30:00+00:00",
            "{file}"
        );
        assert_eq!(
            tricky.links[0].href, "https://news.example.org/tricky-title/",
            "{file}"
        );
        let categories: Vec<_> = tricky.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(categories, ["animals", "R&D"], "{file}");
        assert_eq!(tricky.authors[0].name.as_deref(), Some("Zoë Ng"), "{file}");

        let zh = site.feed("zh", file);
        assert_eq!(zh.title.as_ref().unwrap().content, "公报", "{file}");
        assert_eq!(
            zh.language.as_deref().map(str::to_lowercase).as_deref(),
            Some("zh-cn"),
            "{file}"
        );
        assert_eq!(
            titles(&zh),
            ["猫与狗：成渝“双城”🐼", "仅有中文的报道"],
            "{file}"
        );
        assert_eq!(
            zh.entries[0].id, "tag:news.example.org,2026-01-01:zh/story-0001",
            "{file}"
        );
        assert_eq!(
            zh.entries[0].links[0].href, "https://news.example.org/zh/tricky-title/",
            "{file}"
        );
    }
}

#[test]
fn content_is_sanitised_absolute_and_keeps_special_characters() {
    let site = Site::from_fixture("site");
    site.build();
    for file in FORMATS {
        let en = site.feed("en", file);
        let tricky = entry(&en, TRICKY_TITLE);
        let html = tricky
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap();
        assert!(!html.contains("<script"), "{file}: {html}");
        assert!(!html.contains("onclick"), "{file}: {html}");
        assert!(!html.contains("javascript:"), "{file}: {html}");
        assert!(
            html.contains(r#"href="https://news.example.org/other-story/""#),
            "{file}: {html}"
        );
        assert!(
            html.contains(r#"src="https://news.example.org/tricky-title/panda.jpg""#),
            "{file}: {html}"
        );
        assert!(
            html.contains("]]&gt; and ampersand &amp; and less-than &lt; stay"),
            "{file}: {html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<del>struck</del>"),
            "{file}: {html}"
        );
        // The plain-text summary: as is in JSON Feed, escaped into the
        // HTML that RSS descriptions and `type="html"` Atom summaries are.
        let summary = tricky.summary.as_ref().unwrap().content.clone();
        let expected = match file {
            "feed.json" => "A summary with & and <b>not bold</b> and ]]> too.",
            _ => "A summary with &amp; and &lt;b&gt;not bold&lt;/b&gt; and ]]&gt; too.",
        };
        assert_eq!(summary, expected, "{file}");

        let english_only = entry(&en, "English only story");
        let body = english_only
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap();
        assert!(
            !body.contains('\u{1}') && !body.contains('\u{1b}'),
            "{file}: {body:?}"
        );
    }
    for locale in ["en", "zh"] {
        for file in ["rss.xml", "atom.xml"] {
            let text = site.read(&format!("feeds/{locale}/{file}"));
            assert!(
                !text.chars().any(|c| c < ' ' && !"\t\n\r".contains(c)),
                "{locale}/{file}"
            );
        }
    }
}

#[test]
fn drafts_and_future_stories_are_left_out_until_due() {
    let site = Site::from_fixture("site");
    site.build();
    for file in FORMATS {
        for locale in ["en", "zh"] {
            let all = titles(&site.feed(locale, file)).join("|");
            assert!(!all.contains("Draft story"), "{locale}/{file}");
            assert!(
                !all.contains("Future story") && !all.contains("未来的报道"),
                "{locale}/{file}"
            );
        }
    }
    site.build_at("2026-12-01T08:00:00+08:00");
    for file in FORMATS {
        assert_eq!(titles(&site.feed("en", file))[0], "Future story", "{file}");
        assert_eq!(titles(&site.feed("zh", file))[0], "未来的报道", "{file}");
        assert!(
            !titles(&site.feed("en", file))
                .join("|")
                .contains("Draft story")
        );
    }
}

#[test]
fn ids_do_not_change_with_now_title_or_date() {
    let site = Site::from_fixture("site");
    site.build();
    let before = site.feed("en", "atom.xml");
    let id_before = entry(&before, TRICKY_TITLE).id.clone();

    let changed = site
        .read("articles/tricky-title.md")
        .replace(TRICKY_TITLE.replace('"', "\\\"").as_str(), "Renamed")
        .replace("2026-11-20T09:30:00+08:00", "2026-11-19T09:30:00+08:00");
    site.write("articles/tricky-title.md", changed);
    site.build_at("2026-12-31T00:00:00+08:00");
    let after = site.feed("en", "atom.xml");
    assert_eq!(entry(&after, "Renamed").id, id_before);
    assert_eq!(
        entry(&after, "English only story").id,
        entry(&before, "English only story").id
    );
}

#[test]
fn rss_dates_are_rfc822_with_numeric_offset_and_right_weekday() {
    let site = Site::from_fixture("site");
    site.build();
    let rss = site.read("feeds/zh/rss.xml");
    assert!(
        rss.contains("<pubDate>Fri, 20 Nov 2026 09:30:00 +0800</pubDate>"),
        "{rss}"
    );
    // lastBuildDate is the newest change among items, never the clock.
    assert!(
        rss.contains("<lastBuildDate>Fri, 20 Nov 2026 09:30:00 +0800</lastBuildDate>"),
        "{rss}"
    );
    assert!(rss.contains(
        r#"<guid isPermaLink="false">tag:news.example.org,2026-01-01:zh/story-0001</guid>"#
    ));
    assert!(
        rss.contains(r#"<atom:link href="https://news.example.org/feeds/zh/rss.xml" rel="self""#)
    );
    let en = site.read("feeds/en/rss.xml");
    assert!(
        en.contains("<lastBuildDate>Sat, 21 Nov 2026 10:00:00 +0800</lastBuildDate>"),
        "{en}"
    );
    // The lead image is Media RSS `media:content`, never a zero-length enclosure.
    let channel = rss::Channel::read_from(en.as_bytes()).unwrap();
    let tricky = channel
        .items()
        .iter()
        .find(|i| i.link() == Some("https://news.example.org/tricky-title/"))
        .unwrap();
    assert!(tricky.enclosure().is_none());
    let media = &tricky.extensions()["media"]["content"][0];
    assert_eq!(
        media.attrs().get("url").map(String::as_str),
        Some("https://news.example.org/images/panda.png")
    );
    assert_eq!(
        media.attrs().get("type").map(String::as_str),
        Some("image/png")
    );
    assert_eq!(
        media.attrs().get("medium").map(String::as_str),
        Some("image")
    );
    assert_eq!(
        channel.namespaces().get("media").map(String::as_str),
        Some("http://search.yahoo.com/mrss/")
    );
}

#[test]
fn atom_entries_link_every_translation_with_hreflang() {
    let site = Site::from_fixture("site");
    site.build();
    let en = site.feed("en", "atom.xml");
    let tricky = entry(&en, TRICKY_TITLE);
    let alternates: Vec<(String, Option<String>)> = tricky
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("alternate"))
        .map(|l| (l.href.clone(), l.href_lang.clone()))
        .collect();
    assert_eq!(
        alternates,
        [
            (
                "https://news.example.org/tricky-title/".to_owned(),
                Some("en-GB".to_owned())
            ),
            (
                "https://news.example.org/zh/tricky-title/".to_owned(),
                Some("zh-CN".to_owned())
            ),
            // The own page again, unlabelled, for readers that take the last.
            ("https://news.example.org/tricky-title/".to_owned(), None),
        ]
    );
    let atom = site.read("feeds/en/atom.xml");
    assert!(atom.contains(r#"xml:lang="en-GB""#), "{atom}");
    assert!(
        atom.contains(r#"<link href="https://news.example.org/feeds/en/atom.xml" rel="self""#),
        "{atom}"
    );
}

#[test]
fn json_feed_has_the_version_and_item_fields() {
    let site = Site::from_fixture("site");
    site.build();
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/zh/feed.json")).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        json["feed_url"],
        "https://news.example.org/feeds/zh/feed.json"
    );
    assert_eq!(json["home_page_url"], "https://news.example.org/zh/");
    assert_eq!(json["language"], "zh-CN");
    let item = &json["items"][0];
    for key in [
        "id",
        "url",
        "title",
        "summary",
        "content_html",
        "date_published",
        "date_modified",
    ] {
        assert!(item[key].is_string(), "{key} missing in {item}");
    }
    assert_eq!(item["tags"][0], "animals");
    assert_eq!(item["authors"][0]["name"], "李伟");
    assert_eq!(item["date_published"], "2026-11-20T09:30:00+08:00");
    // The Chinese excerpt ends at a sentence end, never mid-character.
    let summary = item["summary"].as_str().unwrap();
    assert!(summary.ends_with('。'), "{summary}");
    assert!(summary.chars().count() <= 120, "{summary}");
}

#[test]
fn two_builds_give_identical_bytes_and_the_second_touches_nothing() {
    let site = Site::from_fixture("site");
    let first = stdout(&site.build());
    assert!(first.contains("10 written, 0 unchanged"), "{first}");
    let before = site.snapshot_feeds();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = stdout(&site.build());
    assert!(second.contains("0 written, 10 unchanged"), "{second}");
    assert_eq!(before, site.snapshot_feeds());
}

#[test]
fn summary_mode_carries_no_full_content() {
    let site = Site::from_fixture("site");
    let config = site
        .read("config.toml")
        .replace("max_items = 50", "max_items = 1\ncontent = \"summary\"");
    site.write("config.toml", config);
    site.build();
    let en = site.feed("en", "feed.json");
    assert_eq!(en.entries.len(), 1);
    let html = en.entries[0]
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap();
    assert!(!html.contains("<table>"), "{html}");
    assert!(html.contains("Published 20 November 2026 · <a href=\"https://news.example.org/tricky-title/\">Read more</a>"), "{html}");
    let zh = site.read("feeds/zh/rss.xml");
    assert!(zh.contains("发布于2026年11月20日 · <a href=\"https://news.example.org/zh/tricky-title/\">阅读全文</a>"), "{zh}");
}

#[test]
fn check_writes_nothing_and_reports_what_would_change() {
    let site = Site::from_fixture("site");
    let output = site.run(&["--now", NOW, "check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("a build would change 10 files"),
        "{}",
        stdout(&output)
    );
    assert!(!site.path("feeds").exists());
    assert!(!site.path(".gazette").exists());
}

#[test]
fn a_third_language_needs_only_config_and_ftl_files() {
    let site = Site::from_fixture("site");
    let config =
        site.read("config.toml") + "\n[locales.fr]\ntag = \"fr-FR\"\nfallback = [\"en\"]\n";
    site.write("config.toml", config);
    site.write(
        "locales/fr/site.ftl",
        "site-title = La Gazette\nsite-description = Nouvelles\n",
    );
    site.write("locales/fr/feeds.ftl", "feed-title = { site-title }\nfeed-description = { site-description }\nfeed-read-more = Lire la suite\nfeed-published-on = Publié le { $date }\n");
    site.write(
        "articles/tricky-title.fr.md",
        "+++\ntitle = \"Chats et chiens\"\ndate = 2026-11-20T09:30:00+08:00\nid = \"story-0001\"\n+++\n\nBonjour.\n",
    );
    site.build();
    for file in FORMATS {
        let fr = site.feed("fr", file);
        assert_eq!(fr.title.as_ref().unwrap().content, "La Gazette");
        assert_eq!(titles(&fr), ["Chats et chiens"]);
        assert_eq!(
            fr.entries[0].links[0].href,
            "https://news.example.org/fr/tricky-title/"
        );
    }
}

/// Sets every file of the site an hour into the past, as files are on a
/// server where cron builds (a file changed within seconds of a build is
/// never trusted to be unchanged).
fn age_inputs(site: &Site) {
    fn walk(dir: &std::path::Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("feeds") && !path.ends_with(".gazette") {
                    walk(&path);
                }
            } else {
                let file = std::fs::File::options().write(true).open(&path).unwrap();
                let an_hour_ago =
                    std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
                file.set_modified(an_hour_ago).unwrap();
            }
        }
    }
    walk(site.dir.path());
}

#[test]
fn an_unchanged_build_stops_early_and_every_kind_of_change_rebuilds() {
    let site = Site::from_fixture("site");
    site.write(
        "articles/soon.md",
        "+++\ntitle = \"Soon\"\ndate = 2026-11-29T07:00:00+08:00\n+++\n\nScheduled.\n",
    );
    age_inputs(&site);
    assert!(stdout(&site.build()).contains("10 written"));
    let before = site.snapshot_feeds();
    let again = stdout(&site.build_at("2026-11-29T06:30:00+08:00"));
    assert!(
        again.contains("nothing changed since the last build"),
        "{again}"
    );
    assert_eq!(before, site.snapshot_feeds());

    // A scheduled story falling due on the same day.
    let due = stdout(&site.build_at("2026-11-29T07:30:00+08:00"));
    assert!(due.contains("written"), "{due}");
    assert_eq!(titles(&site.feed("en", "rss.xml"))[0], "Soon");

    // An edited article.
    age_inputs(&site);
    site.build_at("2026-11-29T07:30:00+08:00");
    let edited = site
        .read("articles/english-only.md")
        .replace("Only in English.", "Only in English, edited.");
    site.write("articles/english-only.md", edited);
    let rebuilt = stdout(&site.build_at("2026-11-29T07:30:00+08:00"));
    assert!(
        rebuilt.contains("1 written")
            || rebuilt.contains("2 written")
            || rebuilt.contains("3 written"),
        "{rebuilt}"
    );
    let en = site.feed("en", "atom.xml");
    let body = entry(&en, "English only story")
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap();
    assert!(body.contains("edited"), "{body}");

    // A deleted output, and a config change.
    age_inputs(&site);
    site.build_at("2026-11-29T07:30:00+08:00");
    std::fs::remove_file(site.path("feeds/zh/feed.json")).unwrap();
    let restored = stdout(&site.build_at("2026-11-29T07:30:00+08:00"));
    assert!(restored.contains("1 written"), "{restored}");
    assert!(site.path("feeds/zh/feed.json").exists());
    age_inputs(&site);
    site.build_at("2026-11-29T07:30:00+08:00");
    let config = site
        .read("config.toml")
        .replace("max_items = 50", "max_items = 1");
    site.write("config.toml", config);
    site.build_at("2026-11-29T07:30:00+08:00");
    assert_eq!(site.feed("en", "rss.xml").entries.len(), 1);
}

#[test]
fn a_first_build_of_just_written_inputs_is_not_recorded_as_up_to_date() {
    // The first build takes its fingerprint while it reads the articles;
    // inputs modified within seconds of its start must not be trusted.
    let site = Site::from_fixture("site");
    let first = stdout(&site.build());
    assert!(first.contains("written"), "{first}");
    let second = stdout(&site.build());
    assert!(
        !second.contains("nothing changed since the last build"),
        "{second}"
    );
    // Once the inputs are old, a first build is recorded and the next stops early.
    std::fs::remove_dir_all(site.path(".gazette")).ok();
    age_inputs(&site);
    site.build();
    let third = stdout(&site.build());
    assert!(
        third.contains("nothing changed since the last build"),
        "{third}"
    );
}

/// Runs gazette in `site` under `umask` (set by `sh` for the child alone:
/// the test process's umask is shared by every test thread).
fn run_under_umask(site: &Site, umask: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(site.dir.path())
        .env_remove("GAZETTE_LOG")
        .env(
            "GAZETTE_UNSUBSCRIBE_SECRET",
            "build-test-secret-0123456789abcdef0123",
        )
        .output()
        .unwrap()
}

fn build_under_umask(site: &Site, umask: &str) {
    let output = run_under_umask(site, umask, &["--now", NOW, "build"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// (path under the site, mode) of every file below `relative`.
#[cfg(unix)]
fn modes(site: &Site, relative: &str) -> Vec<(String, u32)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&site.path(relative), &mut files);
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.strip_prefix(site.dir.path()).unwrap();
            (name.display().to_string(), mode(p))
        })
        .collect()
}

/// The mail fixture with the default transport (the file outbox).
fn site_with_outbox() -> Site {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site
}

#[cfg(unix)]
#[test]
fn published_files_are_0644_under_umask_022_while_outbox_files_stay_0600() {
    let site = site_with_outbox();
    build_under_umask(&site, "022");
    let published = modes(&site, "feeds");
    // Six feeds, and per locale a digest copy, archive, feed of digests, feed index and feed stylesheet.
    assert_eq!(published.len(), 16, "{published:?}");
    assert!(published.iter().any(|(p, _)| p.contains("digest/")));
    for (path, mode) in &published {
        assert_eq!(*mode, 0o644, "{path} is {mode:o}");
    }
    let sent = run_under_umask(&site, "022", &["--now", NOW, "send"]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let outbox = modes(&site, "outbox");
    assert_eq!(outbox.len(), 4, "{outbox:?}");
    for (path, mode) in &outbox {
        // Messages carry readers' addresses: private on purpose.
        assert_eq!(*mode, 0o600, "{path} is {mode:o}");
    }
    // So does the state database, with its WAL, shared memory and lock.
    let state = modes(&site, ".gazette");
    assert!(
        state.iter().any(|(path, _)| path.ends_with("state.db")),
        "{state:?}"
    );
    for (path, mode) in &state {
        assert_eq!(*mode, 0o600, "{path} is {mode:o}");
    }
}

#[cfg(unix)]
#[test]
fn published_files_are_0640_under_umask_027() {
    let site = site_with_outbox();
    build_under_umask(&site, "027");
    let published = modes(&site, "feeds");
    assert_eq!(published.len(), 16, "{published:?}");
    for (path, mode) in &published {
        assert_eq!(*mode, 0o640, "{path} is {mode:o}");
    }
}

#[cfg(unix)]
#[test]
fn a_mode_set_by_hand_survives_a_rebuild_that_changes_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::from_fixture("site");
    build_under_umask(&site, "022");
    let rss = site.path("feeds/en/rss.xml");
    std::fs::set_permissions(&rss, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&rss, std::fs::Permissions::from_mode(0o640)).unwrap();
    let edited = site
        .read("articles/english-only.md")
        .replace("Only in English.", "Only in English, edited.");
    site.write("articles/english-only.md", edited);
    build_under_umask(&site, "022");
    let en = site.feed("en", "rss.xml");
    let body = entry(&en, "English only story")
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap();
    assert!(
        body.contains("edited"),
        "the rebuild did not rewrite rss.xml: {body}"
    );
    assert_eq!(mode(&rss), 0o640);
    assert_eq!(mode(&site.path("feeds/en/atom.xml")), 0o644);
}

/// Sets `relative` an hour into the past: a temp file that old belongs to
/// no running build.
fn age(site: &Site, relative: &str) {
    let file = std::fs::File::options()
        .write(true)
        .open(site.path(relative))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

#[test]
fn stale_temp_files_of_a_killed_build_are_removed_and_other_files_kept() {
    let site = Site::from_fixture("site");
    site.build();
    let stale = [
        "feeds/en/.gazette-a1B2c3.tmp",
        "feeds/zh/.gazette-Q9w8E7.tmp",
    ];
    // Another program's files, and a temp file young enough to belong to
    // a build that is running now.
    let kept = [
        "feeds/en/notes.txt",
        "feeds/en/.gazette-notes.txt",
        "feeds/en/.gazette-R4t5Y6.tmp",
    ];
    for relative in stale.iter().chain(&kept) {
        site.write(relative, "partial");
    }
    for relative in stale.iter().chain(&kept[..2]) {
        age(&site, relative);
    }
    let rebuilt = stdout(&site.build());
    assert!(rebuilt.contains("built"), "{rebuilt}");
    for relative in stale {
        assert!(!site.path(relative).exists(), "{relative} was left");
    }
    for relative in kept {
        assert!(site.path(relative).exists(), "{relative} was removed");
    }

    // A build that finds nothing changed cleans up too.
    age_inputs(&site);
    site.build();
    for relative in stale {
        site.write(relative, "partial");
        age(&site, relative);
    }
    let again = stdout(&site.build());
    assert!(again.contains("nothing changed"), "{again}");
    for relative in stale {
        assert!(!site.path(relative).exists(), "{relative} was left");
    }
    assert!(site.path("feeds/en/notes.txt").exists());
}

#[test]
fn a_file_that_cannot_be_written_fails_the_build_before_any_feed_changes() {
    let site = Site::from_fixture("site");
    std::fs::create_dir_all(site.path("feeds/en/atom.xml")).unwrap();
    let output = site.run(&["--now", NOW, "build"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("feeds/en/atom.xml"), "{message}");
    assert!(message.contains("nothing was published"), "{message}");
    assert!(message.contains("a folder is in the way"), "{message}");
    // Staged files are never renamed: no feed of any locale appeared.
    for file in FORMATS {
        for locale in ["en", "zh"] {
            let path = site.path(&format!("feeds/{locale}/{file}"));
            assert!(!path.is_file(), "{} was published", path.display());
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(site.path("feeds/en"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["atom.xml"]);
    std::fs::remove_dir(site.path("feeds/en/atom.xml")).unwrap();
    assert!(stdout(&site.build()).contains("10 written"));
}

//! Per-tag feeds (`feeds.tags`): which stories each tag feed of each
//! locale collects, their titles and self links, and the config error for
//! a listed tag no story carries. Every feed is parsed back with feed-rs.

mod common;

use common::{Site, stderr};
use feed_rs::model::Feed;
use std::collections::BTreeSet;

const FORMATS: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];

/// The fixture site with `tags_setting` under `[feeds]`, two stories
/// tagged Economy/经济 (paired by `[tags.economy]`), and `extra` appended.
fn site(tags_setting: &str, extra: &str) -> Site {
    let site = Site::from_fixture("site");
    let config = site
        .read("config.toml")
        .replace("[feeds]\n", &format!("[feeds]\ntags = {tags_setting}\n"));
    site.write(
        "config.toml",
        format!("{config}\n[tags.economy]\nen = \"Economy\"\nzh = \"经济\"\n{extra}"),
    );
    site.write(
        "articles/rates.md",
        "+++\ntitle = \"Rates held\"\ndate = 2026-11-21T09:00:00+08:00\ntags = [\"Economy\"]\nid = \"rates\"\n+++\n\nThe bank held rates.\n",
    );
    site.write(
        "articles/rates.zh.md",
        "+++\ntitle = \"利率不变\"\ndate = 2026-11-21T09:00:00+08:00\ntags = [\"经济\", \"银行\"]\nid = \"rates\"\n+++\n\n银行维持利率不变。\n",
    );
    site
}

fn tag_feed(site: &Site, locale: &str, slug: &str, file: &str) -> Feed {
    let bytes = std::fs::read(site.path(&format!("feeds/{locale}/tags/{slug}/{file}")))
        .unwrap_or_else(|e| panic!("{locale}/tags/{slug}/{file}: {e}"));
    feed_rs::parser::parse(&bytes[..]).unwrap()
}

fn titles(feed: &Feed) -> BTreeSet<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[test]
fn a_tag_feed_holds_exactly_the_stories_tagged_so_in_its_language() {
    let site = site("true", "");
    site.build();
    for file in FORMATS {
        let en = tag_feed(&site, "en", "economy", file);
        assert_eq!(
            titles(&en),
            BTreeSet::from(["Rates held".to_owned()]),
            "{file}"
        );
        let title = en.title.as_ref().unwrap().content.clone();
        assert!(title.ends_with(" — Economy"), "{file}: {title}");
        // Paired by [tags.economy]: the Chinese feed shares the slug.
        let zh = tag_feed(&site, "zh", "economy", file);
        assert_eq!(
            titles(&zh),
            BTreeSet::from(["利率不变".to_owned()]),
            "{file}"
        );
        assert!(
            zh.title.as_ref().unwrap().content.ends_with(" — 经济"),
            "{file}"
        );
        // An unpaired Chinese tag gets its pinyin slug.
        let bank = tag_feed(&site, "zh", "yin-xing", file);
        assert_eq!(
            titles(&bank),
            BTreeSet::from(["利率不变".to_owned()]),
            "{file}"
        );
        // `animals` is carried by the tricky story in both languages.
        let animals = tag_feed(&site, "en", "animals", file);
        assert_eq!(animals.entries.len(), 1, "{file}");
        assert!(!titles(&animals).contains("Rates held"), "{file}");
    }
    // The Atom self link names the tag folder.
    let atom = std::fs::read_to_string(site.path("feeds/en/tags/economy/atom.xml")).unwrap();
    assert!(
        atom.contains("/en/tags/economy/atom.xml\""),
        "self link missing: {atom}"
    );
    // No Chinese-only tag leaks into the English feeds.
    assert!(!site.path("feeds/en/tags/yin-xing").exists());
}

#[test]
fn a_tag_list_builds_only_the_listed_tags() {
    let site = site("[\"economy\"]", "");
    site.build();
    assert_eq!(
        tag_feed(&site, "en", "economy", "atom.xml").entries.len(),
        1
    );
    assert!(!site.path("feeds/en/tags/animals").exists());
    assert!(!site.path("feeds/zh/tags/yin-xing").exists());
}

#[test]
fn tag_feeds_are_off_by_default() {
    let site = Site::from_fixture("site");
    site.build();
    assert!(!site.path("feeds/en/tags").exists());
}

#[test]
fn a_listed_tag_no_story_carries_is_an_error_naming_the_key() {
    let site = site("[\"economy\", \"econmy\"]", "");
    let output = site.run(&["--now", common::NOW, "build"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("feeds.tags lists `econmy`, which no published story carries"),
        "{message}"
    );
}

#[test]
fn a_tags_table_with_a_non_ascii_slug_is_a_config_error() {
    let site = site("true", "[tags.\"经济\"]\nzh = \"经济\"\n");
    let output = site.run(&["--now", common::NOW, "build"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("[tags.经济]: a tag slug is lowercase ASCII letters"),
        "{message}"
    );
}

#[test]
fn the_feed_index_lists_every_feed_of_its_locale_with_autodiscovery() {
    let site = site("true", "");
    site.build();
    for locale in ["en", "zh"] {
        let page = site.read(&format!("feeds/{locale}/index.html"));
        let mut reader = quick_xml::Reader::from_str(page.trim_start_matches("<!DOCTYPE html>\n"));
        let (mut alternates, mut anchors) = (BTreeSet::new(), BTreeSet::new());
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    let attr = |name: &str| {
                        e.try_get_attribute(name).unwrap().map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned()
                        })
                    };
                    let href = attr("href");
                    match e.name().as_ref() {
                        "link" if attr("rel").as_deref() == Some("alternate") => {
                            alternates.insert(href.unwrap());
                        }
                        "a" => {
                            anchors.insert(href.unwrap());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        assert_eq!(alternates, anchors, "{locale}");
        // Every listed URL is a feed file this build wrote, and each
        // main and tag feed is listed in all three formats.
        let base = "https://news.example.org/feeds/";
        for url in &anchors {
            let relative = url
                .strip_prefix(base)
                .unwrap_or_else(|| panic!("{url} not under {base}"));
            assert!(site.path(&format!("feeds/{relative}")).is_file(), "{url}");
        }
        for file in FORMATS {
            assert!(
                anchors.contains(&format!("{base}{locale}/{file}")),
                "{locale}/{file}"
            );
            assert!(
                anchors.contains(&format!("{base}{locale}/tags/economy/{file}")),
                "{locale}/tags/economy/{file}"
            );
        }
    }
}

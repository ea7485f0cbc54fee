//! `gazette import` and `kind = "text"` sources, run through the real
//! binary on the fixture site; feeds read back with feed-rs.
//!
//! Every run sets TZ=UTC: pages give wall-clock times without an offset,
//! which gazette reads in the machine's time zone.

mod common;

use common::{NOW, Site, stderr, stdout};
use feed_rs::model::{Entry, Feed};
use std::process::{Command, Output};

const RIVERSIDE: &str = "articles/city-opens-second-cross-river-bridge-ahead-of-schedule.md";
const RIVERSIDE_TITLE: &str = "City Opens Second Cross-River Bridge Ahead of Schedule";
const CHENGYU: &str = "articles/cheng-yu-shuang-cheng-jing-ji-quan-jian-she-ti-su.zh.md";

fn run(site: &Site, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(site.dir.path())
        .env_remove("GAZETTE_LOG")
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

fn ok(site: &Site, args: &[&str]) -> Output {
    let output = run(site, args);
    assert!(
        output.status.success(),
        "{args:?} failed:\n{}",
        stderr(&output)
    );
    output
}

/// The fixture site with `pages/<name>` copied from tests/fixtures/pages.
fn site_with_pages(names: &[&str]) -> Site {
    let site = Site::from_fixture("site");
    for name in names {
        let page = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/pages")
                .join(name),
        )
        .unwrap();
        site.write(&format!("pages/{name}"), page);
    }
    site
}

fn entry<'a>(feed: &'a Feed, title: &str) -> &'a Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().is_some_and(|t| t.content == title))
        .unwrap_or_else(|| panic!("no entry titled {title:?}"))
}

fn html(entry: &Entry) -> String {
    entry.content.as_ref().and_then(|c| c.body.clone()).unwrap()
}

#[test]
fn imported_pages_build_into_feeds_with_headings_and_captions() {
    let site = site_with_pages(&["en-riverside.txt", "zh-xinhua-style.txt"]);
    let output = ok(
        &site,
        &["import", "pages/en-riverside.txt", "--date", "2026-11-20"],
    );
    assert_eq!(
        stdout(&output),
        format!("wrote {RIVERSIDE} (from pages/en-riverside.txt)\n")
    );
    assert_eq!(stderr(&output), "", "no warning when --date is given");
    let output = ok(
        &site,
        &["import", "--lang", "zh", "pages/zh-xinhua-style.txt"],
    );
    assert_eq!(
        stdout(&output),
        format!("wrote {CHENGYU} (from pages/zh-xinhua-style.txt)\n")
    );

    let article = site.read(RIVERSIDE);
    assert!(
        article.starts_with(&format!(
            "+++\ntitle = \"{RIVERSIDE_TITLE}\"\ndate = 2026-11-20T00:00:00+00:00\n+++\n"
        )),
        "{article}"
    );
    // The page's own date wins.
    assert!(
        site.read(CHENGYU).starts_with(
            "+++\ntitle = \"成渝双城经济圈建设提速\"\ndate = 2026-03-02T14:30:15+00:00\n+++\n"
        ),
        "{}",
        site.read(CHENGYU)
    );

    site.build_at(NOW);
    for file in ["atom.xml", "rss.xml", "feed.json"] {
        let en = site.feed("en", file);
        let item = entry(&en, RIVERSIDE_TITLE);
        assert_eq!(
            item.links[0].href,
            "https://news.example.org/city-opens-second-cross-river-bridge-ahead-of-schedule/"
        );
        let body = html(item);
        assert!(
            body.contains("<h2>Traffic and trade</h2>"),
            "{file}: {body}"
        );
        assert!(
            body.contains("<figure><figcaption>The bridge at dusk. (Riverside Daily file photo)</figcaption></figure>"),
            "{file}: {body}"
        );
        assert!(
            body.contains("We finished four months early,” said the city’s transport director"),
            "{file}: {body}"
        );
        for chrome in [
            "Riverside Daily Title",
            "Discover Riverside",
            "hotline",
            "Cookie",
            "Leave a message",
        ] {
            assert!(!body.contains(chrome), "{file}: {chrome} in {body}");
        }

        let zh = site.feed("zh", file);
        let item = entry(&zh, "成渝双城经济圈建设提速");
        let body = html(item);
        assert!(body.contains("<h2>交通先行</h2>"), "{file}: {body}");
        assert!(
            body.contains(
                "<figcaption>3月1日拍摄的成渝中线高铁建设工地。（新华社记者 张三 摄）</figcaption>"
            ),
            "{file}: {body}"
        );
        for chrome in ["责任编辑", "扫一扫", "版权所有", "举报", "来源"] {
            assert!(!body.contains(chrome), "{file}: {chrome} in {body}");
        }
    }
}

#[test]
fn a_page_without_date_takes_the_file_time_with_a_warning() {
    let site = site_with_pages(&["en-no-date.txt"]);
    let file = std::fs::File::options()
        .append(true)
        .open(site.path("pages/en-no-date.txt"))
        .unwrap();
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .unwrap();
    drop(file);
    let output = ok(&site, &["import", "pages/en-no-date.txt"]);
    let target = "articles/night-trams-return-to-the-old-town.md";
    assert!(
        stderr(&output).contains(&format!(
            "pages/en-no-date.txt: the page has no date and there is no --date; using the file's modification time 2026-05-28T20:26:40+00:00: check `date` in {target}"
        )),
        "{}",
        stderr(&output)
    );
    assert!(
        site.read(target)
            .contains("date = 2026-05-28T20:26:40+00:00\n")
    );
}

#[test]
fn an_existing_article_is_only_overwritten_with_force() {
    let site = site_with_pages(&["en-riverside.txt"]);
    let args = ["import", "pages/en-riverside.txt", "--date", "2026-11-20"];
    ok(&site, &args);
    let original = site.read(RIVERSIDE);
    site.write(RIVERSIDE, "edited by hand");

    let output = run(&site, &args);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: 1 of 1 page was not imported:\n  pages/en-riverside.txt: {RIVERSIDE} already exists; review it, then pass --force to overwrite it\n"
        )
    );
    assert_eq!(site.read(RIVERSIDE), "edited by hand");

    let mut forced = args.to_vec();
    forced.push("--force");
    ok(&site, &forced);
    assert_eq!(site.read(RIVERSIDE), original);
}

#[test]
fn text_sources_are_built_directly() {
    let site = site_with_pages(&["en-question-headline.txt", "zh-share-follow.txt"]);
    std::fs::create_dir_all(site.path("pages/zh")).unwrap();
    std::fs::rename(
        site.path("pages/zh-share-follow.txt"),
        site.path("pages/zh/zh-share-follow.txt"),
    )
    .unwrap();
    let config = site.read("config.toml")
        + "\n[[sources]]\nkind = \"text\"\npath = \"pages\"\n\n[[sources]]\nkind = \"text\"\npath = \"pages/zh\"\nlocale = \"zh\"\n";
    // `pages` is searched recursively; keep the Chinese folder out of it.
    let config = config.replace("path = \"pages\"\n", "path = \"pages/en\"\n");
    std::fs::create_dir_all(site.path("pages/en")).unwrap();
    std::fs::rename(
        site.path("pages/en-question-headline.txt"),
        site.path("pages/en/en-question-headline.txt"),
    )
    .unwrap();
    site.write("config.toml", config);
    let output = ok(&site, &["--now", NOW, "build"]);
    // The only warning is for the control characters the fixture's
    // english-only.md holds on purpose.
    let err = stderr(&output);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|line| !line.contains("articles/english-only.md:6: 2 control characters"))
        .collect();
    assert!(warnings.is_empty(), "both pages have dates: {err}");

    let en = site.feed("en", "atom.xml");
    let item = entry(&en, "Will the New Port Tax Drive Shipping Away?");
    assert_eq!(
        item.published.unwrap().to_rfc3339(),
        "2026-03-02T10:15:00+00:00"
    );
    let body = html(item);
    assert!(body.contains("<h2>What the firms say</h2>"), "{body}");
    assert!(
        body.contains("<figcaption>Cranes at the container terminal. Photo: Jane Doe / Harbour Herald</figcaption>"),
        "{body}"
    );
    for chrome in [
        "Jane Doe and Sam Li",
        "Share this",
        "Advertisement",
        "Related stories",
        "Dredging",
        "Copyright",
    ] {
        assert!(!body.contains(chrome), "{chrome} in {body}");
    }

    let zh = site.feed("zh", "atom.xml");
    let item = entry(&zh, "天府国际机场旅客吞吐量创新高");
    assert_eq!(
        item.links[0].href,
        "https://news.example.org/zh/tian-fu-guo-ji-ji-chang-lv-ke-tun-tu-liang-chuang-xin-gao/"
    );
    assert!(html(item).contains("三条航线，”一位乘客说"));

    // A page without a date: the file's time, with a warning naming it.
    site.write(
        "pages/en/night.txt",
        "Night Trams Return to the Old Town\n\nTrams will run all night on weekends.\n",
    );
    let file = std::fs::File::options()
        .append(true)
        .open(site.path("pages/en/night.txt"))
        .unwrap();
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .unwrap();
    drop(file);
    let output = ok(&site, &["--now", NOW, "build"]);
    assert!(
        stderr(&output).contains(
            "pages/en/night.txt: the page has no date; using the file's modification time 2026-05-28T20:26:40+00:00"
        ),
        "{}",
        stderr(&output)
    );
    let en = site.feed("en", "atom.xml");
    let item = entry(&en, "Night Trams Return to the Old Town");
    assert_eq!(
        item.published.unwrap().to_rfc3339(),
        "2026-05-28T20:26:40+00:00"
    );
}

#[test]
fn a_bad_page_in_a_text_source_is_a_content_error() {
    let site = Site::from_fixture("site");
    site.write("pages/menu.txt", "Home\nJust a Menu Page\nContact us\n");
    site.write("pages/bad.txt", b"Headline Here Today\n\nBody \xff.\n");
    let config = site.read("config.toml") + "\n[[sources]]\nkind = \"text\"\npath = \"pages\"\n";
    site.write("config.toml", config);
    let output = run(&site, &["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4));
    let err = stderr(&output);
    assert!(
        err.contains("  pages/bad.txt:3: invalid UTF-8; save the page as UTF-8 text\n"),
        "{err}"
    );
    assert!(
        err.contains("  pages/menu.txt: no story paragraphs found: no line ends like a sentence (. ! ? 。！？); is this a news page?\n"),
        "{err}"
    );
}

#[test]
fn every_failing_page_is_named_and_the_others_are_written() {
    let site = site_with_pages(&["en-no-date.txt", "en-riverside.txt"]);
    site.write("pages/bad.txt", b"Headline Here Today\n\nBody \xff.\n");
    site.write("pages/copy.txt", site.read("pages/en-riverside.txt"));
    let output = run(
        &site,
        &[
            "import",
            "--date",
            "2026-11-20T09:30:00+08:00",
            "pages/en-riverside.txt",
            "pages/bad.txt",
            "pages/missing.txt",
            "pages/copy.txt",
            "pages/en-no-date.txt",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        format!(
            "wrote {RIVERSIDE} (from pages/en-riverside.txt)\nwrote articles/night-trams-return-to-the-old-town.md (from pages/en-no-date.txt)\n"
        )
    );
    let err = stderr(&output);
    assert!(
        err.starts_with("error: 3 of 5 pages were not imported:\n"),
        "{err}"
    );
    assert!(
        err.contains("\n  pages/bad.txt: line 3: invalid UTF-8; save the page as UTF-8 text\n"),
        "{err}"
    );
    assert!(
        err.contains("\n  pages/missing.txt: cannot read the page: No such file or directory"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "\n  pages/copy.txt: {RIVERSIDE} was just written from pages/en-riverside.txt: both pages have the headline “{RIVERSIDE_TITLE}”; import this one into another folder (--into) and rename it\n"
        )),
        "{err}"
    );
    assert!(
        site.read(RIVERSIDE)
            .contains("date = 2026-11-20T09:30:00+08:00\n")
    );
}

#[test]
fn into_and_lang_are_checked() {
    let site = site_with_pages(&["zh-question.txt"]);
    let output = run(&site, &["import", "--lang", "fr", "pages/zh-question.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: --lang `fr` is not a configured locale; configured: en, zh\n"
    );
    let output = ok(
        &site,
        &[
            "import",
            "--lang",
            "zh",
            "--into",
            "review",
            "pages/zh-question.txt",
        ],
    );
    assert_eq!(
        stdout(&output),
        // Pinyin is read character by character: 长 in 长队 comes out as its
        // commoner reading `zhang`, and the slug is cut at 60 characters.
        "wrote review/wei-shen-me-cheng-dou-de-xiong-mao-ji-di-zong-shi-pai-zhang.zh.md (from pages/zh-question.txt)\n"
    );
    let output = run(
        &site,
        &["import", "--date", "yesterday", "pages/zh-question.txt"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("write an RFC 3339 instant with offset (2026-11-20T09:30:00+08:00) or a day (2026-11-20)"),
        "{}",
        stderr(&output)
    );
}

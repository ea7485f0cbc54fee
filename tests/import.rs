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

/// The fixture site with `site.time_zone` set to `zone`.
fn with_time_zone(site: &Site, zone: &str) {
    let config: String = site
        .read("config.toml")
        .lines()
        .filter(|line| !line.starts_with("time_zone = "))
        .map(|line| format!("{line}\n"))
        .collect();
    let config = config.replacen("[site]\n", &format!("[site]\ntime_zone = \"{zone}\"\n"), 1);
    site.write("config.toml", config);
}

/// The `+++` front matter of an article file, parsed by the `toml` crate.
fn front_matter(article: &str) -> toml::Table {
    let front = article
        .strip_prefix("+++\n")
        .and_then(|rest| rest.split_once("\n+++\n"))
        .map(|(front, _)| front)
        .unwrap_or_else(|| panic!("no front matter in {article}"));
    toml::from_str(front).unwrap()
}

fn date_of(article: &str) -> String {
    front_matter(article)["date"]
        .as_datetime()
        .unwrap()
        .to_string()
}

#[test]
fn datelines_are_read_in_site_time_zone_or_tz_not_the_machines() {
    // The machine (TZ=UTC) is a server; the page is from Chengdu.
    let site = site_with_pages(&["zh-xinhua-style.txt"]);
    with_time_zone(&site, "Asia/Shanghai");
    let import = ["import", "--lang", "zh", "pages/zh-xinhua-style.txt"];
    let output = ok(&site, &import);
    assert_eq!(stderr(&output), "", "a named zone needs no warning");
    assert_eq!(date_of(&site.read(CHENGYU)), "2026-03-02T14:30:15+08:00");

    // --tz beats site.time_zone.
    let mut args = import.to_vec();
    args.extend(["--tz", "Europe/London", "--force"]);
    ok(&site, &args);
    assert_eq!(date_of(&site.read(CHENGYU)), "2026-03-02T14:30:15+00:00");

    // Neither: the machine's zone, and one warning that says so.
    let site = site_with_pages(&["zh-xinhua-style.txt", "en-question-headline.txt"]);
    let output = ok(
        &site,
        &[
            "import",
            "pages/zh-xinhua-style.txt",
            "pages/en-question-headline.txt",
        ],
    );
    assert_eq!(
        stderr(&output),
        " WARN pages/zh-xinhua-style.txt: the dateline has no time zone and neither site.time_zone nor --tz names one, so it was read in this machine's zone (offset +00:00); if the pages are from elsewhere, set site.time_zone in config.toml or pass --tz (an IANA name such as Asia/Shanghai) and import again with --force\n"
    );
    assert_eq!(
        date_of(&site.read("articles/cheng-yu-shuang-cheng-jing-ji-quan-jian-she-ti-su.md")),
        "2026-03-02T14:30:15+00:00"
    );
}

#[test]
fn a_bad_time_zone_is_named_with_a_hint() {
    let site = site_with_pages(&["zh-xinhua-style.txt"]);
    with_time_zone(&site, "Shanghai");
    let output = run(&site, &["import", "pages/zh-xinhua-style.txt"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        stderr(&output),
        "error: config.toml: invalid configuration:\n  - site.time_zone `Shanghai` is not an IANA time zone name; did you mean `Asia/Shanghai`?\n"
    );
    with_time_zone(&site, "CST");
    let output = run(&site, &["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("  - site.time_zone `CST` is not an IANA time zone name: use one such as Asia/Shanghai, Europe/London or America/New_York (UTC for UTC), not an abbreviation (CST) or an offset (+08:00)\n"),
        "{}",
        stderr(&output)
    );

    let site = site_with_pages(&["zh-xinhua-style.txt"]);
    let output = run(
        &site,
        &["import", "--tz", "+08:00", "pages/zh-xinhua-style.txt"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: invalid value '+08:00' for '--tz <ZONE>': is not an IANA time zone name: use one such as Asia/Shanghai"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &site,
        &[
            "import",
            "--tz",
            "asia/shanghai",
            "pages/zh-xinhua-style.txt",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: invalid value 'asia/shanghai' for '--tz <ZONE>': is not an IANA time zone name; did you mean `Asia/Shanghai`?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn pages_of_one_story_imported_with_one_slug_pair_as_translations() {
    let site = site_with_pages(&["en-riverside.txt", "zh-xinhua-style.txt"]);
    let output = ok(
        &site,
        &[
            "import",
            "--slug",
            "bridge-opens",
            "--date",
            "2026-11-20",
            "pages/en-riverside.txt",
        ],
    );
    assert_eq!(
        stdout(&output),
        "wrote articles/bridge-opens.md (from pages/en-riverside.txt)\n"
    );
    let output = ok(
        &site,
        &[
            "import",
            "--slug",
            "bridge-opens",
            "--lang",
            "zh",
            "--tz",
            "Asia/Shanghai",
            "pages/zh-xinhua-style.txt",
        ],
    );
    assert_eq!(
        stdout(&output),
        "wrote articles/bridge-opens.zh.md (from pages/zh-xinhua-style.txt)\n"
    );
    site.build_at(NOW);

    let alternates = |locale: &str, title: &str| -> Vec<(String, Option<String>)> {
        let feed = site.feed(locale, "atom.xml");
        entry(&feed, title)
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("alternate"))
            .map(|l| (l.href.clone(), l.href_lang.clone()))
            .collect()
    };
    let en = (
        "https://news.example.org/bridge-opens/".to_owned(),
        Some("en-GB".to_owned()),
    );
    let zh = (
        "https://news.example.org/zh/bridge-opens/".to_owned(),
        Some("zh-CN".to_owned()),
    );
    // Each entry links its own page first, the translation by hreflang, and
    // its own page once more without hreflang for readers that take the
    // last alternate.
    let unlabelled = |(href, _): &(String, Option<String>)| (href.clone(), None);
    assert_eq!(
        alternates("en", RIVERSIDE_TITLE),
        [en.clone(), zh.clone(), unlabelled(&en)]
    );
    assert_eq!(
        alternates("zh", "成渝双城经济圈建设提速"),
        [zh.clone(), en, unlabelled(&zh)]
    );
}

#[test]
fn slug_is_checked_and_names_one_page() {
    let site = site_with_pages(&["en-riverside.txt", "en-no-date.txt"]);
    let output = run(
        &site,
        &["import", "--slug", "Bridge Opens", "pages/en-riverside.txt"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: --slug `Bridge Opens` is not a slug: use lowercase ASCII letters, digits, '-', '_' and inner '.' (it names the file and the article's URL), e.g. `bridge-opens-early`\n"
    );
    let output = run(
        &site,
        &["import", "--slug", "bridge.zh", "pages/en-riverside.txt"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: --slug `bridge.zh` ends in `.zh`, which the loader reads as a locale suffix; use '-' instead (`bridge-zh`)\n"
    );
    let output = run(
        &site,
        &[
            "import",
            "--slug",
            "bridge",
            "pages/en-riverside.txt",
            "pages/en-no-date.txt",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: --slug names one article, but 2 pages were given: import them one at a time (the pages of one story in two languages: once each, with the same --slug and each page's --lang)\n"
    );
    assert!(!site.path("articles/bridge.md").exists());
}

#[test]
fn bylines_and_tag_lines_become_authors_and_tags() {
    let site = Site::from_fixture("site");
    site.write(
        "pages/en.txt",
        "Harbour Herald\n\nPort Tax Vote Delayed\n\nBy Li Wei, Anna Smith | Harbour Herald\nMarch 2, 2026 10:15 am\n\nThe harbour board delayed its vote on the port tax by a month.\n\nMembers asked for a study of the costs first.\n\nTags: port, economy、 tax\nCopyright © 2026 Harbour Herald\n",
    );
    site.write(
        "pages/zh.txt",
        "重庆日报\n港口税表决推迟\n作者：李伟\n记者 王五\n2026-03-02 10:15\n\n港务局将港口税表决推迟一个月。\n\n标签：港口、经济，税收\n",
    );
    ok(&site, &["import", "--slug", "port-tax", "pages/en.txt"]);
    ok(
        &site,
        &[
            "import",
            "--slug",
            "port-tax",
            "--lang",
            "zh",
            "pages/zh.txt",
        ],
    );
    let strings = |article: &str, key: &str| -> Vec<String> {
        front_matter(article)[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {article}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let en = site.read("articles/port-tax.md");
    assert_eq!(strings(&en, "authors"), ["Li Wei", "Anna Smith"]);
    assert_eq!(strings(&en, "tags"), ["port", "economy", "tax"]);
    let zh = site.read("articles/port-tax.zh.md");
    assert_eq!(strings(&zh, "authors"), ["李伟", "王五"]);
    assert_eq!(strings(&zh, "tags"), ["港口", "经济", "税收"]);
    for (article, lines) in [
        (&en, &["By Li Wei", "Tags:"][..]),
        (&zh, &["作者", "记者", "标签"]),
    ] {
        let body = article.rsplit_once("+++\n").unwrap().1;
        for line in lines {
            assert!(!body.contains(line), "{line} in the body: {body}");
        }
    }

    // And the feeds credit them, not the site.
    site.build_at(NOW);
    let feed = site.feed("en", "atom.xml");
    let names: Vec<&str> = entry(&feed, "Port Tax Vote Delayed")
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .collect();
    assert_eq!(names, ["Li Wei", "Anna Smith"]);
}

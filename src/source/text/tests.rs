//! Unit tests of the page parser over invented pages in
//! `tests/fixtures/pages/`, plus slugs, Markdown escaping and the article file.

use super::*;
use url::Url;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pages")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> ScrapedPage {
    parse_page(&fixture(name), &ChromeRules::default())
        .unwrap_or_else(|e| panic!("{name} should parse: {e}"))
}

fn headings(page: &ScrapedPage) -> Vec<&str> {
    page.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn captions(page: &ScrapedPage) -> Vec<&str> {
    page.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Caption(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn paragraphs(page: &ScrapedPage) -> Vec<&str> {
    page.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Every line of the page the parser kept, title included.
fn kept(page: &ScrapedPage) -> Vec<&str> {
    std::iter::once(page.title.as_str())
        .chain(page.blocks.iter().map(|b| match b {
            Block::Heading(t) | Block::Paragraph(t) | Block::Caption(t) => t.as_str(),
        }))
        .collect()
}

/// Each of `chrome` is a line of the page, and none of them survived.
fn assert_dropped(name: &str, page: &ScrapedPage, chrome: &[&str]) {
    let text = fixture(name);
    for line in chrome {
        assert!(
            text.lines().any(|l| l.trim() == *line),
            "{name}: `{line}` is not a line of the page"
        );
        assert!(
            !kept(page).contains(line),
            "{name}: chrome `{line}` survived: {page:#?}"
        );
    }
    // And every kept line is a line of the page, byte for byte.
    for line in kept(page) {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "{name}: `{line}` was changed"
        );
    }
}

fn at(date: &str) -> Option<NaiveDateTime> {
    Some(NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S").unwrap())
}

// --- pages -------------------------------------------------------------------

#[test]
fn riverside_example_from_the_issue() {
    let name = "en-riverside.txt";
    let page = parse(name);
    assert_eq!(
        page.title,
        "City Opens Second Cross-River Bridge Ahead of Schedule"
    );
    assert_eq!(page.date, None);
    assert_eq!(
        page.blocks,
        vec![
            Block::Paragraph("The new bridge cuts the commute between the two districts by twenty minutes, officials said on Monday.".into()),
            Block::Caption("The bridge at dusk. (Riverside Daily file photo)".into()),
            Block::Paragraph("Officials expect freight traffic across the river to double within five years.".into()),
            Block::Heading("Traffic and trade".into()),
            Block::Paragraph("We finished four months early,” said the city’s transport director, adding that tolls will stay at zero.".into()),
            Block::Caption("A view of the east bank. (Riverside Daily file photo)".into()),
            Block::Heading("Next steps".into()),
            Block::Paragraph("The city will now plan a third crossing further downstream.".into()),
        ]
    );
    assert_dropped(
        name,
        &page,
        &[
            "Riverside Daily Title",
            "Discover Riverside, Discover Yourself",
            "Report harmful content to our hotline: +1-555-0100",
            "Accept",
            "Our Privacy Notice & Cookie Policy",
            "By continuing to use this site you consent to cookies and our Terms of Use.",
            "Questions? Write to desk@riverside.example",
            "About UsContact Us",
            "Leave a message",
        ],
    );
}

#[test]
fn question_headline_under_labels_with_byline_share_bar_and_related_list() {
    let name = "en-question-headline.txt";
    let page = parse(name);
    assert_eq!(page.title, "Will the New Port Tax Drive Shipping Away?");
    assert_eq!(page.date, at("2026-03-02 10:15:00"));
    assert_eq!(headings(&page), ["What the firms say", "What happens next"]);
    assert_eq!(
        captions(&page),
        ["Cranes at the container terminal. Photo: Jane Doe / Harbour Herald"]
    );
    assert_eq!(paragraphs(&page).len(), 4);
    assert_eq!(
        paragraphs(&page)[2],
        "“We’ll take our ships where the costs are lower,” one operator said. Another called the plan “a tax on the town’s own jobs.”"
    );
    assert_dropped(
        name,
        &page,
        &[
            "Harbour Herald",
            "Home > News > Business",
            "Business",
            "By Jane Doe and Sam Li",
            "Published March 2, 2026 10:15 am",
            "Share this article",
            "Facebook",
            "Twitter",
            "Email",
            "Advertisement",
            "Related stories",
            "Dredging contract awarded",
            "Harbour traffic hits record",
            "Copyright © 2026 Harbour Herald. All rights reserved.",
            "Terms of Service | Privacy Policy",
        ],
    );
}

#[test]
fn cookie_banner_above_the_masthead_and_footer_links() {
    let name = "en-cookie-top.txt";
    let page = parse(name);
    assert_eq!(
        page.title,
        "School Meals Go Free for Every Pupil in the Valley"
    );
    assert_eq!(page.date, at("2026-05-14 00:00:00"));
    assert_eq!(headings(&page), ["How it is paid for"]);
    assert_eq!(
        captions(&page),
        ["Pupils queue for lunch in Millbrook. (AP Photo/Kim Lee)"]
    );
    // Apostrophes and a closing quote without its opening one, byte for byte.
    assert_eq!(
        paragraphs(&page),
        [
            "Every primary pupil in the valley will get a free lunch from September, the council said.",
            "Parents don’t need to apply: the school enrols each child automatically.",
            "The £4m scheme is funded by a levy on the district’s largest supermarkets, which wasn’t popular with them.",
            "It’s the fairest way,” the council leader said.",
        ]
    );
    assert_dropped(
        name,
        &page,
        &[
            "We use cookies to improve your experience on our site. By using this site you agree to our Cookie Policy.",
            "Accept all",
            "Manage preferences",
            "Valley Courier",
            "2026-05-14",
            "Tags: education, council",
            "Sign up for our newsletter",
            "Download our app",
            "© 2026 Valley Courier Ltd",
        ],
    );
}

#[test]
fn plain_page_without_date_or_headings() {
    let name = "en-no-date.txt";
    let page = parse(name);
    assert_eq!(page.title, "Night Trams Return to the Old Town");
    assert_eq!(page.date, None);
    assert_eq!(headings(&page), Vec::<&str>::new());
    assert_eq!(captions(&page), Vec::<&str>::new());
    assert_eq!(paragraphs(&page).len(), 2);
    assert_dropped(name, &page, &["Leave a comment"]);
}

#[test]
fn related_links_inside_the_story_are_dropped_but_the_next_heading_kept() {
    let name = "en-mid-related.txt";
    let page = parse(name);
    assert_eq!(page.title, "Library Reopens After Two-Year Restoration");
    // The only dateline is above the headline.
    assert_eq!(page.date, at("2026-05-14 08:05:00"));
    assert_eq!(
        headings(&page),
        ["Inside the reading room", "Opening hours"]
    );
    assert_eq!(paragraphs(&page).len(), 4);
    assert_dropped(
        name,
        &page,
        &[
            "THE LAKESIDE POST",
            "Updated: 14 May 2026 08:05",
            "Read more: How the library was saved",
            "Related stories",
            "Library closes for repairs",
            "Council approves restoration budget",
            "Advertisement",
            "Share on Facebook",
            "Share on X",
            "Follow us on Instagram",
        ],
    );
}

#[test]
fn markdown_characters_are_ordinary_text() {
    let name = "en-markdown-chars.txt";
    let page = parse(name);
    assert_eq!(page.title, "Q&A: Why <Tom’s> *Bridge* Costs $2 & Not £1");
    assert_eq!(headings(&page), ["#2 in a series"]);
    assert_eq!(paragraphs(&page).len(), 5);
    assert_dropped(name, &page, &["Metro Notes", "By Alex Kay", "Contact us"]);
}

#[test]
fn lead_photo_caption_and_numeric_heading() {
    let name = "en-caption-lead.txt";
    let page = parse(name);
    assert_eq!(
        page.title,
        "Bridge Builders Race Winter to Finish the East Span"
    );
    assert_eq!(
        captions(&page),
        [
            "Workers on the east span. Photograph: Ana Ruiz/Riverside Daily",
            "Pictured: the final steel section being lifted into place.",
        ]
    );
    assert!(matches!(&page.blocks[0], Block::Caption(_)));
    assert_eq!(headings(&page), ["2027 and beyond"]);
    assert_eq!(paragraphs(&page).len(), 2);
    assert_dropped(
        name,
        &page,
        &[
            "Riverside Daily — News from both banks of the river since 1901",
            "Follow us on X",
            "Subscribe to our newsletter",
            "Sign in",
        ],
    );
}

#[test]
fn chinese_wire_story_with_editor_and_legal_footer() {
    let name = "zh-xinhua-style.txt";
    let page = parse(name);
    assert_eq!(page.title, "成渝双城经济圈建设提速");
    assert_eq!(page.date, at("2026-03-02 14:30:15"));
    assert_eq!(headings(&page), ["交通先行", "产业协同"]);
    assert_eq!(
        captions(&page),
        ["3月1日拍摄的成渝中线高铁建设工地。（新华社记者 张三 摄）"]
    );
    assert_eq!(paragraphs(&page).len(), 3);
    assert_dropped(
        name,
        &page,
        &[
            "新华网",
            "首页 > 新闻 > 城市",
            "2026-03-02 14:30:15　来源：新华网",
            "【字体：大 中 小】",
            "（完）",
            "责任编辑：李四",
            "扫一扫分享",
            "版权所有 © 2026 新华网",
            "京ICP备12345678号",
            "违法和不良信息举报电话：12377",
        ],
    );
}

#[test]
fn chinese_share_and_follow_prompts_and_quotes() {
    let name = "zh-share-follow.txt";
    let page = parse(name);
    assert_eq!(page.title, "天府国际机场旅客吞吐量创新高");
    assert_eq!(page.date, at("2026-05-14 09:00:00"));
    assert_eq!(headings(&page), ["新航线"]);
    assert_eq!(
        captions(&page),
        ["图为成都天府国际机场航站楼。（图/视觉中国）"]
    );
    assert_eq!(
        paragraphs(&page),
        [
            "今年一季度，天府国际机场旅客吞吐量同比增长百分之三十。",
            "机场负责人表示：“我们将继续开通国际航线。”",
            "今年下半年将新开通至欧洲的三条航线，”一位乘客说，这让出行更方便了。",
        ]
    );
    assert_dropped(
        name,
        &page,
        &[
            "关注我们",
            "分享到：微信 微博 QQ空间",
            "2026年5月14日 09:00",
            "相关新闻",
            "成都地铁十八号线延伸段开通",
            "双流机场国际航班转场",
            "举报电话：12345",
            "联系我们 | 关于我们 | 网站地图",
        ],
    );
}

#[test]
fn chinese_page_with_reporter_and_source_lines_and_no_date() {
    let name = "zh-no-heading.txt";
    let page = parse(name);
    assert_eq!(page.title, "长江索道迎来第一亿名乘客");
    assert_eq!(page.date, None);
    assert_eq!(headings(&page), Vec::<&str>::new());
    assert_eq!(paragraphs(&page).len(), 2);
    assert_dropped(
        name,
        &page,
        &[
            "重庆日报",
            "记者 王五",
            "来源：重庆日报",
            "编辑：赵六",
            "扫码关注公众号",
        ],
    );
}

#[test]
fn chinese_question_headline_and_previous_next_links() {
    let name = "zh-question.txt";
    let page = parse(name);
    assert_eq!(page.title, "为什么成都的熊猫基地总是排长队？");
    assert_eq!(page.date, at("2026-04-08 00:00:00"));
    assert_eq!(headings(&page), ["排队的原因", "怎么避开高峰"]);
    assert_eq!(captions(&page), ["资料图：游客在熊猫基地观看大熊猫。"]);
    assert_eq!(paragraphs(&page).len(), 3);
    assert_dropped(
        name,
        &page,
        &[
            "成都商报",
            "上一篇：成都公园城市建设新进展",
            "下一篇：春熙路商圈客流回升",
            "网友评论",
            "我要留言",
            "Copyright © 2026 Chengdu Business Daily. All rights reserved.",
            "Privacy Policy",
        ],
    );
}

#[test]
fn chinese_page_with_english_site_chrome() {
    let name = "zh-english-chrome.txt";
    let page = parse(name);
    assert_eq!(page.title, "重庆两江新区发布人工智能产业规划");
    assert_eq!(page.date, at("2026-06-01 10:20:00"));
    assert_eq!(headings(&page), ["重点方向"]);
    assert_eq!(
        captions(&page),
        ["规划提出，将建设三个人工智能创新中心。（两江新区管委会供图）"]
    );
    assert_eq!(paragraphs(&page).len(), 2);
    assert_dropped(
        name,
        &page,
        &[
            "Skip to main content",
            "Menu",
            "Search",
            "发布时间：2026年6月1日 10:20",
            "点击进入专题",
            "本网站使用cookies以改善您的体验。",
            "接受",
        ],
    );
}

// --- rules -------------------------------------------------------------------

#[test]
fn site_patterns_extend_the_built_in_ones() {
    let page = "Headline About the Harbour\n\nThe harbour reopened today.\n\nSponsored by Acme Ferries\n\nBoats returned at noon.\n\nThe quay at dawn [pic: R. Diaz]\n\nMore boats come tomorrow.\n";
    let plain = parse_page(page, &ChromeRules::default()).unwrap();
    assert!(kept(&plain).contains(&"Sponsored by Acme Ferries"));
    let rules = ChromeRules::new(
        &["^sponsored by".to_owned()],
        &[r"\[pic: [^\]]+\]$".to_owned()],
    )
    .unwrap();
    let page = parse_page(page, &rules).unwrap();
    assert!(!kept(&page).contains(&"Sponsored by Acme Ferries"));
    assert_eq!(captions(&page), ["The quay at dawn [pic: R. Diaz]"]);
}

#[test]
fn bad_site_pattern_is_named() {
    let err = ChromeRules::new(&["(unclosed".to_owned()], &[]).unwrap_err();
    assert_eq!(
        err,
        "`(unclosed` is not a regular expression (error: unclosed group)"
    );
}

#[test]
fn story_text_that_mentions_chrome_words_is_kept() {
    let rules = ChromeRules::default();
    for line in [
        "The bakery’s new cookies sold out by noon, the owner said.",
        "记者从市交通局获悉，新线路将于下月开通。",
        "By the numbers",
        "The bridge opened on March 2, 2026.",
    ] {
        assert!(!rules.is_chrome(line), "{line}");
        assert!(!rules.is_caption(line), "{line}");
        assert!(dateline(line).is_none(), "{line}");
    }
}

#[test]
fn headings_need_a_paragraph_after_them() {
    let page = "Headline Over the Story Here\n\nFirst paragraph.\n\nA short line\n\nAnother short line\n\nLast paragraph.\n";
    let page = parse_page(page, &ChromeRules::default()).unwrap();
    assert_eq!(headings(&page), ["Another short line"]);
    assert_eq!(
        paragraphs(&page),
        ["First paragraph.", "A short line", "Last paragraph."]
    );
}

#[test]
fn dates_in_several_spellings() {
    for (line, want) in [
        ("2026-03-02 14:30", "2026-03-02 14:30:00"),
        ("2026/3/2", "2026-03-02 00:00:00"),
        ("发布时间：2026年3月2日 08:05:09", "2026-03-02 08:05:09"),
        ("Updated Mar. 2nd, 2026, 12:30 a.m.", "2026-03-02 00:30:00"),
        ("Published: 2 March 2026 3:05 pm", "2026-03-02 15:05:00"),
    ] {
        assert_eq!(find_date(line), at(want), "{line}");
    }
    assert_eq!(find_date("2026-02-30"), None);
    assert_eq!(find_date("No date here"), None);
}

#[test]
fn pages_without_a_story_say_what_is_missing() {
    let rules = ChromeRules::default();
    assert_eq!(
        parse_page(" \n\n", &rules).unwrap_err(),
        "the page is empty"
    );
    assert_eq!(
        parse_page("Home\nJust a Menu Page\nContact us\n", &rules).unwrap_err(),
        "no story paragraphs found: no line ends like a sentence (. ! ? 。！？); is this a news page?"
    );
    assert_eq!(
        parse_page("The first line is already a sentence.\n", &rules).unwrap_err(),
        "no headline found: the page needs the headline on a line of its own above the first paragraph"
    );
}

// --- slugs -------------------------------------------------------------------

#[test]
fn english_slugs_are_lowercase_ascii_words() {
    assert_eq!(
        slugify("City Opens Second Cross-River Bridge Ahead of Schedule"),
        "city-opens-second-cross-river-bridge-ahead-of-schedule"
    );
    assert_eq!(
        slugify("Q&A: Why <Tom’s> *Bridge* Costs $2 & Not £1"),
        "q-a-why-toms-bridge-costs-2-not-1"
    );
    let long = slugify("One two three four five six seven eight nine ten eleven twelve thirteen");
    assert_eq!(
        long,
        "one-two-three-four-five-six-seven-eight-nine-ten-eleven"
    );
    assert!(long.len() <= MAX_SLUG);
}

#[test]
fn chinese_slugs_are_pinyin() {
    assert_eq!(
        slugify("成渝双城经济圈建设提速"),
        "cheng-yu-shuang-cheng-jing-ji-quan-jian-she-ti-su"
    );
    assert_eq!(slugify("C919大飞机首飞"), "c919-da-fei-ji-shou-fei");
    let long = slugify("为什么成都的熊猫基地总是排长队？为什么成都的熊猫基地总是排长队？");
    assert!(long.len() <= MAX_SLUG, "{long}");
    assert!(!long.ends_with('-'), "{long}");
}

#[test]
fn slugs_without_letters_are_a_stable_hash() {
    let slug = slugify("🚄🚄");
    assert_eq!(slug, slugify("🚄🚄"));
    assert!(slug.starts_with("page-") && slug.len() == 13, "{slug}");
    assert_ne!(slug, slugify("🚄"));
}

// --- the article file ----------------------------------------------------------

fn date() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-02T14:30:00+08:00").unwrap()
}

#[test]
fn article_file_has_toml_front_matter_headings_and_figure_captions() {
    let page = parse("en-riverside.txt");
    let markdown = to_markdown(&page, date());
    assert!(markdown.starts_with(
        "+++\ntitle = \"City Opens Second Cross-River Bridge Ahead of Schedule\"\ndate = 2026-03-02T14:30:00+08:00\n+++\n\nThe new bridge"
    ), "{markdown}");
    assert!(
        markdown.contains("\n\n## Traffic and trade\n\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n\n<figure><figcaption>The bridge at dusk. (Riverside Daily file photo)</figcaption></figure>\n\n"),
        "{markdown}"
    );
    assert!(markdown.contains("We finished four months early,” said the city’s"));
}

use crate::test_support::locales;

/// The article the Markdown source makes of `page`'s article file.
fn load_article(name: &str, locale: &str) -> Article {
    let page = parse(name);
    let locales = locales();
    let base_url = Url::parse("https://news.example.org/").unwrap();
    let ctx = LoadContext {
        locales: &locales,
        default_locale: "en",
        base_url: &base_url,
    };
    markdown::parse_document(
        Path::new(name),
        &to_markdown(&page, date()),
        slugify(&page.title),
        locale.to_owned(),
        &ctx,
    )
    .unwrap_or_else(|p| panic!("{p}"))
}

#[test]
fn article_html_keeps_text_exactly_and_captions_as_figures() {
    let article = load_article("en-markdown-chars.txt", "en");
    assert_eq!(article.title, "Q&A: Why <Tom’s> *Bridge* Costs $2 & Not £1");
    assert_eq!(article.slug, "q-a-why-toms-bridge-costs-2-not-1");
    let html = article.content_html().unwrap();
    for expected in [
        "<p>1. The first thing to know is that tolls pay for repairs, not profit.</p>",
        "<p>- A dash at the start of a line is just a dash, and so is # a hash.</p>",
        "<p>Prices use [brackets], back`ticks`, under_scores and *stars* as written; &amp;amp; stays as typed.</p>",
        "<p>&gt; Not a quote block, just an angle bracket.</p>",
        "<h2>#2 in a series</h2>",
        "<p>The series continues next week with the ferry’s “timetable”.</p>",
    ] {
        assert!(html.contains(expected), "{expected}\n{html}");
    }

    let article = load_article("en-riverside.txt", "en");
    let html = article.content_html().unwrap();
    assert!(
        html.contains("<figure><figcaption>The bridge at dusk. (Riverside Daily file photo)</figcaption></figure>"),
        "{html}"
    );
    assert!(html.contains("<h2>Traffic and trade</h2>"), "{html}");
    assert!(
        html.contains("<p>We finished four months early,” said the city’s transport director"),
        "{html}"
    );
    // Captions are not part of the summary.
    assert!(
        !article.summary().unwrap().contains("dusk"),
        "{}",
        article.summary().unwrap()
    );
}

#[test]
fn chinese_article_is_in_its_locale_with_a_pinyin_slug() {
    let article = load_article("zh-share-follow.txt", "zh");
    assert_eq!(
        article.slug,
        "tian-fu-guo-ji-ji-chang-lv-ke-tun-tu-liang-chuang-xin-gao"
    );
    assert_eq!(article.locale, "zh");
    assert_eq!(
        article.url.as_str(),
        "https://news.example.org/zh/tian-fu-guo-ji-ji-chang-lv-ke-tun-tu-liang-chuang-xin-gao/"
    );
    assert!(article.content_html().unwrap().contains("<h2>新航线</h2>"));
    assert!(
        article
            .content_html()
            .unwrap()
            .contains("三条航线，”一位乘客说")
    );
}

#[test]
fn file_names_carry_the_locale_unless_default() {
    assert_eq!(file_name("a", "en", "en"), PathBuf::from("a.md"));
    assert_eq!(file_name("a", "zh", "en"), PathBuf::from("a.zh.md"));
}

#[test]
fn invalid_utf8_names_the_line() {
    assert_eq!(
        decode(b"Headline\n\nBody \xff.\n").unwrap_err(),
        (3, "invalid UTF-8; save the page as UTF-8 text".to_owned())
    );
}

// --- bylines and tag lines ------------------------------------------------------

#[test]
fn bylines_name_the_authors() {
    for (line, authors) in [
        ("By Li Wei", &["Li Wei"][..]),
        ("By Li Wei and Anna Smith", &["Li Wei", "Anna Smith"]),
        ("By Li Wei, Anna Smith", &["Li Wei", "Anna Smith"]),
        ("by Li Wei & Anna Smith", &["Li Wei", "Anna Smith"]),
        ("By Li Wei, Staff Reporter", &["Li Wei"]),
        ("By Jane Doe | Harbour Herald", &["Jane Doe"]),
        ("By Li Wei in Beijing", &["Li Wei"]),
        ("By Ludwig van Beethoven", &["Ludwig van Beethoven"]),
        ("作者：李伟", &["李伟"]),
        ("作者: 李伟", &["李伟"]),
        ("作者：李伟、王五", &["李伟", "王五"]),
        ("作者：Anna Smith", &["Anna Smith"]),
        ("记者 李伟", &["李伟"]),
        ("本报记者 李伟 王五", &["李伟", "王五"]),
        ("记者：李伟", &["李伟"]),
        ("（记者 李伟）", &["李伟"]),
    ] {
        assert_eq!(byline(line).unwrap_or_default(), authors, "{line}");
    }
}

#[test]
fn story_text_that_starts_like_a_byline_is_no_byline() {
    for line in [
        "By continuing to use this site you consent to cookies and our Terms of Use.",
        "By Monday, the city will have reopened the bridge.",
        "By 2030 the line will reach the airport.",
        "记者从市交通局获悉，地铁十八号线将于年底开通。",
        "记者了解到，这项工程将于明年完工。",
        "Bypass traffic will move to the new road.",
        "作者简介",
    ] {
        assert_eq!(byline(line), None, "{line}");
    }
}

#[test]
fn tag_lines_list_the_tags() {
    for (line, tags) in [
        ("Tags: education, council", &["education", "council"][..]),
        ("Tag: Economy", &["Economy"]),
        (
            "TAGS: climate change; energy",
            &["climate change", "energy"],
        ),
        ("Tags: #transport | #city", &["transport", "city"]),
        ("标签：经济、交通", &["经济", "交通"]),
        ("标签: 经济，交通", &["经济", "交通"]),
        ("标签：经济 交通", &["经济", "交通"]),
        ("标签：成渝, 高铁", &["成渝", "高铁"]),
    ] {
        assert_eq!(tag_line(line).unwrap_or_default(), tags, "{line}");
    }
    assert_eq!(tag_line("Tags:"), None);
    assert_eq!(tag_line("Tagged items go to the back of the queue."), None);
}

#[test]
fn bylines_and_tags_become_authors_and_tags_not_body_text() {
    let page = parse("en-question-headline.txt");
    assert_eq!(page.authors, ["Jane Doe", "Sam Li"]);
    assert!(page.tags.is_empty());
    let page = parse("en-cookie-top.txt");
    assert_eq!(page.tags, ["education", "council"]);
    assert!(!kept(&page).contains(&"Tags: education, council"));
    let page = parse("zh-no-heading.txt");
    assert_eq!(page.authors, ["王五"]);
    assert!(!kept(&page).contains(&"记者 王五"));

    let rules = ChromeRules::default();
    let page = parse_page(
        "新华网\n成渝双城经济圈建设提速\n作者：李伟\n2026-03-02 14:30\n\n成渝地区双城经济圈建设按下快进键。\n\n作者：李伟\n标签：经济、交通，成渝\n",
        &rules,
    )
    .unwrap();
    assert_eq!(page.authors, ["李伟"], "each name once");
    assert_eq!(page.tags, ["经济", "交通", "成渝"]);
    assert_eq!(
        kept(&page),
        [
            "成渝双城经济圈建设提速",
            "成渝地区双城经济圈建设按下快进键。"
        ]
    );
}

#[test]
fn authors_and_tags_are_written_to_the_front_matter() {
    let page = parse_page(
        "Bridge Opens Early\nBy Li Wei and Anna Smith\n\nThe bridge opened on Monday.\n\nTags: transport, city\n",
        &ChromeRules::default(),
    )
    .unwrap();
    let markdown = to_markdown(&page, date());
    let front = markdown
        .strip_prefix("+++\n")
        .and_then(|m| m.split_once("+++\n"))
        .map(|(front, _)| front)
        .unwrap();
    let front: toml::Table = toml::from_str(front).unwrap();
    let strings = |key: &str| -> Vec<String> {
        front[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(strings("authors"), ["Li Wei", "Anna Smith"]);
    assert_eq!(strings("tags"), ["transport", "city"]);
    let article = markdown::parse_document(
        Path::new("bridge.md"),
        &markdown,
        "bridge-opens-early".to_owned(),
        "en".to_owned(),
        &LoadContext {
            locales: &locales(),
            default_locale: "en",
            base_url: &Url::parse("https://news.example.org/").unwrap(),
        },
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(article.authors, ["Li Wei", "Anna Smith"]);
    assert_eq!(article.tags, ["transport", "city"]);
    // A page without either writes neither key.
    let plain = to_markdown(&parse("en-riverside.txt"), date());
    assert!(
        !plain.contains("authors") && !plain.contains("tags"),
        "{plain}"
    );
}

// --- time zones and slugs given by hand -------------------------------------------

fn zone(name: &str) -> PageZone {
    PageZone::new(Some(name.parse().unwrap()))
}

#[test]
fn datelines_are_read_in_the_named_zone() {
    let date = at("2026-03-02 14:30:00").unwrap();
    assert_eq!(
        zone("Asia/Shanghai").read(date).to_rfc3339(),
        "2026-03-02T14:30:00+08:00"
    );
    assert_eq!(
        zone("UTC").read(date).to_rfc3339(),
        "2026-03-02T14:30:00+00:00"
    );
    assert_eq!(
        zone("Europe/London")
            .read(at("2026-07-01 09:00:00").unwrap())
            .to_rfc3339(),
        "2026-07-01T09:00:00+01:00"
    );
}

#[test]
fn times_the_clocks_pass_twice_or_skip_take_the_earlier_instant() {
    let new_york = zone("America/New_York");
    // DST ends: 01:30 happens at -04:00, then again at -05:00.
    assert_eq!(
        new_york
            .read(at("2026-11-01 01:30:00").unwrap())
            .to_rfc3339(),
        "2026-11-01T01:30:00-04:00"
    );
    // DST starts: 02:00-03:00 does not exist. 02:30 read with the offset
    // after the change (-04:00) is 06:30 UTC, the earlier of the two readings.
    let skipped = new_york.read(at("2026-03-08 02:30:00").unwrap());
    assert_eq!(skipped.to_rfc3339(), "2026-03-08T01:30:00-05:00");
    assert_eq!(
        skipped.with_timezone(&chrono::Utc).to_rfc3339(),
        "2026-03-08T06:30:00+00:00"
    );
    // Europe: the gap is 01:00-02:00 UTC.
    assert_eq!(
        zone("Europe/Berlin")
            .read(at("2026-03-29 02:30:00").unwrap())
            .with_timezone(&chrono::Utc)
            .to_rfc3339(),
        "2026-03-29T00:30:00+00:00"
    );
}

#[test]
fn slugs_given_by_hand_follow_the_loaders_rules_in_lowercase_ascii() {
    for slug in ["bridge-opens", "v1.2-release", "a_b", "2026-budget"] {
        assert_eq!(check_slug(slug), Ok(()), "{slug}");
    }
    for slug in [
        "Bridge", "成渝", "café", "a b", "a/b", "", ".hidden", "a..b", "end.",
    ] {
        assert_eq!(
            check_slug(slug).unwrap_err(),
            format!(
                "`{slug}` is not a slug: use lowercase ASCII letters, digits, '-', '_' and inner '.' (it names the file and the article's URL), e.g. `bridge-opens-early`"
            ),
            "{slug}"
        );
    }
    assert_eq!(
        check_slug("story.zh").unwrap_err(),
        "`story.zh` ends in `.zh`, which the loader reads as a locale suffix; use '-' instead (`story-zh`)"
    );
}

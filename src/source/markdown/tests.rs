use super::*;

/// [`crate::source::pair`] of articles made here by value.
fn pair(articles: Vec<Article>) -> (crate::model::Corpus, Vec<Problem>) {
    crate::source::pair(articles.into_iter().map(Box::new).collect())
}
use url::Url;

const DATE_LINE: &str = "date = 2026-11-20T09:30:00+08:00\n";

use crate::test_support::locales;

/// Parses `bytes` as the file `name`, with en (default) and zh configured.
fn parse_bytes(name: &str, bytes: &[u8]) -> Result<Article, Problem> {
    let locales = locales();
    let base_url = Url::parse("https://news.example.org/").unwrap();
    let ctx = LoadContext {
        locales: &locales,
        default_locale: "en",
        base_url: &base_url,
    };
    parse_file(Path::new(name), bytes, &ctx)
}

fn parse(name: &str, text: &str) -> Result<Article, Problem> {
    parse_bytes(name, text.as_bytes())
}

fn ok(name: &str, text: &str) -> Article {
    parse(name, text).unwrap_or_else(|p| panic!("{name} should load: {p}"))
}

fn problem(name: &str, text: &str) -> Problem {
    match parse(name, text) {
        Ok(article) => panic!("{name} should be rejected, got {article:?}"),
        Err(problem) => {
            assert_eq!(problem.path, Path::new(name));
            problem
        }
    }
}

/// A file with a title and date, `extra` front matter lines and `body`.
fn file(extra: &str, body: &str) -> String {
    format!("+++\ntitle = \"Story\"\n{DATE_LINE}{extra}+++\n{body}")
}

// --- errors -----------------------------------------------------------

#[test]
fn rejects_file_without_front_matter() {
    let p = problem("story.md", "# Story\n\nNo front matter.\n");
    assert_eq!(p.line, Some(1));
    assert!(
        p.message
            .starts_with("no front matter: the file must start with a `+++` line"),
        "{p}"
    );
}

#[test]
fn rejects_front_matter_fence_that_is_not_on_the_first_line() {
    let p = problem("story.md", "\n+++\ntitle = \"Story\"\n+++\n");
    assert_eq!(p.line, Some(1));
    assert!(p.message.starts_with("no front matter"), "{p}");
}

#[test]
fn rejects_unterminated_front_matter() {
    let p = problem(
        "story.md",
        "+++\ntitle = \"Story\"\n\nBody without a closing fence.\n",
    );
    assert_eq!(p.line, Some(1));
    assert_eq!(
        p.message,
        "unterminated front matter: the `+++` on line 1 has no closing `+++` line"
    );
    assert_eq!(
        p.to_string(),
        "story.md:1: unterminated front matter: the `+++` on line 1 has no closing `+++` line"
    );
}

#[test]
fn reports_invalid_toml_at_its_line_in_the_file() {
    // The third front matter line is line 4 of the file.
    let p = problem(
        "story.md",
        &format!("+++\ntitle = \"Story\"\n{DATE_LINE}tags = [\"a\", \n+++\nBody\n"),
    );
    assert_eq!(p.line, Some(4), "{p}");
    assert!(p.message.starts_with("invalid front matter: "), "{p}");
}

#[test]
fn reports_unterminated_string_at_its_line_in_the_file() {
    let p = problem(
        "story.md",
        &format!("+++\n{DATE_LINE}\ntitle = \"Story\n+++\nBody\n"),
    );
    assert_eq!(p.line, Some(4), "{p}");
    assert!(p.message.starts_with("invalid front matter: "), "{p}");
}

#[test]
fn rejects_unknown_front_matter_key_with_its_line() {
    let p = problem(
        "story.md",
        &file("summary = \"S\"\ntitel = \"Typo\"\n", "Body"),
    );
    assert_eq!(p.line, Some(5), "{p}");
    assert!(p.message.starts_with("invalid front matter: "), "{p}");
    assert!(p.message.contains("unknown field `titel`"), "{p}");
    // The valid keys are listed so the typo is easy to fix.
    assert!(p.message.contains("`title`"), "{p}");
}

#[test]
fn rejects_missing_title() {
    let p = problem("story.md", &format!("+++\n{DATE_LINE}+++\nBody\n"));
    assert_eq!(p.line, None);
    assert_eq!(
        p.message,
        "missing `title`: add title = \"…\" to the front matter"
    );
}

#[test]
fn rejects_blank_title_at_its_line() {
    let p = problem(
        "story.md",
        &format!("+++\n{DATE_LINE}title = \"  \\u0001 \"\n+++\nBody\n"),
    );
    assert_eq!(p.line, Some(3), "{p}");
    assert!(p.message.starts_with("missing `title`"), "{p}");
}

#[test]
fn rejects_missing_date() {
    let p = problem("story.md", "+++\ntitle = \"Story\"\n+++\nBody\n");
    assert_eq!(p.line, None);
    assert_eq!(
        p.message,
        "missing `date`: add date = 2026-11-20T09:30:00+08:00 (RFC 3339 with offset) to the front matter"
    );
}

#[test]
fn rejects_date_without_offset() {
    let p = problem(
        "story.md",
        "+++\ntitle = \"Story\"\ndate = 2026-11-20T09:30:00\n+++\nBody\n",
    );
    assert_eq!(p.line, Some(3));
    assert_eq!(
        p.message,
        "invalid `date`: `2026-11-20T09:30:00` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00"
    );
}

#[test]
fn rejects_date_without_time() {
    let p = problem(
        "story.md",
        "+++\ntitle = \"Story\"\ndate = 2026-11-20\n+++\nBody\n",
    );
    assert_eq!(p.line, Some(3));
    assert!(
        p.message
            .starts_with("invalid `date`: `2026-11-20` is not an RFC 3339 date-time"),
        "{p}"
    );
}

#[test]
fn rejects_date_string_that_is_not_rfc_3339() {
    let p = problem(
        "story.md",
        "+++\ntitle = \"Story\"\ndate = \"20 November 2026\"\n+++\nBody\n",
    );
    assert_eq!(p.line, Some(3));
    assert_eq!(
        p.message,
        "invalid `date`: `20 November 2026` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00"
    );
}

#[test]
fn rejects_date_string_without_offset() {
    let p = problem(
        "story.md",
        "+++\ntitle = \"Story\"\ndate = \"2026-11-20T09:30:00\"\n+++\nBody\n",
    );
    assert_eq!(p.line, Some(3));
    assert!(
        p.message
            .starts_with("invalid `date`: `2026-11-20T09:30:00` is not an RFC 3339"),
        "{p}"
    );
}

#[test]
fn rejects_date_of_another_type_at_its_line() {
    for value in ["20261120", "true", "[2026, 11, 20]", "{ day = 20 }"] {
        let p = problem(
            "story.md",
            &format!("+++\ntitle = \"Story\"\ndate = {value}\n+++\nBody\n"),
        );
        assert_eq!(p.line, Some(3), "{value}: {p}");
        assert_eq!(
            p.message,
            "invalid front matter: data did not match any variant of untagged enum DateValue",
            "{value}"
        );
    }
}

#[test]
fn toml_dates_read_as_their_rfc_3339_text() {
    // Each TOML datetime means what its RFC 3339 text means.
    for (toml, rfc_3339) in [
        ("2026-11-20T09:30:00+08:00", "2026-11-20T09:30:00+08:00"),
        ("2026-11-20 09:30:00Z", "2026-11-20T09:30:00+00:00"),
        ("2026-11-20t09:30:00z", "2026-11-20T09:30:00+00:00"),
        (
            "2026-11-20T09:30:00.25-05:30",
            "2026-11-20T09:30:00.250-05:30",
        ),
        (
            "2026-11-20T09:30:00.123456789+14:00",
            "2026-11-20T09:30:00.123456789+14:00",
        ),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60+00:00"),
        ("0001-01-01T00:00:00-00:00", "0001-01-01T00:00:00+00:00"),
    ] {
        let article = ok(
            "story.md",
            &format!("+++\ntitle = \"Story\"\ndate = {toml}\n+++\nBody\n"),
        );
        let expected = chrono::DateTime::parse_from_rfc3339(rfc_3339).unwrap();
        assert_eq!(article.date, expected, "{toml}");
        assert_eq!(article.date.offset(), expected.offset(), "{toml}");
    }
    for (toml, message) in [
        (
            "2026-11-20T09:30+08:00",
            "invalid `date`: `2026-11-20T09:30+08:00` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00",
        ),
        (
            "09:30:00",
            "invalid `date`: `09:30:00` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00",
        ),
        (
            "2026-02-30T09:30:00+08:00",
            "invalid front matter: invalid date, expected day between 01 and 28",
        ),
    ] {
        let p = problem(
            "story.md",
            &format!("+++\ntitle = \"Story\"\ndate = {toml}\n+++\nBody\n"),
        );
        assert_eq!(p.line, Some(3), "{toml}: {p}");
        assert_eq!(p.message, message, "{toml}");
    }
}

#[test]
fn accepts_date_given_as_rfc_3339_string() {
    let article = ok(
        "story.md",
        "+++\ntitle = \"Story\"\ndate = \"2026-11-20T09:30:00+08:00\"\n+++\nBody\n",
    );
    assert_eq!(article.date.to_rfc3339(), "2026-11-20T09:30:00+08:00");
}

#[test]
fn rejects_invalid_utf8_at_the_line_of_the_bad_byte() {
    let mut bytes = file("", "First line\nSecond line\n").into_bytes();
    // Line 7 of the file: after 4 front matter lines and 2 body lines.
    bytes.extend_from_slice(b"caf\xE9 au lait\n");
    let p = parse_bytes("story.md", &bytes).unwrap_err();
    assert_eq!(p.line, Some(7), "{p}");
    assert_eq!(p.message, "invalid UTF-8; save the file as UTF-8");
}

#[test]
fn rejects_invalid_utf8_on_the_first_line() {
    let p = parse_bytes("story.md", b"\xFF+++\n").unwrap_err();
    assert_eq!(p.line, Some(1));
    assert_eq!(p.message, "invalid UTF-8; save the file as UTF-8");
}

#[test]
fn rejects_updated_earlier_than_date() {
    let p = problem(
        "story.md",
        &file("updated = 2026-11-20T09:29:59+08:00\n", "Body"),
    );
    assert_eq!(p.line, Some(4));
    assert_eq!(
        p.message,
        "`updated` is earlier than `date`; a story cannot change before it is published"
    );
}

#[test]
fn compares_updated_and_date_across_offsets() {
    // 09:00 in UTC is 17:00 in +08:00, so this update is later, not earlier.
    let article = ok(
        "story.md",
        &file("updated = 2026-11-20T09:00:00Z\n", "Body"),
    );
    assert!(article.updated.unwrap() > article.date);
}

#[test]
fn rejects_invalid_updated() {
    let p = problem("story.md", &file("updated = 2026-11-21T10:00:00\n", "Body"));
    assert_eq!(p.line, Some(4));
    assert!(
        p.message
            .starts_with("invalid `updated`: `2026-11-21T10:00:00` is not an RFC 3339"),
        "{p}"
    );
}

#[test]
fn rejects_invalid_slug_at_its_line() {
    let p = problem("story.md", &file("slug = \"../etc/passwd\"\n", "Body"));
    assert_eq!(p.line, Some(4));
    assert_eq!(
        p.message,
        "invalid `slug` `../etc/passwd`: use letters, digits, '-', '_' and inner '.' only"
    );
    let p = problem("story.md", &file("slug = \"\"\n", "Body"));
    assert!(p.message.starts_with("invalid `slug` ``"), "{p}");
}

#[test]
fn rejects_unknown_locale_suffix_naming_configured_locales() {
    let p = problem("story.fr.md", &file("", "Bonjour"));
    assert_eq!(p.line, None);
    assert_eq!(
        p.message,
        "unknown locale suffix `.fr`: configured locales are en, zh; add [locales.fr] to config.toml or rename the file"
    );
    let p = problem("story.zh-TW.md", &file("", "Body"));
    assert!(
        p.message.starts_with("unknown locale suffix `.zh-TW`"),
        "{p}"
    );
}

#[test]
fn rejects_file_name_that_is_not_a_slug() {
    let p = problem("my story.md", &file("", "Body"));
    assert_eq!(p.line, None);
    assert_eq!(
        p.message,
        "cannot derive a slug from the file name `my story`: use letters, digits, '-', '_' and '.' or set `slug` in the front matter"
    );
}

/// `2-release` is rightly not taken for a locale, but today the dot
/// then makes the whole stem an invalid slug and the file is rejected
/// ("cannot derive a slug from the file name `v1.2-release`").
#[test]
fn dotted_file_name_that_is_not_a_locale_keeps_its_dots_in_the_slug() {
    let article = ok("v1.2-release.md", &file("", "Body"));
    assert_eq!(article.slug, "v1.2-release");
    assert_eq!(article.locale, "en");
    assert_eq!(
        article.url.as_str(),
        "https://news.example.org/v1.2-release/"
    );
}

#[test]
fn front_matter_slug_rescues_a_file_name_that_is_not_a_slug() {
    // The error message above promises this works.
    let article = ok(
        "v1.2-release.md",
        &file("slug = \"v1-2-release\"\n", "Body"),
    );
    assert_eq!(article.slug, "v1-2-release");
}

#[test]
fn rejects_image_that_is_not_a_url() {
    let p = problem(
        "story.md",
        &file("image = \"https://[bad/pic.jpg\"\n", "Body"),
    );
    assert_eq!(p.line, Some(4));
    assert!(p.message.starts_with("invalid `image`: "), "{p}");
}

// --- happy paths ------------------------------------------------------

#[test]
fn plain_file_name_gets_the_default_locale() {
    let article = ok("articles/story.md", &file("", "Body"));
    assert_eq!(article.locale, "en");
    assert_eq!(article.slug, "story");
    assert_eq!(article.story_id, "story");
    assert_eq!(article.url.as_str(), "https://news.example.org/story/");
    assert_eq!(article.title, "Story");
    assert_eq!(article.date.to_rfc3339(), "2026-11-20T09:30:00+08:00");
    assert_eq!(article.updated, None);
    assert!(!article.draft);
    assert_eq!(article.source_path, Path::new("articles/story.md"));
}

#[test]
fn locale_suffix_selects_the_locale_and_its_url() {
    let article = ok("story.zh.md", &file("", "正文。"));
    assert_eq!(article.locale, "zh");
    assert_eq!(article.slug, "story");
    assert_eq!(article.url.as_str(), "https://news.example.org/zh/story/");
}

#[test]
fn default_locale_suffix_is_accepted() {
    let article = ok("story.en.md", &file("", "Body"));
    assert_eq!(
        (article.slug.as_str(), article.locale.as_str()),
        ("story", "en")
    );
}

#[test]
fn front_matter_slug_and_id_override_the_file_name() {
    let article = ok(
        "draft-name.zh.md",
        &file("slug = \"final_name\"\nid = \"story-42\"\n", "Body"),
    );
    assert_eq!(article.slug, "final_name");
    assert_eq!(article.story_id, "story-42");
    assert_eq!(article.locale, "zh");
    assert_eq!(
        article.url.as_str(),
        "https://news.example.org/zh/final_name/"
    );
}

#[test]
fn blank_id_falls_back_to_the_slug() {
    let article = ok("story.md", &file("id = \"  \"\n", "Body"));
    assert_eq!(article.story_id, "story");
}

#[test]
fn summary_from_front_matter_wins_over_the_body() {
    let article = ok(
        "story.md",
        &file("summary = \"  The summary. \"\n", "The body text."),
    );
    assert_eq!(article.summary().unwrap(), "The summary.");
}

#[test]
fn summary_falls_back_to_an_excerpt_of_the_body() {
    let article = ok(
        "story.md",
        &file(
            "summary = \" \"\n",
            "# Heading\n\nFirst *para*.\nSame para.\n\n| a |\n|---|\n| cell |\n\n```\ncode\n```\n\nSecond.\n",
        ),
    );
    // Headings, tables and code blocks are not part of the excerpt.
    assert_eq!(article.summary().unwrap(), "First para. Same para. Second.");
}

#[test]
fn chinese_excerpt_is_cut_at_a_sentence_end() {
    let sentence = "成渝地区双城经济圈建设提速。"; // 14 characters
    let body = format!("{}\n\n{}", sentence.repeat(5), sentence.repeat(5));
    let article = ok("story.zh.md", &file("", &body));
    // 8 whole sentences fit in the 120-character budget; no "…".
    assert_eq!(article.summary().unwrap(), sentence.repeat(8));
}

#[test]
fn relative_links_become_absolute_against_the_article_url() {
    let article = ok(
        "story.zh.md",
        &file(
            "",
            "[other](../other/) [here](photo.jpg) ![pic](img/a.png) [abs](https://example.com/x)\n",
        ),
    );
    let html = article.content_html().unwrap();
    assert!(
        html.contains(r#"href="https://news.example.org/zh/other/""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://news.example.org/zh/story/photo.jpg""#),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://news.example.org/zh/story/img/a.png""#),
        "{html}"
    );
    assert!(html.contains(r#"href="https://example.com/x""#), "{html}");
}

#[test]
fn scripts_handlers_and_javascript_urls_are_removed() {
    let article = ok(
        "story.md",
        &file(
            "",
            "Hi <span onclick=\"steal()\">there</span>\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) <a href=\"javascript:alert(2)\">raw</a>\n\n<img src=x onerror=\"alert(3)\">\n",
        ),
    );
    let html = article.content_html().unwrap();
    assert!(!html.contains("script"), "{html}");
    assert!(!html.contains("alert"), "{html}");
    assert!(!html.contains("onclick"), "{html}");
    assert!(!html.contains("onerror"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(html.contains("there"), "{html}");
    assert!(html.contains("click"), "{html}");
}

#[test]
fn renders_tables_strikethrough_and_footnotes() {
    let article = ok(
        "story.md",
        &file(
            "",
            "| City | GDP |\n|------|-----|\n| Chengdu | 2.2 |\n\n~~old~~ new[^1]\n\n[^1]: The note.\n",
        ),
    );
    let html = article.content_html().unwrap();
    assert!(html.contains("<table>"), "{html}");
    assert!(html.contains("<th>City</th>"), "{html}");
    assert!(html.contains("<td>Chengdu</td>"), "{html}");
    assert!(html.contains("<del>old</del>"), "{html}");
    assert!(
        html.contains(r#"<sup><a href="https://news.example.org/story/#1""#),
        "{html}"
    );
    assert!(html.contains("The note."), "{html}");
    // Footnote definitions stay out of the excerpt.
    assert!(
        !article.summary().unwrap().contains("The note."),
        "{}",
        article.summary().unwrap()
    );
}

#[test]
fn xml_illegal_controls_are_removed_from_title_body_and_summary() {
    let article = ok(
        "story.md",
        "+++\ntitle = \"Bell\\u0001Title\\u001B\"\nsummary = \"Sum\\u0008mary\"\ntags = [\"t\\u0002ag\", \"\\u0003\"]\ndate = 2026-11-20T09:30:00+08:00\n+++\nBo\u{1}dy\u{b} text\u{0}.\n",
    );
    assert_eq!(article.title, "BellTitle");
    assert_eq!(article.summary().unwrap(), "Summary");
    assert_eq!(article.tags, vec!["tag".to_owned()]);
    assert!(
        article.content_html().unwrap().contains("Body text."),
        "{}",
        article.content_html().unwrap()
    );
    assert!(
        !article
            .content_html()
            .unwrap()
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "{:?}",
        article.content_html().unwrap()
    );
}

#[test]
fn excerpt_has_no_xml_illegal_controls() {
    let article = ok("story.md", &file("", "Bo\u{1}dy\u{FFFF}."));
    assert_eq!(article.summary().unwrap(), "Body.");
}

#[test]
fn title_keeps_markup_characters_quotes_and_emoji_exactly() {
    let title = r#"Q&A: <b>"Tom's"</b> ]]> 成渝 🚄"#;
    let article = ok(
        "story.md",
        &format!("+++\ntitle = '''{title}'''\n{DATE_LINE}+++\nBody\n"),
    );
    assert_eq!(article.title, title);
}

#[test]
fn image_is_resolved_against_the_base_url_not_the_article() {
    let article = ok(
        "story.zh.md",
        &file("image = \"images/lead.jpg\"\n", "Body"),
    );
    assert_eq!(
        article.image.unwrap().as_str(),
        "https://news.example.org/images/lead.jpg"
    );
    let article = ok(
        "story.md",
        &file("image = \"https://cdn.example.com/a.jpg\"\n", "Body"),
    );
    assert_eq!(
        article.image.unwrap().as_str(),
        "https://cdn.example.com/a.jpg"
    );
}

#[test]
fn tags_authors_and_draft_are_read_and_trimmed() {
    let article = ok(
        "story.md",
        &file(
            "tags = [\" economy \", \"\", \"transport\"]\nauthors = [\"Li Wei\"]\ndraft = true\n",
            "Body",
        ),
    );
    assert_eq!(article.tags, vec!["economy", "transport"]);
    assert_eq!(article.authors, vec!["Li Wei"]);
    assert!(article.draft);
}

#[test]
fn accepts_bom_and_crlf_line_endings() {
    let text =
        "\u{FEFF}+++\r\ntitle = \"Story\"\r\ndate = 2026-11-20T09:30:00+08:00\r\n+++\r\nBody\r\n";
    let article = ok("story.md", text);
    assert_eq!(article.title, "Story");
    assert_eq!(article.summary().unwrap(), "Body");
}

#[test]
fn empty_body_gives_empty_summary() {
    let article = ok("story.md", &file("", ""));
    assert_eq!(article.summary().unwrap(), "");
    assert_eq!(article.content_html().unwrap(), "");
}

// --- pairing ----------------------------------------------------------

#[test]
fn pairs_translations_into_one_story() {
    let (corpus, problems) = pair(vec![
        ok("story.zh.md", &file("", "正文。")),
        ok("story.md", &file("", "Body")),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(corpus.stories.len(), 1);
    let story = &corpus.stories[0];
    assert_eq!((story.id.as_str(), story.slug.as_str()), ("story", "story"));
    assert_eq!(
        story.translations.keys().collect::<Vec<_>>(),
        vec!["en", "zh"]
    );
}

/// Every problem, as the user sees it (`path: message`), one per line.
fn report(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn duplicate_slug_in_one_locale_names_both_files() {
    let (corpus, problems) = pair(vec![
        ok("b/renamed.md", &file("slug = \"story\"\n", "Second")),
        ok("a/story.md", &file("", "First")),
        ok("a/story.zh.md", &file("", "正文。")),
    ]);
    let all = report(&problems);
    assert!(!problems.is_empty());
    for p in &problems {
        assert_eq!(p.line, None);
        assert!(
            p.message
                .starts_with("duplicate slug `story` in locale `en`: "),
            "{all}"
        );
        assert!(
            p.message
                .ends_with("; rename one file or set a different `slug` in its front matter"),
            "{all}"
        );
        // Each report names both files: its own path and the other one.
        let named = format!("{} {}", p.path.display(), p.message);
        assert!(named.contains("a/story.md"), "{all}");
        assert!(named.contains("b/renamed.md"), "{all}");
    }
    // The Chinese version is not a duplicate.
    assert!(!all.contains("locale `zh`"), "{all}");
    let en_versions: Vec<_> = corpus
        .stories
        .iter()
        .filter_map(|s| s.translations.get("en"))
        .collect();
    assert!(en_versions.len() <= 1, "{en_versions:?}");
}

#[test]
fn translations_disagreeing_on_id_are_a_problem() {
    let (_, problems) = pair(vec![
        ok("story.md", &file("id = \"one\"\n", "Body")),
        ok("story.zh.md", &file("id = \"two\"\n", "正文。")),
    ]);
    let all = report(&problems);
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p.line.is_none()), "{all}");
    assert!(all.contains("`one`") || all.contains("one,"), "{all}");
    assert!(all.contains("two"), "{all}");
    assert!(all.contains("story.md"), "{all}");
    assert!(all.contains("story.zh.md"), "{all}");
    assert!(all.contains("id`"), "{all}");
}

#[test]
fn two_stories_sharing_one_id_are_a_problem() {
    let (_, problems) = pair(vec![
        ok("alpha.md", &file("id = \"shared\"\n", "A")),
        ok("beta.md", &file("id = \"shared\"\n", "B")),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.path, Path::new("beta.md"));
    assert_eq!(
        p.message,
        "story id `shared` is also used by the story with slug `alpha`; ids must be unique"
    );
}

#[test]
fn pairing_is_independent_of_input_order() {
    let a = ok("a.md", &file("", "A"));
    let b = ok("b.md", &file("", "B"));
    let b_zh = ok("b.zh.md", &file("", "乙。"));
    let (forward, _) = pair(vec![a.clone(), b.clone(), b_zh.clone()]);
    let (backward, _) = pair(vec![b_zh, b, a]);
    assert_eq!(forward, backward);
}

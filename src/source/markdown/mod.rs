//! Markdown source: `slug.md` / `slug.<locale>.md` files with `+++` TOML
//! front matter, rendered with pulldown-cmark and sanitised once here.
//!
//! Reports every bad file with its path and line; never localises or
//! renders feeds.

use super::clean::{excerpt, sanitize_html, strip_xml_illegal};
use super::front_matter::{DateValue, FrontMatter};
use super::{LoadContext, Problem};
use crate::model::Article;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

const FENCE: &str = "+++";

/// Indexes every `.md` file under `dir` (recursively, hidden entries
/// skipped), in parallel: front matter parsed and checked, the body checked
/// as UTF-8 but not rendered (see [`render_file`]); returns the good
/// articles (boxed where they are made, see [`super::load`]) and every
/// problem found.
pub fn load_dir(dir: &Path, ctx: &LoadContext) -> (Vec<Box<Article>>, Vec<Problem>) {
    let mut files = Vec::new();
    if let Err(problem) = collect_files(dir, "md", &mut files) {
        return (Vec::new(), vec![problem]);
    }
    let results: Vec<Result<Box<Article>, Problem>> = files
        .par_iter()
        .map_init(Vec::new, |buffer, path| {
            // The whole file is read (they are small) but only the front
            // matter is kept: the body is rendered later, if it reaches an
            // output (`render_file`), so the corpus is never held in memory.
            // One buffer per worker, reused: a fresh one per file cost a
            // large allocation (and the allocator's consolidation) each.
            // Read through `take`, because `File`'s own `read_to_end` first
            // stats the file to size a buffer we already have.
            buffer.clear();
            std::fs::File::open(path)
                .and_then(|file| {
                    std::io::Read::read_to_end(&mut std::io::Read::take(file, u64::MAX), buffer)
                })
                .map_err(|e| Problem {
                    path: path.clone(),
                    line: None,
                    message: format!("cannot read file: {e}"),
                })?;
            index_file(path, buffer, ctx).map(Box::new)
        })
        .collect();
    super::split_results(results)
}

/// Every `*.<extension>` file under `dir`, recursively and sorted; hidden
/// entries skipped. Shared with the other file-based sources.
pub(super) fn collect_files(
    dir: &Path,
    extension: &str,
    out: &mut Vec<PathBuf>,
) -> Result<(), Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| Problem {
        path: dir.to_path_buf(),
        line: None,
        message: format!(
            "cannot read the article folder: {e}; check [[sources]] path in config.toml"
        ),
    })?;
    // Sorted by name: every path is `dir/name`, so comparing the paths'
    // bytes orders them by name (without comparing component by component
    // or keeping a copy of each name); the entry's file type usually comes
    // with the listing, so no `stat` per file.
    let mut paths: Vec<(PathBuf, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let is_dir = match e.file_type() {
                Ok(t) if t.is_symlink() => e.path().is_dir(),
                Ok(t) => t.is_dir(),
                Err(_) => e.path().is_dir(),
            };
            (e.path(), is_dir)
        })
        .collect();
    paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    for (path, is_dir) in paths {
        let hidden = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if is_dir {
            collect_files(&path, extension, out)?;
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses and renders one article file. `bytes` are the file's contents.
pub fn parse_file(path: &Path, bytes: &[u8], ctx: &LoadContext) -> Result<Article, Problem> {
    let mut article = index_file(path, bytes, ctx)?;
    let offset = article.body_offset.take().unwrap_or(bytes.len());
    // `index_file` checked the whole file as UTF-8 and `offset` is the end
    // of the front matter's closing line, so this cannot fail.
    let body = std::str::from_utf8(&bytes[offset..]).unwrap_or_default();
    render_body(&mut article, body);
    Ok(article)
}

/// Renders the body of an article indexed by [`index_file`], reading it
/// again from its file; afterwards `content_html` and `summary` are final.
/// A file changed since it was indexed (so its body no longer starts where
/// it did, or is no longer UTF-8) is a problem: run the command again.
pub fn render_file(article: &mut Article) -> Result<(), Problem> {
    let Some(offset) = article.body_offset else {
        return Ok(());
    };
    let path = article.source_path.clone();
    let problem = |message: String| Problem {
        path: path.clone(),
        line: None,
        message,
    };
    let bytes = std::fs::read(&path).map_err(|e| problem(format!("cannot read file: {e}")))?;
    let body = bytes
        .get(offset..)
        .and_then(|body| std::str::from_utf8(body).ok())
        .ok_or_else(|| {
            problem("the file changed while gazette was reading it; run the command again".into())
        })?;
    render_body(article, body);
    article.body_offset = None;
    Ok(())
}

/// Checks and indexes one article file: everything but rendering its body.
/// The article's `body_offset` says where the body starts.
pub fn index_file(path: &Path, bytes: &[u8], ctx: &LoadContext) -> Result<Article, Problem> {
    let problem = |line: Option<usize>, message: String| Problem {
        path: path.to_path_buf(),
        line,
        message,
    };
    // The fast SIMD check first; std's validator only to locate an error.
    let text = simdutf8::basic::from_utf8(bytes)
        .or_else(|_| std::str::from_utf8(bytes))
        .map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            problem(
                Some(line),
                "invalid UTF-8; save the file as UTF-8".to_owned(),
            )
        })?;
    let (file_slug, locale_key) = split_file_name(path, ctx).map_err(|m| problem(None, m))?;
    let (mut article, body) = index_document(path, text, file_slug, locale_key, ctx)?;
    article.body_offset = Some(text.len() - body.len());
    Ok(article)
}

/// Parses the text of an article file whose name gave `file_slug` and
/// `locale_key`; problems name `path`. Other sources that produce article
/// text (scraped pages) come through here, so every article is rendered
/// and sanitised the same way.
pub(super) fn parse_document(
    path: &Path,
    text: &str,
    file_slug: String,
    locale_key: String,
    ctx: &LoadContext,
) -> Result<Article, Problem> {
    let (mut article, body) = index_document(path, text, file_slug, locale_key, ctx)?;
    render_body(&mut article, body);
    Ok(article)
}

/// The article of `text` with its body not rendered, and the body (a
/// suffix of `text`).
fn index_document<'t>(
    path: &Path,
    text: &'t str,
    file_slug: String,
    locale_key: String,
    ctx: &LoadContext,
) -> Result<(Article, &'t str), Problem> {
    let problem = |line: Option<usize>, message: String| Problem {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let (front, body) = split_front_matter(text).map_err(|(line, m)| problem(line, m))?;

    let mut matter = FrontMatter::parse(front).map_err(|e| {
        let line = e
            .span()
            .map(|span| 2 + front[..span.start].matches('\n').count());
        problem(line, format!("invalid front matter: {}", e.message()))
    })?;
    let key_line = |key: &str| front_matter_key_line(front, key);

    let title_given = matter.title.is_some();
    let title = cleaned(matter.title.take().unwrap_or_default());
    if title.is_empty() {
        return Err(problem(
            title_given.then(|| key_line("title")).flatten(),
            "missing `title`: add title = \"…\" to the front matter".to_owned(),
        ));
    }
    let date = matter
        .date
        .as_ref()
        .ok_or_else(|| {
            problem(
                None,
                "missing `date`: add date = 2026-11-20T09:30:00+08:00 (RFC 3339 with offset) to the front matter"
                    .to_owned(),
            )
        })?
        .parse()
        .map_err(|m| problem(key_line("date"), format!("invalid `date`: {m}")))?;
    let updated = matter
        .updated
        .as_ref()
        .map(DateValue::parse)
        .transpose()
        .map_err(|m| problem(key_line("updated"), format!("invalid `updated`: {m}")))?;
    if updated.is_some_and(|u| u < date) {
        return Err(problem(
            key_line("updated"),
            "`updated` is earlier than `date`; a story cannot change before it is published"
                .to_owned(),
        ));
    }

    let slug = match &matter.slug {
        Some(slug) if is_valid_slug(slug) => slug.clone(),
        Some(slug) => {
            return Err(problem(
                key_line("slug"),
                format!(
                    "invalid `slug` `{slug}`: use letters, digits, '-', '_' and inner '.' only"
                ),
            ));
        }
        None if is_valid_slug(&file_slug) => file_slug,
        None => {
            return Err(problem(
                None,
                format!(
                    "cannot derive a slug from the file name `{file_slug}`: use letters, digits, '-', '_' and '.' or set `slug` in the front matter"
                ),
            ));
        }
    };
    let story_id = matter
        .id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| slug.clone());

    let locale = ctx
        .locale(&locale_key)
        .ok_or_else(|| problem(None, format!("locale `{locale_key}` is not configured")))?;
    let url = locale.article_url(&slug).map_err(|e| {
        problem(
            None,
            format!("cannot build the article URL from slug `{slug}`: {e}"),
        )
    })?;
    let image = matter
        .image
        .as_deref()
        .map(|image| ctx.base_url.join(image))
        .transpose()
        .map_err(|e| problem(key_line("image"), format!("invalid `image`: {e}")))?;

    // Empty means "an excerpt of the body", filled in by `render_body`.
    let summary = matter.summary.take().map(cleaned).unwrap_or_default();

    let article = Article {
        story_id,
        slug,
        locale: locale_key,
        title,
        date,
        updated,
        summary,
        content_html: String::new(),
        tags: clean_list(std::mem::take(&mut matter.tags)),
        authors: clean_list(std::mem::take(&mut matter.authors)),
        image,
        url,
        draft: matter.draft,
        source_path: path.to_path_buf(),
        origin: None,
        body_offset: None,
    };
    Ok((article, body))
}

/// Renders `body` into the article: sanitised HTML with links absolute
/// against the article's URL, and an excerpt when it has no summary.
fn render_body(article: &mut Article, body: &str) {
    let body = strip_xml_illegal(body);
    let (html, plain) = render_markdown(&body);
    article.content_html = sanitize_html(&html, &article.url);
    if article.summary.is_empty() {
        article.summary = excerpt(&plain);
    }
}

/// `text` trimmed and without characters XML cannot carry; the string
/// itself when that changes nothing (the usual case), so loading does not
/// copy every title, summary, tag and author once more.
fn cleaned(text: String) -> String {
    let unchanged = matches!(
        strip_xml_illegal(text.trim()),
        std::borrow::Cow::Borrowed(kept) if kept.len() == text.len()
    );
    if unchanged {
        text
    } else {
        strip_xml_illegal(text.trim()).into_owned()
    }
}

fn clean_list(items: Vec<String>) -> Vec<String> {
    items
        .into_iter()
        .map(cleaned)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Letters, digits, '-', '_' and inner single dots (`v1.2-release`): safe
/// as one URL path segment and as a file name.
fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && !slug.starts_with('.')
        && !slug.ends_with('.')
        && !slug.contains("..")
        && slug
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `story.md` → (`story`, default locale); `story.zh.md` → (`story`, `zh`).
/// A suffix that looks like a language tag but is not configured is an error,
/// so `story.fr.md` is never published silently in the wrong language.
fn split_file_name(path: &Path, ctx: &LoadContext) -> Result<(String, String), String> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| "file name is not valid UTF-8; rename it".to_owned())?;
    if let Some((slug, suffix)) = stem.rsplit_once('.')
        && looks_like_locale(suffix)
    {
        return match ctx.locale(suffix) {
            Some(_) => Ok((slug.to_owned(), suffix.to_owned())),
            None => Err(format!(
                "unknown locale suffix `.{suffix}`: configured locales are {}; add [locales.{suffix}] to config.toml or rename the file",
                ctx.locales
                    .iter()
                    .map(|l| l.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    Ok((stem.to_owned(), ctx.default_locale.to_owned()))
}

fn looks_like_locale(suffix: &str) -> bool {
    let mut parts = suffix.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Splits `+++`-fenced front matter from the body.
fn split_front_matter(text: &str) -> Result<(&str, &str), (Option<usize>, String)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != FENCE {
        return Err((
            Some(1),
            "no front matter: the file must start with a `+++` line, then TOML (title, date), then `+++`"
                .to_owned(),
        ));
    }
    let front_start = first.len();
    let mut offset = front_start;
    for line in lines {
        if line.trim_end() == FENCE {
            let front = &text[front_start..offset];
            let body = &text[offset + line.len()..];
            return Ok((front, body));
        }
        offset += line.len();
    }
    Err((
        Some(1),
        "unterminated front matter: the `+++` on line 1 has no closing `+++` line".to_owned(),
    ))
}

/// Line (in the file) of `key = …` inside the front matter, if present.
fn front_matter_key_line(front: &str, key: &str) -> Option<usize> {
    front
        .lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|index| index + 2)
}

/// Renders Markdown (CommonMark plus tables, footnotes, strikethrough) to
/// HTML, and collects the plain text of its paragraphs for excerpts.
fn render_markdown(body: &str) -> (String, String) {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let events: Vec<Event> = Parser::new_ext(body, options).collect();
    let mut plain = String::new();
    let mut depth_skipped = 0usize;
    let mut in_paragraph = false;
    for event in &events {
        match event {
            Event::Start(Tag::FootnoteDefinition(_) | Tag::Table(_) | Tag::CodeBlock(_)) => {
                depth_skipped += 1
            }
            Event::End(TagEnd::FootnoteDefinition | TagEnd::Table | TagEnd::CodeBlock) => {
                depth_skipped = depth_skipped.saturating_sub(1)
            }
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) => {
                in_paragraph = false;
                plain.push(' ');
            }
            Event::Text(text) | Event::Code(text) if in_paragraph && depth_skipped == 0 => {
                plain.push_str(text)
            }
            Event::SoftBreak | Event::HardBreak if in_paragraph && depth_skipped == 0 => {
                plain.push(' ')
            }
            _ => {}
        }
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    (html, plain)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn collects_matching_files_by_name_recursively_skipping_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.md",
            "a.zh.md",
            "a.md",
            "B.md",
            "a-b.md",
            ".hidden.md",
            "notes.txt",
            "sub/c.md",
            "sub/.d.md",
            ".git/e.md",
            "z/sub2/f.md",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let mut files = Vec::new();
        collect_files(dir.path(), "md", &mut files).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "B.md",
                "a-b.md",
                "a.md",
                "a.zh.md",
                "b.md",
                "sub/c.md",
                "z/sub2/f.md"
            ]
        );
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
        assert_eq!(article.summary, "The summary.");
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
        assert_eq!(article.summary, "First para. Same para. Second.");
    }

    #[test]
    fn chinese_excerpt_is_cut_at_a_sentence_end() {
        let sentence = "成渝地区双城经济圈建设提速。"; // 14 characters
        let body = format!("{}\n\n{}", sentence.repeat(5), sentence.repeat(5));
        let article = ok("story.zh.md", &file("", &body));
        // 8 whole sentences fit in the 120-character budget; no "…".
        assert_eq!(article.summary, sentence.repeat(8));
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
        let html = &article.content_html;
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
        let html = &article.content_html;
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
        let html = &article.content_html;
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
            !article.summary.contains("The note."),
            "{}",
            article.summary
        );
    }

    #[test]
    fn xml_illegal_controls_are_removed_from_title_body_and_summary() {
        let article = ok(
            "story.md",
            "+++\ntitle = \"Bell\\u0001Title\\u001B\"\nsummary = \"Sum\\u0008mary\"\ntags = [\"t\\u0002ag\", \"\\u0003\"]\ndate = 2026-11-20T09:30:00+08:00\n+++\nBo\u{1}dy\u{b} text\u{0}.\n",
        );
        assert_eq!(article.title, "BellTitle");
        assert_eq!(article.summary, "Summary");
        assert_eq!(article.tags, vec!["tag".to_owned()]);
        assert!(
            article.content_html.contains("Body text."),
            "{}",
            article.content_html
        );
        assert!(
            !article
                .content_html
                .chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
            "{:?}",
            article.content_html
        );
    }

    #[test]
    fn excerpt_has_no_xml_illegal_controls() {
        let article = ok("story.md", &file("", "Bo\u{1}dy\u{FFFF}."));
        assert_eq!(article.summary, "Body.");
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
        let text = "\u{FEFF}+++\r\ntitle = \"Story\"\r\ndate = 2026-11-20T09:30:00+08:00\r\n+++\r\nBody\r\n";
        let article = ok("story.md", text);
        assert_eq!(article.title, "Story");
        assert_eq!(article.summary, "Body");
    }

    #[test]
    fn empty_body_gives_empty_summary() {
        let article = ok("story.md", &file("", ""));
        assert_eq!(article.summary, "");
        assert_eq!(article.content_html, "");
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
}

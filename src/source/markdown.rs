//! Markdown source: `slug.md` / `slug.<locale>.md` files with `+++` TOML
//! front matter, rendered with pulldown-cmark and sanitised once here.
//!
//! Reports every bad file with its path and line; never localises or
//! renders feeds.

use super::clean::{excerpt, sanitize_html, strip_xml_illegal};
use super::{LoadContext, Problem};
use crate::model::Article;
use chrono::{DateTime, FixedOffset};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use rayon::prelude::*;
use serde::Deserialize;
use std::path::{Path, PathBuf};

const FENCE: &str = "+++";

/// Front matter keys an article may set; anything else is a typo.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    date: Option<DateValue>,
    updated: Option<DateValue>,
    summary: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    authors: Vec<String>,
    image: Option<String>,
    #[serde(default)]
    draft: bool,
    slug: Option<String>,
    id: Option<String>,
}

/// A date written either as a TOML datetime or as an RFC 3339 string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DateValue {
    Toml(toml::value::Datetime),
    Text(String),
}

impl DateValue {
    fn parse(&self) -> Result<DateTime<FixedOffset>, String> {
        let text = match self {
            DateValue::Toml(dt) => dt.to_string(),
            DateValue::Text(s) => s.clone(),
        };
        DateTime::parse_from_rfc3339(&text).map_err(|_| {
            format!("`{text}` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00")
        })
    }
}

/// Loads every `.md` file under `dir` (recursively, hidden entries skipped),
/// in parallel; returns the good articles and every problem found.
pub fn load_dir(dir: &Path, ctx: &LoadContext) -> (Vec<Article>, Vec<Problem>) {
    let mut files = Vec::new();
    if let Err(problem) = collect_markdown_files(dir, &mut files) {
        return (Vec::new(), vec![problem]);
    }
    let results: Vec<Result<Article, Problem>> = files
        .par_iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|e| Problem {
                path: path.clone(),
                line: None,
                message: format!("cannot read file: {e}"),
            })?;
            parse_file(path, &bytes, ctx)
        })
        .collect();
    let mut articles = Vec::new();
    let mut problems = Vec::new();
    for result in results {
        match result {
            Ok(article) => articles.push(article),
            Err(problem) => problems.push(problem),
        }
    }
    (articles, problems)
}

fn collect_markdown_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| Problem {
        path: dir.to_path_buf(),
        line: None,
        message: format!(
            "cannot read the article folder: {e}; check [[sources]] path in config.toml"
        ),
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_markdown_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one article file. `bytes` are the file's contents.
pub fn parse_file(path: &Path, bytes: &[u8], ctx: &LoadContext) -> Result<Article, Problem> {
    let problem = |line: Option<usize>, message: String| Problem {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
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
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let (front, body) = split_front_matter(text).map_err(|(line, m)| problem(line, m))?;

    let matter: FrontMatter = toml::from_str(front).map_err(|e| {
        let line = e
            .span()
            .map(|span| 2 + front[..span.start].matches('\n').count());
        problem(line, format!("invalid front matter: {}", e.message()))
    })?;
    let key_line = |key: &str| front_matter_key_line(front, key);

    let title = strip_xml_illegal(matter.title.as_deref().unwrap_or_default().trim()).into_owned();
    if title.is_empty() {
        return Err(problem(
            matter.title.as_ref().and_then(|_| key_line("title")),
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
                format!("invalid `slug` `{slug}`: use letters, digits, '-' and '_' only"),
            ));
        }
        None => file_slug,
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

    let body = strip_xml_illegal(body);
    let (html, plain) = render_markdown(&body);
    let content_html = sanitize_html(&html, &url);
    let summary = match matter.summary.as_deref().map(str::trim) {
        Some(summary) if !summary.is_empty() => strip_xml_illegal(summary).into_owned(),
        _ => excerpt(&plain),
    };

    Ok(Article {
        story_id,
        slug,
        locale: locale_key,
        title,
        date,
        updated,
        summary,
        content_html,
        tags: clean_list(&matter.tags),
        authors: clean_list(&matter.authors),
        image,
        url,
        draft: matter.draft,
        source_path: path.to_path_buf(),
    })
}

fn clean_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| strip_xml_illegal(s.trim()).into_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
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
    if !is_valid_slug(stem) {
        return Err(format!(
            "cannot derive a slug from the file name `{stem}`: use letters, digits, '-' and '_' or set `slug` in the front matter"
        ));
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

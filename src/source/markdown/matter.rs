//! Front matter mapping of the Markdown source: the `+++` fences found,
//! the TOML read (by `source::front_matter`) and checked, and its
//! keys turned into an [`Article`] whose body is only indexed.
//!
//! Pure: text in, an article or a [`Problem`] with the file's line out.
//! Never reads files, renders the body or localises anything.

use super::file_name::is_valid_slug;
use crate::model::{Article, Body};
use crate::source::clean::strip_xml_illegal;
use crate::source::front_matter::{DateValue, FrontMatter};
use crate::source::{LoadContext, Problem};
use std::path::Path;

const FENCE: &str = "+++";

/// The article of `text` with its body [`Body::Indexed`] at the byte of
/// `text` where it starts, and the body (that suffix of `text`).
pub(super) fn index_document<'t>(
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
    // The body's offset is counted in `text` as given, BOM included.
    let text_len = text.len();
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

    // None (or blank) means "an excerpt of the body", made when it is rendered.
    let own_summary = matter
        .summary
        .take()
        .map(cleaned)
        .filter(|summary| !summary.is_empty());

    let article = Article {
        story_id,
        slug,
        locale: locale_key,
        title,
        date,
        updated,
        own_summary,
        body: Body::Indexed {
            offset: text_len - body.len(),
        },
        tags: clean_list(std::mem::take(&mut matter.tags)),
        authors: clean_list(std::mem::take(&mut matter.authors)),
        image,
        url,
        draft: matter.draft,
        source_path: path.to_path_buf(),
        origin: None,
    };
    Ok((article, body))
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

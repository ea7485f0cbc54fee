//! Markdown source: `slug.md` / `slug.<locale>.md` files with `+++` TOML
//! front matter, rendered with pulldown-cmark and sanitised once here.
//!
//! This file owns loading: listing and reading the files, indexing each
//! (front matter only, see [`index_file`]) and rendering a body later
//! ([`render_file`]). The front matter's meaning is in [`matter`], the
//! file name's in [`file_name`], rendering in [`render`].
//!
//! Reports every bad file with its path and line; never localises or
//! renders feeds.

mod file_name;
mod matter;
mod render;

pub(super) use file_name::{is_valid_slug, looks_like_locale};

use super::{LoadContext, Problem};
use crate::model::{Article, Body};
use crate::walk::{Depth, Hidden, Listing, Missing};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Indexes every `.md` file under `dir` (recursively, hidden entries
/// skipped), in parallel: front matter parsed and checked, the body checked
/// as UTF-8 but not rendered (see [`render_file`]); returns the good
/// articles (boxed where they are made, see [`super::load`]) and every
/// problem found.
pub fn load_dir(dir: &Path, ctx: &LoadContext) -> (Vec<Box<Article>>, Vec<Problem>) {
    let files = match article_files(dir, "md") {
        Ok(files) => files,
        Err(problem) => return (Vec::new(), vec![problem]),
    };
    let results: Vec<Result<Box<Article>, Problem>> = files
        .par_iter()
        .map_init(Vec::new, |buffer, path| {
            // The whole file is read (at most MAX_ARTICLE_BYTES) but only
            // the front matter is kept: the body is rendered later, if it
            // reaches an output (`render_file`), so the corpus is never held
            // in memory. One buffer per worker, reused, so a large site does
            // not pay for a fresh large allocation per file.
            super::read_article(path, buffer)?;
            index_file(path, buffer, ctx).map(Box::new)
        })
        .collect();
    super::split_results(results)
}

/// Every `*.<extension>` file of an article folder configured in
/// `[[sources]]`, recursively and sorted, hidden entries skipped. The
/// folder must exist: a problem naming it otherwise. Shared with the other
/// file-based sources.
pub(super) fn article_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, Problem> {
    Listing {
        extensions: &[extension],
        depth: Depth::Recursive,
        hidden: Hidden::Skip,
        missing: Missing::Error,
    }
    .files(dir)
    .map_err(|e| Problem {
        path: e.dir,
        line: None,
        message: format!(
            "cannot read the article folder: {}; check [[sources]] path in config.toml",
            e.source
        ),
    })
}

/// Parses and renders one article file. `bytes` are the file's contents.
pub fn parse_file(path: &Path, bytes: &[u8], ctx: &LoadContext) -> Result<Article, Problem> {
    let mut article = index_file(path, bytes, ctx)?;
    let offset = match article.body {
        Body::Indexed { offset } => offset,
        Body::Rendered { .. } => bytes.len(),
    };
    // `index_file` checked the whole file as UTF-8 and `offset` is the end
    // of the front matter's closing line, so this cannot fail.
    let body = std::str::from_utf8(&bytes[offset..]).unwrap_or_default();
    render::render_body(&mut article, body);
    Ok(article)
}

/// Renders the body of an article indexed by [`index_file`], reading it
/// again from its file; afterwards its body is [`Body::Rendered`]. An
/// article already rendered is left as it is. A file changed since it was
/// indexed (so its body no longer starts where it did, or is no longer
/// UTF-8) is a problem: run the command again.
pub fn render_file(article: &mut Article) -> Result<(), Problem> {
    let Body::Indexed { offset } = article.body else {
        return Ok(());
    };
    let problem = |message: String| Problem {
        path: article.source_path.clone(),
        line: None,
        message,
    };
    let mut bytes = Vec::new();
    super::read_article(&article.source_path, &mut bytes)?;
    let body = bytes
        .get(offset..)
        .and_then(|body| std::str::from_utf8(body).ok())
        .ok_or_else(|| {
            problem("the file changed while gazette was reading it; run the command again".into())
        })?;
    render::render_body(article, body);
    Ok(())
}

/// Checks and indexes one article file: everything but rendering its body,
/// which stays [`Body::Indexed`] at the byte where it starts.
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
    // Here, where every file is indexed once per run, rather than where
    // the characters are removed (a body is rendered only if it is shown).
    super::warn_about_removed_characters(path, text);
    let (file_slug, locale_key) =
        file_name::split_file_name(path, ctx).map_err(|m| problem(None, m))?;
    matter::index_document(path, text, file_slug, locale_key, ctx).map(|(article, _)| article)
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
    let (mut article, body) = matter::index_document(path, text, file_slug, locale_key, ctx)?;
    render::render_body(&mut article, body);
    Ok(article)
}

#[cfg(test)]
mod tests;

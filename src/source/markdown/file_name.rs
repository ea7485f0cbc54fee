//! What an article's file name means: `story.md` is `story` in the default
//! locale, `story.zh.md` is `story` in `zh`, and which slugs are allowed.
//!
//! Pure: names in, a slug and locale key (or what to fix) out; never
//! touches the file system.

use crate::source::LoadContext;
use std::path::Path;

/// `story.md` → (`story`, default locale); `story.zh.md` → (`story`, `zh`).
/// A suffix that looks like a language tag but is not configured is an error,
/// so `story.fr.md` is never published silently in the wrong language.
pub(super) fn split_file_name(path: &Path, ctx: &LoadContext) -> Result<(String, String), String> {
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

/// `zh`, `en-GB`, `zh-Hant`: a suffix the loader reads as a locale key.
pub(in crate::source) fn looks_like_locale(suffix: &str) -> bool {
    let mut parts = suffix.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Letters, digits, '-', '_' and inner single dots (`v1.2-release`): safe
/// as one URL path segment and as a file name.
pub(in crate::source) fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && !slug.starts_with('.')
        && !slug.ends_with('.')
        && !slug.contains("..")
        && slug
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

//! `gazette init`: writes a small working site from the defaults embedded
//! in the binary, so a bare install can start anywhere.
//!
//! Only creates files; never overwrites one that exists.

use crate::i18n;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Files of a new site besides the Fluent files: (path, contents).
const SITE_FILES: &[(&str, &str)] = &[
    ("config.toml", include_str!("../defaults/site/config.toml")),
    (
        "articles/welcome.md",
        include_str!("../defaults/site/articles/welcome.md"),
    ),
    (
        "articles/welcome.zh.md",
        include_str!("../defaults/site/articles/welcome.zh.md"),
    ),
    (
        "subscribers.csv",
        include_str!("../defaults/site/subscribers.csv"),
    ),
    (".gitignore", "/feeds/*/\n/.gazette/\n/outbox/\n"),
];

/// Creates a site in `dir`; returns how many files were written.
/// Refuses when any of the files already exists, naming it.
pub fn create_site(dir: &Path) -> Result<usize> {
    let files: Vec<(PathBuf, &str)> = SITE_FILES
        .iter()
        .map(|(path, text)| (dir.join(path), *text))
        .chain(
            i18n::EMBEDDED
                .iter()
                .map(|(locale, name, text)| (dir.join("locales").join(locale).join(name), *text)),
        )
        .collect();
    if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
        bail!(
            "{} already exists; `gazette init` only creates new sites: choose an empty folder",
            existing.display()
        );
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.len())
}

//! `gazette init`: writes a small working site from the defaults embedded
//! in the binary, so a bare install can start anywhere.
//!
//! Only creates files; never overwrites one that exists.

use crate::i18n;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, SecondsFormat};
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

/// The sample articles' date as shipped; `init` replaces it with the
/// moment the site is made, so its first digest (which holds only
/// `digest.first_window` days of stories) has something to send.
const SAMPLE_DATE: &str = "date = 2026-01-01T09:00:00+00:00";

/// The publisher the sample config names (`site.author`, `digest.from`).
/// A new site's `site-title` in every locale is this name too, so its feeds
/// and mail are titled by the newsroom, not by the program ("Gazette").
const PUBLISHER: &str = "Newsroom";

/// A Fluent file as a new site gets it: `site.ftl` names the publisher.
fn scaffold_ftl(name: &str, text: &str) -> String {
    if name != "site.ftl" {
        return text.to_owned();
    }
    text.lines()
        .map(|line| {
            if line.starts_with("site-title = ") {
                format!("site-title = {PUBLISHER}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// Creates a site in `dir`, its sample articles dated `now`; returns how
/// many files were written. Refuses when any of the files already exists,
/// naming it.
pub fn create_site(dir: &Path, now: DateTime<FixedOffset>) -> Result<usize> {
    let dated = format!("date = {}", now.to_rfc3339_opts(SecondsFormat::Secs, true));
    let files: Vec<(PathBuf, String)> = SITE_FILES
        .iter()
        .map(|(path, text)| (dir.join(path), text.replace(SAMPLE_DATE, &dated)))
        .chain(i18n::EMBEDDED.iter().map(|(locale, name, text)| {
            (
                dir.join("locales").join(locale).join(name),
                scaffold_ftl(name, text),
            )
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_dates_the_sample_articles_when_the_site_is_made() {
        let samples: Vec<&&str> = SITE_FILES
            .iter()
            .filter(|(path, _)| path.starts_with("articles/"))
            .map(|(_, text)| text)
            .collect();
        assert!(!samples.is_empty());
        assert!(samples.iter().all(|text| text.contains(SAMPLE_DATE)));
        let dir = tempfile::tempdir().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-29T06:00:00+08:00").unwrap();
        create_site(dir.path(), now).unwrap();
        let welcome = std::fs::read_to_string(dir.path().join("articles/welcome.md")).unwrap();
        assert!(
            welcome.contains("date = 2026-11-29T06:00:00+08:00"),
            "{welcome}"
        );
    }

    #[test]
    fn the_sample_config_names_the_publisher_every_site_ftl_gets() {
        let config = SITE_FILES[0].1;
        assert!(config.contains(&format!("author = {{ name = \"{PUBLISHER}\"")));
        assert!(config.contains(&format!("from = \"{PUBLISHER} <")));
        for (locale, name, text) in i18n::EMBEDDED.iter().filter(|(_, n, _)| *n == "site.ftl") {
            let written = scaffold_ftl(name, text);
            assert!(
                written.contains(&format!("\nsite-title = {PUBLISHER}\n")),
                "{locale}: {written}"
            );
            assert!(
                written.contains("site-description"),
                "{locale}: the rest is kept"
            );
        }
    }
}

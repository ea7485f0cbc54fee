//! `gazette import`: news pages saved as plain text → article files a
//! person reviews and commits. Orchestration only: the page is parsed and
//! rendered by `source::text`, written by `publish`.

use crate::cli::DateArg;
use crate::config::{Config, Source};
use crate::publish;
use crate::source::text::{self, ChromeRules};
use anyhow::Result;
use chrono::{DateTime, FixedOffset, NaiveTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `gazette import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions<'a> {
    pub pages: &'a [PathBuf],
    /// Locale key; `None` means the default locale.
    pub lang: Option<&'a str>,
    /// Output folder; `None` means the first markdown source's folder.
    pub into: Option<&'a Path>,
    /// Date for pages that show none.
    pub date: Option<DateArg>,
    pub force: bool,
    pub quiet: bool,
}

/// Some pages could not be imported; each line names the page and why.
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} page{} not imported:\n{}",
    .failures.len(),
    if *.total == 1 { " was" } else { "s were" },
    .failures.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
pub struct ImportError {
    pub total: usize,
    pub failures: Vec<String>,
}

/// Imports every page; pages that fail are reported together at the end,
/// after the others are written.
pub fn import(config: &Config, options: &ImportOptions) -> Result<()> {
    let default_locale = config.site.default_locale.as_str();
    let lang = options.lang.unwrap_or(default_locale);
    if config.locale(lang).is_none() {
        anyhow::bail!(
            "--lang `{lang}` is not a configured locale; configured: {}",
            config
                .locales
                .iter()
                .map(|l| l.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let into = match options.into {
        Some(dir) => dir.to_path_buf(),
        None => config
            .sources
            .iter()
            .find_map(|s| match s {
                Source::Markdown { path } => Some(path.clone()),
                _ => None,
            })
            .unwrap_or_else(|| config.root.join("articles")),
    };
    let rules = ChromeRules::new(&config.import.chrome, &config.import.captions)
        .map_err(|m| anyhow::anyhow!("{}: [import]: {m}", config.path.display()))?;

    let mut written: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    let mut failures = Vec::new();
    for page in options.pages {
        match import_page(page, lang, &into, &rules, config, options, &written) {
            Ok(target) => {
                if !options.quiet {
                    println!("wrote {} (from {})", target.display(), page.display());
                }
                written.insert(target, page);
            }
            Err(message) => failures.push(format!("{}: {message}", page.display())),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ImportError {
            total: options.pages.len(),
            failures,
        }
        .into())
    }
}

fn import_page(
    page: &Path,
    lang: &str,
    into: &Path,
    rules: &ChromeRules,
    config: &Config,
    options: &ImportOptions,
    written: &BTreeMap<PathBuf, &Path>,
) -> Result<PathBuf, String> {
    let bytes = std::fs::read(page).map_err(|e| format!("cannot read the page: {e}"))?;
    let text = text::decode(&bytes).map_err(|(line, m)| format!("line {line}: {m}"))?;
    let scraped = text::parse_page(text, rules)?;
    let target = into.join(text::file_name(
        &text::slugify(&scraped.title),
        lang,
        &config.site.default_locale,
    ));
    if let Some(other) = written.get(&target) {
        return Err(format!(
            "{} was just written from {}: both pages have the headline “{}”; import this one into another folder (--into) and rename it",
            target.display(),
            other.display(),
            scraped.title
        ));
    }
    let date: DateTime<FixedOffset> = match (scraped.date, options.date) {
        (Some(date), _) => text::local_date(date),
        (None, Some(DateArg::Instant(date))) => date,
        (None, Some(DateArg::Day(day))) => text::local_date(day.and_time(NaiveTime::MIN)),
        (None, None) => {
            let date = text::modified(page)?;
            tracing::warn!(
                "{}: the page has no date and there is no --date; using the file's modification time {}: check `date` in {}",
                page.display(),
                date.to_rfc3339(),
                target.display()
            );
            date
        }
    };
    let markdown = text::to_markdown(&scraped, date);
    if options.force {
        publish::write_if_changed(&target, markdown.as_bytes()).map_err(|e| format!("{e:#}"))?;
    } else {
        publish::write_new(&target, markdown.as_bytes()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "{} already exists; review it, then pass --force to overwrite it",
                    target.display()
                )
            } else {
                format!("cannot write {}: {e}", target.display())
            }
        })?;
    }
    Ok(target)
}

//! `gazette import`: news pages saved as plain text → article files a
//! person reviews and commits. Orchestration only: the page is parsed and
//! rendered by `source::text`, written by `publish`.

use super::{ExistingFiles, ImportDate, ImportRequest, Output};
use crate::config::{Config, Source};
use crate::publish;
use crate::source::text::{self, ChromeRules, PageZone};
use anyhow::Result;
use chrono::{DateTime, FixedOffset, NaiveTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub fn import(config: &Config, request: &ImportRequest, output: Output) -> Result<()> {
    let default_locale = config.site.default_locale.as_str();
    let lang = request.lang.as_deref().unwrap_or(default_locale);
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
    if let Some(slug) = &request.slug {
        text::check_slug(slug).map_err(|m| anyhow::anyhow!("--slug {m}"))?;
        if request.pages.len() > 1 {
            anyhow::bail!(
                "--slug names one article, but {} pages were given: import them one at a time (the pages of one story in two languages: once each, with the same --slug and each page's --lang)",
                request.pages.len()
            );
        }
    }
    // `--tz` beats `site.time_zone`; without either, the machine's zone.
    let zone = PageZone::new(request.time_zone.or(config.site.time_zone));
    let into = match &request.into {
        Some(dir) => dir.clone(),
        None => config
            .sources
            .iter()
            .find_map(|s| match s {
                Source::Markdown { path } => Some(path.clone()),
                _ => None,
            })
            .unwrap_or_else(|| config.root.join("articles")),
    };
    let rules = super::setup::ImportRules::default();
    let importer = Importer {
        config,
        request,
        lang,
        into: &into,
        rules: rules.get(config)?,
        zone,
    };

    let mut written: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    let mut failures = Vec::new();
    // The first page whose dateline was read in the machine's zone.
    let mut machine_dateline = None;
    for page in &request.pages {
        match importer.page(page, &written) {
            Ok(imported) => {
                if output.is_normal() {
                    println!(
                        "wrote {} (from {})",
                        imported.target.display(),
                        page.display()
                    );
                }
                if zone == PageZone::Machine
                    && machine_dateline.is_none()
                    && let Some(date) = imported.dateline
                {
                    machine_dateline = Some((page, date));
                }
                written.insert(imported.target, page);
            }
            Err(message) => failures.push(format!("{}: {message}", page.display())),
        }
    }
    // Said once per run: on a server in UTC, a Chinese page's "14:30" is
    // otherwise silently eight hours off.
    if let Some((page, date)) = machine_dateline {
        tracing::warn!(
            "{}: the dateline has no time zone and neither site.time_zone nor --tz names one, so it was read in this machine's zone (offset {}); if the pages are from elsewhere, set site.time_zone in config.toml or pass --tz (an IANA name such as Asia/Shanghai) and import again with --force",
            page.display(),
            date.offset()
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ImportError {
            total: request.pages.len(),
            failures,
        }
        .into())
    }
}

/// What importing each page of one request needs.
struct Importer<'a> {
    config: &'a Config,
    request: &'a ImportRequest,
    /// The pages' locale key.
    lang: &'a str,
    /// The folder articles are written to.
    into: &'a Path,
    rules: &'a ChromeRules,
    /// Where wall-clock times are read.
    zone: PageZone,
}

/// One page written.
struct Imported {
    target: PathBuf,
    /// The date, when it came from the page's dateline.
    dateline: Option<DateTime<FixedOffset>>,
}

impl Importer<'_> {
    /// Imports one page; `written` holds the files this run already wrote.
    fn page(&self, page: &Path, written: &BTreeMap<PathBuf, &Path>) -> Result<Imported, String> {
        let Importer {
            config,
            request,
            lang,
            into,
            rules,
            zone,
        } = *self;
        let bytes = std::fs::read(page).map_err(|e| format!("cannot read the page: {e}"))?;
        let text = text::decode(&bytes).map_err(|(line, m)| format!("line {line}: {m}"))?;
        let scraped = text::parse_page(text, rules)?;
        let slug = match &request.slug {
            Some(slug) => slug.clone(),
            None => text::slugify(&scraped.title),
        };
        let target = into.join(text::file_name(&slug, lang, &config.site.default_locale));
        if let Some(other) = written.get(&target) {
            return Err(format!(
                "{} was just written from {}: both pages have the headline “{}”; import this one into another folder (--into) and rename it",
                target.display(),
                other.display(),
                scraped.title
            ));
        }
        let dateline = scraped.date.map(|date| zone.read(date));
        let date: DateTime<FixedOffset> = match (dateline, request.date) {
            (Some(date), _) => date,
            (None, Some(ImportDate::Instant(date))) => date,
            (None, Some(ImportDate::Day(day))) => zone.read(day.and_time(NaiveTime::MIN)),
            (None, None) => {
                let date = text::modified(page, zone)?;
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
        if request.existing == ExistingFiles::Replace {
            publish::write_if_changed(&target, markdown.as_bytes())
                .map_err(|e| format!("{e:#}"))?;
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
        Ok(Imported { target, dateline })
    }
}

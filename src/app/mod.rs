//! The orchestrator: the only module that knows the order of stages for
//! each command. It parses no formats itself; it passes `model` values
//! from one stage to the next and reports what happened.

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::feed::{self, RenderedFeed};
use crate::i18n;
use crate::publish::{self, Outcome};
use crate::scaffold;
use crate::source;
use crate::view;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Local};
use std::path::Path;

/// Runs the command the user asked for.
pub fn run(cli: &Cli) -> Result<()> {
    let now = cli.now.unwrap_or_else(|| Local::now().fixed_offset());
    match &cli.command {
        Command::Build => build(&cli.config, now, cli.quiet),
        Command::Check => check(&cli.config, now, cli.quiet),
        Command::Init { dir } => init(dir, cli.quiet),
    }
}

/// Loads, localises and renders every feed in memory; each one has passed
/// the pre-publish gate when this returns.
pub fn render_feeds(config: &Config, now: DateTime<FixedOffset>) -> Result<Vec<RenderedFeed>> {
    let corpus = source::load(config)?.published(now);
    let catalog = i18n::load(config)?;
    let mut rendered = Vec::new();
    for locale in &config.locales {
        let localizer = catalog.localizer(&locale.key)?;
        let view = view::feed_view(config, &corpus, locale, localizer)
            .with_context(|| format!("cannot prepare the feeds of locale `{}`", locale.key))?;
        for &format in &config.feeds.formats {
            rendered.push(feed::render(&view, format)?);
        }
    }
    Ok(rendered)
}

fn build(config_path: &Path, now: DateTime<FixedOffset>, quiet: bool) -> Result<()> {
    let config = config::load(config_path)?;
    let feeds = render_feeds(&config, now)?;
    let (mut written, mut unchanged) = (0, 0);
    for rendered in &feeds {
        let path = config.feeds.dir.join(&rendered.relative_path);
        match publish::write_if_changed(&path, rendered.text.as_bytes())? {
            Outcome::Written => {
                tracing::debug!("wrote {}", path.display());
                written += 1;
            }
            Outcome::Unchanged => unchanged += 1,
        }
    }
    if !quiet {
        println!(
            "built {} feeds for {} locales into {}: {written} written, {unchanged} unchanged",
            feeds.len(),
            config.locales.len(),
            config.feeds.dir.display()
        );
    }
    Ok(())
}

fn check(config_path: &Path, now: DateTime<FixedOffset>, quiet: bool) -> Result<()> {
    let config = config::load(config_path)?;
    let feeds = render_feeds(&config, now)?;
    let catalog = i18n::load(&config)?;
    for (locale, ids) in catalog.missing_ids() {
        tracing::warn!(
            "locale `{locale}` does not define {} (they fall back): add them to locales/{locale}/*.ftl",
            ids.join(", ")
        );
    }
    let would_change = feeds
        .iter()
        .filter(|f| {
            std::fs::read(config.feeds.dir.join(&f.relative_path))
                .map_or(true, |old| old != f.text.as_bytes())
        })
        .count();
    if !quiet {
        println!(
            "check passed: {} feeds for {} locales; a build would change {would_change} file{}",
            feeds.len(),
            config.locales.len(),
            if would_change == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn init(dir: &Path, quiet: bool) -> Result<()> {
    let written = scaffold::create_site(dir)?;
    if !quiet {
        println!(
            "created a site in {} ({} files); next: cd {} && gazette build",
            dir.display(),
            written,
            dir.display()
        );
    }
    Ok(())
}

//! Localisation stage: one Fluent bundle per configured locale (embedded
//! defaults replaced file by file by the site's `locales/<key>/`), the
//! fallback chain, and locale-correct dates and numbers via ICU4X.
//!
//! This file owns loading the [`Catalog`] (every locale's [`Localizer`]);
//! `bundles` reads the Fluent files, `fallback` formats messages along the
//! chain, `icu` formats dates and numbers, `coverage` finds the ids a
//! locale leaves to its fallbacks.
//!
//! This module must not touch templates or feed formats; it turns message
//! ids and arguments into text.

mod bundles;
mod coverage;
mod fallback;
mod icu;

pub use bundles::EMBEDDED;
pub use fallback::Localizer;

use crate::config::Config;
use anyhow::{Result, anyhow};
use bundles::{Bundle, LocaleBundle};
use fallback::fallback_chain;
use icu::Formats;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Every problem found in the Fluent files (syntax errors, ids defined twice).
#[derive(Debug, thiserror::Error)]
#[error("{} problem{} in the Fluent files; nothing was published:\n{}",
    .problems.len(),
    if .problems.len() == 1 { "" } else { "s" },
    .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct CatalogError {
    pub problems: Vec<String>,
}

/// Every configured locale's [`Localizer`].
pub struct Catalog {
    localizers: BTreeMap<String, Localizer>,
    default_locale: String,
}

impl Catalog {
    /// The localizer of locale `key`.
    pub fn localizer(&self, key: &str) -> Result<&Localizer> {
        self.localizers
            .get(key)
            .ok_or_else(|| anyhow!("locale `{key}` is not configured"))
    }
}

/// Loads the bundles of every configured locale: embedded defaults, replaced
/// file by file by `<locales_dir>/<key>/*.ftl`.
pub fn load(config: &Config) -> Result<Catalog> {
    let mut built = BTreeMap::new();
    let mut problems = Vec::new();
    for locale in &config.locales {
        let files = bundles::locale_files(&config.site.locales_dir, &locale.key)?;
        match bundles::build_bundle(locale, &files) {
            Ok(bundle) => {
                built.insert(locale.key.clone(), bundle);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    if !problems.is_empty() {
        return Err(CatalogError { problems }.into());
    }
    assemble(config, built)
}

/// The localizers of every configured locale from their bundles: each
/// locale's fallback chain of shared bundles, and its ICU4X formatters.
fn assemble(config: &Config, bundles: BTreeMap<String, LocaleBundle>) -> Result<Catalog> {
    let mut shared: BTreeMap<String, (Arc<Bundle>, BTreeSet<String>)> = bundles
        .into_values()
        .map(|b| (b.key, (Arc::new(b.bundle), b.ids)))
        .collect();
    let mut localizers = BTreeMap::new();
    for locale in &config.locales {
        let chain_keys = fallback_chain(config, &locale.key);
        let chain = chain_keys
            .iter()
            .filter_map(|k| shared.get(k).map(|(b, _)| (k.clone(), Arc::clone(b))))
            .collect();
        let own_ids = shared
            .get(&locale.key)
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        let formats = Formats::new(locale)?;
        localizers.insert(
            locale.key.clone(),
            Localizer {
                key: locale.key.clone(),
                tag: locale.tag.clone(),
                chain,
                own_ids,
                formats,
            },
        );
    }
    shared.clear();
    Ok(Catalog {
        localizers,
        default_locale: config.site.default_locale.clone(),
    })
}

#[cfg(test)]
mod tests;

//! The fallback chain: a [`Localizer`] formats a message from the first
//! bundle of its chain (the locale itself, then its fallbacks, then
//! theirs) that defines it, and a message missing from the whole chain is
//! an error, never an empty string.
//!
//! It formats messages from bundles already built; it never reads files or
//! formats dates and numbers itself (see `icu`).

use super::CatalogError;
use super::bundles::Bundle;
use super::icu::Formats;
use crate::config::Config;
use anyhow::Result;
use fluent_bundle::{FluentArgs, FluentValue};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Formats messages, dates and numbers for one locale, walking its fallback
/// chain for messages it does not define.
pub struct Localizer {
    pub(super) key: String,
    pub(super) tag: String,
    /// This locale's bundle first, then its fallbacks in order.
    pub(super) chain: Vec<(String, Arc<Bundle>)>,
    /// The ids this locale's own files define (for coverage).
    pub(super) own_ids: BTreeSet<String>,
    /// Its date and number formatters.
    pub(super) formats: Formats,
}

impl Localizer {
    /// Locale key (`zh`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// BCP 47 tag (`zh-CN`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Formats message `id` with `args`. A message missing from the whole
    /// fallback chain, or one that fails to format, is an error: never an
    /// empty string.
    pub fn message(&self, id: &str, args: &[(&str, FluentValue)]) -> Result<String> {
        let (found_in, bundle, pattern) = self
            .chain
            .iter()
            .find_map(|(key, bundle)| {
                bundle
                    .get_message(id)
                    .and_then(|m| m.value())
                    .map(|pattern| (key, bundle, pattern))
            })
            .ok_or_else(|| CatalogError {
                problems: vec![format!(
                    "message `{id}` is missing in locale `{}` (looked in {}); add it to locales/{}/*.ftl",
                    self.key,
                    self.chain.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
                    self.key
                )],
            })?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            return Err(CatalogError {
                problems: vec![format!(
                    "message `{id}` of locale `{found_in}` failed to format: {}",
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )],
            }
            .into());
        }
        Ok(text.into_owned())
    }

    /// A message without arguments.
    pub fn text(&self, id: &str) -> Result<String> {
        self.message(id, &[])
    }
}

/// `key`, then its fallbacks, then theirs, each once.
pub(super) fn fallback_chain(config: &Config, key: &str) -> Vec<String> {
    let mut chain = vec![key.to_owned()];
    let mut next = 0;
    while next < chain.len() {
        if let Some(locale) = config.locale(&chain[next]) {
            for fallback in &locale.fallback {
                if !chain.contains(fallback) {
                    chain.push(fallback.clone());
                }
            }
        }
        next += 1;
    }
    chain
}

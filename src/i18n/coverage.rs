//! Message coverage: which message ids each locale leaves to its fallback
//! chain, so `check` can say what a translation still lacks.
//!
//! It only compares the ids of loaded bundles; it never formats messages
//! or reads files.

use super::Catalog;
use std::collections::BTreeMap;

impl Catalog {
    /// For each locale other than the default, the ids the default locale
    /// defines that it does not (they resolve only through fallback).
    pub fn missing_ids(&self) -> BTreeMap<String, Vec<String>> {
        let Some(reference) = self.localizers.get(&self.default_locale) else {
            return BTreeMap::new();
        };
        let reference_ids = &reference.own_ids;
        self.localizers
            .iter()
            .filter(|(key, _)| **key != self.default_locale)
            .map(|(key, l)| {
                (
                    key.clone(),
                    reference_ids
                        .difference(&l.own_ids)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, missing)| !missing.is_empty())
            .collect()
    }
}

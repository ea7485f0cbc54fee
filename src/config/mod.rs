//! Configuration stage: reads `config.toml`, rejects unknown keys with line
//! and column, and validates across fields into a [`Config`] that cannot
//! hold a bad value (parse, then validate).
//!
//! `config` holds plain data and imports no later stage: it must not read
//! templates, Fluent files or keys, compile patterns or build transports.
//! `app` turns a `Config` into those working parts, once per run.

mod mail;
mod raw;
mod serve;
mod settings;
mod sources;
mod state;
mod validate;

pub use settings::{
    Author, Config, ContentMode, Delivery, DigestConfig, DkimConfig, FeedFormat, FeedLocation,
    FeedSource, Feeds, FetchConfig, ImportConfig, PostgresState, PostgresTls, ServeConfig,
    ServerCheck, Site, SmtpConfig, SmtpSecurity, Source, StateLocation, TagFeeds, TransportKind,
    TrustRoots, UntranslatedMode, default_user_agent,
};
pub use sources::check_pattern;
pub use validate::parse_time_zone;

use anyhow::Result;
use std::path::{Path, PathBuf};

/// Raised when config.toml parses but its values do not fit together.
/// Every problem is listed, not just the first.
#[derive(Debug, thiserror::Error)]
#[error("{path}: invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        problems: vec![format!(
            "cannot read it ({e}); pass --config PATH, or run `gazette init DIR` to create a site"
        )],
    })?;
    // `config.toml` has the empty parent "", which joins to plain relative
    // paths ("articles/x.md"), the shortest form for messages.
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&text, path, &root)
}

/// Parses config text; `path` is used in messages, `root` resolves relative paths.
pub fn parse(text: &str, path: &Path, root: &Path) -> Result<Config> {
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        problems: vec![e.to_string().trim_end().replace('\n', "\n    ")],
    })?;
    validate::validate(raw, path, root)
}

/// Shared with the tests of the parts `app` builds from a config.
#[cfg(test)]
pub(crate) mod tests;

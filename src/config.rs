//! Configuration stage: reads `config.toml`, rejects unknown keys with line
//! and column, and validates across fields into a [`Config`] that cannot
//! hold a bad value.
//!
//! This module must not know templates, Fluent or feed formats beyond their
//! names; it only turns text into checked settings.

use crate::deliver::DkimSigner;
use crate::model::Locale;
use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// Raised when config.toml parses but its values do not fit together.
/// Every problem is listed, not just the first.
#[derive(Debug, thiserror::Error)]
#[error("{path}: invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: RawSite,
    locales: BTreeMap<String, RawLocale>,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    feeds: RawFeeds,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    digest: Option<RawDigest>,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    import: RawImport,
}

/// `[import]`: patterns that extend the built-in ones for scraped pages
/// (`gazette import`, `kind = "text"` sources).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImport {
    #[serde(default)]
    chrome: Vec<String>,
    #[serde(default)]
    captions: Vec<String>,
}

/// Validated `[import]` settings: each pattern is a valid regular expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// Lines to drop as site chrome, in addition to the built-in patterns.
    pub chrome: Vec<String>,
    /// Lines to keep as photo captions, in addition to the built-in patterns.
    pub captions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    subscribers: PathBuf,
    #[serde(default = "default_digest_max_items")]
    max_items: usize,
    from: String,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    untranslated: UntranslatedMode,
    unsubscribe_url: String,
    unsubscribe_mailto: String,
    #[serde(default = "default_secret_env")]
    unsubscribe_secret_env: String,
    postal_address: String,
    #[serde(default = "default_templates_dir")]
    templates_dir: PathBuf,
    #[serde(default)]
    dkim: Option<RawDkim>,
}

/// `[digest.dkim]`: sign every digest with DKIM. Absent: no signature.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    /// `d=`; default: the domain of `digest.from`.
    #[serde(default)]
    domain: Option<String>,
    /// `s=`; the public key is at `<selector>._domainkey.<domain>`.
    selector: String,
    /// PEM file with the private key, relative to the config folder.
    private_key: PathBuf,
}

fn default_digest_max_items() -> usize {
    20
}
fn default_secret_env() -> String {
    "GAZETTE_UNSUBSCRIBE_SECRET".to_owned()
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("templates")
}

/// What a digest does with a story that has no version in the reader's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UntranslatedMode {
    /// Show it in another language, with a localised label ("English only").
    #[default]
    Label,
    /// Leave it out.
    Skip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default)]
    transport: TransportKind,
    #[serde(default = "default_outbox")]
    outbox: PathBuf,
    #[serde(default)]
    smtp: Option<RawSmtp>,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            transport: TransportKind::default(),
            outbox: default_outbox(),
            smtp: None,
        }
    }
}

fn default_outbox() -> PathBuf {
    PathBuf::from("outbox")
}

/// How digests leave the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// One `.eml` file per message in the outbox folder.
    #[default]
    File,
    /// An SMTP relay.
    Smtp,
}

/// Transport security towards the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS, required.
    #[default]
    Starttls,
    /// Plain text; only to a loopback host.
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    #[serde(default = "default_smtp_port")]
    port: u16,
    #[serde(default)]
    security: SmtpSecurity,
    #[serde(default)]
    username: String,
    #[serde(default = "default_password_env")]
    password_env: String,
    #[serde(default = "default_connections")]
    connections: usize,
    #[serde(default)]
    max_per_second: u32,
    #[serde(default = "default_smtp_timeout")]
    timeout_seconds: u64,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_password_env() -> String {
    "GAZETTE_SMTP_PASSWORD".to_owned()
}
fn default_connections() -> usize {
    4
}
/// RFC 5321 §4.5.3.2.6: wait 10 minutes for the reply to the final dot.
fn default_smtp_timeout() -> u64 {
    600
}

/// Validated digest settings.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub subscribers: PathBuf,
    pub max_items: usize,
    pub from: String,
    /// The sender's domain, for Message-IDs.
    pub from_domain: String,
    pub reply_to: Option<String>,
    pub untranslated: UntranslatedMode,
    pub unsubscribe_url: Url,
    pub unsubscribe_mailto: String,
    /// Environment variable holding the HMAC secret for unsubscribe tokens.
    pub unsubscribe_secret_env: String,
    pub postal_address: String,
    pub templates_dir: PathBuf,
    /// `[digest.dkim]`; `None` sends unsigned mail.
    pub dkim: Option<DkimSettings>,
}

/// Validated DKIM settings: the key file has been read and parsed, so a
/// run never starts with a key it cannot sign with, and reads it only once.
#[derive(Debug, Clone)]
pub struct DkimSettings {
    /// Where the private key came from (for messages; the key itself is in `signer`).
    pub private_key: PathBuf,
    /// Domain, selector and parsed key; its `Debug` never shows the key.
    pub signer: Arc<DkimSigner>,
}

/// Validated SMTP settings; the password stays in the environment until used.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password_env: String,
    pub connections: usize,
    pub max_per_second: u32,
    pub timeout: std::time::Duration,
}

/// Validated delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub transport: TransportKind,
    pub outbox: PathBuf,
    pub smtp: Option<SmtpConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    base_url: String,
    default_locale: String,
    author: Author,
    #[serde(default = "default_id_date")]
    id_date: String,
    #[serde(default = "default_locales_dir")]
    locales_dir: PathBuf,
}

fn default_id_date() -> String {
    "2026-01-01".to_owned()
}
fn default_locales_dir() -> PathBuf {
    PathBuf::from("locales")
}

/// The site's author, used for feeds and where an article names nobody.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Author {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocale {
    tag: String,
    #[serde(default)]
    fallback: Vec<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
enum RawSource {
    Markdown {
        path: PathBuf,
    },
    Text {
        path: PathBuf,
        #[serde(default)]
        locale: Option<String>,
    },
    Feed {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        path: Option<PathBuf>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        locale: Option<String>,
        #[serde(default)]
        max_items: Option<usize>,
    },
}

/// `[fetch]`: how feed sources are fetched over HTTP.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    #[serde(default = "default_fetch_timeout")]
    timeout_seconds: u64,
    #[serde(default = "default_fetch_max_bytes")]
    max_bytes: u64,
    #[serde(default = "default_host_delay_ms")]
    host_delay_ms: u64,
    #[serde(default)]
    user_agent: Option<String>,
}

impl Default for RawFetch {
    fn default() -> Self {
        RawFetch {
            timeout_seconds: default_fetch_timeout(),
            max_bytes: default_fetch_max_bytes(),
            host_delay_ms: default_host_delay_ms(),
            user_agent: None,
        }
    }
}

fn default_fetch_timeout() -> u64 {
    20
}
/// 5 MiB: far above any real feed, far below what could hurt a cron host.
fn default_fetch_max_bytes() -> u64 {
    5 * 1024 * 1024
}
fn default_host_delay_ms() -> u64 {
    1000
}

/// The User-Agent sent when `[fetch] user_agent` is not set: names gazette,
/// its version and where to read about it, as polite crawlers do.
pub fn default_user_agent() -> String {
    format!(
        "gazette/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeds {
    #[serde(default = "default_feeds_dir")]
    dir: PathBuf,
    #[serde(default)]
    url: Option<String>,
    #[serde(default = "default_formats")]
    formats: Vec<FeedFormat>,
    #[serde(default = "default_max_items")]
    max_items: usize,
    #[serde(default)]
    content: ContentMode,
}

impl Default for RawFeeds {
    fn default() -> Self {
        RawFeeds {
            dir: default_feeds_dir(),
            url: None,
            formats: default_formats(),
            max_items: default_max_items(),
            content: ContentMode::default(),
        }
    }
}

fn default_feeds_dir() -> PathBuf {
    PathBuf::from("feeds")
}
fn default_formats() -> Vec<FeedFormat> {
    vec![FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json]
}
fn default_max_items() -> usize {
    50
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default = "default_state_path")]
    path: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default_state_path(),
        }
    }
}

fn default_state_path() -> PathBuf {
    PathBuf::from(".gazette/state.db")
}

/// A syndication format gazette writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

impl FeedFormat {
    /// File name of this format inside `feeds/<locale>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            FeedFormat::Rss => "rss.xml",
            FeedFormat::Atom => "atom.xml",
            FeedFormat::Json => "feed.json",
        }
    }
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeedFormat::Rss => "RSS 2.0",
            FeedFormat::Atom => "Atom 1.0",
            FeedFormat::Json => "JSON Feed 1.1",
        })
    }
}

/// Whether feed items carry the full article or only its summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentMode {
    #[default]
    Full,
    Summary,
}

/// Validated site settings.
#[derive(Debug, Clone)]
pub struct Site {
    pub base_url: Url,
    pub default_locale: String,
    pub author: Author,
    /// Authority part of `tag:` ids (`host,date`); fixed so ids never change.
    pub tag_authority: String,
    pub locales_dir: PathBuf,
}

/// Where articles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder of Markdown files with `+++` TOML front matter.
    Markdown { path: PathBuf },
    /// A folder of news pages saved as plain text (`*.txt`), all in one
    /// configured locale; read like `gazette import` reads them.
    Text { path: PathBuf, locale: String },
    /// Another publication's RSS, Atom or JSON feed.
    Feed(FeedSource),
}

/// A `kind = "feed"` source, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSource {
    pub location: FeedLocation,
    /// Shown as attribution; default the URL's host (or the file's stem).
    pub name: String,
    /// Locale key its items are published in; default the default locale.
    pub locale: String,
    /// Keep only the newest this-many items; `None` keeps all.
    pub max_items: Option<usize>,
}

/// Where a feed source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedLocation {
    /// Fetched over http(s).
    Url(Url),
    /// A local file (absolute after validation).
    Path(PathBuf),
}

impl fmt::Display for FeedLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedLocation::Url(url) => f.write_str(url.as_str()),
            FeedLocation::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// `[fetch]`, validated: how feed sources are fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// For a whole request, connection to last byte.
    pub timeout: std::time::Duration,
    /// A body longer than this is refused.
    pub max_bytes: u64,
    /// Minimum time between two requests to one host.
    pub host_delay: std::time::Duration,
    pub user_agent: String,
}

/// Validated feed settings.
#[derive(Debug, Clone)]
pub struct Feeds {
    pub dir: PathBuf,
    /// Public URL of `dir`; the self link of each feed is under it.
    pub url: Url,
    pub formats: Vec<FeedFormat>,
    pub max_items: usize,
    pub content: ContentMode,
}

/// The whole validated configuration; paths are absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file itself.
    pub path: PathBuf,
    /// Its folder; relative paths in the file are relative to it.
    pub root: PathBuf,
    pub site: Site,
    /// Default locale first, then the others by key.
    pub locales: Vec<Locale>,
    pub sources: Vec<Source>,
    pub feeds: Feeds,
    pub state_path: PathBuf,
    /// `[digest]`; `None` when the site sends no email.
    pub digest: Option<DigestConfig>,
    pub delivery: DeliveryConfig,
    pub fetch: FetchConfig,
    /// `[import]`: extra patterns for scraped pages.
    pub import: ImportConfig,
}

impl Config {
    /// The locale with key `key`.
    pub fn locale(&self, key: &str) -> Option<&Locale> {
        self.locales.iter().find(|l| l.key == key)
    }
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
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        problems: vec![e.to_string().trim_end().replace('\n', "\n    ")],
    })?;
    validate(raw, path, root)
}

fn validate(raw: RawConfig, path: &Path, root: &Path) -> Result<Config> {
    let mut problems = Vec::new();

    let base_url = match Url::parse(&raw.site.base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(with_trailing_slash(url))
        }
        Ok(_) => {
            problems.push(format!(
                "site.base_url `{}` must be an absolute http(s) URL, e.g. \"https://news.example.org/\"",
                raw.site.base_url
            ));
            None
        }
        Err(e) => {
            problems.push(format!(
                "site.base_url `{}` is not a URL ({e}); write it like \"https://news.example.org/\"",
                raw.site.base_url
            ));
            None
        }
    };

    if raw.locales.is_empty() {
        problems.push(
            "no [locales.<key>] section: add at least one, e.g. [locales.en] tag = \"en\""
                .to_owned(),
        );
    }
    if !raw.locales.contains_key(&raw.site.default_locale) {
        problems.push(format!(
            "site.default_locale `{}` has no [locales.{}] section; configured: {}",
            raw.site.default_locale,
            raw.site.default_locale,
            raw.locales.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if chrono::NaiveDate::parse_from_str(&raw.site.id_date, "%Y-%m-%d").is_err() {
        problems.push(format!(
            "site.id_date `{}` must be a date like 2026-01-01 (it goes into every tag: id and must never change)",
            raw.site.id_date
        ));
    }

    let mut locales = Vec::new();
    for (key, locale) in &raw.locales {
        if !is_locale_key(key) {
            problems.push(format!(
                "locales.{key}: a locale key is letters, digits and '-' only (it is a file-name suffix)"
            ));
        }
        if locale
            .tag
            .parse::<unic_langid::LanguageIdentifier>()
            .is_err()
            || icu_locale_core::Locale::try_from_str(&locale.tag).is_err()
        {
            problems.push(format!(
                "locales.{key}.tag `{}` is not a BCP 47 language tag (e.g. \"en\", \"zh-CN\")",
                locale.tag
            ));
        }
        for fallback in &locale.fallback {
            if fallback == key {
                problems.push(format!("locales.{key}.fallback lists `{key}` itself"));
            } else if !raw.locales.contains_key(fallback) {
                problems.push(format!(
                    "locales.{key}.fallback names `{fallback}`, which has no [locales.{fallback}] section"
                ));
            }
        }
        let Some(base_url) = &base_url else { continue };
        let prefix = locale.path.clone().unwrap_or_else(|| {
            if *key == raw.site.default_locale {
                String::new()
            } else {
                format!("{key}/")
            }
        });
        match base_url.join(&prefix) {
            Ok(home) if home.as_str().starts_with(base_url.as_str()) => locales.push(Locale {
                key: key.clone(),
                tag: locale.tag.clone(),
                fallback: locale.fallback.clone(),
                home_url: with_trailing_slash(home),
            }),
            _ => problems.push(format!(
                "locales.{key}.path `{prefix}` must be a relative path under site.base_url, e.g. \"{key}/\""
            )),
        }
    }
    locales.sort_by_key(|l| (l.key != raw.site.default_locale, l.key.clone()));

    let sources = raw
        .sources
        .into_iter()
        .enumerate()
        .filter_map(|(index, s)| match s {
            RawSource::Markdown { path } => Some(Source::Markdown {
                path: root.join(path),
            }),
            RawSource::Feed {
                url,
                path,
                name,
                locale,
                max_items,
            } => validate_feed_source(
                index + 1,
                url,
                path,
                name,
                locale,
                max_items,
                &raw.site.default_locale,
                &raw.locales,
                root,
                &mut problems,
            )
            .map(Source::Feed),
            RawSource::Text { path, locale } => {
                let locale = locale.unwrap_or_else(|| raw.site.default_locale.clone());
                if !raw.locales.contains_key(&locale) {
                    problems.push(format!(
                        "[[sources]] kind = \"text\" path = \"{}\": locale `{locale}` has no [locales.{locale}] section",
                        path.display()
                    ));
                }
                Some(Source::Text {
                    path: root.join(path),
                    locale,
                })
            }
        })
        .collect::<Vec<_>>();
    if sources.is_empty() && problems.is_empty() {
        problems.push(
            "no [[sources]]: add one, e.g. [[sources]] kind = \"markdown\" path = \"articles\""
                .to_owned(),
        );
    }

    let mut formats = raw.feeds.formats.clone();
    formats.sort();
    formats.dedup();
    if formats.len() != raw.feeds.formats.len() {
        problems.push("feeds.formats lists a format twice".to_owned());
    }
    if raw.feeds.max_items == 0 {
        problems.push("feeds.max_items must be at least 1".to_owned());
    }
    let feeds_url = match (&raw.feeds.url, &base_url) {
        (Some(url), _) => match Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(with_trailing_slash(u)),
            _ => {
                problems.push(format!(
                    "feeds.url `{url}` must be an absolute http(s) URL where feeds.dir is served"
                ));
                None
            }
        },
        (None, Some(base)) => base.join("feeds/").ok(),
        (None, None) => None,
    };

    let digest = raw
        .digest
        .and_then(|d| validate_digest(d, root, &mut problems));
    let delivery = validate_delivery(raw.delivery, root, &mut problems);
    let fetch = validate_fetch(raw.fetch, &mut problems);
    for (key, patterns) in [
        ("chrome", &raw.import.chrome),
        ("captions", &raw.import.captions),
    ] {
        for (index, pattern) in patterns.iter().enumerate() {
            if let Err(message) = crate::source::text::check_pattern(pattern) {
                problems.push(format!("import.{key}[{index}]: {message}"));
            }
        }
    }

    match (base_url, feeds_url) {
        (Some(base_url), Some(feeds_url)) if problems.is_empty() => {
            let host = base_url.host_str().unwrap_or_default().to_owned();
            Ok(Config {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
                site: Site {
                    tag_authority: format!("{host},{}", raw.site.id_date),
                    base_url,
                    default_locale: raw.site.default_locale,
                    author: raw.site.author,
                    locales_dir: root.join(raw.site.locales_dir),
                },
                locales,
                sources,
                feeds: Feeds {
                    dir: root.join(raw.feeds.dir),
                    url: feeds_url,
                    formats: raw.feeds.formats,
                    max_items: raw.feeds.max_items,
                    content: raw.feeds.content,
                },
                state_path: root.join(raw.state.path),
                digest,
                delivery,
                fetch,
                import: ImportConfig {
                    chrome: raw.import.chrome,
                    captions: raw.import.captions,
                },
            })
        }
        _ => Err(ConfigError {
            path: path.to_path_buf(),
            problems,
        }
        .into()),
    }
}

/// Checks one `kind = "feed"` entry; `number` counts `[[sources]]` from 1.
#[allow(clippy::too_many_arguments)]
fn validate_feed_source(
    number: usize,
    url: Option<String>,
    path: Option<PathBuf>,
    name: Option<String>,
    locale: Option<String>,
    max_items: Option<usize>,
    default_locale: &str,
    locales: &BTreeMap<String, RawLocale>,
    root: &Path,
    problems: &mut Vec<String>,
) -> Option<FeedSource> {
    let at = format!("[[sources]] #{number} (kind = \"feed\")");
    let location = match (url, path) {
        (Some(url), None) => match Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(FeedLocation::Url(u))
            }
            _ => {
                problems.push(format!(
                    "{at}: url `{url}` must be an absolute http(s) URL, e.g. \"https://partner.example.com/feed.xml\""
                ));
                None
            }
        },
        (None, Some(path)) => Some(FeedLocation::Path(root.join(path))),
        (Some(_), Some(_)) => {
            problems.push(format!("{at} sets both `url` and `path`; keep exactly one"));
            None
        }
        (None, None) => {
            problems.push(format!(
                "{at} needs `url = \"https://…\"` or `path = \"file.xml\"`"
            ));
            None
        }
    };
    let locale = locale.unwrap_or_else(|| default_locale.to_owned());
    if !locales.contains_key(&locale) {
        problems.push(format!(
            "{at}: locale `{locale}` has no [locales.{locale}] section; configured: {}",
            locales.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if max_items == Some(0) {
        problems.push(format!("{at}: max_items must be at least 1"));
    }
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        problems.push(format!("{at}: name is empty; leave it out to use the host"));
    }
    let location = location?;
    let name = name
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| match &location {
            FeedLocation::Url(url) => url.host_str().unwrap_or_default().to_owned(),
            FeedLocation::Path(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        });
    Some(FeedSource {
        location,
        name,
        locale,
        max_items,
    })
}

fn validate_fetch(raw: RawFetch, problems: &mut Vec<String>) -> FetchConfig {
    if raw.timeout_seconds == 0 {
        problems.push("fetch.timeout_seconds must be at least 1".to_owned());
    }
    if raw.max_bytes == 0 {
        problems.push("fetch.max_bytes must be at least 1".to_owned());
    }
    let user_agent = match raw.user_agent {
        Some(agent) if agent.trim().is_empty() || agent.contains(['\r', '\n']) => {
            problems.push(
                "fetch.user_agent must be one non-empty line; leave it out for the default"
                    .to_owned(),
            );
            agent
        }
        Some(agent) => agent,
        None => default_user_agent(),
    };
    FetchConfig {
        timeout: std::time::Duration::from_secs(raw.timeout_seconds),
        max_bytes: raw.max_bytes,
        host_delay: std::time::Duration::from_millis(raw.host_delay_ms),
        user_agent,
    }
}

/// The domain of a `Name <local@domain>` or bare address, if it has one.
fn address_domain(address: &str) -> Option<String> {
    let inner = match (address.rfind('<'), address.rfind('>')) {
        (Some(open), Some(close)) if open < close => &address[open + 1..close],
        _ => address,
    };
    let (local, domain) = inner.trim().rsplit_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.contains(char::is_whitespace);
    valid.then(|| domain.to_ascii_lowercase())
}

fn validate_digest(
    raw: RawDigest,
    root: &Path,
    problems: &mut Vec<String>,
) -> Option<DigestConfig> {
    let from_domain = address_domain(&raw.from);
    if from_domain.is_none() {
        problems.push(format!(
            "digest.from `{}` is not an address; write \"Name <brief@news.example.org>\"",
            raw.from
        ));
    }
    if let Some(reply_to) = &raw.reply_to
        && address_domain(reply_to).is_none()
    {
        problems.push(format!("digest.reply_to `{reply_to}` is not an address"));
    }
    if address_domain(&raw.unsubscribe_mailto).is_none() {
        problems.push(format!(
            "digest.unsubscribe_mailto `{}` is not an address, e.g. \"unsubscribe@news.example.org\"",
            raw.unsubscribe_mailto
        ));
    }
    let unsubscribe_url = match Url::parse(&raw.unsubscribe_url) {
        Ok(url) if url.scheme() == "https" => Some(url),
        _ => {
            problems.push(format!(
                "digest.unsubscribe_url `{}` must be an absolute https URL (mail clients only offer one-click unsubscribe over https)",
                raw.unsubscribe_url
            ));
            None
        }
    };
    if raw.max_items == 0 {
        problems.push("digest.max_items must be at least 1".to_owned());
    }
    if raw.postal_address.trim().is_empty() {
        problems.push(
            "digest.postal_address is empty; bulk mail must carry the sender's postal address"
                .to_owned(),
        );
    }
    let dkim = raw
        .dkim
        .zip(from_domain.as_deref())
        .and_then(|(dkim, from_domain)| validate_dkim(dkim, from_domain, root, problems));
    Some(DigestConfig {
        subscribers: root.join(raw.subscribers),
        max_items: raw.max_items,
        from: raw.from,
        from_domain: from_domain?,
        reply_to: raw.reply_to,
        untranslated: raw.untranslated,
        unsubscribe_url: unsubscribe_url?,
        unsubscribe_mailto: raw.unsubscribe_mailto,
        unsubscribe_secret_env: raw.unsubscribe_secret_env,
        postal_address: raw.postal_address,
        templates_dir: root.join(raw.templates_dir),
        dkim,
    })
}

fn validate_dkim(
    raw: RawDkim,
    from_domain: &str,
    root: &Path,
    problems: &mut Vec<String>,
) -> Option<DkimSettings> {
    let domain = raw
        .domain
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_else(|| from_domain.to_owned());
    let mut ok = true;
    if !is_dns_name(&domain) || !domain.contains('.') {
        problems.push(format!(
            "digest.dkim.domain `{domain}` is not a domain name; write the domain that publishes the key, e.g. \"news.example.org\" (default: the domain of digest.from)"
        ));
        ok = false;
    }
    if !is_dns_name(&raw.selector) {
        problems.push(format!(
            "digest.dkim.selector `{}` is not a DNS label; write the name the public key is published under (<selector>._domainkey.{domain}), e.g. \"brief2026\"",
            raw.selector
        ));
        ok = false;
    }
    let path = root.join(&raw.private_key);
    let pem = match std::fs::read_to_string(&path) {
        Ok(pem) => Some(pem),
        Err(e) => {
            problems.push(format!(
                "digest.dkim.private_key: cannot read `{}` ({e}); point it at the PEM file holding the DKIM private key (relative to the config folder), e.g. one made with `openssl genrsa -out dkim.pem 2048`",
                path.display()
            ));
            None
        }
    };
    let signer = match DkimSigner::from_pem(pem.as_deref()?, &domain, &raw.selector) {
        Ok(signer) => signer,
        Err(e) => {
            problems.push(format!(
                "digest.dkim.private_key `{}`: {e}; gazette signs with an RSA key (PEM, PKCS#1 or PKCS#8) or an Ed25519 key (PEM, PKCS#8)",
                path.display()
            ));
            return None;
        }
    };
    ok.then(|| DkimSettings {
        private_key: path,
        signer: Arc::new(signer),
    })
}

/// Letters, digits, '-' and '_' in dot-separated non-empty labels.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn validate_delivery(raw: RawDelivery, root: &Path, problems: &mut Vec<String>) -> DeliveryConfig {
    let smtp = raw.smtp.map(|smtp| {
        let loopback = smtp.host == "localhost"
            || smtp
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if smtp.security == SmtpSecurity::None && !loopback {
            problems.push(format!(
                "delivery.smtp.security = \"none\" sends mail and passwords in clear text; it is only allowed to a loopback host, not `{}`: use \"tls\" or \"starttls\"",
                smtp.host
            ));
        }
        if smtp.connections == 0 {
            problems.push("delivery.smtp.connections must be at least 1".to_owned());
        }
        SmtpConfig {
            host: smtp.host,
            port: smtp.port,
            security: smtp.security,
            username: smtp.username,
            password_env: smtp.password_env,
            connections: smtp.connections.max(1),
            max_per_second: smtp.max_per_second,
            timeout: std::time::Duration::from_secs(smtp.timeout_seconds.max(1)),
        }
    });
    if raw.transport == TransportKind::Smtp && smtp.is_none() {
        problems.push(
            "delivery.transport = \"smtp\" needs a [delivery.smtp] section with at least `host`"
                .to_owned(),
        );
    }
    DeliveryConfig {
        transport: raw.transport,
        outbox: root.join(raw.outbox),
        smtp,
    }
}

fn is_locale_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
base_url = "https://news.example.org"
default_locale = "en"
author = { name = "Desk" }
[locales.en]
tag = "en"
[locales.zh]
tag = "zh-CN"
fallback = ["en"]
[[sources]]
kind = "markdown"
path = "articles"
"#;

    fn parse_str(text: &str) -> Result<Config> {
        parse(text, Path::new("config.toml"), Path::new("/site"))
    }

    #[test]
    fn fills_documented_defaults() {
        let config = parse_str(MINIMAL).unwrap();
        assert_eq!(config.site.base_url.as_str(), "https://news.example.org/");
        assert_eq!(config.locales[0].key, "en");
        assert_eq!(
            config.locales[0].home_url.as_str(),
            "https://news.example.org/"
        );
        assert_eq!(
            config.locales[1].home_url.as_str(),
            "https://news.example.org/zh/"
        );
        assert_eq!(config.feeds.url.as_str(), "https://news.example.org/feeds/");
        assert_eq!(config.feeds.max_items, 50);
        assert_eq!(config.feeds.formats.len(), 3);
        assert_eq!(config.state_path, PathBuf::from("/site/.gazette/state.db"));
        assert_eq!(config.site.tag_authority, "news.example.org,2026-01-01");
    }

    #[test]
    fn rejects_unknown_key_with_line_and_column() {
        let text = MINIMAL.replace("[feeds]", "") + "[feeds]\nmax_itmes = 3\n";
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(err.contains("config.toml: invalid configuration"), "{err}");
        assert!(err.contains("max_itmes"), "{err}");
        assert!(err.contains("line 15, column 1"), "{err}");
    }

    #[test]
    fn reports_every_cross_field_problem() {
        let text = MINIMAL
            .replace("default_locale = \"en\"", "default_locale = \"fr\"")
            .replace("fallback = [\"en\"]", "fallback = [\"de\"]")
            .replace("tag = \"zh-CN\"", "tag = \"not a tag!\"");
        let err = parse_str(&text).unwrap_err();
        let config_error = err.downcast_ref::<ConfigError>().unwrap();
        let all = config_error.problems.join("\n");
        assert!(all.contains("site.default_locale `fr`"), "{all}");
        assert!(all.contains("locales.zh.fallback names `de`"), "{all}");
        assert!(all.contains("locales.zh.tag `not a tag!`"), "{all}");
    }

    #[test]
    fn rejects_relative_base_url() {
        let text = MINIMAL.replace("https://news.example.org", "/news/");
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(err.contains("site.base_url `/news/` is not a URL"), "{err}");
    }

    const DIGEST: &str = r#"
[digest]
subscribers = "subscribers.csv"
from = "Brief <brief@news.example.org>"
unsubscribe_url = "https://news.example.org/unsubscribe"
unsubscribe_mailto = "unsubscribe@news.example.org"
postal_address = "1 Example Road, Chengdu"
"#;

    #[test]
    fn digest_and_delivery_defaults() {
        let config = parse_str(&format!("{MINIMAL}{DIGEST}")).unwrap();
        let digest = config.digest.unwrap();
        assert_eq!(digest.max_items, 20);
        assert_eq!(digest.from_domain, "news.example.org");
        assert_eq!(digest.untranslated, UntranslatedMode::Label);
        assert_eq!(digest.unsubscribe_secret_env, "GAZETTE_UNSUBSCRIBE_SECRET");
        assert_eq!(config.delivery.transport, TransportKind::File);
        assert_eq!(config.delivery.outbox, PathBuf::from("/site/outbox"));
    }

    #[test]
    fn plain_smtp_is_refused_to_a_remote_host() {
        let text = format!(
            "{MINIMAL}{DIGEST}[delivery]\ntransport = \"smtp\"\n[delivery.smtp]\nhost = \"smtp.example.org\"\nsecurity = \"none\"\n"
        );
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(
            err.contains("only allowed to a loopback host, not `smtp.example.org`"),
            "{err}"
        );
        let local = text.replace("smtp.example.org", "127.0.0.1");
        let config = parse_str(&local).unwrap();
        assert_eq!(config.delivery.smtp.unwrap().timeout.as_secs(), 600);
    }

    #[test]
    fn bad_digest_addresses_are_listed() {
        let text = format!("{MINIMAL}{DIGEST}")
            .replace("Brief <brief@news.example.org>", "Brief")
            .replace("https://news.example.org/unsubscribe", "http://x/u");
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(
            err.contains("digest.from `Brief` is not an address"),
            "{err}"
        );
        assert!(
            err.contains("digest.unsubscribe_url `http://x/u` must be an absolute https URL"),
            "{err}"
        );
    }

    /// The mail fixture's folder, which holds test-only DKIM keys in `dkim/`.
    fn mail_fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
    }

    fn parse_with_dkim(dkim: &str) -> Result<Config> {
        let text = format!("{MINIMAL}{DIGEST}[digest.dkim]\n{dkim}");
        parse(&text, Path::new("config.toml"), &mail_fixture())
    }

    #[test]
    fn dkim_defaults_to_the_from_domain_and_reads_the_key_relative_to_the_config() {
        let config =
            parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa.pem\"\n").unwrap();
        let dkim = config.digest.unwrap().dkim.unwrap();
        assert_eq!(dkim.signer.domain(), "news.example.org");
        assert_eq!(dkim.signer.selector(), "brief");
        assert_eq!(dkim.private_key, mail_fixture().join("dkim/rsa.pem"));
        assert!(!format!("{dkim:?}").contains("BEGIN"), "{dkim:?}");

        let config = parse_with_dkim(
            "domain = \"Example.ORG\"\nselector = \"s1\"\nprivate_key = \"dkim/ed25519.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            config.digest.unwrap().dkim.unwrap().signer.domain(),
            "example.org"
        );
        assert!(
            parse_str(&format!("{MINIMAL}{DIGEST}"))
                .unwrap()
                .digest
                .unwrap()
                .dkim
                .is_none()
        );
    }

    #[test]
    fn dkim_rejects_unknown_keys() {
        let err = format!(
            "{:#}",
            parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa.pem\"\nkey = \"x\"\n")
                .unwrap_err()
        );
        assert!(err.contains("unknown field `key`"), "{err}");
    }

    #[test]
    fn dkim_key_that_cannot_be_read_is_named_with_what_to_do() {
        let err = format!(
            "{:#}",
            parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/missing.pem\"\n")
                .unwrap_err()
        );
        let path = mail_fixture().join("dkim/missing.pem");
        assert!(
            err.contains(&format!(
                "digest.dkim.private_key: cannot read `{}` (",
                path.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("point it at the PEM file holding the DKIM private key (relative to the config folder)"),
            "{err}"
        );
    }

    #[test]
    fn dkim_file_that_is_not_a_key_is_named_with_what_to_do() {
        let err = format!(
            "{:#}",
            parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa.txt\"\n").unwrap_err()
        );
        let path = mail_fixture().join("dkim/rsa.txt");
        assert!(
            err.contains(&format!(
                "digest.dkim.private_key `{}`: it is not a PEM private key",
                path.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("gazette signs with an RSA key (PEM, PKCS#1 or PKCS#8) or an Ed25519 key (PEM, PKCS#8)"),
            "{err}"
        );
        // The key's bytes never reach the message.
        assert!(!err.contains("MII"), "{err}");
        let err = format!(
            "{:#}",
            parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa-512.pem\"\n")
                .unwrap_err()
        );
        assert!(err.contains("the RSA key has 512 bits"), "{err}");
    }

    #[test]
    fn dkim_selector_and_domain_must_be_dns_names() {
        let err = format!(
            "{:#}",
            parse_with_dkim(
                "domain = \"not a domain\"\nselector = \"my key\"\nprivate_key = \"dkim/rsa.pem\"\n"
            )
            .unwrap_err()
        );
        assert!(
            err.contains("digest.dkim.domain `not a domain` is not a domain name"),
            "{err}"
        );
        assert!(
            err.contains("digest.dkim.selector `my key` is not a DNS label"),
            "{err}"
        );
    }

    #[test]
    fn text_sources_and_import_patterns() {
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"text\"\npath = \"pages\"\n[[sources]]\nkind = \"text\"\npath = \"pages-zh\"\nlocale = \"zh\"\n[import]\nchrome = [\"^Sponsored by\"]\ncaptions = [\"\\\\(Pic: .*\\\\)$\"]\n"
        );
        let config = parse_str(&text).unwrap();
        assert_eq!(
            config.sources[1..],
            [
                Source::Text {
                    path: PathBuf::from("/site/pages"),
                    locale: "en".to_owned()
                },
                Source::Text {
                    path: PathBuf::from("/site/pages-zh"),
                    locale: "zh".to_owned()
                }
            ]
        );
        assert_eq!(config.import.chrome, ["^Sponsored by"]);
        assert_eq!(config.import.captions, [r"\(Pic: .*\)$"]);
        // Defaults: no extra patterns.
        assert_eq!(parse_str(MINIMAL).unwrap().import, ImportConfig::default());
    }

    #[test]
    fn text_source_locale_and_import_patterns_are_checked() {
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"text\"\npath = \"pages\"\nlocale = \"fr\"\n[import]\nchrome = [\"ok\", \"(unclosed\"]\ncaptions = [\"\"]\n"
        );
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(
            err.contains("[[sources]] kind = \"text\" path = \"pages\": locale `fr` has no [locales.fr] section"),
            "{err}"
        );
        assert!(
            err.contains(
                "import.chrome[1]: `(unclosed` is not a regular expression (error: unclosed group)"
            ),
            "{err}"
        );
        assert!(
            err.contains("import.captions[0]: `` is empty; it would match every line"),
            "{err}"
        );
        let typo = format!("{MINIMAL}[import]\nchrom = []\n");
        let err = format!("{:#}", parse_str(&typo).unwrap_err());
        assert!(err.contains("unknown field `chrom`"), "{err}");
    }

    #[test]
    fn rejects_unknown_source_kind() {
        let text = MINIMAL.replace("kind = \"markdown\"", "kind = \"word\"");
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(err.contains("unknown variant `word`"), "{err}");
    }

    #[test]
    fn feed_sources_and_fetch_defaults() {
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://partner.example.com/feed.xml\"\n\
             [[sources]]\nkind = \"feed\"\npath = \"feeds-in/wire.xml\"\nname = \"Wire\"\nlocale = \"zh\"\nmax_items = 5\n"
        );
        let config = parse_str(&text).unwrap();
        let Source::Feed(first) = &config.sources[1] else {
            panic!("{:?}", config.sources)
        };
        assert_eq!(first.name, "partner.example.com");
        assert_eq!(first.locale, "en");
        assert_eq!(first.max_items, None);
        assert_eq!(
            first.location.to_string(),
            "https://partner.example.com/feed.xml"
        );
        let Source::Feed(second) = &config.sources[2] else {
            panic!()
        };
        assert_eq!(
            second.location,
            FeedLocation::Path(PathBuf::from("/site/feeds-in/wire.xml"))
        );
        assert_eq!(
            (second.name.as_str(), second.locale.as_str()),
            ("Wire", "zh")
        );
        assert_eq!(second.max_items, Some(5));
        assert_eq!(config.fetch.timeout.as_secs(), 20);
        assert_eq!(config.fetch.max_bytes, 5 * 1024 * 1024);
        assert_eq!(config.fetch.host_delay.as_millis(), 1000);
        assert_eq!(
            config.fetch.user_agent,
            "gazette/0.1.0 (+https://github.com/gazette-news/gazette)"
        );
    }

    #[test]
    fn feed_source_needs_exactly_one_of_url_and_path() {
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://a.example/f\"\npath = \"f.xml\"\n\
             [[sources]]\nkind = \"feed\"\nname = \"Nowhere\"\n"
        );
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(
            err.contains(
                "[[sources]] #2 (kind = \"feed\") sets both `url` and `path`; keep exactly one"
            ),
            "{err}"
        );
        assert!(
            err.contains("[[sources]] #3 (kind = \"feed\") needs `url = \"https://…\"` or `path = \"file.xml\"`"),
            "{err}"
        );
    }

    #[test]
    fn bad_feed_source_values_are_listed() {
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"ftp://a.example/f\"\nlocale = \"fr\"\nmax_items = 0\nname = \" \"\n"
        );
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        for expected in [
            "[[sources]] #2 (kind = \"feed\"): url `ftp://a.example/f` must be an absolute http(s) URL",
            "[[sources]] #2 (kind = \"feed\"): locale `fr` has no [locales.fr] section; configured: en, zh",
            "[[sources]] #2 (kind = \"feed\"): max_items must be at least 1",
            "[[sources]] #2 (kind = \"feed\"): name is empty; leave it out to use the host",
        ] {
            assert!(err.contains(expected), "{expected}\n{err}");
        }
    }

    #[test]
    fn bad_fetch_settings_are_listed_and_unknown_keys_refused() {
        let text =
            format!("{MINIMAL}[fetch]\ntimeout_seconds = 0\nmax_bytes = 0\nuser_agent = \"\"\n");
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(
            err.contains("fetch.timeout_seconds must be at least 1"),
            "{err}"
        );
        assert!(err.contains("fetch.max_bytes must be at least 1"), "{err}");
        assert!(
            err.contains("fetch.user_agent must be one non-empty line"),
            "{err}"
        );
        let text = format!("{MINIMAL}[fetch]\ntimeout = 3\n");
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(err.contains("unknown field `timeout`"), "{err}");
        let text = format!(
            "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://a.example/\"\nlink = \"x\"\n"
        );
        let err = format!("{:#}", parse_str(&text).unwrap_err());
        assert!(err.contains("unknown field `link`"), "{err}");
    }
}

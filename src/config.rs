//! Configuration stage: reads `config.toml`, rejects unknown keys with line
//! and column, and validates across fields into a [`Config`] that cannot
//! hold a bad value.
//!
//! This module must not know templates, Fluent or feed formats beyond their
//! names; it only turns text into checked settings.

use crate::model::Locale;
use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
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
        .map(|s| match s {
            RawSource::Markdown { path } => Source::Markdown {
                path: root.join(path),
            },
            RawSource::Text { path, locale } => {
                let locale = locale.unwrap_or_else(|| raw.site.default_locale.clone());
                if !raw.locales.contains_key(&locale) {
                    problems.push(format!(
                        "[[sources]] kind = \"text\" path = \"{}\": locale `{locale}` has no [locales.{locale}] section",
                        path.display()
                    ));
                }
                Source::Text {
                    path: root.join(path),
                    locale,
                }
            }
        })
        .collect::<Vec<_>>();
    if sources.is_empty() {
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
}

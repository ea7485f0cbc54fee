//! The validated configuration: plain data that cannot hold a bad value.
//! Paths are absolute (resolved against the config file's folder), URLs
//! parsed, addresses checked, cross-field rules applied.
//!
//! These types name the user's choices only. They must not build working
//! parts (signers, compiled patterns, transports: `app` does, once) nor
//! know what a later stage does with a choice.

use crate::model::Locale;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use url::Url;

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

/// `delivery.transport`: how digests leave the machine, as written.
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

/// `feeds.formats`: a syndication format the site publishes, as named in
/// the file (`feed::Format` knows what each one is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

/// `feeds.content`: whether feed items carry the full article or only its summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentMode {
    #[default]
    Full,
    Summary,
}

/// The site's author, used for feeds and where an article names nobody.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Author {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// Validated `[import]` settings: each pattern is a valid, non-empty
/// regular expression (matched case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// Lines to drop as site chrome, in addition to the built-in patterns.
    pub chrome: Vec<String>,
    /// Lines to keep as photo captions, in addition to the built-in patterns.
    pub captions: Vec<String>,
}

/// Validated digest settings.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub subscribers: PathBuf,
    pub max_items: usize,
    /// `From:` as written (`Name <brief@news.example.org>`); it parses as a mailbox.
    pub from: String,
    /// The display name of `from`, if it has one.
    pub from_name: Option<String>,
    /// The bare address of `from`: the envelope sender.
    pub from_address: String,
    /// The sender's domain, for Message-IDs.
    pub from_domain: String,
    pub reply_to: Option<String>,
    pub untranslated: UntranslatedMode,
    pub unsubscribe_url: Url,
    pub unsubscribe_mailto: String,
    /// `digest.return_path`: each digest's envelope sender is a VERP
    /// address under it; `None`: the bare `from` address.
    pub return_path: Option<String>,
    /// Transient bounces within `soft_bounce_window` that suppress an address.
    pub soft_bounce_limit: u32,
    pub soft_bounce_window: chrono::TimeDelta,
    /// Environment variable holding the HMAC secret for unsubscribe tokens.
    pub unsubscribe_secret_env: String,
    pub postal_address: String,
    pub templates_dir: PathBuf,
    /// `[digest.dkim]`; `None` sends unsigned mail.
    pub dkim: Option<DkimConfig>,
    /// `digest.first_window`: a digest on a state that knows no earlier
    /// digest holds only stories this recent, so a lost state database
    /// never mails the whole archive.
    pub first_window: chrono::TimeDelta,
}

/// Validated `[digest.dkim]`: names checked, key file located. `app`
/// reads and parses the key before any work starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimConfig {
    /// `d=`, lower case, without a trailing dot.
    pub domain: String,
    /// `s=`, a DNS label.
    pub selector: String,
    /// The PEM file holding the private key (absolute).
    pub private_key: PathBuf,
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
    /// How many messages each connection claims, in one commit, while its
    /// last one is on the wire (0: each at its own turn). A crash leaves at
    /// most `claim_ahead + 1` rows per connection `sending`.
    pub claim_ahead: usize,
    pub timeout: std::time::Duration,
}

/// Validated `[delivery]`: exactly one transport and its settings.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// `transport = "file"`: one `.eml` per message in this folder.
    File { outbox: PathBuf },
    /// `transport = "smtp"`: through this relay.
    Smtp(SmtpConfig),
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
    /// `site.time_zone`: the zone in which scraped pages' wall-clock times
    /// (datelines without an offset, `import --date DAY`) are read; `None`
    /// leaves it to the machine's zone.
    pub time_zone: Option<chrono_tz::Tz>,
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

/// The User-Agent sent when `[fetch] user_agent` is not set: names gazette,
/// its version and where to read about it, as polite crawlers do.
pub fn default_user_agent() -> String {
    format!(
        "gazette/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
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
    /// Which tags get feeds of their own.
    pub tags: TagFeeds,
    /// `[tags.<slug>]`: slug → locale key → the tag's name in that locale.
    pub tag_names: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// `feeds.websub_hub`: the WebSub hub every feed names (`rel="hub"`)
    /// and that `build` pings for each feed it changed. https, or http to
    /// a hub on this machine.
    pub websub_hub: Option<Url>,
}

/// `feeds.tags`: which tags get their own feeds under `<locale>/tags/<slug>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFeeds {
    /// No tag feeds (the default: a site opts in, as each tag adds files).
    None,
    /// Every tag some story carries.
    All,
    /// Only these slugs (checked against the corpus's tags when building).
    Only(Vec<String>),
}

impl TagFeeds {
    /// Whether the tag with `slug` gets feeds.
    pub fn includes(&self, slug: &str) -> bool {
        match self {
            TagFeeds::None => false,
            TagFeeds::All => true,
            TagFeeds::Only(slugs) => slugs.iter().any(|s| s == slug),
        }
    }
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
    /// `[state]`: where the state database lives.
    pub state: StateLocation,
    /// `[digest]`; `None` when the site sends no email.
    pub digest: Option<DigestConfig>,
    pub delivery: Delivery,
    pub fetch: FetchConfig,
    /// `[import]`: extra patterns for scraped pages.
    pub import: ImportConfig,
    /// `[serve]`; `None` when the site runs no `gazette serve`.
    pub serve: Option<ServeConfig>,
}

/// `[state]`, validated: the embedded SQLite file, or a shared PostgreSQL
/// database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// `state.path` (default `.gazette/state.db`), made absolute.
    Sqlite(PathBuf),
    /// `state.url`.
    Postgres(PostgresState),
}

/// A shared PostgreSQL state: where it is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresState {
    /// `postgres://…` as written, without `sslmode` and `sslrootcert`
    /// (which are in `tls`) and without a password.
    pub url: String,
    /// The environment variable holding the password, if any.
    pub password_env: Option<String>,
    /// TLS to the server, from the URL's `sslmode` and `sslrootcert`.
    pub tls: PostgresTls,
}

/// TLS to a PostgreSQL state, as libpq's `sslmode` and `sslrootcert` ask.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PostgresTls {
    /// `sslmode=disable`: never.
    Disable,
    /// `sslmode=prefer` (libpq's default, and ours): when the server offers
    /// it, the certificate unchecked.
    #[default]
    Prefer,
    /// `require`, `verify-ca`, `verify-full`: always (no TLS, no
    /// connection), the certificate checked as this says.
    Require(ServerCheck),
}

/// What is checked of a PostgreSQL server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCheck {
    /// `require`: nothing (encrypted, but anyone on the path may pose as
    /// the server), as in libpq.
    Nothing,
    /// `verify-ca`, or `require` with `sslrootcert`: signed by `roots`.
    Chain(TrustRoots),
    /// `verify-full`: signed by `roots` and issued for the host connected to.
    ChainAndName(TrustRoots),
}

/// The certificate authorities a PostgreSQL server's certificate is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustRoots {
    /// The system's (no `sslrootcert`, or `sslrootcert=system`).
    System,
    /// The PEM file `sslrootcert` names, made absolute from the site folder.
    File(PathBuf),
}

/// `[serve]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub listen: std::net::SocketAddr,
    /// Absolute, ending in `/`: the pages are `unsubscribe`, … under it.
    pub public_url: Url,
    /// Also serve the feeds folder under `<public_url>feeds/`.
    pub static_files: bool,
    /// How long a sign-up's confirmation link works.
    pub confirm_expiry: chrono::TimeDelta,
}

impl Config {
    /// The locale with key `key`.
    pub fn locale(&self, key: &str) -> Option<&Locale> {
        self.locales.iter().find(|l| l.key == key)
    }

    /// True when a `kind = "text"` source needs the import patterns.
    pub fn has_text_sources(&self) -> bool {
        self.sources
            .iter()
            .any(|source| matches!(source, Source::Text { .. }))
    }
}

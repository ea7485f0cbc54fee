//! The config file as written: serde structs mirroring `config.toml`, with
//! `deny_unknown_fields` (a typo is an error with line and column) and the
//! documented defaults.
//!
//! Nothing here is validated across fields and nothing here is public
//! outside `config`: [`super::validate`] turns a [`RawConfig`] into the
//! checked [`super::Config`].

use super::settings::{
    Author, ContentMode, FeedFormat, SmtpSecurity, TransportKind, UntranslatedMode,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub site: RawSite,
    pub locales: BTreeMap<String, RawLocale>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub feeds: RawFeeds,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub digest: Option<RawDigest>,
    #[serde(default)]
    pub delivery: RawDelivery,
    #[serde(default)]
    pub fetch: RawFetch,
    #[serde(default)]
    pub import: RawImport,
    /// `[serve]`: the reader's side of the list (`gazette serve`).
    #[serde(default)]
    pub serve: Option<RawServe>,
    /// `[tags.<slug>] en = "Economy", zh = "经济"`: pairs a tag's names
    /// across languages under one feed slug.
    #[serde(default)]
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// `[serve]`: where `gazette serve` listens and the public address it
/// answers on (behind the newsroom's reverse proxy).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    #[serde(default = "default_listen")]
    pub listen: String,
    pub public_url: String,
    /// Also serve the feeds folder under `<public_url>feeds/`.
    #[serde(default, rename = "static")]
    pub static_files: bool,
    /// Days a sign-up's confirmation link works.
    #[serde(default = "default_confirm_days")]
    pub confirm_days: i64,
}

fn default_confirm_days() -> i64 {
    7
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

/// `[import]`: patterns that extend the built-in ones for scraped pages
/// (`gazette import`, `kind = "text"` sources).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImport {
    #[serde(default)]
    pub chrome: Vec<String>,
    #[serde(default)]
    pub captions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub subscribers: PathBuf,
    #[serde(default = "default_digest_max_items")]
    pub max_items: usize,
    pub from: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub untranslated: UntranslatedMode,
    /// Your own unsubscribe handler; with `[serve]`, `gazette serve` answers
    /// the links instead and this key must go.
    #[serde(default)]
    pub unsubscribe_url: Option<String>,
    pub unsubscribe_mailto: String,
    #[serde(default = "default_secret_env")]
    pub unsubscribe_secret_env: String,
    pub postal_address: String,
    #[serde(default = "default_templates_dir")]
    pub templates_dir: PathBuf,
    #[serde(default)]
    pub dkim: Option<RawDkim>,
    /// Days of stories a first digest may hold (the state knows no digest).
    #[serde(default = "default_first_window")]
    pub first_window: i64,
    /// The envelope sender's base for VERP (`bounces@…`); absent: `from`.
    #[serde(default)]
    pub return_path: Option<String>,
    /// Transient bounces within `soft_bounce_days` that suppress an address.
    #[serde(default = "default_soft_bounce_limit")]
    pub soft_bounce_limit: u32,
    #[serde(default = "default_soft_bounce_days")]
    pub soft_bounce_days: i64,
}

fn default_soft_bounce_limit() -> u32 {
    5
}

fn default_soft_bounce_days() -> i64 {
    30
}

/// `[digest.dkim]`: sign every digest with DKIM. Absent: no signature.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDkim {
    /// `d=`; default: the domain of `digest.from`.
    #[serde(default)]
    pub domain: Option<String>,
    /// `s=`; the public key is at `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// PEM file with the private key, relative to the config folder.
    pub private_key: PathBuf,
}

fn default_digest_max_items() -> usize {
    20
}
fn default_secret_env() -> String {
    "GAZETTE_UNSUBSCRIBE_SECRET".to_owned()
}
fn default_first_window() -> i64 {
    7
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("templates")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    #[serde(default)]
    pub transport: TransportKind,
    #[serde(default = "default_outbox")]
    pub outbox: PathBuf,
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: String,
    #[serde(default = "default_password_env")]
    pub password_env: String,
    #[serde(default = "default_connections")]
    pub connections: usize,
    #[serde(default)]
    pub max_per_second: u32,
    #[serde(default = "default_claim_ahead")]
    pub claim_ahead: usize,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
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
/// One fsync for eight messages: with it the ledger keeps up with a relay
/// on loopback (BENCHMARKS.md); a crash leaves at most 9 rows per
/// connection `unknown`.
fn default_claim_ahead() -> usize {
    8
}
/// RFC 5321 §4.5.3.2.6: wait 10 minutes for the reply to the final dot.
fn default_smtp_timeout() -> u64 {
    600
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub base_url: String,
    pub default_locale: String,
    pub author: Author,
    #[serde(default = "default_id_date")]
    pub id_date: String,
    #[serde(default = "default_locales_dir")]
    pub locales_dir: PathBuf,
    /// IANA name of the zone in which pages' datelines without an offset are read.
    #[serde(default)]
    pub time_zone: Option<String>,
}

fn default_id_date() -> String {
    "2026-01-01".to_owned()
}
fn default_locales_dir() -> PathBuf {
    PathBuf::from("locales")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLocale {
    pub tag: String,
    #[serde(default)]
    pub fallback: Vec<String>,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub(super) enum RawSource {
    Markdown {
        path: PathBuf,
    },
    Text {
        path: PathBuf,
        #[serde(default)]
        locale: Option<String>,
    },
    Feed(RawFeedSource),
}

/// One `kind = "feed"` entry of `[[sources]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeedSource {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub max_items: Option<usize>,
}

/// `[fetch]`: how feed sources are fetched over HTTP.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    #[serde(default = "default_fetch_timeout")]
    pub timeout_seconds: u64,
    #[serde(default = "default_fetch_max_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_host_delay_ms")]
    pub host_delay_ms: u64,
    #[serde(default)]
    pub user_agent: Option<String>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeeds {
    #[serde(default = "default_feeds_dir")]
    pub dir: PathBuf,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "default_formats")]
    pub formats: Vec<FeedFormat>,
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    #[serde(default)]
    pub content: ContentMode,
    /// `true`, `false` (the default) or a list of tag slugs.
    #[serde(default)]
    pub tags: RawTagFeeds,
    /// A WebSub hub to announce in every feed and ping after a change.
    #[serde(default)]
    pub websub_hub: Option<String>,
}

/// `feeds.tags` as written: a switch or a list of slugs.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTagFeeds {
    Switch(bool),
    List(Vec<String>),
}

impl Default for RawTagFeeds {
    fn default() -> Self {
        RawTagFeeds::Switch(false)
    }
}

impl Default for RawFeeds {
    fn default() -> Self {
        RawFeeds {
            dir: default_feeds_dir(),
            url: None,
            formats: default_formats(),
            max_items: default_max_items(),
            content: ContentMode::default(),
            tags: RawTagFeeds::default(),
            websub_hub: None,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    /// The SQLite file (the embedded default); not with `url`.
    pub path: Option<PathBuf>,
    /// `postgres://user@host:port/database`: a shared PostgreSQL state,
    /// for several sending hosts.
    pub url: Option<String>,
    /// The environment variable holding the PostgreSQL password, so the
    /// password is not written in config.toml.
    pub password_env: Option<String>,
}

//! `gazette serve`: wires the config, the catalog, the page templates and
//! the list (subscriber file and state database) into the HTTP server,
//! and decides what a reader's request does to the list.

use super::setup::unsubscribe_secret;
use crate::config::{Config, ConfigError};
use crate::serve::{self, List, Notice, PageLocale, Preferences, Reader, Topic, UnsubscribeVia};
use crate::state::{Choice, SignUp, State};
use anyhow::{Context, Result};
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The list as `serve` sees it: the state database, into which the
/// editor's file is merged at start.
struct ListDesk {
    /// One connection, one short transaction at a time (WAL with a busy
    /// timeout, so a running `send` and this wait for each other briefly).
    state: Mutex<State>,
    clock: serve::Clock,
    /// How confirmation mails go out: the digests' transport and sender.
    delivery: crate::config::Delivery,
    from: String,
    from_domain: String,
    dkim: Option<crate::deliver::DkimSigner>,
}

impl ListDesk {
    /// The envelope sender: the bare address of `digest.from`.
    fn envelope_sender(&self) -> String {
        self.from
            .parse::<lettre::message::Mailbox>()
            .map(|m| m.email.to_string())
            .unwrap_or_else(|_| self.from.clone())
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("the state connection was poisoned by a panic"))
    }
}

/// Suppressions a reader (or the editor on their behalf) asked for begin
/// so; only those may be lifted by the reader's "subscribe again".
const OWN_CHOICE: &str = "unsubscribed by";

impl List for ListDesk {
    fn resubscribe(&self, email: &str) -> Result<bool> {
        let state = self.state()?;
        let own = state
            .suppression_reason(email)?
            .is_some_and(|reason| reason.starts_with(OWN_CHOICE));
        if !own {
            return Ok(false);
        }
        if let Some(reason) = state.lift_suppression(email)? {
            tracing::warn!("a reader lifted their own suppression (it was: {reason})");
        }
        Ok(true)
    }

    fn sign_up(&self, email: &str, preferences: &Preferences) -> Result<bool> {
        let reader = crate::model::Subscriber {
            email: email.to_owned(),
            name: preferences.name.clone(),
            locale: preferences.locale.clone(),
            topics: preferences.topics.clone(),
            since: None,
        };
        let outcome = self.state()?.sign_up(&reader, self.clock.now())?;
        tracing::info!("a sign-up was received ({outcome:?})");
        Ok(outcome == SignUp::AwaitingConfirmation)
    }

    fn confirm(&self, email: &str) -> Result<bool> {
        let confirmed = self.state()?.confirm_sign_up(email, self.clock.now())?;
        if confirmed {
            tracing::info!("a sign-up was confirmed");
        }
        Ok(confirmed)
    }

    fn send_notice(&self, notice: &Notice) -> Result<()> {
        let now = self.clock.now();
        let digest = sha2::Sha256::digest(format!(
            "{}\n{}",
            notice.to_email,
            now.timestamp_nanos_opt().unwrap_or_default()
        ));
        let id = hex::encode(&digest[..12]);
        let email = crate::model::NoticeEmail {
            from: self.from.clone(),
            to_name: notice.to_name.clone(),
            to_email: notice.to_email.clone(),
            subject: notice.subject.clone(),
            text: notice.text.clone(),
            message_id: format!("<signup.{id}@{}>", self.from_domain),
            date: now,
        };
        let bytes = crate::deliver::notice_message(&email, self.dkim.as_ref())?;
        let mut transports = super::setup::transports(&self.delivery)?;
        let transport = transports
            .connections
            .first_mut()
            .ok_or_else(|| anyhow::anyhow!("[delivery] configures no connection"))?;
        match transport.send(&self.envelope_sender(), &notice.to_email, &bytes) {
            crate::model::DeliveryOutcome::Sent => Ok(()),
            other => Err(anyhow::anyhow!(
                "the confirmation mail to {} was not accepted: {other:?}",
                notice.to_email
            )),
        }
    }

    fn reader(&self, email: &str) -> Result<Option<Reader>> {
        Ok(self.state()?.list_entry(email)?.map(|entry| Reader {
            name: entry.subscriber.name,
            locale: entry.subscriber.locale,
            topics: entry.subscriber.topics,
        }))
    }

    fn save_preferences(&self, email: &str, preferences: &Preferences) -> Result<()> {
        let choice = Choice {
            name: Some(preferences.name.clone()),
            locale: Some(preferences.locale.clone()),
            topics: Some(preferences.topics.clone()),
        };
        self.state()?
            .record_choice(email, &choice, self.clock.now())?;
        tracing::info!("a reader saved their preferences");
        Ok(())
    }

    fn unsubscribe(&self, email: &str, via: UnsubscribeVia) -> Result<()> {
        let reason = match via {
            UnsubscribeVia::OneClick => "unsubscribed by the reader (one-click, RFC 8058)",
            UnsubscribeVia::Page => "unsubscribed by the reader (unsubscribe page)",
        };
        let state = self.state()?;
        // Committed before the reply: suppression is durable once we answer.
        let added = state.suppress(email, reason, self.clock.now())?;
        if added {
            tracing::info!("an address was unsubscribed ({reason})");
        }
        Ok(())
    }
}

/// Runs the server until SIGTERM or Ctrl-C.
/// `now`: the global `--now`, which fixes the server's clock (for tests);
/// otherwise the system's.
pub fn serve(
    config: &Config,
    listen: Option<SocketAddr>,
    now: Option<chrono::DateTime<chrono::FixedOffset>>,
) -> Result<()> {
    let clock = serve::Clock(now);
    let missing = |problem: &str| ConfigError {
        path: config.path.clone(),
        problems: vec![problem.to_owned()],
    };
    let serve_config = config.serve.as_ref().ok_or_else(|| {
        missing("`gazette serve` needs [serve] with public_url, e.g. public_url = \"https://news.example.org/list/\"")
    })?;
    let digest = config.digest.as_ref().ok_or_else(|| {
        missing("`gazette serve` answers the links of the digests, and there is no [digest] in config.toml")
    })?;
    let secret = unsubscribe_secret(digest)?;
    let catalog = crate::i18n::load(config)?;
    let pages = serve::Pages::load(&digest.templates_dir.join("pages"))?;
    let keys: Vec<&str> = config.locales.iter().map(|l| l.key.as_str()).collect();
    let list = crate::subscribers::load(&digest.subscribers, &keys)?;
    let state = State::open(&config.state)?;
    // The file's readers can use their links before the next send.
    state.sync_file(&list.subscribers, clock.now())?;
    let topics = site_topics(config, clock)?;
    let setup = serve::Setup {
        listen: listen.unwrap_or(serve_config.listen),
        base_path: serve_config.public_url.path().to_owned(),
        secret,
        catalog,
        pages,
        locales: config
            .locales
            .iter()
            .map(|l| PageLocale {
                key: l.key.clone(),
                tag: l.tag.clone(),
                home_url: l.home_url.to_string(),
            })
            .collect(),
        list: Arc::new(ListDesk {
            state: Mutex::new(state),
            clock,
            delivery: config.delivery.clone(),
            from: digest.from.clone(),
            from_domain: digest.from_domain.clone(),
            dkim: super::setup::dkim_signer(config)?,
        }),
        public_url: serve_config.public_url.clone(),
        confirm_expiry: serve_config.confirm_expiry,
        limits: serve::SignupLimits::default(),
        clock,
        topics,
        feeds_dir: serve_config.static_files.then(|| config.feeds.dir.clone()),
    };
    let public_url = serve_config.public_url.clone();
    serve::run(setup, |address| {
        // Always printed, even with -q: a supervisor or test reads the port.
        println!("listening on http://{address} for {public_url}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    })
    .context("`gazette serve` stopped")
}

/// The site's tags, as topics a reader may pick: every tag of a published
/// story in any language (case-insensitively one topic), by name.
fn site_topics(config: &Config, clock: serve::Clock) -> Result<Vec<Topic>> {
    let now = clock.now();
    // What the last `build` fetched; `serve` never fetches.
    let feed_articles = super::feeds::gather(
        config,
        super::feeds::Mode::CacheOnly,
        super::SourceFailures::Tolerate,
        now,
    )?;
    let rules = super::setup::ImportRules::default();
    let corpus =
        crate::source::load(config, feed_articles, rules.for_sources(config)?)?.into_published(now);
    let mut topics = BTreeMap::new();
    for article in corpus.stories.iter().flat_map(|s| s.translations.values()) {
        for tag in &article.tags {
            topics
                .entry(tag.to_lowercase())
                .or_insert_with(|| tag.clone());
        }
    }
    Ok(topics
        .into_iter()
        .map(|(value, label)| Topic { value, label })
        .collect())
}

//! Composing messages: each digest rendered and encoded once per (digest,
//! locale, topics), then per subscriber only the headers and the personal
//! values (name, unsubscribe link).
//!
//! Composes; never sends or records.

use crate::config::{Config, DigestConfig, UntranslatedMode};
use crate::deliver::{self, DkimSigner, EncodedBody};
use crate::digest::{self, DigestSettings, DigestView, RenderedDigest, Templates, Untranslated};
use crate::i18n::Catalog;
use crate::model::{Corpus, Email, EmailKey, Subscriber};
use crate::state::State;
use crate::{source, unsubscribe};
use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// What rendering a digest needs besides the corpus: one value instead of
/// a list of arguments.
pub struct Renderer<'a> {
    pub config: &'a Config,
    pub digest: &'a DigestConfig,
    pub catalog: &'a Catalog,
    pub templates: &'a Templates,
    pub now: DateTime<FixedOffset>,
}

/// One digest as one reader group sees it.
pub struct DigestRequest<'a> {
    pub digest_id: &'a str,
    pub story_ids: &'a [String],
    pub locale_key: &'a str,
    pub topics: &'a [String],
}

impl Renderer<'_> {
    /// Renders one digest for one locale and topic set, rendering first
    /// the article bodies it shows.
    pub fn render(&self, corpus: &mut Corpus, request: &DigestRequest) -> Result<RenderedDigest> {
        let view = self.view(corpus, request)?;
        let localizer = self.catalog.localizer(request.locale_key)?;
        digest::render(self.templates, &view, localizer).with_context(|| {
            format!(
                "cannot render digest {} for locale `{}`",
                request.digest_id, request.locale_key
            )
        })
    }

    /// The view of one digest for one locale and topic set, rendering
    /// first the article bodies it shows.
    pub fn view(&self, corpus: &mut Corpus, request: &DigestRequest) -> Result<DigestView> {
        let DigestRequest {
            digest_id,
            story_ids,
            locale_key,
            topics,
        } = *request;
        let locale = self
            .config
            .locale(locale_key)
            .ok_or_else(|| anyhow!("locale `{locale_key}` is not configured"))?;
        let localizer = self.catalog.localizer(locale_key)?;
        let settings = DigestSettings {
            site_url: &locale.home_url,
            max_items: self.digest.max_items,
            untranslated: match self.digest.untranslated {
                UntranslatedMode::Label => Untranslated::Label,
                UntranslatedMode::Skip => Untranslated::Skip,
            },
            postal_address: &self.digest.postal_address,
            browser_url: super::browser_url(self.config, locale_key, digest_id)?,
            words_per_minute: 230,
            cjk_chars_per_minute: 400,
        };
        let shown: source::Selection = digest::shown_versions(
            corpus,
            story_ids,
            locale,
            topics,
            settings.untranslated,
            settings.max_items,
            self.now,
        )
        .into_iter()
        .collect();
        source::render_selected(corpus, &shown)?;
        digest::digest_view(
            corpus, story_ids, locale, topics, localizer, &settings, self.now,
        )
        .with_context(|| format!("cannot prepare digest {digest_id} for locale `{locale_key}`"))
    }
}

/// Turns ledger rows into message bytes.
pub struct Composer<'a> {
    pub renderer: Renderer<'a>,
    pub corpus: &'a mut Corpus,
    pub secret: Vec<u8>,
    pub dkim: Option<&'a DkimSigner>,
    prepared: HashMap<PreparedKey, Prepared>,
    /// The stories of each digest, read from the ledger once.
    story_ids: HashMap<String, Vec<String>>,
    /// When each story first appeared, for readers who joined since.
    first_published: HashMap<String, DateTime<FixedOffset>>,
}

/// Who share one rendering of a digest: its id, the locale, the topics,
/// and, for a reader who joined after some of its stories, when they did.
type PreparedKey = (String, String, Vec<String>, Option<i64>);

/// A digest for one (locale, topics), ready for any of its subscribers.
struct Prepared {
    subject: String,
    /// The body encoded once; each message fills in its own values.
    body: EncodedBody,
}

impl<'a> Composer<'a> {
    pub fn new(
        renderer: Renderer<'a>,
        corpus: &'a mut Corpus,
        secret: Vec<u8>,
        dkim: Option<&'a DkimSigner>,
    ) -> Self {
        let first_published = corpus
            .stories
            .iter()
            .filter_map(|story| Some((story.id.clone(), story.first_published()?)))
            .collect();
        Composer {
            renderer,
            corpus,
            secret,
            dkim,
            prepared: HashMap::new(),
            story_ids: HashMap::new(),
            first_published,
        }
    }

    /// Tells the composer the stories of a digest not yet in the ledger.
    pub fn know_digest(&mut self, digest_id: &str, story_ids: Vec<String>) {
        self.story_ids.insert(digest_id.to_owned(), story_ids);
    }

    /// The message bytes of `digest_id` for `subscriber`.
    pub fn message(
        &mut self,
        state: Option<&State>,
        digest_id: &str,
        subscriber: &Subscriber,
    ) -> Result<Vec<u8>> {
        self.prepare(state, digest_id, subscriber)?;
        self.build(digest_id, subscriber)
    }

    /// Renders the digest `subscriber` gets from `digest_id`, unless done.
    pub fn prepare(
        &mut self,
        state: Option<&State>,
        digest_id: &str,
        subscriber: &Subscriber,
    ) -> Result<()> {
        if !self.story_ids.contains_key(digest_id) {
            let ids = match state {
                Some(state) => state.digest_story_ids(digest_id)?,
                None => Vec::new(),
            };
            self.story_ids.insert(digest_id.to_owned(), ids);
        }
        let key = self.prepared_key(digest_id, subscriber);
        if self.prepared.contains_key(&key) {
            return Ok(());
        }
        let all = &self.story_ids[digest_id];
        // A reader who joined after some of these stories gets the rest.
        let story_ids: Vec<String> = match (key.3, subscriber.since) {
            (Some(_), Some(since)) => all
                .iter()
                .filter(|id| self.first_published.get(*id).is_some_and(|at| *at >= since))
                .cloned()
                .collect(),
            _ => all.clone(),
        };
        let rendered = self.renderer.render(
            self.corpus,
            &DigestRequest {
                digest_id,
                story_ids: &story_ids,
                locale_key: &subscriber.locale,
                topics: &subscriber.topics,
            },
        )?;
        let prepared = Prepared {
            body: EncodedBody::new(&digest::body_template(&rendered)),
            subject: rendered.subject,
        };
        self.prepared.insert(key, prepared);
        Ok(())
    }

    /// The message for `subscriber` from the digest [`Composer::prepare`]
    /// made: only reads, so it can run on many threads at once.
    pub fn build(&self, digest_id: &str, subscriber: &Subscriber) -> Result<Vec<u8>> {
        let prepared = self
            .prepared
            .get(&self.prepared_key(digest_id, subscriber))
            .ok_or_else(|| anyhow!("digest {digest_id} was not rendered"))?;
        let digest = self.renderer.digest;
        let unsubscribe_url =
            unsubscribe::url(&digest.unsubscribe_url, &self.secret, &subscriber.email);
        let email = Email {
            from: digest.from.clone(),
            reply_to: digest.reply_to.clone(),
            to_name: subscriber.name.clone(),
            to_email: subscriber.email.clone(),
            subject: prepared.subject.clone(),
            personal: digest::personal(&subscriber.name, unsubscribe_url.as_str()),
            message_id: message_id(digest_id, &subscriber.email, &digest.from_domain),
            list_id: list_id(digest),
            unsubscribe_url: unsubscribe_url.to_string(),
            unsubscribe_mailto: format!("mailto:{}?subject=unsubscribe", digest.unsubscribe_mailto),
            date: self.renderer.now,
        };
        deliver::build_message(&email, &prepared.body, self.dkim)
    }
}

impl Composer<'_> {
    /// The rendering `subscriber` shares: by locale and topics, and by
    /// join time only when it leaves out some of the digest's stories (so
    /// long-standing sign-ups share one rendering with everyone else).
    fn prepared_key(&self, digest_id: &str, subscriber: &Subscriber) -> PreparedKey {
        let joined_after_some = subscriber.since.filter(|since| {
            self.story_ids.get(digest_id).is_some_and(|ids| {
                ids.iter()
                    .any(|id| self.first_published.get(id).is_none_or(|at| at < since))
            })
        });
        (
            digest_id.to_owned(),
            subscriber.locale.clone(),
            subscriber.topics.clone(),
            joined_after_some.map(|since| since.timestamp()),
        )
    }
}

/// `<digest.hash@domain>`: the same for the same digest and subscriber, so
/// a resend on purpose is recognisable as the same message.
pub fn message_id(digest_id: &str, email: &str, domain: &str) -> String {
    let hash = Sha256::digest(EmailKey::new(email).as_str().as_bytes());
    let short = hex::encode(&hash[..10]);
    format!("<digest.{digest_id}.{short}@{domain}>")
}

/// `List-Id`: the sender's name and a list identifier on its domain.
pub fn list_id(digest: &DigestConfig) -> String {
    let name = digest
        .from_name
        .as_deref()
        .map(|n| n.trim())
        .unwrap_or("Digest");
    format!("{name} <digest.{}>", digest.from_domain)
}

//! Plain data shared by every stage: locales, articles, stories and the corpus.
//!
//! This module owns the vocabulary of the pipeline. It must not do I/O and
//! depends on nothing else in the crate, so any stage can use it.

use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// A configured language: data from config.toml, never an enum, so a third
/// language needs only config and `.ftl` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    /// The key under `[locales.<key>]`, also the file-name suffix (`slug.<key>.md`).
    pub key: String,
    /// The BCP 47 language tag used in feeds and for formatting (`zh-CN`).
    pub tag: String,
    /// Locale keys to try, in order, when a message is missing in this one.
    pub fallback: Vec<String>,
    /// Home page of this language's edition; article URLs live under it.
    pub home_url: Url,
}

impl Locale {
    /// The absolute URL of an article with `slug` in this locale's edition.
    pub fn article_url(&self, slug: &str) -> Result<Url, url::ParseError> {
        // Every article needs one when loaded, and resolving a relative
        // reference re-parses the whole URL. For the usual home page (path
        // ending in `/`, no query or fragment) and a slug of plain ASCII
        // (not `.` or `..`), appending the segment gives the same URL.
        let plain_slug = !matches!(slug, "" | "." | "..")
            && slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        let home = &self.home_url;
        if plain_slug
            && home.path().ends_with('/')
            && home.query().is_none()
            && home.fragment().is_none()
        {
            let mut url = home.clone();
            let appended = url
                .path_segments_mut()
                .map(|mut segments| {
                    segments.pop_if_empty().push(slug).push("");
                })
                .is_ok();
            if appended {
                return Ok(url);
            }
        }
        home.join(&format!("{slug}/"))
    }
}

/// One language version of a story, loaded and checked; its [`Body`] is
/// rendered and sanitised, or only indexed until a view needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Stable story id shared by all translations (front matter `id`, else the slug).
    pub story_id: String,
    /// URL slug shared by all translations.
    pub slug: String,
    /// Locale key of this version.
    pub locale: String,
    pub title: String,
    pub date: DateTime<FixedOffset>,
    pub updated: Option<DateTime<FixedOffset>>,
    /// The source's own plain-text summary (front matter `summary`, a feed
    /// item's summary); `None` when it gave none, and an excerpt of the
    /// body stands in. Read what readers see with [`Article::summary`].
    pub own_summary: Option<String>,
    /// The body: rendered, or only indexed until a view needs it.
    pub body: Body,
    pub tags: Vec<String>,
    pub authors: Vec<String>,
    /// Absolute URL of the lead image.
    pub image: Option<Url>,
    /// Absolute URL of this version on the site.
    pub url: Url,
    pub draft: bool,
    /// Where it came from, for error messages and attribution.
    pub source_path: PathBuf,
    /// Set for stories taken from another publication's feed: who published
    /// it and where the original lives. `None` for the site's own articles.
    /// Boxed: it is large (two URLs) and most articles are the site's own,
    /// so inline it would make every article ~200 bytes bigger.
    pub origin: Option<Box<Origin>>,
}

/// An article's body. Loading a Markdown file only indexes it (front
/// matter checked, body checked as UTF-8): the orchestrator renders just the
/// versions that reach an output (`source::render_selected`). Scraped pages
/// and feed items are rendered as they are loaded.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Not rendered yet: the Markdown body starts at byte `offset` of the
    /// article's [`Article::source_path`] (kept there once, not copied here).
    Indexed { offset: usize },
    /// Rendered and sanitised.
    Rendered {
        /// Sanitised HTML with absolute links.
        html: String,
        /// A plain-text excerpt of the body, for an article without its own
        /// summary; empty when it has one (it is then never shown).
        excerpt: String,
    },
}

impl Body {
    /// A rendered body whose article has its own summary (so no excerpt).
    pub fn rendered(html: String) -> Body {
        Body::Rendered {
            html,
            excerpt: String::new(),
        }
    }

    /// Whether the body still waits to be rendered.
    pub fn is_indexed(&self) -> bool {
        matches!(self, Body::Indexed { .. })
    }
}

/// A view asked for the body (or the excerpt standing in for a summary)
/// of an article whose body was never rendered: the version was left out of
/// the render selection. Never papered over with empty text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the body of {} (`{slug}` in locale `{locale}`) was never rendered, so it cannot be shown; \
     this is a bug in gazette: the version is missing from what was selected for rendering",
    .path.display()
)]
pub struct UnrenderedBody {
    /// The article's file (or feed location).
    pub path: PathBuf,
    pub slug: String,
    pub locale: String,
}

/// Where a story taken from a partner's feed comes from: the attribution
/// shown in our feeds and the keys that recognise the same story twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source's name from config.toml (default: its host), shown as attribution.
    pub source_name: String,
    /// The source feed's own address, or its home page, when it has one.
    pub source_url: Option<Url>,
    /// The item's link on the partner's site: the canonical link of the story.
    pub canonical_url: Url,
    /// The item's id in its source (RSS guid, Atom id, JSON Feed id), unchanged.
    pub item_id: String,
}

impl Article {
    /// The sanitised HTML body, or an error naming the article when its
    /// body was only indexed.
    pub fn content_html(&self) -> Result<&str, UnrenderedBody> {
        match &self.body {
            Body::Rendered { html, .. } => Ok(html),
            Body::Indexed { .. } => Err(self.unrendered()),
        }
    }

    /// The summary readers see: the source's own, else the excerpt of the
    /// rendered body; an error naming the article when that is needed but
    /// the body was only indexed.
    pub fn summary(&self) -> Result<&str, UnrenderedBody> {
        match (&self.own_summary, &self.body) {
            (Some(summary), _) => Ok(summary),
            (None, Body::Rendered { excerpt, .. }) => Ok(excerpt),
            (None, Body::Indexed { .. }) => Err(self.unrendered()),
        }
    }

    fn unrendered(&self) -> UnrenderedBody {
        UnrenderedBody {
            path: self.source_path.clone(),
            slug: self.slug.clone(),
            locale: self.locale.clone(),
        }
    }

    /// When this version last changed: `updated`, else `date`.
    pub fn last_change(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.date).max(self.date)
    }

    /// Published means not a draft and dated at or before `now`.
    pub fn is_published(&self, now: DateTime<FixedOffset>) -> bool {
        !self.draft && self.date <= now
    }
}

/// A story: every language version of it, keyed by locale key.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: String,
    pub slug: String,
    /// Boxed: a B-tree leaf reserves room for 11 entries, and most stories
    /// have one or two, so inline `Article`s would waste ~3 KB per story.
    pub translations: BTreeMap<String, Box<Article>>,
}

/// All stories of a site, in a deterministic order (by slug).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Corpus {
    pub stories: Vec<Story>,
}

impl Corpus {
    /// The span around `now` in which the same versions are published: the
    /// newest publication time at or before `now`, and the first after it
    /// (drafts never count).
    pub fn publication_window(
        &self,
        now: DateTime<FixedOffset>,
    ) -> (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) {
        let dates = self
            .stories
            .iter()
            .flat_map(|s| s.translations.values())
            .filter(|a| !a.draft)
            .map(|a| a.date);
        dates.fold((None, None), |(from, until), date| {
            if date <= now {
                (from.max(Some(date)), until)
            } else {
                (
                    from,
                    until.map_or(Some(date), |u: DateTime<FixedOffset>| Some(u.min(date))),
                )
            }
        })
    }

    /// The corpus as readers see it at `now`: drafts and future versions
    /// removed, stories left without any version dropped.
    pub fn published(&self, now: DateTime<FixedOffset>) -> Corpus {
        let stories = self
            .stories
            .iter()
            .filter_map(|story| {
                let translations: BTreeMap<_, _> = story
                    .translations
                    .iter()
                    .filter(|(_, article)| article.is_published(now))
                    .map(|(key, article)| (key.clone(), article.clone()))
                    .collect();
                (!translations.is_empty()).then(|| Story {
                    id: story.id.clone(),
                    slug: story.slug.clone(),
                    translations,
                })
            })
            .collect();
        Corpus { stories }
    }

    /// [`Corpus::published`] without copying: consumes the corpus.
    pub fn into_published(self, now: DateTime<FixedOffset>) -> Corpus {
        let stories = self
            .stories
            .into_iter()
            .filter_map(|mut story| {
                story
                    .translations
                    .retain(|_, article| article.is_published(now));
                (!story.translations.is_empty()).then_some(story)
            })
            .collect();
        Corpus { stories }
    }

    /// Versions in `locale`, newest first; ties broken by slug so output is stable.
    pub fn newest_first(&self, locale: &str) -> Vec<(&Story, &Article)> {
        self.newest(locale, usize::MAX)
    }

    /// The first `count` of [`Corpus::newest_first`], without sorting the
    /// rest: feeds show the newest 50 of tens of thousands of versions.
    pub fn newest(&self, locale: &str, count: usize) -> Vec<(&Story, &Article)> {
        let mut items: Vec<(&Story, &Article)> = self
            .stories
            .iter()
            .filter_map(|story| story.translations.get(locale).map(|a| (story, &**a)))
            .collect();
        // A total order: a story has one version per locale, and one slug.
        let order = |(sa, a): &(&Story, &Article), (sb, b): &(&Story, &Article)| {
            b.date.cmp(&a.date).then_with(|| sa.slug.cmp(&sb.slug))
        };
        if count < items.len() {
            items.select_nth_unstable_by(count, order);
            items.truncate(count);
        }
        items.sort_by(order);
        items
    }
}

/// Someone who receives the digest, from the subscriber list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Address as written, validated (`li.wei@example.org`).
    pub email: String,
    /// Display name; may be empty, may be non-ASCII (李伟, Zoë).
    pub name: String,
    /// Locale key of the digest they get.
    pub locale: String,
    /// Tags they want; empty means every story.
    pub topics: Vec<String>,
    /// For a reader who signed up: when they confirmed. Their digests hold
    /// only stories first published after it. `None` for the file's readers.
    pub since: Option<DateTime<FixedOffset>>,
}

/// A mail that is not a digest: one plain-text message to one reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeEmail {
    pub from: String,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    pub date: DateTime<FixedOffset>,
}

/// What one message that reached the list's mailbox says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundEvent {
    /// A permanent delivery failure (DSN status 5.x.x).
    HardBounce {
        /// `None`: the report names no recipient we can trust (unattributed).
        recipient: Option<String>,
        status: String,
        diagnostic: String,
    },
    /// A transient failure (4.x.x): counted, suppressed past the limit.
    SoftBounce {
        recipient: Option<String>,
        status: String,
        diagnostic: String,
    },
    /// A reader pressed "report spam" (an ARF feedback report).
    Complaint {
        /// `Original-Rcpt-To`, the report's own field for the reader.
        recipient: Option<String>,
        /// The enclosed message's `Message-ID` (ours name their delivery).
        enclosed_message_id: Option<String>,
        /// The enclosed message's `To`: the last resort.
        enclosed_to: Option<String>,
        feedback_type: String,
    },
    /// A mail to `digest.unsubscribe_mailto`.
    MailtoUnsubscribe { address: String },
    /// An automatic reply (out of office, RFC 3834): nothing to do.
    AutoReply,
    /// Anything else: nothing to do.
    Other,
}

/// One incoming message: its own `Message-ID` (what makes processing it
/// twice change nothing), and what it says (a DSN may report several
/// recipients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub message_id: Option<String>,
    pub events: Vec<InboundEvent>,
    /// The VERP return path it was sent to, as (digest id, signature):
    /// names the delivery whatever the body says.
    pub return_path: Option<(String, String)>,
}

/// Who put a reader on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrigin {
    /// The editor's subscriber file (`digest.subscribers`).
    File,
    /// Another file, added with `gazette subscribers import`.
    Import,
    /// The reader's own sign-up through `gazette serve`.
    Signup,
}

/// What a reader set themselves (preferences page); the editor's file
/// never overwrites these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderChoices {
    pub name: bool,
    pub locale: bool,
    pub topics: bool,
}

/// One reader as the state database keeps the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub subscriber: Subscriber,
    pub origin: ListOrigin,
    /// For a file reader: whether the latest file still lists them.
    pub in_file: bool,
    pub chosen: ReaderChoices,
    /// For a sign-up: whether they confirmed (only then do they get mail).
    pub confirmed: bool,
}

/// An email address as the list keys it: the ledger, the suppression
/// list, unsubscribe tokens and Message-IDs all compare addresses through
/// this one normalisation (lower case, trimmed), done when it is made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailKey(String);

impl EmailKey {
    /// The key of `address` as a reader or the editor wrote it.
    pub fn new(address: &str) -> EmailKey {
        EmailKey(address.trim().to_lowercase())
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Subscriber {
    /// This subscriber's key on the list.
    pub fn key(&self) -> EmailKey {
        EmailKey::new(&self.email)
    }

    /// Whether `story` is one this reader may get: first published after
    /// they joined (always, for the file's readers).
    pub fn may_get(&self, story: &Story) -> bool {
        match self.since {
            None => true,
            Some(since) => story.first_published().is_some_and(|at| at >= since),
        }
    }
}

impl Story {
    /// When the story first appeared, in any language.
    pub fn first_published(&self) -> Option<DateTime<FixedOffset>> {
        self.translations.values().map(|a| a.date).min()
    }
}

/// Where a subscriber's own value goes in a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The subscriber's name.
    Name,
    /// The subscriber's one-click unsubscribe URL.
    UnsubscribeUrl,
}

/// One part of a digest (text or HTML) as it reads for every subscriber,
/// cut where each subscriber's own values go:
/// `fixed[0] slots[0] fixed[1] … slots[n-1] fixed[n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Always one more than `slots`.
    pub fixed: Vec<String>,
    pub slots: Vec<Slot>,
}

impl Template {
    /// A template without slots: `text` for everyone.
    pub fn fixed(text: &str) -> Template {
        Template {
            fixed: vec![text.to_owned()],
            slots: Vec::new(),
        }
    }
}

/// The text part (sent first) and the HTML part (sent last, CSS inlined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    pub text: Template,
    pub html: Template,
}

/// The body of one digest for all its subscribers: `digest` makes it once
/// per rendered digest, `deliver` encodes it once and fills the slots per
/// message. The greeting differs with and without a name, so there are two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTemplate {
    /// For a subscriber with a name.
    pub named: Parts,
    /// For a subscriber without one.
    pub anonymous: Parts,
}

impl BodyTemplate {
    /// The same text and HTML for everyone, whatever their name.
    pub fn fixed(text: &str, html: &str) -> BodyTemplate {
        let parts = Parts {
            text: Template::fixed(text),
            html: Template::fixed(html),
        };
        BodyTemplate {
            named: parts.clone(),
            anonymous: parts,
        }
    }
}

/// One subscriber's values for the [`Slot`]s of a [`BodyTemplate`], as the
/// text part and as the HTML part (escaped) show them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Personal {
    /// The name as text; empty when the subscriber has none.
    pub name: String,
    pub name_html: String,
    pub unsubscribe_url: String,
    pub unsubscribe_url_html: String,
}

impl Personal {
    /// Whether the subscriber gets the greeting without a name.
    pub fn anonymous(&self) -> bool {
        self.name.is_empty()
    }

    /// The value of `slot` in the form a part shows it.
    pub fn value(&self, slot: Slot, form: Form) -> &str {
        match (slot, form) {
            (Slot::Name, Form::Text) => &self.name,
            (Slot::Name, Form::Html) => &self.name_html,
            (Slot::UnsubscribeUrl, Form::Text) => &self.unsubscribe_url,
            (Slot::UnsubscribeUrl, Form::Html) => &self.unsubscribe_url_html,
        }
    }
}

/// The form of a body part, and so of the values in its slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Plain text: values as they are.
    Text,
    /// HTML: values escaped.
    Html,
}

/// One message for one subscriber, ready for a transport: the headers'
/// values and what fills the slots of the digest's [`BodyTemplate`].
/// Transports turn it into MIME; they never render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `Name <address>` of the sender.
    pub from: String,
    pub reply_to: Option<String>,
    pub to_name: String,
    pub to_email: String,
    /// Localised subject, plain text (no isolation marks).
    pub subject: String,
    /// This subscriber's values for the body's slots.
    pub personal: Personal,
    /// Deterministic `<digest.hash@sender-domain>`, with angle brackets.
    pub message_id: String,
    /// `List-Id` value, e.g. `Chengdu–Chongqing Brief <brief.news.example.org>`.
    pub list_id: String,
    /// One-click unsubscribe URL carrying a signed token.
    pub unsubscribe_url: String,
    /// `mailto:` unsubscribe address.
    pub unsubscribe_mailto: String,
    /// The `Date` header.
    pub date: DateTime<FixedOffset>,
}

/// What a transport reports for one message; the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The relay answered 250 to the final dot (or the file is written).
    Sent,
    /// A 4xx reply, or the connection was lost before the final dot: retry later.
    Deferred(String),
    /// A 5xx reply: never retried. `suppress` when the address itself is bad (5.1.x).
    Failed { reason: String, suppress: bool },
    /// The connection was lost after the final dot, before any reply: the
    /// message may or may not have been accepted; never retried automatically.
    Unknown(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_n_are_the_first_n_of_all_newest_first() {
        let home = Url::parse("https://news.example.org/").unwrap();
        let day = |d: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-{d:02}T08:00:00+08:00")).unwrap()
        };
        let mut stories = Vec::new();
        for n in 0..40u32 {
            let slug = format!("s{:02}", (n * 7) % 40);
            let mut translations = BTreeMap::new();
            for (key, shift) in [("en", 0), ("zh", 1)] {
                if n % 5 == 0 && key == "zh" {
                    continue;
                }
                translations.insert(
                    key.to_owned(),
                    Box::new(Article {
                        story_id: slug.clone(),
                        slug: slug.clone(),
                        locale: key.to_owned(),
                        title: slug.clone(),
                        // Many equal dates, so the slug breaks ties.
                        date: day(1 + (n * 3 + shift) % 9),
                        updated: None,
                        own_summary: None,
                        body: Body::rendered(String::new()),
                        tags: vec![],
                        authors: vec![],
                        image: None,
                        url: home.join(&slug).unwrap(),
                        draft: false,
                        source_path: PathBuf::from(&slug),
                        origin: None,
                    }),
                );
            }
            stories.push(Story {
                id: slug.clone(),
                slug,
                translations,
            });
        }
        let corpus = Corpus { stories };
        let key = |items: Vec<(&Story, &Article)>| -> Vec<String> {
            items
                .iter()
                .map(|(s, a)| format!("{} {}", a.date, s.slug))
                .collect()
        };
        for locale in ["en", "zh", "fr"] {
            let all = key(corpus.newest_first(locale));
            for count in [0, 1, 5, 31, 32, 40, 100] {
                let head = key(corpus.newest(locale, count));
                assert_eq!(head, all[..count.min(all.len())], "{locale} {count}");
            }
        }
    }

    fn locale(home: &str) -> Locale {
        Locale {
            key: "en".into(),
            tag: "en".into(),
            fallback: vec![],
            home_url: Url::parse(home).unwrap(),
        }
    }

    #[test]
    fn an_article_url_is_the_slug_resolved_against_the_home_page() {
        for home in [
            "https://news.example.org/",
            "https://news.example.org/en/",
            "https://news.example.org/a/b/",
            "https://news.example.org/en",
            "https://news.example.org/en/?lang=en",
            "https://news.example.org/en/#top",
            "http://localhost:8080/",
        ] {
            let locale = locale(home);
            for slug in [
                "story",
                "v1.2-release_notes",
                "a",
                "成渝-rail",
                "café",
                "x..y",
                "9",
            ] {
                let expected = locale.home_url.join(&format!("{slug}/")).unwrap();
                let url = locale.article_url(slug).unwrap();
                assert_eq!(url, expected, "{home} + {slug}");
                assert_eq!(url.as_str(), expected.as_str(), "{home} + {slug}");
            }
        }
        assert_eq!(
            locale("https://news.example.org/en/")
                .article_url("story")
                .unwrap()
                .as_str(),
            "https://news.example.org/en/story/"
        );
    }
}

//! Digest stage: the email digest of one locale, as plain views, rendered
//! once to HTML and plain text from handlebars templates and Fluent strings,
//! then cut into a template whose slots take each subscriber's name and
//! unsubscribe URL.
//!
//! This module owns the template registry (embedded defaults, the site's
//! `templates/` replacing them file by file, strict mode), the digest views,
//! HTML and text rendering, CSS inlining and personalisation. It must not
//! send mail or touch the database: `deliver` and `state` do that, and only
//! `app` decides which stories are new and who gets them.

mod reading;
mod render;
mod templates;
#[cfg(test)]
mod tests;
mod web;

pub use render::{RenderedDigest, body_template, personal, personalise, render};
pub use templates::{TemplateError, TemplateStage, Templates, load_templates};
pub use web::{
    ArchiveEntry, ArchiveView, FeedLinkView, PageLinks, TranslationView, WebCopyView,
    render_archive, render_feed_entry, render_web_copy,
};

use crate::i18n::Localizer;
use crate::model::{Article, Corpus, Locale, Story};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use fluent_bundle::FluentValue;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use url::Url;

/// Stands for the subscriber's name: [`body_template`] cuts the text there.
/// Private-use characters: never in Fluent output, untouched by HTML
/// escaping and by the CSS inliner, stripped from article text.
pub(crate) const NAME_TOKEN: &str = "\u{E000}name\u{E000}";
/// Stands for the subscriber's unsubscribe URL, like [`NAME_TOKEN`].
pub(crate) const UNSUBSCRIBE_TOKEN: &str = "\u{E000}unsubscribe\u{E000}";
/// Opens the greeting: the greeting with a name follows, up to [`GREETING_OR`].
pub(crate) const GREETING_START: char = '\u{E001}';
/// Separates the greeting with a name from the one without.
pub(crate) const GREETING_OR: char = '\u{E002}';
/// Closes the greeting.
pub(crate) const GREETING_END: char = '\u{E003}';

/// What a digest does with a story that has no version in its locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untranslated {
    /// Show another version (the locale's fallbacks first, then the first
    /// available), labelled ("English only", "仅有英文版").
    Label,
    /// Leave the story out.
    Skip,
}

/// Site-wide digest settings, from the configuration.
#[derive(Debug, Clone)]
pub struct DigestSettings<'a> {
    /// The site's home page: the target of the "more on the web" link.
    pub site_url: &'a Url,
    /// At most this many stories per digest.
    pub max_items: usize,
    /// What to do with stories missing in the digest's locale.
    pub untranslated: Untranslated,
    /// The sender's postal address, shown in the footer (anti-spam laws ask for it).
    pub postal_address: &'a str,
    /// The web copy of this digest for this locale.
    pub browser_url: Url,
    /// Reading speed for alphabetic text (230 is typical).
    pub words_per_minute: u32,
    /// Reading speed for Chinese, Japanese and Korean text (400 is typical).
    pub cjk_chars_per_minute: u32,
}

/// The digest of one locale: plain data for the templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestView {
    /// BCP 47 tag of the digest's locale (`<html lang>`).
    pub lang: String,
    /// Locale key.
    pub locale: String,
    pub site_title: String,
    pub site_url: String,
    /// Plain-text subject, without isolation marks.
    pub subject: String,
    /// The digest's date with its weekday ("Sunday, 29 November 2026").
    pub date: String,
    /// The hidden preview text mail clients show after the subject.
    pub preheader: String,
    /// The greeting, with placeholders that [`personalise`] fills in.
    pub greeting: String,
    /// "3 new stories": counts every matching story, shown or not.
    pub intro: String,
    pub stories: Vec<StoryView>,
    /// How many stories the digest shows.
    pub story_count: usize,
    /// A link to the site, present when the digest does not show every story.
    pub more: Option<LinkView>,
    pub footer: FooterView,
}

/// One story as the digest shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryView {
    pub id: String,
    pub title: String,
    /// Absolute URL of the version shown.
    pub url: String,
    pub summary: String,
    /// "3 min read" / "阅读约 3 分钟".
    pub reading_time: String,
    /// "English only" when the version shown is not in the digest's locale.
    pub label: Option<String>,
    /// Language of title and summary, when it is not the digest's.
    pub lang: Option<String>,
    pub image: Option<ImageView>,
}

/// A story's lead image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageView {
    pub url: String,
    /// Alternative text (articles carry none, so the story's title).
    pub alt: String,
}

/// A labelled link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub label: String,
    pub url: String,
}

/// The footer every digest must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FooterView {
    /// Why the subscriber gets this email.
    pub why: String,
    pub unsubscribe_label: String,
    /// A placeholder that [`personalise`] replaces with the subscriber's URL.
    pub unsubscribe_url: String,
    pub view_in_browser_label: String,
    pub browser_url: String,
    pub postal_address: String,
}

/// The stories of one digest in one locale: stories in `story_ids` order
/// (newest first), each in `locale` if translated, else (Label) in the
/// locale's fallback or first available translation with a localised label
/// ("English only" / "仅有英文版") or (Skip) left out; filtered by `topics`
/// (empty = all; else only stories with a tag in topics, compared without
/// case, in any of its versions); at most `max_items`.
///
/// Ids not in `corpus`, and versions that are drafts or dated after `now`,
/// are left out; an id given twice is shown once.
pub fn digest_view(
    corpus: &Corpus,
    story_ids: &[String],
    locale: &Locale,
    topics: &[String],
    localizer: &Localizer,
    settings: &DigestSettings,
    now: DateTime<FixedOffset>,
) -> Result<DigestView> {
    let chosen = choose(
        corpus,
        story_ids,
        locale,
        topics,
        settings.untranslated,
        now,
        usize::MAX,
    );
    let total = chosen.len();
    let stories = chosen
        .into_iter()
        .take(settings.max_items)
        .map(|(story, article)| story_view(story, article, locale, localizer, settings))
        .collect::<Result<Vec<_>>>()?;
    let site_url = settings.site_url.to_string();
    let more = if stories.len() < total {
        Some(more_link(localizer, &site_url)?)
    } else {
        None
    };

    let site_title = localizer.text("site-title")?;
    let date = localizer.full_date(&now);
    let subject = localizer.message(
        "digest-subject",
        &[("date", FluentValue::from(localizer.long_date(&now)))],
    )?;
    let preheader = match stories.first() {
        Some(first) => {
            localizer.message("digest-preheader", &[("title", first.title.clone().into())])?
        }
        None => localizer.text("site-description")?,
    };
    let greeting = format!(
        "{GREETING_START}{}{GREETING_OR}{}{GREETING_END}",
        localizer.message("digest-greeting", &[("name", NAME_TOKEN.into())])?,
        localizer.text("digest-greeting-anonymous")?,
    );
    let intro = localizer.message("digest-intro", &[("count", FluentValue::from(total))])?;
    let footer = FooterView {
        why: localizer.text("digest-footer-why")?,
        unsubscribe_label: localizer.text("digest-unsubscribe")?,
        unsubscribe_url: UNSUBSCRIBE_TOKEN.to_owned(),
        view_in_browser_label: localizer.text("digest-view-in-browser")?,
        browser_url: settings.browser_url.to_string(),
        postal_address: plain(settings.postal_address),
    };
    Ok(DigestView {
        lang: locale.tag.clone(),
        locale: locale.key.clone(),
        site_title,
        site_url,
        subject,
        date,
        preheader,
        greeting,
        intro,
        story_count: stories.len(),
        stories,
        more,
        footer,
    })
}

/// The versions a digest of `story_ids` in `locale` for `topics` may show,
/// as (story id, locale key of the version): the first `max_items` that
/// [`digest_view`] picks. Only their bodies need rendering (reading time and
/// excerpt); rendering may drop some from the end to fit, never add one.
pub fn shown_versions(
    corpus: &Corpus,
    story_ids: &[String],
    locale: &Locale,
    topics: &[String],
    untranslated: Untranslated,
    max_items: usize,
    now: DateTime<FixedOffset>,
) -> Vec<(String, String)> {
    choose(
        corpus,
        story_ids,
        locale,
        topics,
        untranslated,
        now,
        max_items,
    )
    .into_iter()
    .map(|(story, article)| (story.id.clone(), article.locale.clone()))
    .collect()
}

/// Every story of `story_ids` a digest in `locale` for `topics` includes,
/// in order, with the version it shows; only the first `limit` when fewer
/// are needed (a first digest's ids are every story of the site).
fn choose<'c>(
    corpus: &'c Corpus,
    story_ids: &[String],
    locale: &Locale,
    topics: &[String],
    untranslated: Untranslated,
    now: DateTime<FixedOffset>,
    limit: usize,
) -> Vec<(&'c Story, &'c Article)> {
    let by_id: HashMap<&str, &Story> = corpus.stories.iter().map(|s| (s.id.as_str(), s)).collect();
    let topics = Topics::new(topics);
    // Hashed: the ids of a first digest are every story of the site.
    let mut seen = std::collections::HashSet::new();
    // Stories in the reader's language lead, labelled ones (another
    // language's version) follow, each group in digest order: the first
    // story is what the inbox preview shows.
    let mut chosen: Vec<(&Story, &Article)> = Vec::new();
    let mut labelled: Vec<(&Story, &Article)> = Vec::new();
    for id in story_ids {
        if chosen.len() == limit {
            break;
        }
        let Some(story) = by_id.get(id.as_str()).copied() else {
            tracing::debug!(story = %id, "not in the corpus; left out of the digest");
            continue;
        };
        if !seen.insert(id.as_str()) {
            continue;
        }
        let Some(article) = version_for(story, locale, untranslated, now) else {
            continue;
        };
        if !topics.is_empty() && !topics.matches(story, now) {
            continue;
        }
        if article.locale == locale.key {
            chosen.push((story, article));
        } else if labelled.len() < limit {
            labelled.push((story, article));
        }
    }
    chosen.extend(labelled);
    chosen.truncate(limit);
    chosen
}

/// The version of `story` a digest in `locale` shows, if any.
fn version_for<'s>(
    story: &'s Story,
    locale: &Locale,
    untranslated: Untranslated,
    now: DateTime<FixedOffset>,
) -> Option<&'s Article> {
    let published = |key: &str| {
        story
            .translations
            .get(key)
            .map(|a| &**a)
            .filter(|a| a.is_published(now))
    };
    if let Some(article) = published(&locale.key) {
        return Some(article);
    }
    match untranslated {
        Untranslated::Skip => None,
        Untranslated::Label => locale
            .fallback
            .iter()
            .find_map(|key| published(key))
            .or_else(|| {
                story
                    .translations
                    .values()
                    .map(|a| &**a)
                    .find(|a| a.is_published(now))
            }),
    }
}

/// A reader's topics, lower-cased once: the one place where topics meet
/// tags, so `Economy` and `economy` are the same topic everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics(BTreeSet<String>);

impl Topics {
    /// The topics as a reader wrote them.
    pub fn new(topics: &[String]) -> Topics {
        Topics(topics.iter().map(|t| t.to_lowercase()).collect())
    }

    /// No topics: the reader wants every story.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any version of `story` published at `now` has a tag among
    /// these topics, in any case.
    pub fn matches(&self, story: &Story, now: DateTime<FixedOffset>) -> bool {
        story
            .translations
            .values()
            .filter(|a| a.is_published(now))
            .flat_map(|a| &a.tags)
            .any(|tag| self.0.contains(&tag.to_lowercase()))
    }
}

fn story_view(
    story: &Story,
    article: &Article,
    locale: &Locale,
    localizer: &Localizer,
    settings: &DigestSettings,
) -> Result<StoryView> {
    let minutes = reading::minutes(
        article.content_html()?,
        settings.words_per_minute,
        settings.cjk_chars_per_minute,
    );
    let reading_time = localizer.message(
        "digest-reading-time",
        &[("minutes", FluentValue::from(minutes))],
    )?;
    let translated = article.locale == locale.key;
    let label = if translated {
        None
    } else {
        Some(
            localizer
                .message(
                    "digest-untranslated",
                    &[("language", FluentValue::from(article.locale.clone()))],
                )
                .with_context(|| format!("labelling untranslated story `{}`", story.id))?,
        )
    };
    // A locale key is usually a language tag ("en", "zh"); when it is not,
    // leave `lang` out rather than mislabel the text.
    let lang = (!translated
        && article
            .locale
            .parse::<unic_langid::LanguageIdentifier>()
            .is_ok())
    .then(|| article.locale.clone());
    let title = plain(&article.title);
    Ok(StoryView {
        id: story.id.clone(),
        url: article.url.to_string(),
        summary: plain(article.summary()?),
        reading_time,
        label,
        lang,
        image: article.image.as_ref().map(|url| ImageView {
            url: url.to_string(),
            alt: title.clone(),
        }),
        title,
    })
}

/// The "more on the web" link.
pub(crate) fn more_link(localizer: &Localizer, site_url: &str) -> Result<LinkView> {
    Ok(LinkView {
        label: localizer.text("digest-more-on-web")?,
        url: site_url.to_owned(),
    })
}

/// Text from articles or config with our placeholder characters removed, so
/// it can never be mistaken for a placeholder.
pub(crate) fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !('\u{E000}'..='\u{E003}').contains(c))
        .collect()
}

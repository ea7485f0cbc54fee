//! Source stage: turns the configured sources into a [`Corpus`], pairing
//! translations by slug and reporting every bad file in one pass.
//!
//! One submodule per source kind. This stage must not render feeds or
//! localise anything; it produces plain `model` values.

mod clean;
pub mod markdown;

use crate::config::{Config, Source};
use crate::model::{Article, Corpus, Locale, Story};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use url::Url;

/// One problem with one input file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Every problem found in the sources; nothing is published when this is raised.
#[derive(Debug, thiserror::Error)]
#[error("{} problem{} in the articles; nothing was published:\n{}",
    .problems.len(),
    if .problems.len() == 1 { "" } else { "s" },
    .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ContentError {
    pub problems: Vec<Problem>,
}

/// What loading needs to know about the site.
#[derive(Debug, Clone)]
pub struct LoadContext<'a> {
    pub locales: &'a [Locale],
    pub default_locale: &'a str,
    /// Front matter `image` paths are relative to the site root.
    pub base_url: &'a Url,
}

impl<'a> LoadContext<'a> {
    /// The loading context of a validated config.
    pub fn from_config(config: &'a Config) -> Self {
        LoadContext {
            locales: &config.locales,
            default_locale: &config.site.default_locale,
            base_url: &config.site.base_url,
        }
    }

    fn locale(&self, key: &str) -> Option<&'a Locale> {
        self.locales.iter().find(|l| l.key == key)
    }
}

/// Loads every configured source and pairs translations into stories.
pub fn load(config: &Config) -> Result<Corpus, ContentError> {
    let ctx = LoadContext::from_config(config);
    let mut articles = Vec::new();
    let mut problems = Vec::new();
    for source in &config.sources {
        let (loaded, found) = match source {
            Source::Markdown { path } => markdown::load_dir(path, &ctx),
        };
        articles.extend(loaded);
        problems.extend(found);
    }
    let (corpus, pairing_problems) = pair(articles);
    problems.extend(pairing_problems);
    if problems.is_empty() {
        Ok(corpus)
    } else {
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        Err(ContentError { problems })
    }
}

/// Groups articles into stories by slug; two versions of one story in the
/// same locale, or translations that disagree on the story id, are problems.
pub fn pair(articles: Vec<Article>) -> (Corpus, Vec<Problem>) {
    let mut by_slug: BTreeMap<String, Story> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut sorted = articles;
    sorted.sort_by(|a, b| a.source_path.cmp(&b.source_path));
    for article in sorted {
        let story = by_slug
            .entry(article.slug.clone())
            .or_insert_with(|| Story {
                id: article.story_id.clone(),
                slug: article.slug.clone(),
                translations: BTreeMap::new(),
            });
        if let Some(existing) = story.translations.get(&article.locale) {
            problems.push(Problem {
                path: article.source_path.clone(),
                line: None,
                message: format!(
                    "duplicate slug `{}` in locale `{}`: {} already has it; rename one file or set a different `slug` in its front matter",
                    article.slug,
                    article.locale,
                    existing.source_path.display()
                ),
            });
            continue;
        }
        if story.id != article.story_id {
            problems.push(Problem {
                path: article.source_path.clone(),
                line: None,
                message: format!(
                    "story id `{}` differs from `{}` used by its translation {}; translations of one story must share one `id`",
                    article.story_id,
                    story.id,
                    story.translations.values().next().map(|a| a.source_path.display().to_string()).unwrap_or_default()
                ),
            });
            continue;
        }
        story.translations.insert(article.locale.clone(), article);
    }
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for story in by_slug.values() {
        if let Some(other_slug) = ids.insert(story.id.clone(), story.slug.clone()) {
            let path = story
                .translations
                .values()
                .next()
                .map(|a| a.source_path.clone())
                .unwrap_or_default();
            problems.push(Problem {
                path,
                line: None,
                message: format!(
                    "story id `{}` is also used by the story with slug `{other_slug}`; ids must be unique",
                    story.id
                ),
            });
        }
    }
    (
        Corpus {
            stories: by_slug.into_values().collect(),
        },
        problems,
    )
}

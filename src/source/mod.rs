//! Source stage: turns the configured sources into a [`Corpus`], pairing
//! translations by slug and reporting every bad file in one pass.
//!
//! One submodule per source kind. This stage must not render feeds or
//! localise anything; it produces plain `model` values.

mod clean;
pub mod markdown;
pub mod text;

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
    // Validated with the config; a failure here names the config file.
    let rules = text::ChromeRules::new(&config.import.chrome, &config.import.captions);
    for source in &config.sources {
        let (loaded, found) = match source {
            Source::Markdown { path } => markdown::load_dir(path, &ctx),
            Source::Text { path, locale } => match &rules {
                Ok(rules) => text::load_dir(path, locale, rules, &ctx),
                Err(message) => (
                    Vec::new(),
                    vec![Problem {
                        path: config.path.clone(),
                        line: None,
                        message: format!("[import]: {message}"),
                    }],
                ),
            },
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

/// Groups articles into stories by slug. Two versions of one story in the
/// same locale are reported (every file involved) and left out; so are
/// translations that disagree on the story id, and ids shared by two stories.
pub fn pair(articles: Vec<Article>) -> (Corpus, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut versions: BTreeMap<(String, String), Vec<Article>> = BTreeMap::new();
    for article in articles {
        versions
            .entry((article.slug.clone(), article.locale.clone()))
            .or_default()
            .push(article);
    }
    let mut by_slug: BTreeMap<String, Vec<Article>> = BTreeMap::new();
    for ((slug, locale), mut same) in versions {
        same.sort_by(|a, b| a.source_path.cmp(&b.source_path));
        if same.len() > 1 {
            for (index, article) in same.iter().enumerate() {
                let others: Vec<String> = same
                    .iter()
                    .enumerate()
                    .filter(|(other, _)| *other != index)
                    .map(|(_, a)| a.source_path.display().to_string())
                    .collect();
                problems.push(Problem {
                    path: article.source_path.clone(),
                    line: None,
                    message: format!(
                        "duplicate slug `{slug}` in locale `{locale}`: also in {}; rename one file or set a different `slug` in its front matter",
                        others.join(", ")
                    ),
                });
            }
            continue;
        }
        by_slug.entry(slug).or_default().extend(same);
    }

    let mut stories = Vec::new();
    let mut owner_of_id: BTreeMap<String, String> = BTreeMap::new();
    for (slug, translations) in by_slug {
        let ids: std::collections::BTreeSet<&str> =
            translations.iter().map(|a| a.story_id.as_str()).collect();
        if ids.len() > 1 {
            for article in &translations {
                problems.push(Problem {
                    path: article.source_path.clone(),
                    line: None,
                    message: format!(
                        "translations of `{slug}` disagree on the story id ({}); give them one `id`",
                        ids.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            continue;
        }
        let id = translations[0].story_id.clone();
        if let Some(other_slug) = owner_of_id.insert(id.clone(), slug.clone()) {
            problems.push(Problem {
                path: translations[0].source_path.clone(),
                line: None,
                message: format!(
                    "story id `{id}` is also used by the story with slug `{other_slug}`; ids must be unique"
                ),
            });
            continue;
        }
        stories.push(Story {
            id,
            slug,
            translations: translations
                .into_iter()
                .map(|a| (a.locale.clone(), a))
                .collect(),
        });
    }
    (Corpus { stories }, problems)
}

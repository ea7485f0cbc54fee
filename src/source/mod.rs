//! Source stage: turns the configured sources into a [`Corpus`], pairing
//! translations by slug and reporting every bad file in one pass.
//!
//! One submodule per source kind. This stage must not render feeds or
//! localise anything; it produces plain `model` values.

mod clean;
pub mod feed;
mod front_matter;
#[doc(hidden)]
pub use front_matter::check_quick_reader;
pub mod http;
pub mod markdown;
pub mod text;

use crate::config::{Config, Source};
use crate::model::{Article, Corpus, Locale, Story};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
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

/// The largest article file (Markdown or a page saved as text) gazette
/// reads: 8 MiB. A real article is a few kilobytes; loading holds a file
/// several times over while parsing and rendering it (a 50 MB file once
/// took 700 MB), so a larger one is refused before it is read.
pub const MAX_ARTICLE_BYTES: u64 = 8 * 1024 * 1024;

/// Reads the article file `path` into `buffer` (cleared first), refusing
/// one over [`MAX_ARTICLE_BYTES`]: the size comes from the open file's
/// metadata before any byte is read, and the read itself stops past the
/// limit, so a file that grows in between is not read whole either.
pub(crate) fn read_article(path: &Path, buffer: &mut Vec<u8>) -> Result<(), Problem> {
    use std::io::Read;
    let problem = |message: String| Problem {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let too_large = |size: u64| {
        problem(format!(
            "the file is {size} bytes ({:.1} MiB), over the limit of {MAX_ARTICLE_BYTES} bytes (8 MiB) for one article; split it into several articles, or link large content instead of including it",
            size as f64 / (1024.0 * 1024.0)
        ))
    };
    buffer.clear();
    let file = std::fs::File::open(path).map_err(|e| problem(format!("cannot read file: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| problem(format!("cannot read file: {e}")))?
        .len();
    if size > MAX_ARTICLE_BYTES {
        return Err(too_large(size));
    }
    // `take` also keeps `read_to_end` from statting the file again to size
    // a buffer we already have (one buffer per worker, reused).
    file.take(MAX_ARTICLE_BYTES + 1)
        .read_to_end(buffer)
        .map_err(|e| problem(format!("cannot read file: {e}")))?;
    if buffer.len() as u64 > MAX_ARTICLE_BYTES {
        return Err(too_large(buffer.len() as u64));
    }
    Ok(())
}

/// Warns, once for the file `path`, when its `text` holds characters that
/// loading removes (NUL and other control characters, U+FFFE, U+FFFF):
/// they cannot appear in a feed, and an author should learn that the text
/// differs from the file (often a sign of a bad copy or conversion).
pub(crate) fn warn_about_removed_characters(path: &Path, text: &str) {
    if let Some(removed) = clean::removed_characters(text) {
        tracing::warn!(
            "{}:{}: {removed}; they cannot appear in feeds or mail, so delete them from the file",
            path.display(),
            removed.first_line
        );
    }
}

/// Splits per-file results into the values and the problems, keeping
/// their order, so a loader reports every bad file, not just the first.
/// The output vectors are allocated at their exact size: loaders hand over
/// tens of thousands of results, and growing by doubling would hold up to
/// twice the memory while copying.
pub(crate) fn split_results<T>(results: Vec<Result<T, Problem>>) -> (Vec<T>, Vec<Problem>) {
    let good = results.iter().filter(|r| r.is_ok()).count();
    let mut values = Vec::with_capacity(good);
    let mut problems = Vec::with_capacity(results.len() - good);
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(problem) => problems.push(problem),
        }
    }
    (values, problems)
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
///
/// Feed sources do no I/O here: `feed_articles` holds, by index in
/// `config.sources`, what the caller got from [`feed::items_to_articles`]
/// (fetched, cached or read); a feed source missing from it contributes
/// nothing. Articles are taken in configured order, so when two feed items
/// are one story, the first source's copy is kept.
///
/// Articles are boxed as they are made and only the boxes move from here
/// on: an `Article` is a few hundred bytes inline, and a large site has
/// tens of thousands, so each whole-vector move or regrouping by value
/// would copy (and for a while hold twice) that much memory.
///
/// `rules` are the compiled import rules; `app` builds them (once) only
/// when a text source needs them.
pub fn load(
    config: &Config,
    mut feed_articles: BTreeMap<usize, Vec<Article>>,
    rules: Option<&text::ChromeRules>,
) -> Result<Corpus, ContentError> {
    let ctx = LoadContext::from_config(config);
    let mut articles: Vec<Box<Article>> = Vec::new();
    let mut problems = Vec::new();
    for (index, source) in config.sources.iter().enumerate() {
        let (loaded, found) = match source {
            Source::Markdown { path } => markdown::load_dir(path, &ctx),
            Source::Feed(_) => (
                feed_articles
                    .remove(&index)
                    .unwrap_or_default()
                    .into_iter()
                    .map(Box::new)
                    .collect(),
                Vec::new(),
            ),
            Source::Text { path, locale } => match rules {
                Some(rules) => {
                    let (loaded, found) = text::load_dir(
                        path,
                        locale,
                        rules,
                        text::PageZone::new(config.site.time_zone),
                        &ctx,
                    );
                    (loaded.into_iter().map(Box::new).collect(), found)
                }
                None => (
                    Vec::new(),
                    vec![Problem {
                        path: config.path.clone(),
                        line: None,
                        message: "[import]: the import rules were not compiled for this text source (a bug in gazette; please report it)".to_owned(),
                    }],
                ),
            },
        };
        if articles.is_empty() {
            articles = loaded;
        } else {
            articles.extend(loaded);
        }
        problems.extend(found);
    }
    let articles = drop_repeated_feed_items(articles);
    let (corpus, pairing_problems) = pair(articles);
    problems.extend(pairing_problems);
    if problems.is_empty() {
        Ok(corpus)
    } else {
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        Err(ContentError { problems })
    }
}

/// The versions to render: (story id, locale key).
pub type Selection = std::collections::BTreeSet<(String, String)>;

/// Renders the bodies of the selected versions that loading only indexed
/// (see [`markdown::render_file`]), in parallel; other versions stay
/// [`Body::Indexed`](crate::model::Body::Indexed), and a view that reaches
/// one gets an error naming its file instead of empty text. Loading already
/// reported every bad file; a problem here means a file changed or vanished
/// since, and every such file is reported.
pub fn render_selected(corpus: &mut Corpus, selection: &Selection) -> Result<(), ContentError> {
    use rayon::prelude::*;
    // Borrowed keys: looking up every version of a large corpus must not
    // copy its id and locale into a fresh `(String, String)` each time.
    let selection: std::collections::BTreeSet<(&str, &str)> = selection
        .iter()
        .map(|(id, locale)| (id.as_str(), locale.as_str()))
        .collect();
    let mut targets: Vec<&mut Article> = corpus
        .stories
        .iter_mut()
        .flat_map(|story| {
            let id = story.id.as_str();
            let selection = &selection;
            story
                .translations
                .iter_mut()
                .filter(move |(locale, article)| {
                    article.body.is_indexed() && selection.contains(&(id, locale.as_str()))
                })
                .map(|(_, article)| &mut **article)
        })
        .collect();
    let mut problems: Vec<Problem> = targets
        .par_iter_mut()
        .filter_map(|article| markdown::render_file(article).err())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        Err(ContentError { problems })
    }
}

/// Keeps the first of feed items that are one story in one locale: the
/// same canonical URL, or the same id in their sources. The site's own
/// articles are never dropped here (a clash with them is a pairing problem).
pub fn drop_repeated_feed_items(mut articles: Vec<Box<Article>>) -> Vec<Box<Article>> {
    let mut seen: std::collections::HashMap<(String, String), String> =
        std::collections::HashMap::new();
    articles.retain(|article| {
        let Some(origin) = &article.origin else {
            return true;
        };
        let url_key = (
            article.locale.clone(),
            format!("url {}", origin.canonical_url),
        );
        let id_key = (article.locale.clone(), format!("id {}", origin.item_id));
        if let Some(first) = seen.get(&url_key).or_else(|| seen.get(&id_key)) {
            tracing::info!(
                "{} from {} repeats {first}; kept the first source's copy",
                origin.canonical_url,
                origin.source_name
            );
            return false;
        }
        let first = format!("{} from {}", origin.item_id, origin.source_name);
        seen.insert(url_key, first.clone());
        seen.insert(id_key, first);
        true
    });
    articles
}

/// Groups articles into stories by slug. Two versions of one story in the
/// same locale are reported (every file involved) and left out; so are
/// translations that disagree on the story id, and ids shared by two stories.
pub fn pair(mut articles: Vec<Box<Article>>) -> (Corpus, Vec<Problem>) {
    let mut problems = Vec::new();
    // One stable sort instead of maps of vectors: versions of a story end up
    // next to each other (by slug, then locale, then file), and equal keys
    // keep their input order.
    articles.sort_by(|a, b| {
        (a.slug.as_str(), a.locale.as_str(), &a.source_path).cmp(&(
            b.slug.as_str(),
            b.locale.as_str(),
            &b.source_path,
        ))
    });
    let mut stories = Vec::new();
    let mut owner_of_id: BTreeMap<String, String> = BTreeMap::new();
    let mut rest = articles.into_iter().peekable();
    while let Some(first) = rest.next() {
        // Every version with this slug, in locale order.
        let mut same_slug = vec![first];
        while let Some(next) = rest.next_if(|a| a.slug == same_slug[0].slug) {
            same_slug.push(next);
        }
        let slug = same_slug[0].slug.clone();
        // Two versions in one locale: report every file involved, keep none.
        let mut translations: Vec<Box<Article>> = Vec::with_capacity(same_slug.len());
        let mut versions = same_slug.into_iter().peekable();
        while let Some(version) = versions.next() {
            if versions
                .peek()
                .is_none_or(|next| next.locale != version.locale)
            {
                translations.push(version);
                continue;
            }
            let mut same = vec![version];
            while let Some(next) = versions.next_if(|a| a.locale == same[0].locale) {
                same.push(next);
            }
            let locale = &same[0].locale;
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
        }
        if translations.is_empty() {
            continue;
        }
        let first_id = translations[0].story_id.as_str();
        if translations.iter().any(|a| a.story_id != first_id) {
            let ids: std::collections::BTreeSet<&str> =
                translations.iter().map(|a| a.story_id.as_str()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use chrono::DateTime;

    /// What the loaders hand over: boxed articles (see [`load`]).
    #[allow(clippy::vec_box)]
    fn boxed(articles: Vec<Article>) -> Vec<Box<Article>> {
        articles.into_iter().map(Box::new).collect()
    }

    fn item(source: &str, locale: &str, id: &str, link: &str) -> Article {
        let url = Url::parse(link).unwrap();
        Article {
            story_id: format!("{source}:{id}"),
            slug: format!("{source}-{id}"),
            locale: locale.to_owned(),
            title: id.to_owned(),
            date: DateTime::parse_from_rfc3339("2026-11-27T08:00:00+08:00").unwrap(),
            updated: None,
            own_summary: None,
            body: crate::model::Body::rendered(String::new()),
            tags: vec![],
            authors: vec![],
            image: None,
            url: url.clone(),
            draft: false,
            source_path: PathBuf::from(source),
            origin: Some(Box::new(Origin {
                source_name: source.to_owned(),
                source_url: None,
                canonical_url: url,
                item_id: id.to_owned(),
            })),
        }
    }

    #[test]
    fn the_same_story_from_two_feeds_is_kept_once_from_the_first_source() {
        let kept = drop_repeated_feed_items(boxed(vec![
            item("a", "en", "1", "https://x.example/1"),
            item("b", "en", "other-id", "https://x.example/1"), // same URL
            item("b", "en", "1", "https://y.example/1"),        // same id
            item("b", "en", "2", "https://x.example/2"),
            item("b", "zh", "1", "https://x.example/1"), // another locale
        ]));
        let keys: Vec<&str> = kept.iter().map(|a| a.slug.as_str()).collect();
        assert_eq!(keys, vec!["a-1", "b-2", "b-1"]);
        assert_eq!(kept[2].locale, "zh");
    }

    #[test]
    fn a_feed_item_clashing_with_a_markdown_slug_is_reported_not_merged() {
        let mut own = item("x", "en", "1", "https://news.example.org/story/");
        own.origin = None;
        own.slug = "story".to_owned();
        own.source_path = PathBuf::from("articles/story.md");
        let mut partner = item("p", "en", "9", "https://p.example/9");
        partner.slug = "story".to_owned();
        let (corpus, problems) = pair(drop_repeated_feed_items(boxed(vec![own, partner])));
        assert!(corpus.stories.is_empty());
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0]
                .message
                .starts_with("duplicate slug `story` in locale `en`"),
            "{}",
            problems[0].message
        );
    }
}

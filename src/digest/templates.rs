//! The digest's template registry: embedded defaults replaced file by file
//! by the site's `templates/`, strict mode, HTML escaping only for HTML.
//!
//! It only reads template files; it never renders a digest or decides
//! which stories one shows.

use crate::walk::{Depth, Hidden, Listing, Missing};
use anyhow::{Context, Result};
use handlebars::Handlebars;
use std::path::Path;

/// Which registry a template file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// HTML-escaped output.
    Html,
    /// Plain text: nothing escaped.
    Text,
}

/// Every template file the digest uses: (file name, embedded default, part).
/// The registered name is the file name without `.hbs`, so partials are
/// included as `{{> story.html}}` and the stylesheet as `{{> digest.css}}`.
const EMBEDDED: &[(&str, &str, Part)] = &[
    (
        "digest.html.hbs",
        include_str!("../../templates/digest.html.hbs"),
        Part::Html,
    ),
    (
        "story.html.hbs",
        include_str!("../../templates/story.html.hbs"),
        Part::Html,
    ),
    (
        "digest.css",
        include_str!("../../templates/digest.css"),
        Part::Html,
    ),
    (
        "web-copy.html.hbs",
        include_str!("../../templates/web-copy.html.hbs"),
        Part::Html,
    ),
    (
        "archive.html.hbs",
        include_str!("../../templates/archive.html.hbs"),
        Part::Html,
    ),
    (
        "digest-entry.html.hbs",
        include_str!("../../templates/digest-entry.html.hbs"),
        Part::Html,
    ),
    (
        "digest.txt.hbs",
        include_str!("../../templates/digest.txt.hbs"),
        Part::Text,
    ),
    (
        "story.txt.hbs",
        include_str!("../../templates/story.txt.hbs"),
        Part::Text,
    ),
];

/// The HTML template's registered name.
pub(crate) const HTML: &str = "digest.html";
/// The public web copy's registered name.
pub(crate) const WEB_COPY: &str = "web-copy.html";
/// The digest archive page's registered name.
pub(crate) const ARCHIVE: &str = "archive.html";
/// The registered name of a digest's entry in the feed of digests.
pub(crate) const FEED_ENTRY: &str = "digest-entry.html";
/// The text template's registered name.
pub(crate) const TEXT: &str = "digest.txt";

/// The digest templates, parsed and ready to render.
pub struct Templates {
    pub(crate) html: Handlebars<'static>,
    pub(crate) text: Handlebars<'static>,
    /// Where each registered template came from, for render errors.
    pub(crate) origins: Vec<(String, String)>,
}

impl Templates {
    /// Where the template registered as `name` came from (a path, or
    /// `<embedded>/templates/<file>`).
    pub(crate) fn origin<'a>(&'a self, name: &'a str) -> &'a str {
        self.origins
            .iter()
            .find(|(n, _)| n == name)
            .map_or(name, |(_, origin)| origin.as_str())
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// Templates that do not parse, or one that fails to render (in strict
/// mode, a name no view carries), each problem as `file:line:column:
/// reason`; like a bad article, it is the user's content to fix (exit code
/// 4).
#[derive(Debug, thiserror::Error)]
#[error("{}:\n{}",
    .stage.summary(.problems.len()),
    .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct TemplateError {
    /// Each problem, located.
    pub problems: Vec<String>,
    /// Where the templates failed.
    pub stage: TemplateStage,
}

/// When a [`TemplateError`] was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateStage {
    /// Loading: the syntax is wrong (every file is reported).
    Parse,
    /// Rendering: a template names a value, partial or helper that is not
    /// there (rendering stops at the first).
    Render,
}

impl TemplateStage {
    fn summary(self, count: usize) -> String {
        match self {
            TemplateStage::Parse => format!(
                "{count} template{} could not be parsed; fix the syntax or delete the file to use the default",
                if count == 1 { "" } else { "s" }
            ),
            TemplateStage::Render => "a digest template could not be rendered; fix the template or delete the file to use the default".to_owned(),
        }
    }
}

/// Embedded defaults (`digest.html.hbs`, `digest.txt.hbs`, the partials
/// `story.html.hbs` and `story.txt.hbs`, and `digest.css`) replaced file by
/// file by `<dir>/<same name>` if present; handlebars strict mode; the text
/// templates registered with no HTML escaping. A template syntax error names
/// the file and line; every bad file is reported, not just the first.
pub fn load_templates(dir: &Path) -> Result<Templates> {
    let mut html = Handlebars::new();
    let mut text = Handlebars::new();
    html.set_strict_mode(true);
    text.set_strict_mode(true);
    text.register_escape_fn(handlebars::no_escape);
    // Partials must not be re-indented: text output is whitespace-sensitive.
    html.set_prevent_indent(true);
    text.set_prevent_indent(true);

    let mut origins = Vec::new();
    let mut problems = Vec::new();
    for (file, embedded, part) in EMBEDDED {
        let path = dir.join(file);
        let (origin, source) = match std::fs::read_to_string(&path) {
            Ok(source) => (path.display().to_string(), source),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                format!("<embedded>/templates/{file}"),
                (*embedded).to_owned(),
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read template {}", path.display()));
            }
        };
        let name = file.strip_suffix(".hbs").unwrap_or(file);
        let registry = match part {
            Part::Html => &mut html,
            Part::Text => &mut text,
        };
        if let Err(e) = registry.register_template_string(name, &source) {
            let at = e
                .pos()
                .map(|(line, column)| format!(":{line}:{column}"))
                .unwrap_or_default();
            problems.push(format!("{origin}{at}: {}", e.reason()));
        }
        origins.push((name.to_owned(), origin));
    }
    if !problems.is_empty() {
        return Err(TemplateError {
            problems,
            stage: TemplateStage::Parse,
        }
        .into());
    }
    warn_about_unknown_files(dir);
    Ok(Templates {
        html,
        text,
        origins,
    })
}

/// A misspelt override would silently be ignored: say so in the log.
fn warn_about_unknown_files(dir: &Path) {
    // The folder is optional, and this is only a warning: a folder that
    // cannot be listed has nothing to warn about (reading an override that
    // is there reports its own error).
    let files = Listing {
        extensions: &["hbs", "css"],
        depth: Depth::Flat,
        hidden: Hidden::Include,
        missing: Missing::Empty,
    }
    .files(dir)
    .unwrap_or_default();
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !EMBEDDED.iter().any(|(file, _, _)| *file == name) {
            tracing::warn!(
                file = %path.display(),
                "not a digest template; known: {}",
                EMBEDDED.iter().map(|(f, _, _)| *f).collect::<Vec<_>>().join(", ")
            );
        }
    }
}

//! The pages `gazette serve` shows: handlebars templates under
//! `templates/pages/` (built in, each replaceable by the site's file of the
//! same name in `<digest.templates_dir>/pages/`), strict mode, every
//! visible string from Fluent.
//!
//! Renders views to HTML; never decides what a request does.

use anyhow::{Context, Result, anyhow};
use handlebars::Handlebars;
use serde::Serialize;
use std::path::Path;

/// (file name, embedded default). Registered without `.hbs`.
const EMBEDDED: &[(&str, &str)] = &[
    ("page.css", include_str!("../../templates/pages/page.css")),
    (
        "question.html.hbs",
        include_str!("../../templates/pages/question.html.hbs"),
    ),
    (
        "subscribe.html.hbs",
        include_str!("../../templates/pages/subscribe.html.hbs"),
    ),
    (
        "signup-form.html.hbs",
        include_str!("../../templates/pages/signup-form.html.hbs"),
    ),
    (
        "message.html.hbs",
        include_str!("../../templates/pages/message.html.hbs"),
    ),
    (
        "preferences.html.hbs",
        include_str!("../../templates/pages/preferences.html.hbs"),
    ),
];

/// A page that asks before acting (unsubscribe, confirm), with one button.
pub const QUESTION: &str = "question.html";
/// The sign-up page.
pub const SUBSCRIBE: &str = "subscribe.html";
/// The sign-up form alone, for a site to embed.
pub const SIGNUP_FORM: &str = "signup-form.html";
/// A page that only says something: done, or what went wrong.
pub const MESSAGE: &str = "message.html";
/// The reader's preferences form.
pub const PREFERENCES: &str = "preferences.html";

/// The page templates, parsed.
pub struct Pages {
    registry: Handlebars<'static>,
}

/// What every page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    /// BCP 47 tag of the page's language.
    pub lang: String,
    pub site_title: String,
    pub site_url: String,
    pub title: String,
}

/// A hidden form field.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A link with its text.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub url: String,
    pub label: String,
}

/// A question before acting, with its one button.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionView {
    #[serde(flatten)]
    pub frame: Frame,
    pub question: String,
    pub button: String,
    /// Where the button posts.
    pub action: String,
    /// What the button posts (the signed link's fields).
    pub fields: Vec<Field>,
    /// Another way on (the preferences page instead of unsubscribing).
    pub link: Option<Link>,
}

/// The sign-up form's values and labels.
#[derive(Debug, Clone, Serialize)]
pub struct SignupForm {
    pub action: String,
    pub email_label: String,
    pub email: String,
    #[serde(flatten)]
    pub fields: ReaderFields,
    pub button: String,
}

/// The fields a reader sets on the sign-up and preferences forms: name,
/// language, topics, each with its label.
#[derive(Debug, Clone, Serialize)]
pub struct ReaderFields {
    pub name_label: String,
    pub name: String,
    pub language_label: String,
    pub languages: Vec<LanguageOption>,
    pub topics_label: String,
    pub topics_hint: String,
    pub topics: Vec<Choice>,
}

/// The sign-up page.
#[derive(Debug, Clone, Serialize)]
pub struct SubscribeView {
    #[serde(flatten)]
    pub frame: Frame,
    pub intro: String,
    /// What was wrong with the last attempt.
    pub problem: Option<String>,
    #[serde(flatten)]
    pub form: SignupForm,
}

/// One choice of a radio group or checkbox list.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A configured language to pick.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageOption {
    pub key: String,
    /// BCP 47 tag, for the label's `lang`.
    pub tag: String,
    /// The language's name in itself.
    pub label: String,
    pub selected: bool,
}

/// The preferences form.
#[derive(Debug, Clone, Serialize)]
pub struct PreferencesView {
    #[serde(flatten)]
    pub frame: Frame,
    pub intro: String,
    pub action: String,
    pub email: String,
    pub token: String,
    #[serde(flatten)]
    pub fields: ReaderFields,
    pub save: String,
    pub unsubscribe_url: String,
    pub unsubscribe_label: String,
}

/// A page with a title and one paragraph.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    #[serde(flatten)]
    pub frame: Frame,
    pub text: String,
    /// Where to go on from here, if anywhere.
    pub link: Option<Link>,
}

impl Pages {
    /// The built-in pages, each replaced by `dir/<file name>` when present.
    pub fn load(dir: &Path) -> Result<Pages> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        for (file, default) in EMBEDDED {
            let path = dir.join(file);
            let source = if path.is_file() {
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read page template {}", path.display()))?
            } else {
                (*default).to_owned()
            };
            let name = file.trim_end_matches(".hbs");
            registry
                .register_template_string(name, source)
                .map_err(|e| anyhow!("page template {file} does not parse: {e}"))
                .with_context(|| {
                    format!(
                        "fix {} or delete it to use the built-in page",
                        path.display()
                    )
                })?;
        }
        Ok(Pages { registry })
    }

    /// Renders the page registered as `name`.
    pub fn render(&self, name: &str, view: &impl Serialize) -> Result<String> {
        self.registry
            .render(name, view)
            .map_err(|e| anyhow!("cannot render page {name}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            lang: "en-GB".to_owned(),
            site_title: "Brief & Co".to_owned(),
            site_url: "https://news.example.org/".to_owned(),
            title: "Unsubscribe".to_owned(),
        }
    }

    #[test]
    fn values_are_escaped_and_the_form_posts_them_back() {
        let pages = Pages::load(Path::new("/nonexistent")).unwrap();
        let html = pages
            .render(
                QUESTION,
                &QuestionView {
                    frame: frame(),
                    question: "Unsubscribe <b>x</b>?".to_owned(),
                    button: "Unsubscribe".to_owned(),
                    action: "/list/unsubscribe".to_owned(),
                    fields: vec![Field {
                        name: "email".to_owned(),
                        value: "a\"b@example.org".to_owned(),
                    }],
                    link: None,
                },
            )
            .unwrap();
        assert!(html.contains("Unsubscribe &lt;b&gt;x&lt;/b&gt;?"), "{html}");
        assert!(html.contains("Brief &amp; Co"), "{html}");
        assert!(html.contains("value=\"a&quot;b@example.org\""), "{html}");
        assert!(html.contains("<form method=\"post\" action=\"/list/unsubscribe\">"));
    }

    #[test]
    fn a_site_file_replaces_the_built_in_page() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("message.html.hbs"), "<p>{{text}}</p>").unwrap();
        let pages = Pages::load(dir.path()).unwrap();
        let view = MessageView {
            frame: frame(),
            text: "done".to_owned(),
            link: None,
        };
        assert_eq!(pages.render(MESSAGE, &view).unwrap(), "<p>done</p>");
    }

    #[test]
    fn a_broken_site_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("message.html.hbs"), "{{#if}").unwrap();
        let err = format!("{:#}", Pages::load(dir.path()).err().unwrap());
        assert!(err.contains("message.html.hbs"), "{err}");
        assert!(err.contains("delete it to use the built-in page"), "{err}");
    }
}

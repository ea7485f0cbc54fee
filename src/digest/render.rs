//! Rendering a [`DigestView`] once per (locale, story set), and the cheap
//! per-subscriber substitution that follows.
//!
//! Never reads files, sends mail or chooses stories: it renders the view it
//! is given with the templates it is given.

use super::templates::{HTML, TEXT, TemplateError, TemplateStage, Templates};
use super::{
    DigestView, GREETING_END, GREETING_OR, GREETING_START, NAME_TOKEN, UNSUBSCRIBE_TOKEN,
    more_link, plain,
};
use crate::i18n::Localizer;
use crate::model::{BodyTemplate, Form, Parts, Personal, Slot, Template};
use anyhow::{Result, anyhow};

/// Largest HTML part we send. Gmail clips messages over about 102 KB; this
/// leaves room for the subscriber's name and unsubscribe URL.
pub(crate) const MAX_HTML_BYTES: usize = 100_000;

/// A digest rendered once per (locale, story set): subject, HTML (CSS
/// inlined with css-inline, `@media` rules kept, nothing fetched) and text,
/// containing placeholder tokens for the subscriber's name and unsubscribe
/// URL that [`body_template`] cuts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedDigest {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders `view` to HTML and text. If the HTML exceeds 100 KB, stories are
/// dropped from the end, and the "more on the web" link added, until it
/// fits; the text part shows the same stories as the HTML part.
pub fn render(
    templates: &Templates,
    view: &DigestView,
    localizer: &Localizer,
) -> Result<RenderedDigest> {
    let mut html = render_html(templates, view)?;
    let mut fitted;
    let mut view = view;
    if html.len() > MAX_HTML_BYTES && !view.stories.is_empty() {
        fitted = view.clone();
        fitted.more = Some(more_link(localizer, &view.site_url)?);
        while html.len() > MAX_HTML_BYTES && !fitted.stories.is_empty() {
            // Stories are similar in size, and the average over the whole
            // message overestimates one story, so this never drops too many.
            let average = html.len() / (fitted.stories.len() + 1);
            let drop = ((html.len() - MAX_HTML_BYTES) / average.max(1)).max(1);
            let keep = fitted.stories.len().saturating_sub(drop);
            fitted.stories.truncate(keep);
            fitted.story_count = keep;
            html = render_html(templates, &fitted)?;
        }
        if html.len() > MAX_HTML_BYTES {
            tracing::warn!(
                bytes = html.len(),
                "the digest is over {MAX_HTML_BYTES} bytes even without stories; mail clients may clip it"
            );
        }
        view = &fitted;
    }
    let text = templates
        .text
        .render(TEXT, view)
        .map_err(|e| render_error(templates, TEXT, view, &e))?;
    Ok(RenderedDigest {
        subject: view.subject.clone(),
        html,
        text,
    })
}

/// The HTML part, CSS inlined.
fn render_html(templates: &Templates, view: &DigestView) -> Result<String> {
    let html = templates
        .html
        .render(HTML, view)
        .map_err(|e| render_error(templates, HTML, view, &e))?;
    let inliner = css_inline::CSSInliner::options()
        // Never fetch anything: a digest must render the same offline.
        .load_remote_stylesheets(false)
        .keep_link_tags(false)
        // `@media` rules cannot be inlined; keep them in a <style> block for
        // the clients that honour them (dark mode, narrow screens).
        .keep_at_rules(true)
        .keep_style_tags(false)
        .build();
    inliner
        .inline(&html)
        .map_err(|e| anyhow!("cannot inline the CSS of {}: {e}", templates.origin(HTML)))
}

/// A failed render of the template registered as `name` as the template
/// problem it is (exit code 4): the file (the partial's, when the error is
/// in one), line and column, and for a name the view does not carry
/// (strict mode) that name and the names it does carry.
fn render_error(
    templates: &Templates,
    name: &str,
    view: &DigestView,
    error: &handlebars::RenderError,
) -> TemplateError {
    let origin = templates.origin(error.template_name.as_deref().unwrap_or(name));
    let at = match (error.line_no, error.column_no) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    };
    let reason = match error.reason() {
        handlebars::RenderErrorReason::MissingVariable(missing) => {
            let missing = missing
                .as_deref()
                .map_or_else(|| "a value".to_owned(), |m| format!("`{m}`"));
            format!(
                "{missing} is not a value digest templates are given; check the spelling ({})",
                known_names(view)
            )
        }
        other => other.to_string(),
    };
    TemplateError {
        problems: vec![format!("{origin}{at}: {reason}")],
        stage: TemplateStage::Render,
    }
}

/// The names a template can use, read from the view itself so the list
/// never goes stale: the digest's, and a story's (inside `{{#each
/// stories}}` and in the `story` partials).
fn known_names(view: &DigestView) -> String {
    fn keys(value: serde_json::Value) -> String {
        match value {
            serde_json::Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
            _ => String::new(),
        }
    }
    let digest = serde_json::to_value(view).map(keys).unwrap_or_default();
    match view.stories.first().map(serde_json::to_value) {
        Some(Ok(story)) => format!(
            "the digest has {digest}; each of its stories has {}",
            keys(story)
        ),
        _ => format!("the digest has {digest}"),
    }
}

/// The body of `rendered` for all its subscribers, made once per rendered
/// digest: each greeting region resolved both ways (with a name, and the
/// Fluent greeting without one), then cut at the name and unsubscribe
/// tokens into a [`Template`] per part.
pub fn body_template(rendered: &RenderedDigest) -> BodyTemplate {
    let parts = |anonymous| Parts {
        text: cut(&resolve_greetings(&rendered.text, anonymous)),
        html: cut(&resolve_greetings(&rendered.html, anonymous)),
    };
    BodyTemplate {
        named: parts(false),
        anonymous: parts(true),
    }
}

/// One subscriber's values for the slots of a [`body_template`]: the name
/// trimmed (empty means the greeting without a name), both values with
/// placeholder characters removed and HTML-escaped for the HTML part.
pub fn personal(name: &str, unsubscribe_url: &str) -> Personal {
    // A name is one line of a greeting: a line break or other control
    // character in it (a quoted CSV field may hold one) becomes a space,
    // as it does in the `To:` header.
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = plain(name.trim());
    let unsubscribe_url = plain(unsubscribe_url);
    Personal {
        name_html: escape_html(&name),
        unsubscribe_url_html: escape_html(&unsubscribe_url),
        name,
        unsubscribe_url,
    }
}

/// The digest one subscriber reads, as strings: [`body_template`] filled
/// with [`personal`] values. Returns (subject, html, text). Mail goes
/// through `deliver`, which encodes the template once instead; this is for
/// the browser copy and for checking what a message says.
pub fn personalise(
    rendered: &RenderedDigest,
    name: &str,
    unsubscribe_url: &str,
) -> (String, String, String) {
    let personal = personal(name, unsubscribe_url);
    let body = body_template(rendered);
    let parts = if personal.anonymous() {
        &body.anonymous
    } else {
        &body.named
    };
    (
        rendered.subject.clone(),
        fill(&parts.html, &personal, Form::Html),
        fill(&parts.text, &personal, Form::Text),
    )
}

/// `template` with `personal`'s values, in `form`, in its slots.
fn fill(template: &Template, personal: &Personal, form: Form) -> String {
    let values: Vec<&str> = template
        .slots
        .iter()
        .map(|&slot| personal.value(slot, form))
        .collect();
    let size = template.fixed.iter().map(String::len).sum::<usize>()
        + values.iter().map(|v| v.len()).sum::<usize>();
    let mut out = String::with_capacity(size);
    for (i, fixed) in template.fixed.iter().enumerate() {
        if i > 0 {
            out.push_str(values[i - 1]);
        }
        out.push_str(fixed);
    }
    out
}

/// Resolves each greeting region of `body` to one of its two forms.
fn resolve_greetings(body: &str, anonymous: bool) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(GREETING_START) {
        out.push_str(&rest[..start]);
        let region = &rest[start + GREETING_START.len_utf8()..];
        let Some(end) = region.find(GREETING_END) else {
            // Not ours (a template cut it): keep the text as it is.
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let (named, without) = region[..end]
            .split_once(GREETING_OR)
            .unwrap_or((&region[..end], ""));
        out.push_str(if anonymous { without } else { named });
        rest = &region[end + GREETING_END.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Cuts `body` at the tokens. The values that go in between are never
/// searched for tokens, so a name cannot inject one.
fn cut(body: &str) -> Template {
    let mut fixed = Vec::new();
    let mut slots = Vec::new();
    for (i, piece) in body.split(NAME_TOKEN).enumerate() {
        if i > 0 {
            slots.push(Slot::Name);
        }
        for (j, piece) in piece.split(UNSUBSCRIBE_TOKEN).enumerate() {
            if j > 0 {
                slots.push(Slot::UnsubscribeUrl);
            }
            fixed.push(piece.to_owned());
        }
    }
    Template { fixed, slots }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
}

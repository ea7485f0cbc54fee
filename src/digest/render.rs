//! Rendering a [`DigestView`] once per (locale, story set), and the cheap
//! per-subscriber substitution that follows.

use super::templates::{HTML, TEXT, Templates};
use super::{
    DigestView, GREETING_END, GREETING_OR, GREETING_START, NAME_TOKEN, UNSUBSCRIBE_TOKEN,
    more_link, plain,
};
use crate::i18n::Localizer;
use anyhow::{Context, Result, anyhow};

/// Largest HTML part we send. Gmail clips messages over about 102 KB; this
/// leaves room for the subscriber's name and unsubscribe URL.
pub(crate) const MAX_HTML_BYTES: usize = 100_000;

/// A digest rendered once per (locale, story set): subject, HTML (CSS
/// inlined with css-inline, `@media` rules kept, nothing fetched) and text,
/// containing placeholder tokens for the subscriber's name and unsubscribe
/// URL that [`personalise`] fills in.
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
        .with_context(|| format!("cannot render {}", templates.origin(TEXT)))?;
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
        .with_context(|| format!("cannot render {}", templates.origin(HTML)))?;
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

/// Cheap per-subscriber substitution: the greeting with the name
/// (HTML-escaped in html, raw in text; if the name is empty, the Fluent
/// greeting without a name) and the unsubscribe URL. Returns (subject, html,
/// text).
pub fn personalise(
    rendered: &RenderedDigest,
    name: &str,
    unsubscribe_url: &str,
) -> (String, String, String) {
    let name = plain(name.trim());
    let unsubscribe_url = plain(unsubscribe_url);
    let html = fill(
        &rendered.html,
        &escape_html(&name),
        &escape_html(&unsubscribe_url),
        name.is_empty(),
    );
    let text = fill(&rendered.text, &name, &unsubscribe_url, name.is_empty());
    (rendered.subject.clone(), html, text)
}

/// Resolves each greeting region to one of its two forms, then replaces the
/// tokens. One pass per token over already-cleaned values, so a name cannot
/// inject a token.
fn fill(body: &str, name: &str, unsubscribe_url: &str, anonymous: bool) -> String {
    let mut out = String::with_capacity(body.len() + name.len() + unsubscribe_url.len());
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
    out.replace(NAME_TOKEN, name)
        .replace(UNSUBSCRIBE_TOKEN, unsubscribe_url)
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
}

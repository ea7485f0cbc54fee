//! The routes under `serve.public_url` and what each request may do:
//! `unsubscribe` (GET shows a page and never changes anything; POST is
//! RFC 8058 one-click or the page's button), with `serve.static` the feeds
//! folder under `feeds/`, and a page for anything else. Every response
//! carries the security headers; every request is logged in one line
//! without its query (where the tokens are).

use super::pages::{
    Choice, Field, Frame, LanguageOption, Link, MESSAGE, MessageView, PREFERENCES, PreferencesView,
    QUESTION, QuestionView, ReaderFields,
};
use super::{PageLocale, Preferences, Reader, Setup, UnsubscribeVia};
use crate::unsubscribe::{self, Action};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use fluent_bundle::FluentValue;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// No script, no frames, no foreign forms: the pages are plain HTML with
/// inline styles, and a form posts only back to us.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The feeds folder: its pages and the feed stylesheet load from us only.
const STATIC_POLICY: &str =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";
/// A form of two tokens fits many times over; anything larger is refused.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub(super) type Shared = Arc<Setup>;

pub(super) fn router(setup: Shared) -> Router {
    let base = setup.base_path.clone();
    let mut router = Router::new()
        .route(
            &format!("{base}unsubscribe"),
            get(unsubscribe_page).post(unsubscribe_post),
        )
        .route(&format!("{base}resubscribe"), post(resubscribe_post))
        .route(
            &format!("{base}preferences"),
            get(preferences_page).post(preferences_post),
        )
        .route(
            &format!("{base}subscribe"),
            get(super::signup::subscribe_page).post(super::signup::subscribe_post),
        )
        .route(
            &format!("{base}subscribe/form"),
            get(super::signup::embeddable_form),
        )
        .route(
            &format!("{base}confirm"),
            get(super::signup::confirm_page).post(super::signup::confirm_post),
        );
    if let Some(dir) = &setup.feeds_dir {
        let feeds = Router::new()
            .nest_service(&format!("{base}feeds"), ServeDir::new(dir))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                (dir.clone(), format!("{base}feeds/")),
                entity_tag,
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(STATIC_POLICY),
            ));
        router = router.merge(feeds);
    }
    router
        .fallback(not_found)
        .with_state(setup)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(from_fn(log_request))
}

/// `ETag` for the feeds folder (`"<mtime>-<size>"` in hex, as nginx
/// writes it), and `304` for a matching `If-None-Match`, so feed readers
/// that revalidate by tag download nothing unchanged. Only looks at a
/// plain path without `..`; `ServeDir` serves (and refuses) the rest itself.
async fn entity_tag(
    State((dir, prefix)): State<(std::path::PathBuf, String)>,
    request: Request,
    next: Next,
) -> Response {
    let tag = request
        .uri()
        .path()
        .strip_prefix(&prefix)
        // Feed paths are plain ASCII; anything escaped or climbing is left
        // to `ServeDir` (no tag).
        .filter(|rest| !rest.contains(['%', '\\']) && !rest.split('/').any(|part| part == ".."))
        .map(|rest| {
            let path = dir.join(rest);
            if path.is_dir() {
                path.join("index.html")
            } else {
                path
            }
        })
        .and_then(|path| std::fs::metadata(path).ok())
        .filter(|meta| meta.is_file())
        .and_then(|meta| {
            let modified = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            HeaderValue::from_str(&format!("\"{:x}-{:x}\"", modified.as_secs(), meta.len())).ok()
        });
    let Some(tag) = tag else {
        return next.run(request).await;
    };
    let matches = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, tag);
        return response;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// One line per request: method, path (never the query), status, time.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        "{method} {path} {} {} ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// The `email` and `token` of a signed link.
pub(super) struct SignedLink {
    pub(super) email: String,
    pub(super) token: String,
}

pub(super) fn signed_link(pairs: &[(String, String)]) -> Option<SignedLink> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.clone())
    };
    Some(SignedLink {
        email: value("email")?,
        token: value("token")?,
    })
}

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The form fields of a urlencoded body; other bodies (RFC 8058 also
/// allows multipart) carry nothing we read: the token is in the URL.
pub(super) fn form_pairs(headers: &HeaderMap, body: &Bytes) -> Vec<(String, String)> {
    let urlencoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if urlencoded {
        url::form_urlencoded::parse(body).into_owned().collect()
    } else {
        Vec::new()
    }
}

/// The link's address when its token is valid for unsubscribing it.
fn verified(setup: &Setup, link: Option<SignedLink>) -> Option<String> {
    verified_for(setup, Action::Unsubscribe, link)
}

/// The link's address when its token is valid for `action` on it.
fn verified_for(setup: &Setup, action: Action, link: Option<SignedLink>) -> Option<String> {
    let link = link?;
    unsubscribe::verify_action(&setup.secret, action, &link.email, &link.token)
        .then_some(link.email)
}

/// A hidden form field.
pub(super) fn field(name: &str, value: &str) -> Field {
    Field {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// `<base><route>?email=…&token=…` for `action` on `email`.
pub(super) fn signed_url(setup: &Setup, route: &str, action: Action, email: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair(
            "token",
            &unsubscribe::action_token(&setup.secret, action, email),
        )
        .finish();
    format!("{}{route}?{query}", setup.base_path)
}

async fn unsubscribe_page(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let Some(email) = verified(&setup, signed_link(&pairs)) else {
        return bad_link(&setup, &headers);
    };
    let reader = match reader(&setup, &email).await {
        Ok(reader) => reader,
        Err(response) => return response,
    };
    let locale = page_locale(&setup, reader.as_ref(), &headers);
    let name = reader
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.clone());
    let page = (|| -> anyhow::Result<String> {
        let localizer = setup.catalog.localizer(&locale.key)?;
        let view = QuestionView {
            frame: frame(&setup, locale, "page-unsubscribe-title")?,
            question: localizer.message(
                "page-unsubscribe-question",
                &[("name", name.into()), ("email", email.clone().into())],
            )?,
            button: localizer.text("page-unsubscribe-button")?,
            action: format!("{}unsubscribe", setup.base_path),
            fields: vec![
                field("email", &email),
                field("token", &unsubscribe::token(&setup.secret, &email)),
            ],
            link: Some(Link {
                url: signed_url(&setup, "preferences", Action::Preferences, &email),
                label: localizer.text("page-unsubscribe-preferences")?,
            }),
        };
        setup.pages.render(QUESTION, &view)
    })();
    respond(locale, StatusCode::OK, page)
}

async fn unsubscribe_post(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_pairs(&headers, &body);
    // The header's URL carries the token; the page's form posts it.
    let link = signed_link(&query_pairs(query.as_deref())).or_else(|| signed_link(&form));
    let Some(email) = verified(&setup, link) else {
        return bad_link(&setup, &headers);
    };
    let via = if form
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
    {
        UnsubscribeVia::OneClick
    } else {
        UnsubscribeVia::Page
    };
    let address = email.clone();
    if let Err(response) = blocking(&setup, &headers, move |list| {
        list.unsubscribe(&address, via)
    })
    .await
    {
        return response;
    }
    let reader = match reader(&setup, &email).await {
        Ok(reader) => reader,
        Err(response) => return response,
    };
    let locale = page_locale(&setup, reader.as_ref(), &headers);
    // Done, with a way back for a click made by mistake.
    let page = (|| -> anyhow::Result<String> {
        let localizer = setup.catalog.localizer(&locale.key)?;
        let view = QuestionView {
            frame: frame(&setup, locale, "page-unsubscribed-title")?,
            question: localizer
                .message("page-unsubscribed-text", &[("email", email.clone().into())])?,
            button: localizer.text("page-resubscribe-button")?,
            action: format!("{}resubscribe", setup.base_path),
            fields: vec![
                field("email", &email),
                field("token", &unsubscribe::token(&setup.secret, &email)),
            ],
            link: None,
        };
        setup.pages.render(QUESTION, &view)
    })();
    respond(locale, StatusCode::OK, page)
}

/// The "subscribe again" button after an unsubscribe: lifts the reader's
/// own suppression (never a bounce's or a complaint's: the list decides).
async fn resubscribe_post(
    State(setup): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_pairs(&headers, &body);
    let Some(email) = verified(&setup, signed_link(&form)) else {
        return bad_link(&setup, &headers);
    };
    let address = email.clone();
    let lifted = match blocking(&setup, &headers, move |list| list.resubscribe(&address)).await {
        Ok(lifted) => lifted,
        Err(response) => return response,
    };
    let reader = match reader(&setup, &email).await {
        Ok(reader) => reader,
        Err(response) => return response,
    };
    let locale = page_locale(&setup, reader.as_ref(), &headers);
    let (title, text) = if lifted {
        ("page-resubscribed-title", "page-resubscribed-text")
    } else {
        (
            "page-resubscribe-refused-title",
            "page-resubscribe-refused-text",
        )
    };
    let page = message_page(&setup, locale, title, text, &[("email", email.into())]);
    respond(locale, StatusCode::OK, page)
}

async fn preferences_page(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let link = signed_link(&query_pairs(query.as_deref()));
    let Some(email) = verified_for(&setup, Action::Preferences, link) else {
        return bad_link(&setup, &headers);
    };
    let reader = match reader(&setup, &email).await {
        Ok(Some(reader)) => reader,
        Ok(None) => return bad_link(&setup, &headers),
        Err(response) => return response,
    };
    let locale = page_locale(&setup, Some(&reader), &headers);
    let page = preferences_view(&setup, locale, &email, &reader)
        .and_then(|view| setup.pages.render(PREFERENCES, &view));
    respond(locale, StatusCode::OK, page)
}

fn preferences_view(
    setup: &Setup,
    locale: &PageLocale,
    email: &str,
    reader: &Reader,
) -> anyhow::Result<PreferencesView> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    Ok(PreferencesView {
        frame: frame(setup, locale, "page-preferences-title")?,
        intro: localizer.message(
            "page-preferences-intro",
            &[("email", email.to_owned().into())],
        )?,
        action: format!("{}preferences", setup.base_path),
        email: email.to_owned(),
        token: unsubscribe::action_token(&setup.secret, Action::Preferences, email),
        fields: reader_fields(
            setup,
            localizer,
            "page-preferences-name",
            &reader.name,
            &reader.locale,
            &reader.topics,
        )?,
        save: localizer.text("page-preferences-save")?,
        unsubscribe_url: signed_url(setup, "unsubscribe", Action::Unsubscribe, email),
        unsubscribe_label: localizer.text("page-preferences-unsubscribe")?,
    })
}

/// The longest name a reader may give; the rest is cut.
const MAX_NAME_CHARS: usize = 200;

/// A name as one line of text: control characters dropped, length capped.
pub(super) fn clean_name(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The offered topics a form ticked; anything else in it is ignored.
pub(super) fn ticked_topics(setup: &Setup, form: &[(String, String)]) -> Vec<String> {
    setup
        .topics
        .iter()
        .filter(|topic| form.iter().any(|(k, v)| k == "topic" && *v == topic.value))
        .map(|topic| topic.value.clone())
        .collect()
}

/// Every configured language, named in itself, `selected` ticked.
/// The name, language and topics fields of a reader's form, filled with
/// their values; `name_label` is the message id of the name's label.
pub(super) fn reader_fields(
    setup: &Setup,
    localizer: &crate::i18n::Localizer,
    name_label: &str,
    name: &str,
    locale: &str,
    topics: &[String],
) -> anyhow::Result<ReaderFields> {
    Ok(ReaderFields {
        name_label: localizer.text(name_label)?,
        name: name.to_owned(),
        language_label: localizer.text("page-preferences-language")?,
        languages: language_options(setup, locale)?,
        topics_label: localizer.text("page-preferences-topics")?,
        topics_hint: localizer.text("page-preferences-topics-hint")?,
        topics: topic_choices(setup, topics),
    })
}

pub(super) fn language_options(
    setup: &Setup,
    selected: &str,
) -> anyhow::Result<Vec<LanguageOption>> {
    setup
        .locales
        .iter()
        .map(|other| {
            Ok(LanguageOption {
                key: other.key.clone(),
                tag: other.tag.clone(),
                label: setup
                    .catalog
                    .localizer(&other.key)?
                    .text("web-copy-language")?,
                selected: other.key == selected,
            })
        })
        .collect()
}

/// The site's topics, those in `chosen` (any case) ticked.
pub(super) fn topic_choices(setup: &Setup, chosen: &[String]) -> Vec<Choice> {
    setup
        .topics
        .iter()
        .map(|topic| Choice {
            value: topic.value.clone(),
            label: topic.label.clone(),
            selected: chosen.iter().any(|c| c.to_lowercase() == topic.value),
        })
        .collect()
}

/// Runs a call on the list off the async threads (it blocks on SQLite or
/// SMTP); a failure is logged and answered with the error page.
pub(super) async fn blocking<T: Send + 'static>(
    setup: &Setup,
    headers: &HeaderMap,
    call: impl FnOnce(&dyn super::List) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let list = setup.list.clone();
    match tokio::task::spawn_blocking(move || call(list.as_ref())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(server_error(setup, headers, &error)),
        Err(error) => Err(server_error(setup, headers, &anyhow::anyhow!(error))),
    }
}

async fn preferences_post(
    State(setup): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_pairs(&headers, &body);
    let Some(email) = verified_for(&setup, Action::Preferences, signed_link(&form)) else {
        return bad_link(&setup, &headers);
    };
    let reader = match reader(&setup, &email).await {
        Ok(Some(reader)) => reader,
        Ok(None) => return bad_link(&setup, &headers),
        Err(response) => return response,
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let name = clean_name(field("name").unwrap_or(&reader.name));
    let locale = field("locale")
        .filter(|key| setup.locales.iter().any(|l| l.key == *key))
        .unwrap_or(&reader.locale)
        .to_owned();
    let topics = ticked_topics(&setup, &form);
    let preferences = Preferences {
        name,
        locale,
        topics,
    };
    let (address, saved) = (email.clone(), preferences.clone());
    if let Err(response) = blocking(&setup, &headers, move |list| {
        list.save_preferences(&address, &saved)
    })
    .await
    {
        return response;
    }
    let reader = Reader {
        name: preferences.name,
        locale: preferences.locale,
        topics: preferences.topics,
    };
    let locale = page_locale(&setup, Some(&reader), &headers);
    let page = message_page(
        &setup,
        locale,
        "page-preferences-saved-title",
        "page-preferences-saved-text",
        &[("email", email.into())],
    );
    respond(locale, StatusCode::OK, page)
}

async fn not_found(State(setup): State<Shared>, headers: HeaderMap) -> Response {
    let locale = page_locale(&setup, None, &headers);
    let page = message_page(
        &setup,
        locale,
        "page-not-found-title",
        "page-not-found-text",
        &[],
    );
    respond(locale, StatusCode::NOT_FOUND, page)
}

/// The reader behind `email`, looked up off the async threads.
pub(super) async fn reader(setup: &Shared, email: &str) -> Result<Option<Reader>, Response> {
    let address = email.to_owned();
    blocking(setup, &HeaderMap::new(), move |list| list.reader(&address)).await
}

/// 400: the link is incomplete or its token does not match its address.
pub(super) fn bad_link(setup: &Setup, headers: &HeaderMap) -> Response {
    let locale = page_locale(setup, None, headers);
    let page = message_page(
        setup,
        locale,
        "page-bad-link-title",
        "page-bad-link-text",
        &[],
    );
    respond(locale, StatusCode::BAD_REQUEST, page)
}

/// 500, logged with its cause; the reader sees a page, never the cause.
pub(super) fn server_error(setup: &Setup, headers: &HeaderMap, error: &anyhow::Error) -> Response {
    tracing::error!("{error:#}");
    let locale = page_locale(setup, None, headers);
    let page = message_page(setup, locale, "page-error-title", "page-error-text", &[]);
    respond(locale, StatusCode::INTERNAL_SERVER_ERROR, page)
}

pub(super) fn frame(setup: &Setup, locale: &PageLocale, title_id: &str) -> anyhow::Result<Frame> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    Ok(Frame {
        lang: locale.tag.clone(),
        site_title: localizer.text("site-title")?,
        site_url: locale.home_url.clone(),
        title: localizer.text(title_id)?,
    })
}

/// A page of a title and one message, `args` the message's values.
pub(super) fn message_page(
    setup: &Setup,
    locale: &PageLocale,
    title_id: &str,
    text_id: &str,
    args: &[(&str, FluentValue<'static>)],
) -> anyhow::Result<String> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    let view = MessageView {
        frame: frame(setup, locale, title_id)?,
        text: localizer.message(text_id, args)?,
        link: None,
    };
    setup.pages.render(MESSAGE, &view)
}

/// The page, or (when a template or message fails) a plain 500 that says
/// so in the log and nothing of it to the reader.
pub(super) fn respond(
    locale: &PageLocale,
    status: StatusCode,
    page: anyhow::Result<String>,
) -> Response {
    match page {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if let Ok(lang) = HeaderValue::from_str(&locale.tag) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LANGUAGE, lang);
            }
            // Pages for one reader: never cached by a proxy.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!("{error:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown; the server log says why.\n",
            )
                .into_response()
        }
    }
}

/// The page's language: the reader's, else the best of `Accept-Language`
/// that is configured, else the default locale.
pub(super) fn page_locale<'a>(
    setup: &'a Setup,
    reader: Option<&Reader>,
    headers: &HeaderMap,
) -> &'a PageLocale {
    let by_key = |key: &str| setup.locales.iter().find(|l| l.key == key);
    if let Some(locale) = reader.and_then(|r| by_key(&r.locale)) {
        return locale;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for wanted in accept_language(accepted) {
        let primary = wanted.split('-').next().unwrap_or_default();
        let found = setup
            .locales
            .iter()
            .find(|l| l.tag.eq_ignore_ascii_case(&wanted) || l.key.eq_ignore_ascii_case(&wanted));
        let found = found.or_else(|| {
            setup.locales.iter().find(|l| {
                l.key.eq_ignore_ascii_case(primary)
                    || l.tag
                        .split('-')
                        .next()
                        .is_some_and(|p| p.eq_ignore_ascii_case(primary))
            })
        });
        if let Some(locale) = found {
            return locale;
        }
    }
    &setup.locales[0]
}

/// The language ranges of an `Accept-Language` header, most wanted first
/// (RFC 9110 §12.5.4; `*` and `q=0` dropped; equal weights keep their order).
fn accept_language(header: &str) -> Vec<String> {
    let mut ranges: Vec<(u16, usize, String)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim();
            if range.is_empty() || range == "*" {
                return None;
            }
            let weight = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let weight = (weight.clamp(0.0, 1.0) * 1000.0) as u16;
            (weight > 0).then(|| (weight, i, range.to_owned()))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().map(|(_, _, range)| range).collect()
}

#[cfg(test)]
mod tests {
    use super::accept_language;

    #[test]
    fn accept_language_orders_by_weight_then_position() {
        assert_eq!(
            accept_language("en;q=0.5, zh-CN, zh;q=0.9, *;q=0.1, fr;q=0"),
            ["zh-CN", "zh", "en"]
        );
        assert!(accept_language("").is_empty());
    }
}

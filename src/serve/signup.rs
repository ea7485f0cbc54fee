//! Sign-up with confirmation: the form (a page, and the form alone for a
//! site to embed), the confirmation mail, and the confirmation link (GET
//! asks, POST confirms). The response to a sign-up is the same whether or
//! not the address is known (no list enumeration), and the mail goes out
//! after the response, so timing tells nothing either.
//!
//! Cross-site forgery: a browser says where a form was posted from
//! (`Sec-Fetch-Site`, else `Origin`); a post from another site is refused.
//! The confirmation mail stops what remains: nobody is subscribed without
//! clicking in their own inbox.

use super::pages::{
    Link, MESSAGE, MessageView, QUESTION, QuestionView, SIGNUP_FORM, SUBSCRIBE, SignupForm,
    SubscribeView,
};
use super::routes::{
    Shared, bad_link, blocking, clean_name, field, form_pairs, frame, message_page, page_locale,
    query_pairs, reader_fields, respond, server_error, signed_url, ticked_topics,
};
use super::{Notice, PageLocale, Preferences, Setup};
use crate::unsubscribe::{self, Action};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;

/// The longest address RFC 5321 lets through.
const MAX_ADDRESS_CHARS: usize = 254;

/// The page's language: `?lang=KEY` when configured, else the browser's.
fn requested_locale<'a>(
    setup: &'a Setup,
    query: Option<&str>,
    headers: &HeaderMap,
) -> &'a PageLocale {
    let asked = query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v);
    asked
        .and_then(|key| setup.locales.iter().find(|l| l.key == key))
        .unwrap_or_else(|| page_locale(setup, None, headers))
}

fn signup_form(
    setup: &Setup,
    locale: &PageLocale,
    action: String,
    email: &str,
    preferences: &Preferences,
) -> anyhow::Result<SignupForm> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    Ok(SignupForm {
        action,
        email_label: localizer.text("page-subscribe-email")?,
        email: email.to_owned(),
        fields: reader_fields(
            setup,
            localizer,
            "page-subscribe-name",
            &preferences.name,
            &preferences.locale,
            &preferences.topics,
        )?,
        button: localizer.text("page-subscribe-button")?,
    })
}

fn subscribe_view(
    setup: &Setup,
    locale: &PageLocale,
    email: &str,
    preferences: &Preferences,
    problem: Option<String>,
) -> anyhow::Result<String> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    let view = SubscribeView {
        frame: frame(setup, locale, "page-subscribe-title")?,
        intro: localizer.text("page-subscribe-intro")?,
        problem,
        form: signup_form(
            setup,
            locale,
            format!("{}subscribe", setup.base_path),
            email,
            preferences,
        )?,
    };
    setup.pages.render(SUBSCRIBE, &view)
}

fn blank(locale: &PageLocale) -> Preferences {
    Preferences {
        name: String::new(),
        locale: locale.key.clone(),
        topics: Vec::new(),
    }
}

pub(super) async fn subscribe_page(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let locale = requested_locale(&setup, query.as_deref(), &headers);
    let page = subscribe_view(&setup, locale, "", &blank(locale), None);
    respond(locale, StatusCode::OK, page)
}

/// The form alone, its action absolute, for a site to include in its pages.
pub(super) async fn embeddable_form(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let locale = requested_locale(&setup, query.as_deref(), &headers);
    let action = setup.public_url.join("subscribe").map(|u| u.to_string());
    let page = action
        .map_err(anyhow::Error::from)
        .and_then(|action| signup_form(&setup, locale, action, "", &blank(locale)))
        .and_then(|form| setup.pages.render(SIGNUP_FORM, &form));
    respond(locale, StatusCode::OK, page)
}

/// Whether the browser says the form was posted from another site.
fn cross_site(setup: &Setup, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site == "cross-site";
    }
    match text(header::ORIGIN.as_str()) {
        // `null`: an opaque origin (a sandboxed frame, a file), never ours.
        Some("null") => true,
        Some(origin) => url::Url::parse(origin)
            .map(|o| o.origin() != setup.public_url.origin())
            .unwrap_or(true),
        // Not a browser: no ambient credentials to abuse.
        None => false,
    }
}

/// The client's address: the peer, or, when the peer is the reverse proxy
/// on this machine, the address it says it forwarded for.
fn client(peer: SocketAddr, headers: &HeaderMap) -> String {
    if peer.ip().is_loopback()
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return forwarded.to_owned();
    }
    peer.ip().to_string()
}

fn is_address(text: &str) -> bool {
    text.chars().count() <= MAX_ADDRESS_CHARS
        && text
            .parse::<lettre::Address>()
            .is_ok_and(|address| address.domain().contains('.'))
}

pub(super) async fn subscribe_post(
    State(setup): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&setup, &headers) {
        tracing::warn!("a sign-up posted from another site was refused");
        let locale = page_locale(&setup, None, &headers);
        let page = message_page(&setup, locale, "page-error-title", "page-error-text", &[]);
        return respond(locale, StatusCode::FORBIDDEN, page);
    }
    let now = std::time::Instant::now();
    if !setup.limits.per_client.allow(&client(peer, &headers), now) {
        let locale = page_locale(&setup, None, &headers);
        let page = message_page(
            &setup,
            locale,
            "page-too-many-title",
            "page-too-many-text",
            &[],
        );
        return respond(locale, StatusCode::TOO_MANY_REQUESTS, page);
    }
    let form = form_pairs(&headers, &body);
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let email = value("email");
    let locale = setup
        .locales
        .iter()
        .find(|l| l.key == value("locale"))
        .unwrap_or_else(|| page_locale(&setup, None, &headers));
    let preferences = Preferences {
        name: clean_name(&value("name")),
        locale: locale.key.clone(),
        topics: ticked_topics(&setup, &form),
    };
    if !is_address(&email) {
        let problem = setup
            .catalog
            .localizer(&locale.key)
            .and_then(|l| l.text("page-subscribe-bad-address"));
        let page = problem.and_then(|problem| {
            subscribe_view(&setup, locale, &email, &preferences, Some(problem))
        });
        return respond(locale, StatusCode::BAD_REQUEST, page);
    }
    let (address, chosen) = (email.clone(), preferences.clone());
    let send = match blocking(&setup, &headers, move |list| {
        list.sign_up(&address, &chosen)
    })
    .await
    {
        Ok(send) => send,
        Err(response) => return response,
    };
    let key = crate::model::EmailKey::new(&email);
    if send && setup.limits.per_address.allow(key.as_str(), now) {
        match confirmation(&setup, locale, &email, &preferences.name) {
            Ok(notice) => {
                let list = setup.list.clone();
                // After the response: a known address answers as fast as a new one.
                tokio::task::spawn_blocking(move || {
                    if let Err(error) = list.send_notice(&notice) {
                        tracing::error!("the confirmation mail was not sent: {error:#}");
                    }
                });
            }
            Err(error) => return server_error(&setup, &headers, &error),
        }
    }
    let page = message_page(
        &setup,
        locale,
        "page-subscribe-sent-title",
        "page-subscribe-sent-text",
        &[("email", email.into())],
    );
    respond(locale, StatusCode::OK, page)
}

/// The confirmation mail for `email`, in `locale`.
fn confirmation(
    setup: &Setup,
    locale: &PageLocale,
    email: &str,
    name: &str,
) -> anyhow::Result<Notice> {
    let localizer = setup.catalog.localizer(&locale.key)?;
    let expires = (setup.clock.now() + setup.confirm_expiry).timestamp();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("expires", &expires.to_string())
        .append_pair(
            "token",
            &unsubscribe::confirm_token(&setup.secret, email, expires),
        )
        .finish();
    let url = setup.public_url.join(&format!("confirm?{query}"))?;
    let days = setup.confirm_expiry.num_days();
    Ok(Notice {
        to_email: email.to_owned(),
        to_name: name.to_owned(),
        subject: localizer.text("signup-mail-subject")?,
        text: localizer.message(
            "signup-mail-body",
            &[
                ("email", email.to_owned().into()),
                ("url", url.to_string().into()),
                ("days", days.into()),
            ],
        )?,
    })
}

/// The confirmation link's address, when its token and expiry hold;
/// otherwise the page to answer with.
fn confirmed_link(
    setup: &Setup,
    pairs: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(String, String, String), Box<Response>> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (Some(email), Some(expires), Some(token)) =
        (value("email"), value("expires"), value("token"))
    else {
        return Err(Box::new(bad_link(setup, headers)));
    };
    let Ok(expiry) = expires.parse::<i64>() else {
        return Err(Box::new(bad_link(setup, headers)));
    };
    if !unsubscribe::verify_confirm(&setup.secret, &email, expiry, &token) {
        return Err(Box::new(bad_link(setup, headers)));
    }
    if setup.clock.now().timestamp() > expiry {
        let locale = page_locale(setup, None, headers);
        let page = message_page(
            setup,
            locale,
            "page-confirm-expired-title",
            "page-confirm-expired-text",
            &[("days", setup.confirm_expiry.num_days().into())],
        );
        return Err(Box::new(respond(locale, StatusCode::BAD_REQUEST, page)));
    }
    Ok((email, expires, token))
}

pub(super) async fn confirm_page(
    State(setup): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (email, expires, token) =
        match confirmed_link(&setup, &query_pairs(query.as_deref()), &headers) {
            Ok(link) => link,
            Err(response) => return *response,
        };
    let reader = super::routes::reader(&setup, &email).await.ok().flatten();
    let locale = page_locale(&setup, reader.as_ref(), &headers);
    let page = (|| -> anyhow::Result<String> {
        let localizer = setup.catalog.localizer(&locale.key)?;
        let view = QuestionView {
            frame: frame(&setup, locale, "page-confirm-title")?,
            question: localizer
                .message("page-confirm-question", &[("email", email.clone().into())])?,
            button: localizer.text("page-confirm-button")?,
            action: format!("{}confirm", setup.base_path),
            fields: vec![
                field("email", &email),
                field("expires", &expires),
                field("token", &token),
            ],
            link: None,
        };
        setup.pages.render(QUESTION, &view)
    })();
    respond(locale, StatusCode::OK, page)
}

pub(super) async fn confirm_post(
    State(setup): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (email, _, _) = match confirmed_link(&setup, &form_pairs(&headers, &body), &headers) {
        Ok(link) => link,
        Err(response) => return *response,
    };
    let address = email.clone();
    let confirmed = match blocking(&setup, &headers, move |list| list.confirm(&address)).await {
        Ok(confirmed) => confirmed,
        Err(response) => return response,
    };
    if !confirmed {
        return bad_link(&setup, &headers);
    }
    let reader = super::routes::reader(&setup, &email).await.ok().flatten();
    let locale = page_locale(&setup, reader.as_ref(), &headers);
    let page = (|| -> anyhow::Result<String> {
        let localizer = setup.catalog.localizer(&locale.key)?;
        let view = MessageView {
            frame: frame(&setup, locale, "page-confirmed-title")?,
            text: localizer.message("page-confirmed-text", &[("email", email.clone().into())])?,
            link: Some(Link {
                url: signed_url(&setup, "preferences", Action::Preferences, &email),
                label: localizer.text("page-confirmed-preferences")?,
            }),
        };
        setup.pages.render(MESSAGE, &view)
    })();
    respond(locale, StatusCode::OK, page)
}

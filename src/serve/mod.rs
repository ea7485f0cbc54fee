//! `gazette serve`: the reader's side of the list over HTTP, behind the
//! newsroom's reverse proxy. Owns routes, pages, token checks, security
//! headers, body limits and the request log; async lives here only.
//!
//! It decides no list policy: what an unsubscribe does to the list is
//! [`List`]'s (implemented by `app` over `state`); this module checks that
//! a request may ask for it and shows the result.

mod limits;
mod pages;
mod routes;
mod signup;

pub use limits::{Limiter, SignupLimits};
pub use pages::Pages;

use crate::i18n::Catalog;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;

/// A reader the list knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Display name; may be empty.
    pub name: String,
    /// Locale key of their digest.
    pub locale: String,
    /// Tags they want; empty means every story.
    pub topics: Vec<String>,
}

/// What a reader saves on their preferences page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub name: String,
    /// A configured locale key.
    pub locale: String,
    /// Offered topics; empty means every story.
    pub topics: Vec<String>,
}

/// How an unsubscribe reached us, for the suppression's recorded reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeVia {
    /// RFC 8058 one-click POST from a mail client.
    OneClick,
    /// The button on the unsubscribe page.
    Page,
}

/// What the server asks of the list; `app` implements it over the state
/// database. Calls block (short transactions) and run off the async threads.
pub trait List: Send + Sync + 'static {
    /// The reader with this address, if the list has them.
    fn reader(&self, email: &str) -> Result<Option<Reader>>;
    /// Suppresses the address durably before returning. Repeating is harmless.
    fn unsubscribe(&self, email: &str, via: UnsubscribeVia) -> Result<()>;
    /// Records the reader's own choice durably before returning; the
    /// editor's file never overwrites it.
    fn save_preferences(&self, email: &str, preferences: &Preferences) -> Result<()>;
    /// Records a sign-up awaiting confirmation; true when a confirmation
    /// mail should go out (false for a reader already listed, or suppressed).
    fn sign_up(&self, email: &str, preferences: &Preferences) -> Result<bool>;
    /// Lifts the reader's own unsubscribe; false (nothing changed) when the
    /// address is suppressed for another reason (a bounce, a complaint).
    fn resubscribe(&self, email: &str) -> Result<bool>;
    /// Confirms a sign-up; true when the address is now a reader.
    fn confirm(&self, email: &str) -> Result<bool>;
    /// Sends one plain-text mail through the configured transport.
    fn send_notice(&self, notice: &Notice) -> Result<()>;
}

/// A mail to one reader that is not a digest (the sign-up confirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub to_email: String,
    pub to_name: String,
    pub subject: String,
    pub text: String,
}

/// The server's clock: the system's, or one fixed instant (`--now`, for
/// tests), so sign-up times and link expiry can be checked exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock(pub Option<chrono::DateTime<chrono::FixedOffset>>);

impl Clock {
    /// The time now.
    pub fn now(self) -> chrono::DateTime<chrono::FixedOffset> {
        self.0
            .unwrap_or_else(|| chrono::Local::now().fixed_offset())
    }
}

/// A configured language, as the pages need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLocale {
    pub key: String,
    /// BCP 47 tag.
    pub tag: String,
    pub home_url: String,
}

/// A topic a reader may pick: the site's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// As subscribers' topics hold it (tags match case-insensitively).
    pub value: String,
    /// As the articles write it.
    pub label: String,
}

/// Everything the server runs with.
pub struct Setup {
    pub listen: SocketAddr,
    /// The path of `serve.public_url` (`/` or `/list/`): every route lives
    /// under it, as the proxy forwards it.
    pub base_path: String,
    /// `serve.public_url` itself, for links in mail and the embeddable form.
    pub public_url: url::Url,
    /// How long a confirmation link works.
    pub confirm_expiry: chrono::TimeDelta,
    pub secret: Vec<u8>,
    pub catalog: Catalog,
    pub pages: Pages,
    /// Default locale first.
    pub locales: Vec<PageLocale>,
    pub list: Arc<dyn List>,
    /// The topics the preferences page offers, in display order.
    pub topics: Vec<Topic>,
    /// The sign-up form's rate limits.
    pub limits: SignupLimits,
    pub clock: Clock,
    /// With `serve.static`: the feeds folder, served under `<base>feeds/`.
    pub feeds_dir: Option<std::path::PathBuf>,
}

/// Binds `setup.listen`, calls `ready` with the bound address (the port
/// when `:0` was asked for), and serves until SIGTERM or SIGINT, then
/// finishes the requests in flight.
pub fn run(setup: Setup, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(setup.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}; is another server using it? set serve.listen or --listen",
                    setup.listen
                )
            })?;
        let address = listener.local_addr()?;
        ready(address);
        let router = routes::router(Arc::new(setup));
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")
    })
}

/// Resolves on the first SIGTERM (systemd, `kill`) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("stopping: finishing the requests in flight");
}

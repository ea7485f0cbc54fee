//! gazette: multilingual syndication feeds and email digests from Markdown
//! articles. The pipeline lives here so tests can drive it; `main.rs` only
//! parses the command line and prints errors.

pub mod app;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod digest;
pub mod feed;
pub mod feed_index;
pub mod feed_stylesheet;
pub mod files;
pub mod i18n;
pub mod inbound;
pub mod model;
pub mod net;
pub mod publish;
pub mod scaffold;
pub mod script;
pub mod serve;
pub mod source;
pub mod state;
pub mod subscribers;
#[cfg(test)]
mod test_support;
pub mod unsubscribe;
pub mod verp;
pub mod view;
pub mod walk;
pub mod websub;

/// Process exit codes, documented in README.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Everything worked.
    Success = 0,
    /// A run-time failure: I/O, a feed that failed the pre-publish check.
    Failure = 1,
    /// Bad command-line usage (clap's own code).
    Usage = 2,
    /// config.toml is missing, unreadable or invalid.
    Config = 3,
    /// Articles, Fluent files or digest templates are invalid; nothing was published.
    Content = 4,
    /// `send` finished, but some digests failed, were deferred, or have an unknown fate,
    /// or SIGTERM/SIGINT stopped it before every digest went out.
    Delivery = 5,
    /// Another `gazette send` is running.
    Busy = 6,
}

impl ExitCode {
    /// The exit code for an error, from the kind of its root problem.
    pub fn for_error(error: &anyhow::Error) -> ExitCode {
        if error.chain().any(|e| e.is::<config::ConfigError>()) {
            ExitCode::Config
        } else if error.chain().any(|e| {
            e.is::<source::ContentError>()
                || e.is::<i18n::CatalogError>()
                || e.is::<digest::TemplateError>()
        }) {
            ExitCode::Content
        } else if error
            .chain()
            .any(|e| e.is::<app::send::DeliveryIncomplete>())
        {
            ExitCode::Delivery
        } else if error.chain().any(|e| e.is::<state::Busy>()) {
            ExitCode::Busy
        } else {
            ExitCode::Failure
        }
    }
}

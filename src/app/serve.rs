//! `gazette serve`: wires the config, the catalog, the page templates and
//! the list (subscriber file and state database) into the HTTP server,
//! and decides what a reader's request does to the list.

use super::setup::unsubscribe_secret;
use crate::config::{Config, ConfigError};
use crate::model::EmailKey;
use crate::serve::{self, List, PageLocale, Reader, UnsubscribeVia};
use crate::state::State;
use anyhow::{Context, Result};
use chrono::Local;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The list as `serve` sees it: readers from the subscriber file (read at
/// start), suppressions in the state database (written at once).
struct ListDesk {
    readers: HashMap<EmailKey, Reader>,
    /// One connection, one short transaction at a time (WAL with a busy
    /// timeout, so a running `send` and this wait for each other briefly).
    state: Mutex<State>,
}

impl List for ListDesk {
    fn reader(&self, email: &str) -> Result<Option<Reader>> {
        Ok(self.readers.get(&EmailKey::new(email)).cloned())
    }

    fn unsubscribe(&self, email: &str, via: UnsubscribeVia) -> Result<()> {
        let reason = match via {
            UnsubscribeVia::OneClick => "unsubscribed by the reader (one-click, RFC 8058)",
            UnsubscribeVia::Page => "unsubscribed by the reader (unsubscribe page)",
        };
        let state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("the state connection was poisoned by a panic"))?;
        // Committed before the reply: suppression is durable once we answer.
        let added = state.suppress(email, reason, Local::now().fixed_offset())?;
        if added {
            tracing::info!("an address was unsubscribed ({reason})");
        }
        Ok(())
    }
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn serve(config: &Config, listen: Option<SocketAddr>) -> Result<()> {
    let missing = |problem: &str| ConfigError {
        path: config.path.clone(),
        problems: vec![problem.to_owned()],
    };
    let serve_config = config.serve.as_ref().ok_or_else(|| {
        missing("`gazette serve` needs [serve] with public_url, e.g. public_url = \"https://news.example.org/list/\"")
    })?;
    let digest = config.digest.as_ref().ok_or_else(|| {
        missing("`gazette serve` answers the links of the digests, and there is no [digest] in config.toml")
    })?;
    let secret = unsubscribe_secret(digest)?;
    let catalog = crate::i18n::load(config)?;
    let pages = serve::Pages::load(&digest.templates_dir.join("pages"))?;
    let keys: Vec<&str> = config.locales.iter().map(|l| l.key.as_str()).collect();
    let list = crate::subscribers::load(&digest.subscribers, &keys)?;
    let readers = list
        .subscribers
        .into_iter()
        .map(|s| {
            (
                EmailKey::new(&s.email),
                Reader {
                    name: s.name,
                    locale: s.locale,
                },
            )
        })
        .collect();
    let state = State::open(&config.state_path)?;
    let setup = serve::Setup {
        listen: listen.unwrap_or(serve_config.listen),
        base_path: serve_config.public_url.path().to_owned(),
        secret,
        catalog,
        pages,
        locales: config
            .locales
            .iter()
            .map(|l| PageLocale {
                key: l.key.clone(),
                tag: l.tag.clone(),
                home_url: l.home_url.to_string(),
            })
            .collect(),
        list: Arc::new(ListDesk {
            readers,
            state: Mutex::new(state),
        }),
        feeds_dir: serve_config.static_files.then(|| config.feeds.dir.clone()),
    };
    let public_url = serve_config.public_url.clone();
    serve::run(setup, |address| {
        // Always printed, even with -q: a supervisor or test reads the port.
        println!("listening on http://{address} for {public_url}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    })
    .context("`gazette serve` stopped")
}

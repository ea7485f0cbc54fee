//! The network edge of feed sources: polite, bounded HTTP GETs with `ureq`.
//!
//! One request at a time, a User-Agent naming gazette, a whole-request
//! timeout, a body size cap, conditional GET from the validators the caller
//! passes in, and a minimum delay between two requests to one host. It
//! reports what happened as a [`FetchOutcome`]; it never parses feeds,
//! never touches the state database (the caller reads and stores the
//! cache) and never decides what a failure means.

use crate::config::FetchConfig;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use ureq::http::StatusCode;
use url::Url;

/// What the cache knows about the last good copy, replayed as
/// `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// The result of one fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 200: a new document, with the validators to store alongside it.
    Fresh {
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 304: the cached copy is still current.
    NotModified,
    /// Anything else, with a reason fit for a warning.
    Failed(String),
}

/// What feed readers accept; servers that negotiate pick a feed type.
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

/// A polite HTTP client for feed sources. Keep one per run so the per-host
/// delay holds across sources.
pub struct Fetcher {
    agent: ureq::Agent,
    timeout: Duration,
    max_bytes: u64,
    host_delay: Duration,
    last_request: HashMap<String, Instant>,
}

impl Fetcher {
    /// A client with the `[fetch]` settings.
    pub fn new(settings: &FetchConfig) -> Fetcher {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .user_agent(settings.user_agent.as_str())
            // Statuses are outcomes here (304 is good news), not errors.
            .http_status_as_error(false)
            .max_redirects(5)
            .build()
            .into();
        Fetcher {
            agent,
            timeout: settings.timeout,
            max_bytes: settings.max_bytes,
            host_delay: settings.host_delay,
            last_request: HashMap::new(),
        }
    }

    /// GETs `url`, conditionally when `validators` has any. Waits first if
    /// the previous request to the same host (and port) ended less than the
    /// host delay ago.
    pub fn fetch(&mut self, url: &Url, validators: Validators<'_>) -> FetchOutcome {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        if let Some(last) = self.last_request.get(&host) {
            let since = last.elapsed();
            if since < self.host_delay {
                std::thread::sleep(self.host_delay - since);
            }
        }
        let outcome = self.get(url, validators);
        self.last_request.insert(host, Instant::now());
        outcome
    }

    fn get(&self, url: &Url, validators: Validators<'_>) -> FetchOutcome {
        let mut request = self.agent.get(url.as_str()).header("Accept", ACCEPT);
        if let Some(etag) = validators.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = validators.last_modified {
            request = request.header("If-Modified-Since", date);
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(e) => return FetchOutcome::Failed(self.describe(e)),
        };
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return FetchOutcome::NotModified;
        }
        if status != StatusCode::OK {
            return FetchOutcome::Failed(format!(
                "the server answered HTTP {}{}",
                status.as_u16(),
                status
                    .canonical_reason()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default()
            ));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let declared = header("content-length").and_then(|n| n.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes) {
            return FetchOutcome::Failed(self.too_large());
        }
        match response
            .body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
        {
            Ok(body) => FetchOutcome::Fresh {
                body,
                etag,
                last_modified,
            },
            Err(e) => FetchOutcome::Failed(self.describe(e)),
        }
    }

    fn too_large(&self) -> String {
        format!(
            "the response is larger than {} bytes (fetch.max_bytes)",
            self.max_bytes
        )
    }

    fn describe(&self, error: ureq::Error) -> String {
        match error {
            ureq::Error::BodyExceedsLimit(_) => self.too_large(),
            ureq::Error::Timeout(_) => format!(
                "no complete response within {} s (fetch.timeout_seconds)",
                self.timeout.as_secs()
            ),
            other => format!("the request failed: {other}"),
        }
    }
}

//! WebSub (`feeds.websub_hub`): every feed names the hub, and `build`
//! pings a hub running on loopback once per feed it changed: never for an
//! unchanged build; a failing hub is a warning, not a failed build.

mod common;

use common::{Site, stderr};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One request the hub received.
#[derive(Debug, Clone)]
struct Ping {
    method: String,
    content_type: String,
    form: Vec<(String, String)>,
}

/// A WebSub hub on loopback that records every request and answers each
/// with `status`.
struct Hub {
    url: String,
    pings: Arc<Mutex<Vec<Ping>>>,
    server: Arc<tiny_http::Server>,
}

impl Hub {
    fn start(status: u16) -> Hub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let pings = Arc::new(Mutex::new(Vec::new()));
        let (s, p) = (server.clone(), pings.clone());
        std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let mut body = String::new();
                request.as_reader().read_to_string(&mut body).unwrap();
                let content_type = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Content-Type"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                p.lock().unwrap().push(Ping {
                    method: request.method().to_string(),
                    content_type,
                    form: url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect(),
                });
                let _ = request.respond(tiny_http::Response::empty(status));
            }
        });
        Hub {
            url: format!("http://127.0.0.1:{port}/hub"),
            pings,
            server,
        }
    }

    /// The feed URLs pinged so far, after checking each ping is a WebSub
    /// `publish` form POST; clears the record.
    fn take_published(&self) -> Vec<String> {
        let pings = std::mem::take(&mut *self.pings.lock().unwrap());
        pings
            .into_iter()
            .map(|ping| {
                assert_eq!(ping.method, "POST");
                assert_eq!(ping.content_type, "application/x-www-form-urlencoded");
                let mode = ping.form.iter().find(|(k, _)| k == "hub.mode");
                assert_eq!(mode.map(|(_, v)| v.as_str()), Some("publish"), "{ping:?}");
                ping.form
                    .into_iter()
                    .find(|(k, _)| k == "hub.url")
                    .map(|(_, v)| v)
                    .expect("hub.url")
            })
            .collect()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn site_with_hub(hub: &str) -> Site {
    let site = Site::from_fixture("site");
    let config = site
        .read("config.toml")
        .replace("[feeds]\n", &format!("[feeds]\nwebsub_hub = \"{hub}\"\n"));
    site.write("config.toml", config);
    site
}

/// The public URLs of the feed files (not pages) whose bytes differ
/// between two snapshots of `feeds/`.
fn changed_feed_urls(
    site: &Site,
    before: &[(PathBuf, Vec<u8>, std::time::SystemTime)],
    after: &[(PathBuf, Vec<u8>, std::time::SystemTime)],
) -> BTreeSet<String> {
    let feeds = site.path("feeds");
    after
        .iter()
        .filter(|(path, bytes, _)| {
            !before.iter().any(|(p, b, _)| p == path && b == bytes)
                && path.extension().is_some_and(|e| e == "xml" || e == "json")
        })
        .map(|(path, _, _)| {
            let relative = path
                .strip_prefix(&feeds)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            format!("https://news.example.org/feeds/{relative}")
        })
        .collect()
}

#[test]
fn the_hub_hears_once_per_changed_feed_and_never_for_an_unchanged_build() {
    let hub = Hub::start(204);
    let site = site_with_hub(&hub.url);

    site.build();
    let first = hub.take_published();
    let every_feed = changed_feed_urls(&site, &[], &site.snapshot_feeds());
    assert_eq!(every_feed.len(), 6, "{every_feed:?}");
    assert_eq!(
        first.len(),
        every_feed.len(),
        "one ping per feed: {first:?}"
    );
    assert_eq!(first.into_iter().collect::<BTreeSet<_>>(), every_feed);

    // Every format names the hub.
    let atom = site.feed("en", "atom.xml");
    assert!(
        atom.links
            .iter()
            .any(|l| l.rel.as_deref() == Some("hub") && l.href == hub.url)
    );
    let rss = rss::Channel::read_from(site.read("feeds/zh/rss.xml").as_bytes()).unwrap();
    let rss_links = rss.atom_ext().unwrap().links();
    assert!(
        rss_links
            .iter()
            .any(|l| l.rel() == "hub" && l.href() == hub.url)
    );
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/en/feed.json")).unwrap();
    assert_eq!(
        json["hubs"],
        serde_json::json!([{ "type": "WebSub", "url": hub.url }])
    );

    // Nothing new: no file changes, so the hub hears nothing.
    let before = site.snapshot_feeds();
    site.build();
    assert_eq!(hub.take_published(), Vec::<String>::new());

    // One English story edited: exactly the feeds whose bytes changed.
    let story = site
        .read("articles/tricky-title.md")
        .replace("Body with", "Edited body with");
    site.write("articles/tricky-title.md", story);
    site.build();
    let changed = changed_feed_urls(&site, &before, &site.snapshot_feeds());
    assert!(!changed.is_empty() && changed.len() < 6, "{changed:?}");
    let pinged = hub.take_published();
    assert_eq!(pinged.len(), changed.len(), "{pinged:?}");
    assert_eq!(pinged.into_iter().collect::<BTreeSet<_>>(), changed);
}

#[test]
fn a_failing_hub_is_a_warning_and_the_feeds_are_published() {
    let hub = Hub::start(503);
    let site = site_with_hub(&hub.url);
    let output = site.build();
    assert_eq!(hub.take_published().len(), 6);
    let err = stderr(&output);
    assert!(
        err.contains(&format!("WebSub hub {} did not take the update of https://news.example.org/feeds/en/atom.xml: the hub answered 503", hub.url)),
        "{err}"
    );
    assert_eq!(
        site.feed("en", "atom.xml").entries.len(),
        site.feed("en", "rss.xml").entries.len()
    );

    // Nobody listening at all: still a warning.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let site = site_with_hub(&format!("http://127.0.0.1:{port}/hub"));
    let output = site.build();
    assert!(
        stderr(&output).contains("did not take the update"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_hub_that_is_not_https_is_a_config_error() {
    let site = site_with_hub("http://hub.example.com/");
    let output = site.run(&["build"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("feeds.websub_hub `http://hub.example.com/` must be an absolute https URL of a WebSub hub (http only for a hub on this machine)"),
        "{}",
        stderr(&output)
    );
}

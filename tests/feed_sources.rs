//! `kind = "feed"` sources against a real HTTP server (tiny_http) on
//! loopback that each test starts itself: ETag and 304, a 500, a slow
//! response, malformed XML, an oversized body; gazette's own feeds are read
//! back with feed-rs (and the `rss` / `atom_syndication` readers for the
//! attribution elements feed-rs does not expose).

mod common;

use common::{NOW, Site, stderr};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the server does for one path.
#[derive(Clone)]
enum Route {
    /// 200 with the body and an ETag; 304 when If-None-Match matches.
    Feed {
        body: String,
        content_type: &'static str,
        etag: &'static str,
    },
    Status(u16),
    Slow(Duration),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
    at: Instant,
}

struct Server {
    base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
}

impl Server {
    fn start() -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (s, r, log) = (server.clone(), routes.clone(), seen.clone());
        std::thread::spawn(move || {
            for request in s.incoming_requests() {
                let headers: HashMap<String, String> = request
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.as_str().to_owned(),
                        )
                    })
                    .collect();
                let path = request.url().to_owned();
                log.lock().unwrap().push(Seen {
                    path: path.clone(),
                    headers: headers.clone(),
                    at: Instant::now(),
                });
                let route = r.lock().unwrap().get(&path).cloned();
                // One thread per request, so a slow answer blocks nobody else.
                std::thread::spawn(move || respond(request, route, &headers));
            }
        });
        Server {
            base: format!("http://127.0.0.1:{port}"),
            routes,
            seen,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_owned(), route);
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn respond(request: tiny_http::Request, route: Option<Route>, headers: &HashMap<String, String>) {
    let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k, v).unwrap();
    let _ = match route {
        Some(Route::Feed {
            body,
            content_type,
            etag,
        }) => {
            if headers.get("if-none-match").map(String::as_str) == Some(etag) {
                request.respond(tiny_http::Response::empty(304).with_header(header("ETag", etag)))
            } else {
                request.respond(
                    tiny_http::Response::from_string(body)
                        .with_header(header("Content-Type", content_type))
                        .with_header(header("ETag", etag)),
                )
            }
        }
        Some(Route::Status(code)) => {
            request.respond(tiny_http::Response::from_string("oops").with_status_code(code))
        }
        Some(Route::Slow(delay)) => {
            std::thread::sleep(delay);
            request.respond(tiny_http::Response::from_string(rss(
                "slow",
                "Slow story",
                "",
            )))
        }
        None => request.respond(tiny_http::Response::empty(404)),
    };
}

/// An RSS 2.0 feed with one item (guid `<id>`, link under partner.example.com).
/// A partner's one-item RSS feed. Items of different ids get different
/// minutes past 08:00 (`rail` exactly 08:00), so no two share a date.
fn rss(id: &str, title: &str, extra_html: &str) -> String {
    let minute = match id {
        "rail" => 0,
        _ => id.bytes().map(u32::from).sum::<u32>() % 59 + 1,
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Partner</title><link>https://partner.example.com/</link><description>Partner news</description>
<item>
  <title>{title}</title>
  <link>https://partner.example.com/{id}</link>
  <guid isPermaLink="false">{id}</guid>
  <pubDate>Fri, 27 Nov 2026 08:{minute:02}:00 +0800</pubDate>
  <description>Summary of {title}.</description>
  <content:encoded><![CDATA[<p>Body of {title}.{extra_html}</p>]]></content:encoded>
  <category>Partners</category>
</item>
</channel></rss>
"#
    )
}

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Wire</title><id>urn:wire</id><updated>2026-11-28T00:00:00Z</updated>
  <entry>
    <id>urn:wire:1</id><title>Wire story</title><updated>2026-11-28T01:00:00Z</updated>
    <link rel="alternate" href="https://wire.example.net/1"/>
    <author><name>Wire Desk</name></author>
    <content type="html">&lt;p&gt;Wire body&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>urn:wire:dup</id><title>Rail story (wire copy)</title><updated>2026-11-27T00:30:00Z</updated>
    <link rel="alternate" href="https://partner.example.com/rail"/>
  </entry>
</feed>
"#;

const JSON_FEED: &str = r#"{"version":"https://jsonfeed.org/version/1.1","title":"成都日报",
 "home_page_url":"https://cd.example.cn/","items":[
 {"id":"cd-1","url":"https://cd.example.cn/1","title":"成渝双城","content_html":"<p>成渝。</p>",
  "date_published":"2026-11-27T09:00:00+08:00","tags":["成渝"]}]}"#;

const PARTNER_RSS_ETAG: &str = "\"rail-v1\"";

fn site_with(sources: &str, fetch: &str) -> Site {
    let site = Site::from_fixture("site");
    let config = site.read("config.toml");
    site.write(
        "config.toml",
        format!("{config}\n{sources}\n[fetch]\n{fetch}\n"),
    );
    site
}

fn feed_source(url: &str, extra: &str) -> String {
    format!("[[sources]]\nkind = \"feed\"\nurl = \"{url}\"\n{extra}\n")
}

fn entry_by_link<'a>(
    feed: &'a feed_rs::model::Feed,
    link: &str,
) -> Option<&'a feed_rs::model::Entry> {
    feed.entries
        .iter()
        .find(|e| e.links.iter().any(|l| l.href == link))
}

fn count_links(feed: &feed_rs::model::Feed, link: &str) -> usize {
    feed.entries
        .iter()
        .filter(|e| e.links.iter().any(|l| l.href == link))
        .count()
}

#[test]
fn rss_atom_json_and_file_sources_become_attributed_items_revalidated_with_etag() {
    let server = Server::start();
    server.route(
        "/rail.xml",
        Route::Feed {
            body: rss("rail", "Rail story", "<script>alert('x')</script>"),
            content_type: "application/rss+xml",
            etag: PARTNER_RSS_ETAG,
        },
    );
    server.route(
        "/wire.atom",
        Route::Feed {
            body: ATOM.to_owned(),
            content_type: "application/atom+xml",
            etag: "\"w1\"",
        },
    );
    server.route(
        "/cd.json",
        Route::Feed {
            body: JSON_FEED.to_owned(),
            content_type: "application/feed+json",
            etag: "\"c1\"",
        },
    );
    let sources = [
        feed_source(&server.url("/rail.xml"), "name = \"Partner Daily\""),
        feed_source(&server.url("/wire.atom"), "name = \"Wire\""),
        feed_source(
            &server.url("/cd.json"),
            "name = \"成都日报\"\nlocale = \"zh\"",
        ),
        "[[sources]]\nkind = \"feed\"\npath = \"inbox/local.xml\"\n".to_owned(),
    ]
    .concat();
    let site = site_with(&sources, "host_delay_ms = 300");
    site.write("inbox/local.xml", rss("local-1", "Local file story", ""));

    let first = site.build();
    let err = stderr(&first);
    // The fixture's english-only.md holds control characters on purpose;
    // their warning is the only one.
    assert!(
        err.lines()
            .filter(|line| line.contains("WARN"))
            .all(|line| line.contains("articles/english-only.md:6: 2 control characters")),
        "{err}"
    );
    assert!(
        err.contains("https://partner.example.com/rail from Wire repeats rail from Partner Daily; kept the first source's copy"),
        "{err}"
    );
    let en = site.feed("en", "rss.xml");
    let rail = entry_by_link(&en, "https://partner.example.com/rail").expect("rail item");
    assert_eq!(rail.title.as_ref().unwrap().content, "Rail story");
    let body = rail.content.as_ref().unwrap().body.as_deref().unwrap();
    assert!(body.contains("Body of Rail story."), "{body}");
    assert!(
        !body.contains("script") && !body.contains("alert"),
        "{body}"
    );
    // The same story from the wire (same canonical URL) appears once: the
    // first configured source's copy.
    assert_eq!(count_links(&en, "https://partner.example.com/rail"), 1);
    assert!(entry_by_link(&en, "https://wire.example.net/1").is_some());
    assert!(entry_by_link(&en, "https://partner.example.com/local-1").is_some());
    // Markdown articles are still there.
    assert!(en.entries.len() >= 4, "{}", en.entries.len());
    let zh = site.feed("zh", "feed.json");
    let cd = entry_by_link(&zh, "https://cd.example.cn/1").expect("json item in zh");
    assert_eq!(cd.title.as_ref().unwrap().content, "成渝双城");
    assert!(entry_by_link(&zh, "https://partner.example.com/rail").is_none());

    // Attribution: RSS <source url>, Atom <source>, JSON `_gazette.source`.
    let channel = rss::Channel::read_from(site.read("feeds/en/rss.xml").as_bytes()).unwrap();
    let item = channel
        .items()
        .iter()
        .find(|i| i.link() == Some("https://partner.example.com/rail"))
        .unwrap();
    let source = item.source().unwrap();
    assert_eq!(source.title(), Some("Partner Daily"));
    // A partner's story is not credited to our desk, and keeps its own
    // time offset.
    let creators = item.dublin_core_ext().map(|dc| dc.creators().to_vec());
    assert_eq!(creators.unwrap_or_default(), Vec::<String>::new());
    assert_eq!(item.pub_date(), Some("Fri, 27 Nov 2026 08:00:00 +0800"));
    assert_eq!(source.url(), server.url("/rail.xml"));
    let atom =
        atom_syndication::Feed::read_from(site.read("feeds/en/atom.xml").as_bytes()).unwrap();
    let wire = atom
        .entries()
        .iter()
        .find(|e| {
            e.links()
                .iter()
                .any(|l| l.href() == "https://wire.example.net/1")
        })
        .unwrap();
    assert_eq!(wire.source().unwrap().title().as_str(), "Wire");
    let authors: Vec<&str> = wire.authors().iter().map(|p| p.name()).collect();
    assert_eq!(authors, ["Wire Desk"], "the item's own author, not ours");
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/zh/feed.json")).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["url"] == "https://cd.example.cn/1")
        .unwrap();
    assert_eq!(item["_gazette"]["source"]["name"], "成都日报");
    assert_eq!(item["date_published"], "2026-11-27T09:00:00+08:00");
    assert!(item.get("authors").is_none(), "{item}");
    assert_eq!(
        item["_gazette"]["source"]["url"],
        server.url("/cd.json").as_str()
    );

    // The request: named User-Agent, feed types accepted, no validators yet.
    let requests = server.seen("/rail.xml");
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].headers.get("user-agent").map(String::as_str),
        Some("gazette/0.1.0 (+https://github.com/gazette-news/gazette)")
    );
    assert!(requests[0].headers["accept"].contains("application/rss+xml"));
    assert!(!requests[0].headers.contains_key("if-none-match"));

    // Second build: conditional GET, 304, the cached items, identical files.
    let before = site.snapshot_feeds();
    let ids_before: Vec<String> = en.entries.iter().map(|e| e.id.clone()).collect();
    site.build();
    let requests = server.seen("/rail.xml");
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].headers.get("if-none-match").map(String::as_str),
        Some(PARTNER_RSS_ETAG)
    );
    let after = site.snapshot_feeds();
    assert_eq!(before, after, "a 304 changes no file");
    let ids_after: Vec<String> = site
        .feed("en", "rss.xml")
        .entries
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(ids_before, ids_after);

    // Three sources on one host, one build: at least host_delay_ms apart.
    let mut times: Vec<Instant> = server
        .seen
        .lock()
        .unwrap()
        .iter()
        .skip(3)
        .map(|s| s.at)
        .collect();
    times.sort();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(280),
            "{:?}",
            pair[1] - pair[0]
        );
    }

    // The cache is in the state database (schema version 2 added it; 10 is current).
    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    let (etag, version): (String, i64) = db
        .query_row(
            "SELECT etag, (SELECT user_version FROM pragma_user_version) FROM fetch_cache WHERE url = ?1",
            [server.url("/rail.xml")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((etag.as_str(), version), (PARTNER_RSS_ETAG, 10));
}

#[test]
fn a_failing_source_falls_back_to_its_last_good_copy_unless_strict() {
    let server = Server::start();
    server.route(
        "/flaky.xml",
        Route::Feed {
            body: rss("flaky-1", "Flaky story", ""),
            content_type: "application/rss+xml",
            etag: "\"f1\"",
        },
    );
    let url = server.url("/flaky.xml");
    let site = site_with(&feed_source(&url, ""), "host_delay_ms = 0");
    site.build();
    assert!(
        entry_by_link(
            &site.feed("en", "atom.xml"),
            "https://partner.example.com/flaky-1"
        )
        .is_some()
    );

    server.route("/flaky.xml", Route::Status(500));
    let output = site.build();
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "feed source {url} failed: the server answered HTTP 500 Internal Server Error; using the last good copy, fetched at 2026-11-28T22:00:00Z"
        )),
        "{err}"
    );
    assert!(
        entry_by_link(
            &site.feed("en", "atom.xml"),
            "https://partner.example.com/flaky-1"
        )
        .is_some()
    );

    for command in ["build", "check"] {
        let output = site.run(&["--now", NOW, command, "--strict"]);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let err = stderr(&output);
        assert!(
            err.contains(&format!(
                "error: 1 feed source failed (--strict); nothing was published:\n  feed source {url} failed: the server answered HTTP 500 Internal Server Error"
            )),
            "{command}: {err}"
        );
    }
}

#[test]
fn slow_malformed_oversized_and_missing_sources_warn_and_contribute_nothing() {
    let server = Server::start();
    server.route("/slow.xml", Route::Slow(Duration::from_secs(3)));
    server.route(
        "/broken.xml",
        Route::Feed {
            body: "<rss version=\"2.0\"><channel><title>x</title><item><title>a</item></channel>"
                .to_owned(),
            content_type: "application/rss+xml",
            etag: "\"b\"",
        },
    );
    server.route(
        "/huge.xml",
        Route::Feed {
            body: rss("huge", &"x".repeat(20_000), ""),
            content_type: "application/rss+xml",
            etag: "\"h\"",
        },
    );
    server.route("/weird.xml", Route::Status(304));
    let sources = [
        feed_source(&server.url("/slow.xml"), ""),
        feed_source(&server.url("/broken.xml"), ""),
        feed_source(&server.url("/huge.xml"), ""),
        feed_source(&server.url("/weird.xml"), ""),
        "[[sources]]\nkind = \"feed\"\npath = \"inbox/missing.xml\"\n".to_owned(),
    ]
    .concat();
    let site = site_with(
        &sources,
        "timeout_seconds = 1\nmax_bytes = 10000\nhost_delay_ms = 0",
    );
    let started = Instant::now();
    let output = site.build();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let err = stderr(&output);
    let nothing = "; there is no good copy of it yet, so it contributes nothing";
    for expected in [
        format!(
            "feed source {} failed: no complete response within 1 s (fetch.timeout_seconds){nothing}",
            server.url("/slow.xml")
        ),
        format!(
            "feed source {} failed: not a readable RSS, Atom or JSON feed: ",
            server.url("/broken.xml")
        ),
        format!(
            "feed source {} failed: the response is larger than 10000 bytes (fetch.max_bytes){nothing}",
            server.url("/huge.xml")
        ),
        format!(
            "feed source {} failed: the server answered 304 Not Modified to a plain GET{nothing}",
            server.url("/weird.xml")
        ),
        "feed source inbox/missing.xml failed: cannot read the file: ".to_owned(),
    ] {
        assert!(err.contains(&expected), "{expected}\n---\n{err}");
    }
    // The parser's own words follow the URL of the malformed feed.
    let broken_line = err.lines().find(|l| l.contains("/broken.xml")).unwrap();
    assert!(broken_line.len() > 120, "{broken_line}");
    // The site's own articles are still published.
    assert!(!site.feed("en", "rss.xml").entries.is_empty());
}

#[test]
fn check_fetches_but_writes_no_state() {
    let server = Server::start();
    server.route(
        "/rail.xml",
        Route::Feed {
            body: rss("rail", "Rail story", ""),
            content_type: "application/rss+xml",
            etag: PARTNER_RSS_ETAG,
        },
    );
    let site = site_with(
        &feed_source(&server.url("/rail.xml"), ""),
        "host_delay_ms = 0",
    );
    let output = site.run(&["--now", NOW, "check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !site.path(".gazette").exists(),
        "check created the state folder"
    );
    assert!(!site.path("feeds").exists());

    site.build();
    let db = site.path(".gazette/state.db");
    // (name, length, hash) of every file in .gazette/.
    let files = |dir: &std::path::Path| -> Vec<(std::ffi::OsString, usize, u64)> {
        use std::hash::{Hash, Hasher};
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let bytes = std::fs::read(e.path()).unwrap();
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                (e.file_name(), bytes.len(), hasher.finish())
            })
            .collect();
        all.sort();
        all
    };
    let before = files(db.parent().unwrap());
    let output = site.run(&["--now", NOW, "check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        files(db.parent().unwrap()),
        before,
        "check changed .gazette/"
    );
    // check revalidates with the cached ETag.
    let requests = server.seen("/rail.xml");
    assert_eq!(
        requests
            .last()
            .unwrap()
            .headers
            .get("if-none-match")
            .map(String::as_str),
        Some(PARTNER_RSS_ETAG)
    );
}

#[test]
fn an_undated_partner_item_is_warned_about_once_not_on_every_build() {
    let server = Server::start();
    let dated = rss("dated", "Dated story", "");
    let with_undated =
        |extra_item: &str| dated.replace("</channel>", &format!("{extra_item}</channel>"));
    let undated = "<item><title>Undated story</title><link>https://partner.example.com/undated</link><guid isPermaLink=\"false\">undated</guid></item>";
    server.route(
        "/partner.xml",
        Route::Feed {
            body: with_undated(undated),
            content_type: "application/rss+xml",
            etag: "\"p1\"",
        },
    );
    let site = site_with(
        &feed_source(&server.url("/partner.xml"), "name = \"Partner\""),
        "host_delay_ms = 0",
    );
    let warning = format!(
        "feed source {}: item `undated` has no date (published or updated); item skipped",
        server.url("/partner.xml")
    );
    let skip_warnings = |output: &std::process::Output| -> Vec<String> {
        stderr(output)
            .lines()
            .filter(|line| line.contains("WARN") && line.contains("item skipped"))
            .map(|line| line.trim_start().trim_start_matches("WARN ").to_owned())
            .collect()
    };
    // Quiet, as cron runs it: whatever reaches stderr is mailed.
    let first = site.run(&["-q", "--now", NOW, "build"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(skip_warnings(&first), std::slice::from_ref(&warning));
    // The same document again (a 304: the cached copy is parsed anew).
    let second = site.run(&["-q", "--now", NOW, "build"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        skip_warnings(&second),
        Vec::<String>::new(),
        "{}",
        stderr(&second)
    );
    // `check` reads what builds recorded: nothing new either.
    let check = site.run(&["-q", "--now", NOW, "check"]);
    assert_eq!(
        skip_warnings(&check),
        Vec::<String>::new(),
        "{}",
        stderr(&check)
    );

    // A new undated item is new: warned about, once.
    server.route(
        "/partner.xml",
        Route::Feed {
            body: with_undated(&format!(
                "{undated}{}",
                undated.replace("undated", "undated-2")
            )),
            content_type: "application/rss+xml",
            etag: "\"p2\"",
        },
    );
    let third = site.run(&["-q", "--now", NOW, "build"]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(
        skip_warnings(&third),
        [warning.replace("`undated`", "`undated-2`")]
    );
    let fourth = site.run(&["-q", "--now", NOW, "build"]);
    assert_eq!(skip_warnings(&fourth), Vec::<String>::new());
    // The dated item was published all along.
    let en = site.feed("en", "atom.xml");
    assert!(entry_by_link(&en, "https://partner.example.com/dated").is_some());
    assert!(entry_by_link(&en, "https://partner.example.com/undated").is_none());
}

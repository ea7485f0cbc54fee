//! Tests of the feed fetch cache (`fetch_cache`).

use crate::state::tests::*;

#[test]
fn fetch_cache_keeps_the_last_stored_copy_per_url() {
    let (_dir, state) = open_temp();
    let url = "https://partner.example.com/feed.xml";
    state
        .store_fetch(
            url,
            Some("\"v1\""),
            None,
            b"<rss/>",
            at("2026-05-01T07:00:00+08:00"),
        )
        .unwrap();
    state
        .store_fetch(
            url,
            None,
            Some("Fri, 01 May 2026 00:00:00 GMT"),
            b"<rss>2</rss>",
            at("2026-05-02T07:00:00+08:00"),
        )
        .unwrap();
    let cached = state.cached_fetch(url).unwrap().unwrap();
    assert_eq!(cached.etag, None);
    assert_eq!(
        cached.last_modified.as_deref(),
        Some("Fri, 01 May 2026 00:00:00 GMT")
    );
    assert_eq!(cached.body, b"<rss>2</rss>");
    assert_eq!(cached.fetched_at, "2026-05-01T23:00:00Z");
    assert_eq!(state.cached_fetch("https://other.example/").unwrap(), None);
}

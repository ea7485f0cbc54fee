//! The feed source: any bytes either fail as "not a readable feed" or map
//! to articles (items skipped with a reason), never a panic.
#![no_main]

use gazette::config::{FeedLocation, FeedSource};
use gazette::source::feed::items_to_articles;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = FeedSource {
        location: FeedLocation::Url("https://partner.example.org/feed.xml".parse().unwrap()),
        name: "partner".to_owned(),
        locale: "en".to_owned(),
        max_items: Some(20),
    };
    if let Ok(items) = items_to_articles(data, &source) {
        assert!(items.articles.len() <= 20);
    }
});

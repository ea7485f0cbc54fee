//! The scraped text-page parser: any text either parses or is refused with
//! a message; a parsed page turns into Markdown and a slug without panicking.
#![no_main]

use gazette::source::text::{ChromeRules, parse_page, slugify, to_markdown};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static RULES: LazyLock<ChromeRules> =
    LazyLock::new(|| ChromeRules::new(&[], &[]).expect("the built-in patterns compile"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(page) = parse_page(text, &RULES) {
        let date = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:30:00+08:00").unwrap();
        let _ = to_markdown(&page, date);
        let _ = slugify(&page.title);
    }
});

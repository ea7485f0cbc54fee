//! Fixtures shared by unit tests of several stages (compiled for tests only).

/// A minimal bilingual site: en-GB and zh-CN (falling back to en), one
/// Markdown source. Tests append the sections they need.
pub const BILINGUAL_CONFIG: &str = r#"
[site]
base_url = "https://news.example.org/"
default_locale = "en"
author = { name = "Desk" }
[locales.en]
tag = "en-GB"
[locales.zh]
tag = "zh-CN"
fallback = ["en"]
[[sources]]
kind = "markdown"
path = "articles"
"#;

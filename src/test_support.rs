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

/// `en` (at the site root) and `zh` (under `zh/`, falling back to `en`), as
/// the config above would make them.
pub fn locales() -> Vec<crate::model::Locale> {
    let home = |path: &str| url::Url::parse(&format!("https://news.example.org/{path}")).unwrap();
    vec![
        crate::model::Locale {
            key: "en".to_owned(),
            tag: "en".to_owned(),
            fallback: Vec::new(),
            home_url: home(""),
        },
        crate::model::Locale {
            key: "zh".to_owned(),
            tag: "zh-CN".to_owned(),
            fallback: vec!["en".to_owned()],
            home_url: home("zh/"),
        },
    ]
}

/// The names of the entries of `dir`, sorted.
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

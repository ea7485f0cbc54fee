//! Every text of the digest (as mailed and as its web copy) and of the
//! feed index pages meets WCAG AA contrast (4.5:1) in the light and the
//! dark colour scheme, measured on the colours headless Chromium computes
//! (tests/clients/contrast.js, injected into a copy of each page).

mod common;

use base64::Engine as _;
use common::{NOW, Site, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = include_str!("clients/contrast.js");
const AA: f64 = 4.5;

#[derive(serde::Deserialize)]
struct Report {
    dark: bool,
    nodes: Vec<TextNode>,
}

#[derive(serde::Deserialize, Debug)]
struct TextNode {
    text: String,
    color: String,
    background: String,
    ratio: f64,
}

/// The contrast of every visible text node of `html` under `scheme`
/// (`dark` or `light`), as Chromium computes the page.
fn measure(html: &str, scheme: &str, dir: &Path) -> Report {
    let page = dir.join(format!("page-{scheme}.html"));
    // Inline script is fine here: a local copy, opened only by this test.
    let with_script = match html.rfind("</body>") {
        Some(end) => format!("{}<script>{SCRIPT}</script>{}", &html[..end], &html[end..]),
        None => format!("{html}<script>{SCRIPT}</script>"),
    };
    std::fs::write(&page, with_script).unwrap();
    let preferred = if scheme == "dark" { 0 } else { 1 };
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            &format!("--blink-settings=preferredColorScheme={preferred}"),
            &format!("--user-data-dir={}", dir.join("profile").display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (.ci/run installs Debian's chromium)");
    let dom = String::from_utf8_lossy(&output.stdout);
    // The last one: the script's own comment names the element too.
    let start = dom
        .rfind("<pre id=\"gazette-contrast\">")
        .unwrap_or_else(|| {
            panic!(
                "no report in the DOM: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
        + "<pre id=\"gazette-contrast\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(dom[start..end].trim())
        .unwrap_or_else(|e| panic!("{e}: {:?}", &dom[start..end.min(start + 300)]));
    serde_json::from_slice(&json).unwrap()
}

fn assert_readable(name: &str, html: &str) {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["light", "dark"] {
        let report = measure(html, scheme, dir.path());
        assert_eq!(
            report.dark,
            scheme == "dark",
            "{name}: Chromium applied {scheme}"
        );
        assert!(
            report.nodes.len() > 3,
            "{name}: {} text nodes",
            report.nodes.len()
        );
        let poor: Vec<&TextNode> = report.nodes.iter().filter(|n| n.ratio < AA).collect();
        assert!(
            poor.is_empty(),
            "{name} ({scheme}): below {AA}:1:\n{}",
            poor.iter()
                .map(|n| format!(
                    "  {:.2}:1 {} on {} {:?}",
                    n.ratio, n.color, n.background, n.text
                ))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    files.sort();
    files
}

#[test]
fn digests_web_copies_and_feed_indexes_meet_wcag_aa_in_both_schemes() {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site.build();
    let send = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--now", NOW, "send"])
        .current_dir(site.dir.path())
        .env(
            "GAZETTE_UNSUBSCRIBE_SECRET",
            "test-secret-0123456789abcdef0123456789",
        )
        .output()
        .unwrap();
    assert!(send.status.success(), "{}", stderr(&send));

    let mut pages: Vec<(String, String)> = Vec::new();
    for locale in ["en", "zh"] {
        for file in html_files(&site.path(&format!("feeds/{locale}/digest")))
            .into_iter()
            .chain([site.path(&format!("feeds/{locale}/index.html"))])
        {
            pages.push((
                file.display().to_string(),
                std::fs::read_to_string(&file).unwrap(),
            ));
        }
    }
    // One mailed digest per language is enough: the others differ in names only.
    let mut mailed_langs = std::collections::BTreeSet::new();
    for message in html_files_or_eml(&site.path("outbox")) {
        let bytes = std::fs::read(&message).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let html = parsed.body_html(0).unwrap().into_owned();
        let lang = html
            .split("lang=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        if mailed_langs.insert(lang) {
            pages.push((message.display().to_string(), html));
        }
    }
    assert!(
        mailed_langs.len() >= 2,
        "mail in both languages: {mailed_langs:?}"
    );
    for (name, html) in &pages {
        assert_readable(name, html);
    }
}

fn html_files_or_eml(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

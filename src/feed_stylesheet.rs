//! The feed stylesheet stage: `feeds/<locale>/feed.xsl`, the XSLT that
//! a browser applies when a reader opens `rss.xml` or `atom.xml` (named by
//! each feed's `<?xml-stylesheet?>`), so they see a page with the feed's
//! title, a line saying what a feed is, and its stories, not raw XML.
//!
//! Pure: takes the locale's tag and localised line, returns the file's
//! path and text; `publish` writes it. Feed readers ignore the stylesheet.

use pulldown_cmark_escape::escape_html;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../templates/feed.xsl");

/// The file name of the stylesheet in each locale's feeds folder.
pub const FILE_NAME: &str = "feed.xsl";

/// Renders the stylesheet of one locale. Returns (path under the feeds
/// folder, text).
pub fn render(locale_key: &str, language: &str, intro: &str) -> (PathBuf, String) {
    let mut intro_xml = String::new();
    // Writing to a String cannot fail.
    let _ = escape_html(&mut intro_xml, intro);
    let mut lang_xml = String::new();
    let _ = escape_html(&mut lang_xml, language);
    // Braces in an XSLT attribute are expressions: doubled, they are text.
    let lang_xml = lang_xml.replace('{', "{{").replace('}', "}}");
    let text = TEMPLATE
        .replace("@@LANG@@", &lang_xml)
        .replace("@@INTRO@@", &intro_xml);
    (PathBuf::from(locale_key).join(FILE_NAME), text)
}

/// The `href` of the stylesheet, relative to a feed published in
/// `feed_dir` (`<locale>`, `<locale>/digest`, `<locale>/tags/<slug>`):
/// relative, so the page works wherever the feeds folder is served from.
pub fn href_from(feed_dir: &Path) -> String {
    let depth = feed_dir.components().count().saturating_sub(1);
    "../".repeat(depth) + FILE_NAME
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn href_climbs_to_the_locale_folder() {
        assert_eq!(href_from(Path::new("en")), "feed.xsl");
        assert_eq!(href_from(Path::new("en/digest")), "../feed.xsl");
        assert_eq!(href_from(Path::new("zh/tags/jing-ji")), "../../feed.xsl");
    }

    #[test]
    fn text_is_escaped_into_the_stylesheet() {
        let (path, text) = render("en", "en-GB", "Feeds <&> you");
        assert_eq!(path, PathBuf::from("en/feed.xsl"));
        assert!(text.contains("<p class=\"intro\">Feeds &lt;&amp;&gt; you</p>"));
        assert!(text.contains("<html lang=\"en-GB\">"));
    }
}

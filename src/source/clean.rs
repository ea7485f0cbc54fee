//! Text hygiene shared by every source kind: XML-illegal characters out,
//! HTML sanitised once with `ammonia`, plain-text excerpts for summaries.
//!
//! Pure functions over strings; no I/O, no knowledge of where text came from.

use crate::script::is_cjk;
use std::borrow::Cow;
use url::Url;

/// Characters a budgeted excerpt of mostly-CJK text may hold.
const CJK_EXCERPT_CHARS: usize = 120;
/// Characters a budgeted excerpt of space-separated text may hold.
const WORD_EXCERPT_CHARS: usize = 280;
/// Sentence ends in Chinese and Japanese text.
const CJK_SENTENCE_ENDS: [char; 3] = ['。', '！', '？'];
/// Closing marks that belong to the sentence they follow.
const CLOSING_MARKS: [char; 6] = ['”', '’', '」', '』', '）', ')'];

/// Removes characters XML 1.0 forbids (C0 controls other than tab, LF, CR,
/// and U+FFFE/U+FFFF), so they can never reach a feed.
pub fn strip_xml_illegal(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_xml_illegal) {
        Cow::Owned(text.chars().filter(|&c| !is_xml_illegal(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// True for the characters [`strip_xml_illegal`] removes.
fn is_xml_illegal(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// What [`strip_xml_illegal`] would remove from a text: how many
/// characters, which ones, and the line of the first, so a loader can tell
/// the author instead of dropping them silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// How many characters are removed.
    pub count: usize,
    /// 1-based line (counting `\n`) of the first one.
    pub first_line: usize,
    /// The distinct characters, in order of first appearance.
    pub chars: Vec<char>,
}

impl std::fmt::Display for Removed {
    /// `3 control characters (U+0000, U+001B) removed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.chars.iter().all(|c| c.is_control()) {
            "control character"
        } else {
            "character"
        };
        let plural = if self.count == 1 { "" } else { "s" };
        let codes: Vec<String> = self
            .chars
            .iter()
            .map(|&c| format!("U+{:04X}", u32::from(c)))
            .collect();
        write!(
            f,
            "{} {kind}{plural} ({}) removed",
            self.count,
            codes.join(", ")
        )
    }
}

/// What [`strip_xml_illegal`] would remove from `text`, or `None` (the
/// usual case) when nothing.
pub fn removed_characters(text: &str) -> Option<Removed> {
    // Every article is scanned on each load, so first a branch-free pass
    // over the bytes the compiler can vectorise (a control character is one
    // byte below 0x20), then two substring searches for the noncharacters;
    // the counting walk below only runs for a file that has any.
    let has_control = text.bytes().fold(false, |found, b| {
        found | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
    });
    if !has_control && !text.contains('\u{FFFE}') && !text.contains('\u{FFFF}') {
        return None;
    }
    let mut removed = Removed {
        count: 0,
        first_line: 0,
        chars: Vec::new(),
    };
    let mut line = 1;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if is_xml_illegal(c) {
            if removed.count == 0 {
                removed.first_line = line;
            }
            removed.count += 1;
            if !removed.chars.contains(&c) {
                removed.chars.push(c);
            }
        }
    }
    (removed.count > 0).then_some(removed)
}

/// Sanitises untrusted HTML: no scripts, event handlers or `javascript:`
/// URLs; relative links and images resolved against `base`.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    ammonia::Builder::default()
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
        .clean(html)
        .to_string()
}

/// The text of an HTML fragment, markup removed (by ammonia, which keeps
/// only text and escapes `&`, `<`, `>` and no-break spaces; those are
/// turned back into characters here).
pub fn html_to_text(html: &str) -> String {
    let text = ammonia::Builder::empty().clean(html).to_string();
    text.replace("&nbsp;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// True when most letters are Han ideographs or kana ([`is_cjk`]), so
/// sentences end in 。！？ and words are not separated by spaces. Korean is
/// not: it is cut and measured like other space-separated text.
pub fn is_mostly_cjk(text: &str) -> bool {
    let (mut cjk, mut other) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if is_cjk(c) {
            cjk += 1;
        } else {
            other += 1;
        }
    }
    cjk > other
}

/// A plain-text excerpt: CJK text cut after the last sentence end within
/// the budget, other text at the last word boundary, marked with "…".
/// Cuts happen on `char` boundaries, so no character is ever broken.
pub fn excerpt(text: &str) -> String {
    let text = collapse_whitespace(text);
    let budget = if is_mostly_cjk(&text) {
        CJK_EXCERPT_CHARS
    } else {
        WORD_EXCERPT_CHARS
    };
    if text.chars().count() <= budget {
        return text;
    }
    let head: String = text.chars().take(budget).collect();
    if is_mostly_cjk(&text) {
        cut_at_sentence_end(&head).unwrap_or_else(|| format!("{}…", head.trim_end()))
    } else {
        cut_at_word(&head)
    }
}

/// Joins words with single spaces, except next to CJK characters and
/// full-width punctuation, where a space (say, between two paragraphs of
/// Chinese) would be a visible gap.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        let joins_tightly = out.chars().next_back().is_some_and(is_wide)
            || word.chars().next().is_some_and(is_wide);
        if !out.is_empty() && !joins_tightly {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn is_wide(c: char) -> bool {
    is_cjk(c) || matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}')
}

fn cut_at_sentence_end(head: &str) -> Option<String> {
    let chars: Vec<char> = head.chars().collect();
    let end = chars.iter().rposition(|c| CJK_SENTENCE_ENDS.contains(c))?;
    let mut cut = end + 1;
    while chars.get(cut).is_some_and(|c| CLOSING_MARKS.contains(c)) {
        cut += 1;
    }
    Some(chars[..cut].iter().collect())
}

fn cut_at_word(head: &str) -> String {
    let cut = head.rfind(' ').unwrap_or(head.len());
    let trimmed = head[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:–—-".contains(c));
    format!("{trimmed}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_controls_and_the_two_nonchars_count_as_xml_illegal() {
        // Neighbours of U+FFFE/U+FFFF in UTF-8 (EF BF BD, EF BE BF), C1
        // controls and CJK are kept; each illegal one alone is found.
        for kept in [
            "\u{FFFD}",
            "\u{FFBF}",
            "\u{EFBF}",
            "\u{85}",
            "成渝\r\n\t",
            "",
        ] {
            assert!(
                matches!(strip_xml_illegal(kept), Cow::Borrowed(_)),
                "{kept:?}"
            );
        }
        for illegal in ["\u{0}", "\u{1f}", "x\u{FFFE}", "\u{FFFF}y", "\u{8}"] {
            assert_eq!(
                strip_xml_illegal(illegal).chars().count(),
                illegal.chars().count() - 1
            );
        }
    }

    #[test]
    fn strips_xml_illegal_controls_but_keeps_whitespace() {
        assert_eq!(
            strip_xml_illegal("a\u{0}b\u{1b}c\td\ne\u{FFFF}"),
            "abc\td\ne"
        );
        assert!(matches!(strip_xml_illegal("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn removed_characters_counts_names_and_locates_the_first() {
        assert_eq!(removed_characters("clean\ttext\r\nline 2\n成渝，"), None);
        let removed = removed_characters("a\nb\n\u{0}c\u{1b}\n\u{0}\u{FFFF}").unwrap();
        assert_eq!(
            removed,
            Removed {
                count: 4,
                first_line: 3,
                chars: vec!['\u{0}', '\u{1b}', '\u{FFFF}'],
            }
        );
        assert_eq!(
            removed.to_string(),
            "4 characters (U+0000, U+001B, U+FFFF) removed"
        );
        assert_eq!(
            removed_characters("x\u{0}\u{0}\u{0}").unwrap().to_string(),
            "3 control characters (U+0000) removed"
        );
        assert_eq!(
            removed_characters("\u{8}").unwrap().to_string(),
            "1 control character (U+0008) removed"
        );
    }

    #[test]
    fn sanitizer_removes_scripts_handlers_and_javascript_urls() {
        let base = Url::parse("https://news.example.org/en/story/").unwrap();
        let html = r#"<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">j</a> <a href="../other/">o</a> <img src="pic.jpg" alt="p"></p>"#;
        let clean = sanitize_html(html, &base);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript:"), "{clean}");
        assert!(
            clean.contains(r#"href="https://news.example.org/en/other/""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://news.example.org/en/story/pic.jpg""#),
            "{clean}"
        );
    }

    #[test]
    fn html_to_text_drops_markup_and_keeps_characters() {
        assert_eq!(
            html_to_text("<p>A &amp; B &lt;3<script>x()</script></p><p>成渝</p>"),
            "A & B <3成渝"
        );
    }

    #[test]
    fn chinese_paragraphs_join_without_a_gap() {
        assert_eq!(
            excerpt("第一段。\n\n第二段。 Word one"),
            "第一段。第二段。Word one"
        );
    }

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(excerpt("  Short   text. "), "Short text.");
    }

    #[test]
    fn english_excerpt_ends_at_a_word_boundary() {
        let text = "word ".repeat(100);
        let cut = excerpt(&text);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= WORD_EXCERPT_CHARS + 1);
    }

    #[test]
    fn chinese_excerpt_ends_at_a_sentence_end() {
        let text = "成渝地区双城经济圈建设提速。".repeat(20);
        let cut = excerpt(&text);
        assert!(cut.ends_with('。'), "{cut}");
        assert!(cut.chars().count() <= CJK_EXCERPT_CHARS);
    }

    #[test]
    fn chinese_excerpt_keeps_closing_quote_with_its_sentence() {
        let text = format!("“{}！”{}", "好".repeat(100), "后文".repeat(100));
        assert!(excerpt(&text).ends_with("！”"));
    }

    #[test]
    fn korean_is_cut_at_a_word_boundary_like_other_spaced_text() {
        // Korean ends sentences with `.` and puts spaces between words.
        let text = "서울 지역의 교통망이 빠르게 확장되고 있다. ".repeat(20);
        assert!(!is_mostly_cjk(&text));
        let cut = excerpt(&text);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(cut.chars().count() <= WORD_EXCERPT_CHARS + 1, "{cut}");
        // Whole words only: the cut is right after one of the text's words.
        let kept = cut.trim_end_matches('…');
        assert!(text.starts_with(kept), "{cut}");
        assert_eq!(text[kept.len()..].chars().next(), Some(' '), "{cut}");
    }

    #[test]
    fn chinese_excerpt_without_sentence_end_is_marked_cut() {
        let cut = excerpt(&"汽".repeat(300));
        assert_eq!(cut.chars().count(), CJK_EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

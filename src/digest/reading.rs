//! Reading-time estimate: Chinese and Japanese text is read by the
//! character, other scripts (Korean included, which puts spaces between
//! words; see [`is_cjk`]) by the word, so each is counted its own way.
//!
//! Pure counting over rendered HTML; it never renders or reads files.

use crate::script::is_cjk;

/// Minutes to read `html` (tags are ignored), at least 1. A speed of 0 is
/// treated as 1 so a bad setting cannot divide by zero.
pub(crate) fn minutes(html: &str, words_per_minute: u32, cjk_chars_per_minute: u32) -> u64 {
    let (words, cjk) = count(&strip_tags(html));
    let minutes = words as f64 / f64::from(words_per_minute.max(1))
        + cjk as f64 / f64::from(cjk_chars_per_minute.max(1));
    (minutes.ceil() as u64).max(1)
}

/// (words outside CJK text, CJK characters).
fn count(text: &str) -> (usize, usize) {
    let mut words = 0;
    let mut cjk = 0;
    let mut in_word = false;
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
            in_word = false;
        } else if c.is_alphanumeric() {
            if !in_word {
                words += 1;
            }
            in_word = true;
        } else if c.is_whitespace() {
            in_word = false;
        }
        // Other punctuation (apostrophes, hyphens) stays inside the word.
    }
    (words, cjk)
}

/// The text of sanitised HTML: tags replaced by spaces so words on either
/// side of `<br>` or `</p><p>` are not glued together.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_read_by_the_word() {
        let html = format!("<p>{}</p>", "word ".repeat(460));
        assert_eq!(minutes(&html, 230, 400), 2);
        assert_eq!(minutes("<p>one two</p>", 230, 400), 1);
    }

    #[test]
    fn chinese_is_read_by_the_character() {
        let html = format!("<p>{}</p>", "成渝双城经济圈".repeat(200)); // 1,400 characters
        assert_eq!(minutes(&html, 230, 400), 4);
    }

    #[test]
    fn tags_and_attributes_are_not_counted() {
        let html = r#"<p><a href="https://example.org/a-very-long-address">link</a><br>text</p>"#;
        assert_eq!(count(&strip_tags(html)), (2, 0));
    }

    #[test]
    fn mixed_text_counts_both() {
        assert_eq!(count("成都 Chengdu 和 Chongqing's 重庆"), (2, 5));
    }

    #[test]
    fn korean_is_read_by_the_word() {
        // Hangul is written with spaces between words (see `is_cjk`): three
        // words here, not nine characters.
        assert_eq!(count("서울 교통망이 확장된다"), (3, 0));
        assert_eq!(count("한국어 成都 문장"), (2, 2));
        let html = format!("<p>{}</p>", "교통망이 ".repeat(460));
        assert_eq!(minutes(&html, 230, 400), 2);
    }

    #[test]
    fn empty_or_zero_speed_is_one_minute() {
        assert_eq!(minutes("", 230, 400), 1);
        assert_eq!(minutes("<p>a b c</p>", 0, 0), 3);
    }
}

//! Which characters belong to scripts written without spaces between words
//! (Chinese and Japanese), shared by the source stage (excerpts, scraped
//! page layout) and the digest (reading time).
//!
//! A leaf: pure functions over `char`, depending on nothing in the crate, so
//! `source` and `digest` can both use it without depending on each other.

/// True for Han ideographs and kana: the scripts written without spaces
/// between words, where sentences end in 。！？ and text is read (and so
/// timed) by the character.
///
/// Hangul is deliberately not included. Korean puts spaces between words
/// and ends sentences with `.`, `!` and `?`, so for both uses it behaves
/// like space-separated text: its reading time is counted by the word, and
/// its excerpts are cut at a word boundary (cutting after 。！？ would find
/// no sentence end and cut mid-word; counting its syllables at the Chinese
/// characters-per-minute speed would also ignore the spaces that make it
/// read by the word).
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}'   // CJK Unified Ideographs Extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK Compatibility Ideographs
        // The Supplementary and Tertiary Ideographic Planes hold nothing but
        // Han: Extensions B to H and the Compatibility Supplement, and
        // whatever extension Unicode adds there next.
        | '\u{20000}'..='\u{3FFFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_and_kana_are_cjk() {
        for c in [
            '成', '渝', 'ひ', 'カ', '㐀', '豈', '𠀀', '𪜀', '𫠝', '丽', '𰀀', '𱍐',
        ] {
            assert!(is_cjk(c), "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn hangul_latin_digits_and_punctuation_are_not() {
        // Hangul is written with spaces between words: see `is_cjk`.
        for c in [
            '한', '국', 'ᄀ', 'ㄱ', 'a', 'Z', '9', ' ', '。', '！', '，', 'Ａ', 'é',
        ] {
            assert!(!is_cjk(c), "{c:?} U+{:04X}", c as u32);
        }
    }
}

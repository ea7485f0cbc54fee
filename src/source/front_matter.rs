//! Front matter of Markdown articles: the keys an article may set, how
//! their dates are read, and a quick reader for the plain shape nearly
//! every article's front matter has.
//!
//! Part of the source stage; no I/O. The `toml` crate is the reference: the
//! quick reader accepts only lines whose meaning it knows exactly as `toml`
//! reads them, and hands anything else (and so every error) to `toml`.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

/// Front matter keys an article may set; anything else is a typo.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<DateValue>,
    pub updated: Option<DateValue>,
    pub summary: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    pub image: Option<String>,
    #[serde(default)]
    pub draft: bool,
    pub slug: Option<String>,
    pub id: Option<String>,
}

/// A date written either as a TOML datetime or as an RFC 3339 string.
#[derive(Debug, PartialEq)]
pub(super) enum DateValue {
    Toml(toml::value::Datetime),
    Text(String),
}

/// What `#[serde(untagged)]` would do for [`DateValue`], done directly:
/// untagged enums buffer every value into serde's generic `Content` tree
/// and replay it for each variant, and every article has a date or two.
/// Dates are one of two shapes, so the visitor takes either directly. Any
/// other value fails with the message the untagged derive gives.
impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor, value::MapAccessDeserializer};
        use std::fmt;

        const MISMATCH: &str = "data did not match any variant of untagged enum DateValue";

        struct DateVisitor;

        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateValue;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TOML datetime or an RFC 3339 string")
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<DateValue, E> {
                Ok(DateValue::Text(text.to_owned()))
            }

            fn visit_string<E: Error>(self, text: String) -> Result<DateValue, E> {
                Ok(DateValue::Text(text))
            }

            /// A TOML datetime reaches serde as a one-entry map (the toml
            /// crate's private encoding); `Datetime` decodes it itself.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateValue, A::Error> {
                toml::value::Datetime::deserialize(MapAccessDeserializer::new(map))
                    .map(DateValue::Toml)
                    .map_err(|_| A::Error::custom(MISMATCH))
            }

            fn visit_bool<E: Error>(self, _: bool) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }

            fn visit_i64<E: Error>(self, _: i64) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }

            fn visit_u64<E: Error>(self, _: u64) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }

            fn visit_f64<E: Error>(self, _: f64) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<DateValue, A::Error> {
                Err(A::Error::custom(MISMATCH))
            }

            fn visit_unit<E: Error>(self) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }

            fn visit_bytes<E: Error>(self, _: &[u8]) -> Result<DateValue, E> {
                Err(E::custom(MISMATCH))
            }
        }

        deserializer.deserialize_any(DateVisitor)
    }
}

impl DateValue {
    /// The date, or what is wrong with it (without the key's name).
    pub fn parse(&self) -> Result<DateTime<FixedOffset>, String> {
        let text = match self {
            // The common case, without formatting the date to text and
            // parsing it again; anything unusual takes the text route,
            // which decides and words the error.
            DateValue::Toml(dt) => match offset_datetime(dt) {
                Some(date) => return Ok(date),
                None => dt.to_string(),
            },
            DateValue::Text(s) => s.clone(),
        };
        DateTime::parse_from_rfc3339(&text).map_err(|_| {
            format!("`{text}` is not an RFC 3339 date-time with a UTC offset; write e.g. 2026-11-20T09:30:00+08:00")
        })
    }
}

/// A TOML offset date-time with seconds, as chrono reads its RFC 3339
/// text; `None` for anything else (local dates and times, no seconds, a
/// leap second, an out-of-range field), which [`DateValue::parse`] then
/// reads as text.
fn offset_datetime(dt: &toml::value::Datetime) -> Option<DateTime<FixedOffset>> {
    use chrono::{NaiveDate, NaiveTime, TimeZone};
    use toml::value::Offset;
    let (date, time, offset) = (dt.date?, dt.time?, dt.offset?);
    let second = time.second.filter(|s| *s < 60)?;
    let date = NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())?;
    let time = NaiveTime::from_hms_nano_opt(
        time.hour.into(),
        time.minute.into(),
        second.into(),
        time.nanosecond.unwrap_or(0),
    )?;
    let offset = FixedOffset::east_opt(match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i32::from(minutes) * 60,
    })?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

impl FrontMatter {
    /// Reads the TOML between the `+++` fences. Errors are the `toml`
    /// crate's, with their spans.
    pub fn parse(front: &str) -> Result<FrontMatter, toml::de::Error> {
        match plain(front) {
            Some(matter) => Ok(matter),
            None => toml::from_str(front),
        }
    }
}

/// The front matter, when every line is blank, a comment, or `key = value`
/// with a known key (once) and a one-line value: a string without escapes,
/// an array of such strings, `true`/`false`, or a date-time without spaces.
/// `None` for anything else, which `toml` then reads (or rejects, with its
/// message and line).
///
/// Why not always `toml`: it builds a spanned document tree and sends every
/// value through serde (a date goes through text twice), far more work per
/// article than the rest of indexing it, while this reader makes a few
/// comparisons per byte; the tests hold it to `toml`'s reading.
fn plain(front: &str) -> Option<FrontMatter> {
    let mut matter = FrontMatter::default();
    let mut seen = [false; KEYS.len()];
    for line in front.split_inclusive('\n') {
        // CRLF is a TOML newline; a lone CR (at the very end too) is not,
        // and fails below.
        let line = match line.strip_suffix('\n') {
            Some(line) => line.strip_suffix('\r').unwrap_or(line),
            None => line,
        };
        let rest = skip_whitespace(line);
        if rest.is_empty() {
            continue;
        }
        if rest.starts_with('#') {
            if !end_of_line(rest) {
                return None;
            }
            continue;
        }
        let key_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let (key, rest) = rest.split_at(key_end);
        let index = KEYS.iter().position(|k| *k == key)?;
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        let rest = skip_whitespace(skip_whitespace(rest).strip_prefix('=')?);
        let rest = match key {
            "tags" | "authors" => {
                let (values, rest) = string_array(rest)?;
                let field = if key == "tags" {
                    &mut matter.tags
                } else {
                    &mut matter.authors
                };
                *field = values;
                rest
            }
            "draft" => {
                let (value, rest) = match rest.strip_prefix("true") {
                    Some(rest) => (true, rest),
                    None => (false, rest.strip_prefix("false")?),
                };
                matter.draft = value;
                rest
            }
            "date" | "updated" => {
                let (value, rest) = date(rest)?;
                let field = if key == "date" {
                    &mut matter.date
                } else {
                    &mut matter.updated
                };
                *field = Some(value);
                rest
            }
            _ => {
                let (value, rest) = string(rest)?;
                let field = match key {
                    "title" => &mut matter.title,
                    "summary" => &mut matter.summary,
                    "image" => &mut matter.image,
                    "slug" => &mut matter.slug,
                    _ => &mut matter.id,
                };
                *field = Some(value);
                rest
            }
        };
        if !end_of_line(rest) {
            return None;
        }
    }
    Some(matter)
}

/// For fuzzing and property tests outside the crate: reads `front` as
/// [`FrontMatter::parse`] does, and panics when the quick reader takes a
/// document that `toml` rejects or reads otherwise. Returns whether the
/// quick reader took it.
#[doc(hidden)]
pub fn check_quick_reader(front: &str) -> bool {
    let reference = toml::from_str::<FrontMatter>(front);
    let Some(fast) = plain(front) else {
        return false;
    };
    match reference {
        Ok(expected) => assert_eq!(fast, expected, "{front:?}"),
        Err(e) => panic!("taken quickly as {fast:?}, toml rejects it: {e}\n{front:?}"),
    }
    true
}

/// The keys of [`FrontMatter`], as written.
const KEYS: [&str; 10] = [
    "title", "date", "updated", "summary", "tags", "authors", "image", "draft", "slug", "id",
];

fn skip_whitespace(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

/// TOML allows tab but no other control character in strings and comments.
fn allowed_in_text(c: char) -> bool {
    c == '\t' || !c.is_control()
}

/// Nothing, or only whitespace and a comment, is left on the line.
fn end_of_line(rest: &str) -> bool {
    let rest = skip_whitespace(rest);
    match rest.strip_prefix('#') {
        Some(comment) => comment.chars().all(allowed_in_text),
        None => rest.is_empty(),
    }
}

/// A one-line basic string without escapes, or a one-line literal string,
/// at the start of `text`; and what follows it.
fn string(text: &str) -> Option<(String, &str)> {
    let quote = *text
        .as_bytes()
        .first()
        .filter(|b| matches!(b, b'"' | b'\''))?;
    let body = &text.as_bytes()[1..];
    // One pass over the bytes (the values are most of the front matter):
    // stop at the closing quote; decline escapes and control characters
    // (C0, DEL, and C1, whose UTF-8 encoding starts with 0xC2 0x80..0x9F).
    let mut end = None;
    for (index, &byte) in body.iter().enumerate() {
        match byte {
            _ if byte == quote => {
                end = Some(index);
                break;
            }
            b'\\' if quote == b'"' => return None,
            b'\t' => {}
            0x00..=0x1f | 0x7f => return None,
            0xc2 if body
                .get(index + 1)
                .is_some_and(|b| (0x80..=0x9f).contains(b)) =>
            {
                return None;
            }
            _ => {}
        }
    }
    let end = end?;
    // Two quotes and a third open a multi-line string.
    if end == 0 && body.get(1) == Some(&quote) {
        return None;
    }
    // The quote is ASCII, so these are character boundaries.
    Some((text[1..1 + end].to_owned(), &text[2 + end..]))
}

/// A one-line array of [`string`]s (a trailing comma allowed).
fn string_array(text: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = skip_whitespace(text.strip_prefix('[')?);
    let mut values = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            return Some((values, after));
        }
        let (value, after) = string(rest)?;
        values.push(value);
        rest = skip_whitespace(after);
        if let Some(after) = rest.strip_prefix(',') {
            rest = skip_whitespace(after);
        } else if !rest.starts_with(']') {
            return None;
        }
    }
}

/// A [`string`], or a date-time written without spaces (`T` between date
/// and time), parsed by the `toml_datetime` parser that `toml` uses.
fn date(text: &str) -> Option<(DateValue, &str)> {
    if text.starts_with(['"', '\'']) {
        let (value, rest) = string(text)?;
        return Some((DateValue::Text(value), rest));
    }
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let end = text
        .find(|c: char| {
            !(c.is_ascii_digit() || matches!(c, '-' | ':' | '+' | '.' | 'T' | 't' | 'Z' | 'z'))
        })
        .unwrap_or(text.len());
    let (token, rest) = text.split_at(end);
    // After a space, more of the value could follow (`2026-11-20 09:30:00`,
    // one TOML date-time): only a comment or the end of the line may.
    let after_space = rest.trim_start_matches(' ');
    if !(rest.is_empty()
        || rest.starts_with('\t')
        || after_space.is_empty()
        || (after_space.len() < rest.len() && after_space.starts_with('#')))
    {
        return None;
    }
    let value = token.parse::<toml::value::Datetime>().ok()?;
    Some((DateValue::Toml(value), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `toml`'s reading of `front`.
    fn reference(front: &str) -> Result<FrontMatter, toml::de::Error> {
        toml::from_str(front)
    }

    /// The quick reader takes `front`, and reads it as `toml` does.
    fn quick(front: &str) -> FrontMatter {
        let fast = plain(front).unwrap_or_else(|| panic!("not taken quickly:\n{front}"));
        let expected = reference(front).unwrap_or_else(|e| panic!("toml rejects:\n{front}\n{e}"));
        assert_eq!(fast, expected, "{front}");
        fast
    }

    /// The quick reader leaves `front` to `toml`.
    fn declined(front: &str) {
        if let Some(fast) = plain(front) {
            panic!(
                "taken quickly as {fast:?}, toml says {:?}:\n{front}",
                reference(front)
            );
        }
    }

    #[test]
    fn a_typical_front_matter_is_read_quickly_as_toml_reads_it() {
        let matter = quick(concat!(
            "title = \"专家公布农村宽带\"\n",
            "date = 2024-09-20T08:24:32+08:00\n",
            "summary = \"“基础设施投资比去年同期增长了7.3%，”经济学家刘洋在个人博客上说。\"\n",
            "tags = [\"economy\"]\n",
            "authors = [\"José Álvarez\", 'Li Wei']\n",
        ));
        assert_eq!(matter.title.as_deref(), Some("专家公布农村宽带"));
        assert_eq!(matter.authors, ["José Álvarez", "Li Wei"]);
        assert!(matches!(matter.date, Some(DateValue::Toml(_))));
    }

    #[test]
    fn every_layout_the_quick_reader_takes_agrees_with_toml() {
        for front in [
            "",
            "\n\n",
            "title = \"A\"",
            "  title\t=\t\"A\"  \n",
            "title=\"A\"\ntags=[]\ndraft=true\n",
            "  \r\ntitle = \"A\"\n\t\n",
            "title = \"A\" # a comment\n",
            "# only a comment\ntitle = 'It is'\n",
            "title = \"A\"\r\ndate = 2026-11-20T09:30:00Z\r\n",
            "title = \"\"\nsummary = ''\n",
            "title = \"tab\there\"\n",
            "title = \"no\u{a0}break, «quotes», ©\"\n",
            "title = \"a 'quoted' #word\"\nsummary = 'say \"hi\" \\ back'\n",
            "date = \"2026-11-20T09:30:00+08:00\"\nupdated = 2026-11-21t10:00:00.5-05:30\n",
            "date = 2026-11-20T09:30:00.123456789z\n",
            "date = 2026-11-20T09:30:00Z # published\n",
            "date = 2026-11-20T09:30:00Z\t\n",
            "date = 2026-11-20\n",
            "date = 2026-11-20T09:30:00\n",
            "date = 09:30:00 # local time\n",
            "date = 2026-11-20T09:30+08:00\n",
            "date = 2016-12-31T23:59:60Z\n",
            "tags = []\nauthors = [ ]\n",
            "tags = [\"a\",\"b\",]\n",
            "tags = [ 'a' , \"b\" ]  # two\n",
            "draft = true\n",
            "draft = false\n",
            "image = \"/img/a.jpg\"\nslug = \"a-b.c\"\nid = \"x\"\n",
        ] {
            quick(front);
        }
    }

    #[test]
    fn anything_else_is_left_to_toml() {
        for front in [
            // Escapes, multi-line strings and arrays, other value types.
            "title = \"say \\\"hi\\\"\"\n",
            "title = \"caf\\u00e9\"\n",
            "title = \"\"\"A\"\"\"\n",
            "title = '''A'''\n",
            "title = \"\"\"\"\n",
            "tags = [\n  \"a\",\n]\n",
            "tags = \"a\"\n",
            "tags = [1, 2]\n",
            "tags = [\"a\" \"b\"]\n",
            "title = [\"A\"]\n",
            "draft = \"yes\"\n",
            "draft = trueish\n",
            "draft = 1\n",
            "date = 2026-11-20 09:30:00Z\n",
            "date = 20261120\n",
            "date = 2026-02-30T09:30:00Z\n",
            "date = 2026-11-20T09:30:00Z#c\n",
            "date = 2026-11-20T09:30:00Z x\n",
            "date = { day = 20 }\n",
            // Keys it does not know, twice, quoted, dotted; tables.
            "titel = \"A\"\n",
            "title = \"A\"\ntitle = \"B\"\n",
            "\"title\" = \"A\"\n",
            "title.x = \"A\"\n",
            "[extra]\n",
            "= \"A\"\n",
            // Control characters and stray text.
            "title = \"A\u{1}\"\n",
            "title = \"A\u{7f}\"\n",
            "title = 'A\u{85}'\n",
            "# bell \u{7}\n",
            "title = \"A\"\rsummary = \"B\"\n",
            // A CR ending the text is no line end (found by the property test).
            "\r",
            "title = \"A\"\r",
            "title = \"A\" B\n",
            "title = \"A\n",
            "title \"A\"\n",
            "title = \n",
        ] {
            declined(front);
        }
    }
}

#[cfg(test)]
mod agreement {
    use super::*;
    use std::path::Path;

    /// Every `.md` file under `dir`, recursively.
    fn articles(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                articles(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }

    /// The text between the `+++` fences, if the file has them.
    fn front(text: &str) -> Option<&str> {
        let rest = text.strip_prefix("+++\n")?;
        Some(&rest[..rest.find("\n+++")? + 1])
    }

    /// Checks the front matter of every article under `dir` (or of the
    /// folder named by `GAZETTE_FRONT_MATTER_CORPUS`, to try a large
    /// corpus): the quick reader declines it or agrees with `toml`.
    /// Returns (files checked, files read quickly).
    fn check(dir: &Path) -> (usize, usize) {
        let mut files = Vec::new();
        articles(dir, &mut files);
        let mut quick = 0;
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let Some(front) = front(&text) else { continue };
            if let Some(fast) = plain(front) {
                quick += 1;
                let expected = toml::from_str::<FrontMatter>(front).unwrap_or_else(|e| {
                    panic!(
                        "{}: toml rejects what was read quickly: {e}",
                        path.display()
                    )
                });
                assert_eq!(fast, expected, "{}", path.display());
            }
        }
        (files.len(), quick)
    }

    #[test]
    fn the_articles_in_this_repository_read_quickly_as_toml_reads_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut total = (0, 0);
        for dir in ["articles", "defaults", "tests/fixtures"] {
            let (files, quick) = check(&root.join(dir));
            total = (total.0 + files, total.1 + quick);
        }
        assert!(total.0 >= 30, "{total:?}");
        // Most are plain enough for the quick reader.
        assert!(total.1 * 2 > total.0, "{total:?}");
        if let Ok(dir) = std::env::var("GAZETTE_FRONT_MATTER_CORPUS") {
            let (files, quick) = check(Path::new(&dir));
            eprintln!("{dir}: {files} files, {quick} read quickly");
        }
    }
}

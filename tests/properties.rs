//! Property tests: generated inputs against independent readers.
//!
//! - front matter: whatever the quick reader takes, `toml` reads the same way;
//! - MIME bodies: every message decodes (with `mail-parser`) to its template
//!   filled with the subscriber's values, in lines of at most 76 (body) or
//!   78 (header) characters, CRLF only, no line starting with a dot;
//! - subscriber CSV: rows written with the `csv` writer read back as the
//!   same subscribers; invalid addresses are skipped, naming their line.
//!
//! Case counts are kept small enough for a debug build to finish each
//! property in a few seconds; `PROPTEST_CASES` raises them for a longer run.

use gazette::deliver::{EncodedBody, build_message};
use gazette::model::{BodyTemplate, Email, Form, Parts, Personal, Slot, Subscriber, Template};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// `cases`, unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// --- front matter ---------------------------------------------------------

/// Characters that make strings hard: quotes, backslashes, comment and
/// table signs, tabs, non-ASCII letters, no-break and line separators, a
/// C1 control (U+0085), C0 controls and DEL.
const AWKWARD_CHARS: &[char] = &[
    'a', 'Z', '0', ' ', ' ', '\t', '"', '\'', '\\', '#', '=', '[', ']', ',', '.', '-', 'é', '李',
    '😀', '\u{a0}', '\u{2028}', '\u{85}', '\u{1}', '\u{7f}', '\u{1b}',
];

fn awkward_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(AWKWARD_CHARS), 0..max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Mostly plain text (what articles hold), sometimes awkward.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9 ,.!?'éü李伟成渝—«»-]{0,12}",
        2 => awkward_text(8),
    ]
}

/// A TOML string written every way: raw between double or single quotes
/// (valid or not), escaped properly by `toml` itself, with escapes of our
/// own, or multi-line.
fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text().prop_map(|s| format!("\"{s}\"")),
        2 => text().prop_map(|s| format!("'{s}'")),
        2 => text().prop_map(|s| toml::Value::String(s).to_string()),
        1 => (text(), prop::sample::select(&[
                "\\\"", "\\\\", "\\n", "\\t", "\\u00e9", "\\U0001F600", "\\x", "\\"
            ][..]), text())
            .prop_map(|(a, escape, b)| format!("\"{a}{escape}{b}\"")),
        1 => text().prop_map(|s| format!("\"\"\"{s}\"\"\"")),
        1 => text().prop_map(|s| format!("'''{s}'''")),
    ]
}

fn date_value() -> impl Strategy<Value = String> {
    let date =
        (1990u32..2040, 1u32..14, 1u32..33).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}"));
    let time = (0u32..25, 0u32..61, 0u32..62).prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}"));
    let fraction = prop::sample::select(&["", ".5", ".123456789", ".1234567891"][..]);
    let offset = prop::sample::select(&["Z", "z", "+08:00", "-05:30", "+24:00", ""][..]);
    let separator = prop::sample::select(&["T", "t", " "][..]);
    prop_oneof![
        6 => (date.clone(), separator, time.clone(), fraction, offset.clone())
            .prop_map(|(d, sep, t, f, o)| format!("{d}{sep}{t}{f}{o}")),
        1 => date.clone(),
        1 => time,
        1 => (date.clone(), offset).prop_map(|(d, o)| format!("\"{d}T09:30:00{o}\"")),
        1 => date.prop_map(|d| d.replace('-', "")),
    ]
}

fn array_value() -> impl Strategy<Value = String> {
    let space = prop::sample::select(&["", " ", "  ", "\t"][..]);
    (
        prop::collection::vec((string_value(), space.clone()), 0..4),
        space.clone(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(items, inner, trailing_comma, multi_line)| {
            let joiner = if multi_line { ",\n" } else { "," };
            let body: Vec<String> = items.iter().map(|(v, s)| format!("{s}{v}{s}")).collect();
            let comma = if trailing_comma && !items.is_empty() {
                ","
            } else {
                ""
            };
            format!("[{inner}{}{comma}{inner}]", body.join(joiner))
        })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string_value(),
        2 => date_value(),
        2 => array_value(),
        1 => prop::sample::select(&["true", "false", "True", "trueish", "yes"][..]).prop_map(str::to_owned),
        1 => any::<i32>().prop_map(|n| n.to_string()),
        1 => Just("[1, 2]".to_owned()),
        1 => Just("{ day = 20 }".to_owned()),
        1 => Just(String::new()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(&[
            "title", "date", "updated", "summary", "tags", "authors", "image", "draft", "slug", "id",
        ][..]).prop_map(str::to_owned),
        1 => prop::sample::select(&["titel", "extra", "\"title\"", "'date'", "title.x", "ti tle", ""][..])
            .prop_map(str::to_owned),
    ]
}

/// One line of front matter, without its line end.
fn line() -> impl Strategy<Value = String> {
    let space = prop::sample::select(&["", " ", "  ", "\t", " \t"][..]);
    let comment = prop_oneof![
        3 => Just(String::new()),
        1 => text().prop_map(|c| format!(" # {c}")),
        1 => text().prop_map(|c| format!("#{c}")),
        1 => Just(" ".to_owned()),
    ];
    prop_oneof![
        8 => (space.clone(), key(), space.clone(), space.clone(), value(), comment)
            .prop_map(|(indent, k, before, after, v, c)| format!("{indent}{k}{before}={after}{v}{c}")),
        1 => space.clone().prop_map(str::to_owned),
        1 => (space, text()).prop_map(|(s, c)| format!("{s}#{c}")),
        1 => Just("[extra]".to_owned()),
    ]
}

fn front_matter() -> impl Strategy<Value = String> {
    let end = prop_oneof![6 => Just("\n"), 3 => Just("\r\n"), 1 => Just("\r")];
    (prop::collection::vec((line(), end), 0..8), any::<bool>()).prop_map(|(lines, last_end)| {
        let mut out = String::new();
        let count = lines.len();
        for (index, (line, end)) in lines.into_iter().enumerate() {
            out.push_str(&line);
            if index + 1 < count || last_end {
                out.push_str(end);
            }
        }
        out
    })
}

#[test]
fn whatever_the_quick_front_matter_reader_takes_toml_reads_the_same_way() {
    let mut runner = TestRunner::new(config(2000));
    let taken = std::cell::Cell::new(0u32);
    let total = std::cell::Cell::new(0u32);
    runner
        .run(&front_matter(), |front| {
            total.set(total.get() + 1);
            // Panics, naming the document, when the readings differ.
            if gazette::source::check_quick_reader(&front) {
                taken.set(taken.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    // The property says something only if the quick reader takes a good
    // share of the documents (and declines others).
    let (taken, total) = (taken.get(), total.get());
    assert!(taken * 10 > total, "taken {taken} of {total}");
    assert!(taken < total, "taken {taken} of {total}");
}

// --- MIME bodies -------------------------------------------------------------

/// A piece of a digest's fixed text: prose, a line starting with a dot,
/// trailing spaces, `=` signs, one long word, Chinese (so some parts are
/// base64), either line end, or nothing (two slots side by side).
fn piece() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("Hello ".to_owned()),
        Just(",".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n.".to_owned()),
        Just("\n..starts with dots\n".to_owned()),
        Just("trailing space \n".to_owned()),
        Just("tab\t\n".to_owned()),
        Just("a=b =3D =\n".to_owned()),
        Just("<p style=\"color: #333\">".to_owned()),
        Just("成渝新铁路通车，新线路将行程缩短至 50 分钟。".to_owned()),
        (1usize..200).prop_map(|n| "x".repeat(n)),
        (1usize..120).prop_map(|n| "Zoë ".repeat(n / 4 + 1)),
        (1usize..60).prop_map(|n| "李".repeat(n)),
        "[ -~]{0,30}",
    ];
    prop::collection::vec(fragment, 0..6).prop_map(|f| f.concat())
}

fn template() -> impl Strategy<Value = Template> {
    prop::collection::vec(
        (
            prop::sample::select(&[Slot::Name, Slot::UnsubscribeUrl][..]),
            piece(),
        ),
        0..5,
    )
    .prop_flat_map(|slots| (Just(slots), piece()))
    .prop_map(|(slots, first)| {
        let mut fixed = vec![first];
        let mut kinds = Vec::new();
        for (slot, piece) in slots {
            kinds.push(slot);
            fixed.push(piece);
        }
        Template {
            fixed,
            slots: kinds,
        }
    })
}

fn body_template() -> impl Strategy<Value = BodyTemplate> {
    (template(), template(), template(), template()).prop_map(|(t, h, at, ah)| BodyTemplate {
        named: Parts { text: t, html: h },
        anonymous: Parts { text: at, html: ah },
    })
}

/// Any Unicode name, with the characters CSV fields can bring in.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,30}",
        2 => prop::collection::vec(
            prop::sample::select(&[
                "李伟", "Zoë", " ", "A=B & <C>", "\"", ".", "\r\n", "\n", "\r", "=_", "--", "\t",
                "\u{E000}", "😀", "=?utf-8?b?", "x",
            ][..]),
            0..12,
        ).prop_map(|parts| parts.concat()),
        1 => (1usize..80).prop_map(|n| "Zoë Ö'Brien-李 ".repeat(n / 10 + 1)),
    ]
}

/// What a part must decode to: the fixed text with the values in place.
fn filled(template: &Template, personal: &Personal, form: Form) -> String {
    let mut out = template.fixed[0].clone();
    for (slot, fixed) in template.slots.iter().zip(&template.fixed[1..]) {
        out.push_str(personal.value(*slot, form));
        out.push_str(fixed);
    }
    out
}

fn email(name: &str, personal: Personal, url: &str) -> Email {
    Email {
        from: "Brief <brief@news.example.org>".into(),
        reply_to: Some("editors@news.example.org".into()),
        to_name: name.into(),
        to_email: "li.wei@example.org".into(),
        subject: "成渝简报：本周五条新闻 — week 48".into(),
        personal,
        message_id: "<d1.abc@news.example.org>".into(),
        list_id: "Brief <brief.news.example.org>".into(),
        unsubscribe_url: url.into(),
        unsubscribe_mailto: "mailto:unsubscribe@news.example.org?subject=tok".into(),
        date: chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00+08:00").unwrap(),
    }
}

#[test]
fn every_message_decodes_to_its_template_filled_with_the_subscribers_values() {
    use mail_parser::MimeHeaders as _;
    let url = prop_oneof![
        Just("https://news.example.org/u/tok".to_owned()),
        "[a-zA-Z0-9%._~-]{0,90}".prop_map(|tail| format!(
            "https://news.example.org/unsubscribe?email=li.wei%40example.org&token={tail}"
        )),
    ];
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&(body_template(), name(), url), |(template, name, url)| {
            let body = EncodedBody::new(&template);
            // The values as `digest::personalise` fills them in.
            let personal = gazette::digest::personal(&name, &url);
            let parts = if personal.anonymous() {
                &template.anonymous
            } else {
                &template.named
            };
            let expected = [
                filled(&parts.text, &personal, Form::Text),
                filled(&parts.html, &personal, Form::Html),
            ];
            let bytes = build_message(&email(&name, personal, &url), &body, None).unwrap();

            let text = std::str::from_utf8(&bytes).expect("a 7-bit message");
            prop_assert!(text.is_ascii());
            prop_assert!(
                !text.replace("\r\n", "").contains(['\r', '\n']),
                "bare CR or LF"
            );
            prop_assert!(text.ends_with("\r\n"));
            let (head, body_text) = text.split_once("\r\n\r\n").unwrap();
            for line in head.split("\r\n") {
                // RFC 5322 §2.1.1: lines MUST be at most 998 characters and
                // SHOULD be at most 78; a header is folded only at spaces,
                // so a longer line must be one word too long to fold (an
                // unsubscribe URL) after at most its field name.
                prop_assert!(line.len() <= 998, "{} chars: {line:?}", line.len());
                //
                // Known exception (lettre 0.11): the To header's encoded
                // display name and its `<address>` stay on one line, up to
                // 81 characters seen; allowed here until lettre (or
                // deliver::mime) folds before the address.
                if line.len() > 78 {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    let unfoldable = words.len() <= 2 && words.iter().any(|w| w.len() > 60);
                    // lettre keeps an encoded display name and its `<address>` on
                    // one line, first or folded (RFC 5322's 78 is a SHOULD).
                    let lettre_to = (line.starts_with("To: =?utf-8?")
                        || (line.starts_with(" =?utf-8?") && line.ends_with('>')))
                        && line.len() <= 998;
                    prop_assert!(unfoldable || lettre_to, "{} chars: {line:?}", line.len());
                }
            }
            for line in body_text.split("\r\n") {
                // RFC 2045 §6.7, §6.8: encoded lines of at most 76.
                prop_assert!(line.len() <= 76, "{} chars: {line:?}", line.len());
                // No line a relay would have to dot-stuff.
                prop_assert!(!line.starts_with('.'), "{line:?}");
            }

            let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            prop_assert_eq!(parsed.parts.len(), 3, "the root and two parts");
            prop_assert_eq!((parsed.text_body.len(), parsed.html_body.len()), (1, 1));
            let (text_index, html_index) = (parsed.text_body[0], parsed.html_body[0]);
            prop_assert!(text_index < html_index, "text part first");
            let normal = |s: &str| s.replace("\r\n", "\n");
            for (index, expected) in [text_index, html_index].into_iter().zip(&expected) {
                let part = &parsed.parts[index as usize];
                prop_assert_eq!(
                    part.content_type().unwrap().attribute("charset"),
                    Some("utf-8")
                );
                // An empty part decodes to no text at all.
                let decoded = part.text_contents().unwrap_or_default();
                prop_assert_eq!(normal(decoded), normal(expected));
            }
            Ok(())
        })
        .unwrap();
}

// --- subscriber CSV ---------------------------------------------------------

#[derive(Debug, Clone)]
struct Row {
    email: String,
    valid: bool,
    name: String,
    locale: &'static str,
    /// As written in the topics field.
    topics: String,
}

fn row() -> impl Strategy<Value = Row> {
    let valid = prop_oneof![
        4 => ("[a-z0-9]{1,8}(\\.[a-z0-9_+-]{1,5})?", "[a-z0-9]{1,8}(-[a-z]{1,3})?")
            .prop_map(|(local, domain)| format!("{local}@{domain}.example.org")),
        1 => Just("读者@example.org".to_owned()),
    ];
    let invalid = prop::sample::select(
        &[
            "not an address",
            "li.wei",
            "li.wei@",
            "@example.org",
            "a@@example.org",
            "a,b@example.org",
        ][..],
    )
    .prop_map(str::to_owned);
    let address =
        prop_oneof![5 => valid.prop_map(|a| (a, true)), 1 => invalid.prop_map(|a| (a, false))];
    // csv trims fields (Trim::All), so names are generated trimmed.
    let name = prop_oneof![
        3 => "\\PC{0,20}",
        2 => prop::collection::vec(
            prop::sample::select(&["Zoë", "李伟", ",", "\"", "\"\"", "\n", "\r\n", " ", "'", ";", "#", "=", "\u{FEFF}"][..]),
            0..8,
        ).prop_map(|parts| parts.concat()),
    ]
    .prop_map(|name: String| name.trim().to_owned());
    let topics = prop::collection::vec(
        ("[a-z]{1,6}", prop::sample::select(&["", " ", "  "][..])),
        0..4,
    )
    .prop_map(|topics| {
        topics
            .into_iter()
            .map(|(topic, space)| format!("{space}{topic}{space}"))
            .collect::<Vec<_>>()
            .join(";")
    });
    (
        address,
        name,
        prop::sample::select(&["en", "zh", "fr"][..]),
        topics,
    )
        .prop_map(|((email, valid), name, locale, topics)| Row {
            email,
            valid,
            name,
            locale,
            topics,
        })
}

/// Line numbers of rows in CRLF files are one low today; the fix is being
/// made on another branch. Set this to `true` when it lands, so CRLF files
/// are checked for line numbers too.
const CRLF_LINE_NUMBERS_FIXED: bool = true;

#[test]
fn subscriber_rows_written_as_csv_read_back_as_the_same_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subscribers.csv");
    let strategy = (
        prop::collection::vec(row(), 0..12),
        any::<bool>(), // CRLF
        any::<bool>(), // BOM
        any::<bool>(), // topics column
        any::<bool>(), // columns in another order
    );
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&strategy, |(rows, crlf, bom, with_topics, reordered)| {
            // Every address once (a second row for one is skipped, another rule).
            let rows: Vec<Row> = rows
                .into_iter()
                .enumerate()
                .map(|(index, mut row)| {
                    if row.valid {
                        row.email = format!("n{index}.{}", row.email);
                    }
                    row
                })
                .collect();
            let mut columns = vec!["email", "name", "locale"];
            if with_topics {
                columns.push("topics");
            }
            if reordered {
                columns.reverse();
            }
            let mut writer = csv::WriterBuilder::new()
                .terminator(if crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .from_writer(Vec::new());
            writer.write_record(&columns).unwrap();
            let mut lines = Vec::new();
            for row in &rows {
                writer.flush().unwrap();
                let written = writer.get_ref();
                lines.push(1 + written.iter().filter(|&&b| b == b'\n').count() as u64);
                let fields: Vec<&str> = columns
                    .iter()
                    .map(|column| match *column {
                        "email" => row.email.as_str(),
                        "name" => row.name.as_str(),
                        "locale" => row.locale,
                        _ => row.topics.as_str(),
                    })
                    .collect();
                writer.write_record(&fields).unwrap();
            }
            let mut bytes = if bom {
                "\u{FEFF}".as_bytes().to_vec()
            } else {
                Vec::new()
            };
            bytes.extend(writer.into_inner().unwrap());
            std::fs::write(&path, &bytes).unwrap();

            let list = gazette::subscribers::load(&path, &["en", "zh"]).unwrap();

            let expected: Vec<Subscriber> = rows
                .iter()
                .filter(|row| row.valid && row.locale != "fr")
                .map(|row| Subscriber {
                    email: row.email.clone(),
                    name: row.name.clone(),
                    locale: row.locale.to_owned(),
                    topics: if with_topics {
                        row.topics
                            .split(';')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect()
                    } else {
                        Vec::new()
                    },
                    since: None,
                })
                .collect();
            prop_assert_eq!(&list.subscribers, &expected);

            let skipped: Vec<(u64, &str)> = rows
                .iter()
                .zip(&lines)
                .filter(|(row, _)| !row.valid || row.locale == "fr")
                .map(|(row, line)| (*line, row.email.as_str()))
                .collect();
            prop_assert_eq!(list.skipped.len(), skipped.len(), "{:?}", list.skipped);
            for (got, (line, email)) in list.skipped.iter().zip(&skipped) {
                prop_assert!(got.reason.contains(email), "{got:?} for {email:?}");
                if !crlf || CRLF_LINE_NUMBERS_FIXED {
                    prop_assert_eq!(got.line, *line, "{:?} for {:?}", got, email);
                }
            }
            Ok(())
        })
        .unwrap();
}

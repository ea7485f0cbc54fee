//! Subscriber list: reads the CSV named in `[digest] subscribers`
//! (`email,name,locale[,topics]`, UTF-8, header row) into `Subscriber`s,
//! and owns the rule that merges it with the list in the state database:
//! a reader's own choice beats the editor's file.
//!
//! Bad rows are reported with their line and skipped, so one typo never
//! stops everyone's digest. This module must not decide who is suppressed,
//! do I/O beyond reading the file, or send anything.

use crate::model::{EmailKey, ListEntry, ListOrigin, Subscriber};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

/// A row that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

/// The usable subscribers, in file order, and the rows skipped.
#[derive(Debug, Default)]
pub struct SubscriberList {
    pub subscribers: Vec<Subscriber>,
    /// The line each of `subscribers` was read from, in the same order.
    pub lines: Vec<u64>,
    pub skipped: Vec<SkippedRow>,
}

/// Reads the subscriber CSV at `path`; `locales` are the configured keys.
/// A missing file or header is an error; a bad row is skipped and reported.
pub fn load(path: &Path, locales: &[&str]) -> Result<SubscriberList> {
    let bytes = read_file(path)?;
    parse(&bytes, locales).with_context(|| format!("invalid subscriber list {}", path.display()))
}

/// Parses subscriber CSV text.
pub fn parse(bytes: &[u8], locales: &[&str]) -> Result<SubscriberList> {
    let mut list = SubscriberList::default();
    let mut seen = BTreeSet::new();
    let skipped = for_each_row(bytes, locales, &mut |line, subscriber| {
        if seen.insert(EmailKey::new(&subscriber.email)) {
            list.lines.push(line);
            list.subscribers.push(subscriber);
            Ok(None)
        } else {
            Ok(Some(duplicate_reason(&subscriber.email)))
        }
    })?;
    list.skipped = skipped;
    Ok(list)
}

/// Why a row whose address an earlier row already listed is skipped.
pub fn duplicate_reason(email: &str) -> String {
    format!("{email} is listed more than once; only the first row is used")
}

/// Reads the rows of subscriber CSV text in order and hands each usable
/// one (its line, the reader) to `each`, which may refuse it with a reason
/// (an address listed before: the caller keeps what it has seen, in
/// memory or in the state database). Returns the rows skipped, in order:
/// unreadable, a bad address or locale, or refused. The header must name
/// the columns.
pub fn for_each_row(
    bytes: &[u8],
    locales: &[&str],
    each: &mut dyn FnMut(u64, Subscriber) -> Result<Option<String>>,
) -> Result<Vec<SkippedRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{FEFF}').eq_ignore_ascii_case(name))
    };
    let (Some(email_col), Some(name_col), Some(locale_col)) =
        (column("email"), column("name"), column("locale"))
    else {
        bail!(
            "line 1: the header row must name the columns email,name,locale (and optionally topics); found `{}`",
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };
    let topics_col = column("topics");

    let mut skipped = Vec::new();
    let mut lines = LineCounter::new(bytes);
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                skipped.push(SkippedRow {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let field = |col: usize| record.get(col).unwrap_or_default().to_owned();
        let email = field(email_col);
        let locale = field(locale_col);
        if email.parse::<lettre::Address>().is_err() {
            skipped.push(SkippedRow {
                line,
                reason: format!("`{email}` is not a valid email address"),
            });
            continue;
        }
        if !locales.contains(&locale.as_str()) {
            skipped.push(SkippedRow {
                line,
                reason: format!(
                    "{email}: unknown locale `{locale}`; configured: {}",
                    locales.join(", ")
                ),
            });
            continue;
        }
        let topics = topics_col
            .map(|col| {
                field(col)
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let subscriber = Subscriber {
            email,
            name: field(name_col),
            locale,
            topics,
            since: None,
        };
        if let Some(reason) = each(line, subscriber)? {
            skipped.push(SkippedRow { line, reason });
        }
    }
    Ok(skipped)
}

/// Reads the file at `path` whole (for [`for_each_row`]), naming it and
/// the setting in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read the subscriber list {}; check [digest] subscribers in config.toml",
            path.display()
        )
    })
}

/// The reader a send mails for a stored entry of the list, or `None` when
/// the entry gets no mail: a file reader the file no longer lists, an
/// unconfirmed sign-up, an import or sign-up in a language no longer
/// configured. A file reader's chosen language that is no longer
/// configured gives way to the default one (the first of `locales`).
/// This is [`merge`]'s rule for one entry, for a send that reads the list
/// from the state database in batches. Suppressions are the plan's.
pub fn reader_of(entry: ListEntry, locales: &[&str]) -> Option<Subscriber> {
    let active = match entry.origin {
        ListOrigin::File => entry.in_file,
        ListOrigin::Import => true,
        ListOrigin::Signup => entry.confirmed,
    };
    if !active {
        return None;
    }
    let mut subscriber = entry.subscriber;
    if !locales.contains(&subscriber.locale.as_str()) {
        match entry.origin {
            ListOrigin::File => subscriber.locale = locales.first()?.to_string(),
            ListOrigin::Import | ListOrigin::Signup => return None,
        }
    }
    Some(subscriber)
}

/// Line numbers of byte offsets, counted by us rather than taken from
/// `csv`: csv counts `\n` bytes read so far, and a record of a CRLF file
/// starts while the `\n` of the line before is still unread, so its line
/// came out one low. Offsets are asked in increasing order (records come
/// in file order), so the file is scanned once however many rows are bad.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of the first character of the record that csv
    /// says starts at byte `offset` (which may still point at the line
    /// break before it). `\n`, `\r\n` and a lone `\r` each end a line,
    /// as csv reads them.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(target), Some(b'\r' | b'\n')) {
            target += 1;
        }
        if target < self.offset {
            // Not in file order after all: count again from the start.
            self.offset = 0;
            self.line = 1;
        }
        for (i, &b) in self.bytes[self.offset..target].iter().enumerate() {
            let at = self.offset + i;
            let lone_cr = b == b'\r' && self.bytes.get(at + 1) != Some(&b'\n');
            if b == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.offset = target;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALES: &[&str] = &["en", "zh"];

    #[test]
    fn reads_names_locales_and_topics() {
        let csv = "email,name,locale,topics\nli.wei@example.org,李伟,zh,automotive; parks\nzoe@example.org,Zoë,en,\n";
        let list = parse(csv.as_bytes(), LOCALES).unwrap();
        assert!(list.skipped.is_empty());
        assert_eq!(list.subscribers[0].name, "李伟");
        assert_eq!(list.subscribers[0].topics, ["automotive", "parks"]);
        assert_eq!(list.subscribers[1].locale, "en");
        assert!(list.subscribers[1].topics.is_empty());
    }

    #[test]
    fn bad_rows_are_skipped_with_their_line() {
        let csv = "email,name,locale\nok@example.org,Ok,en\nnot-an-address,Bad,en\nfr@example.org,Fr,fr\nOK@example.org,Again,zh\n";
        let list = parse(csv.as_bytes(), LOCALES).unwrap();
        assert_eq!(list.subscribers.len(), 1);
        let skipped: Vec<(u64, &str)> = list
            .skipped
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (3, "`not-an-address` is not a valid email address"),
                (4, "fr@example.org: unknown locale `fr`; configured: en, zh"),
                (
                    5,
                    "OK@example.org is listed more than once; only the first row is used"
                ),
            ]
        );
    }

    #[test]
    fn bad_rows_of_a_crlf_file_are_reported_with_their_own_line() {
        let csv = "email,name,locale\r\nok@example.org,Ok,en\r\n\r\nnot-an-address,Bad,en\r\ntwo@example.org,\"Two\r\nLines\",en\r\nfr@example.org,Fr,fr\r\n";
        let list = parse(csv.as_bytes(), LOCALES).unwrap();
        let lines: Vec<u64> = list.skipped.iter().map(|s| s.line).collect();
        // Line 3 is blank; the quoted name spans lines 5 and 6.
        assert_eq!(lines, [4, 7], "{:?}", list.skipped);
        assert_eq!(list.subscribers.len(), 2);
    }

    #[test]
    fn bad_rows_of_lf_and_cr_files_are_reported_with_their_own_line() {
        for break_ in ["\n", "\r"] {
            let csv = [
                "email,name,locale",
                "ok@example.org,Ok,en",
                "bad,Bad,en",
                "",
            ]
            .join(break_);
            let list = parse(csv.as_bytes(), LOCALES).unwrap();
            assert_eq!(list.skipped[0].line, 3, "{break_:?}");
        }
    }

    #[test]
    fn header_without_required_columns_is_an_error() {
        let err = parse(b"mail,who\nx@example.org,X\n", LOCALES).unwrap_err();
        assert!(
            err.to_string()
                .contains("the header row must name the columns email,name,locale"),
            "{err}"
        );
    }
}

/// The readers a send mails: the file's, in its order, each with the
/// fields they chose themselves (a reader's choice beats the editor's
/// file), then the confirmed sign-ups the file does not list, in the order
/// they joined. A chosen language no longer configured falls back to the
/// file's. Suppressions are applied later, by the plan, and always win.
pub fn merge(file: Vec<Subscriber>, stored: &[ListEntry], locales: &[&str]) -> Vec<Subscriber> {
    let by_key: HashMap<EmailKey, &ListEntry> = stored
        .iter()
        .map(|entry| (EmailKey::new(&entry.subscriber.email), entry))
        .collect();
    let mut in_file = HashSet::new();
    let mut readers: Vec<Subscriber> = file
        .into_iter()
        .map(|mut subscriber| {
            let key = EmailKey::new(&subscriber.email);
            if let Some(entry) = by_key.get(&key) {
                let chosen = &entry.subscriber;
                if entry.chosen.name {
                    subscriber.name = chosen.name.clone();
                }
                if entry.chosen.locale && locales.contains(&chosen.locale.as_str()) {
                    subscriber.locale = chosen.locale.clone();
                }
                if entry.chosen.topics {
                    subscriber.topics = chosen.topics.clone();
                }
            }
            in_file.insert(key);
            subscriber
        })
        .collect();
    readers.extend(
        stored
            .iter()
            .filter(|entry| match entry.origin {
                ListOrigin::Signup => entry.confirmed,
                ListOrigin::Import => true,
                ListOrigin::File => false,
            })
            .filter(|entry| locales.contains(&entry.subscriber.locale.as_str()))
            .filter(|entry| !in_file.contains(&EmailKey::new(&entry.subscriber.email)))
            .map(|entry| entry.subscriber.clone()),
    );
    readers
}

#[cfg(test)]
mod table_tests {
    use super::{ListRow, write_table};

    #[test]
    fn the_table_counts_its_readers_in_words_that_agree() {
        let row = ListRow {
            email: "a@x.org".to_owned(),
            name: "A".to_owned(),
            locale: "en".to_owned(),
            topics: Vec::new(),
            origin: "csv",
            state: "active".to_owned(),
        };
        let mut one = Vec::new();
        write_table(std::slice::from_ref(&row), &mut one).unwrap();
        let one = String::from_utf8(one).unwrap();
        assert!(
            one.ends_with("a@x.org\tA\ten\t(all)\tcsv\tactive\n1 reader\n"),
            "{one}"
        );
        let mut two = Vec::new();
        write_table(&[row.clone(), row], &mut two).unwrap();
        assert!(String::from_utf8(two).unwrap().ends_with("\n2 readers\n"));
    }
}

#[cfg(test)]
mod merge_tests {
    use super::merge;
    use crate::model::{ListEntry, ListOrigin, ReaderChoices, Subscriber};

    fn reader(email: &str, name: &str, locale: &str) -> Subscriber {
        Subscriber {
            email: email.to_owned(),
            name: name.to_owned(),
            locale: locale.to_owned(),
            topics: Vec::new(),
            since: None,
        }
    }

    fn entry(subscriber: Subscriber, origin: ListOrigin, chosen: ReaderChoices) -> ListEntry {
        ListEntry {
            subscriber,
            origin,
            in_file: origin == ListOrigin::File,
            chosen,
            confirmed: origin == ListOrigin::Signup,
        }
    }

    #[test]
    fn choices_beat_the_file_and_confirmed_signups_follow_it() {
        let file = vec![reader("a@x.org", "A", "en"), reader("b@x.org", "B", "en")];
        let stored = [
            entry(
                reader("A@x.org", "Ay", "zh"),
                ListOrigin::File,
                ReaderChoices {
                    locale: true,
                    ..ReaderChoices::default()
                },
            ),
            entry(
                reader("c@x.org", "C", "zh"),
                ListOrigin::Signup,
                ReaderChoices::default(),
            ),
            ListEntry {
                confirmed: false,
                ..entry(
                    reader("d@x.org", "D", "en"),
                    ListOrigin::Signup,
                    ReaderChoices::default(),
                )
            },
            // A language no longer configured is not followed.
            entry(
                reader("e@x.org", "E", "fr"),
                ListOrigin::Signup,
                ReaderChoices::default(),
            ),
        ];
        let merged = merge(file, &stored, &["en", "zh"]);
        let summary: Vec<(&str, &str, &str)> = merged
            .iter()
            .map(|s| (s.email.as_str(), s.name.as_str(), s.locale.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a@x.org", "A", "zh"),
                ("b@x.org", "B", "en"),
                ("c@x.org", "C", "zh")
            ]
        );
    }
}

/// One reader as `gazette subscribers list` and `export` show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub email: String,
    pub name: String,
    pub locale: String,
    pub topics: Vec<String>,
    /// `csv`, `import`, `signup`, or `-` for a suppression with no reader.
    pub origin: &'static str,
    /// `active`, `unsubscribed: <reason> (<time>)`, …
    pub state: String,
}

/// Writes `rows` as CSV in the subscriber file's columns (topics joined
/// with `;`, as the file writes them), plus `origin` and `state`: the file
/// reads back with [`load`], which ignores the two extra columns.
pub fn write_csv(rows: &[ListRow], out: impl std::io::Write) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(["email", "name", "locale", "topics", "origin", "state"])?;
    for row in rows {
        writer.write_record([
            row.email.as_str(),
            row.name.as_str(),
            row.locale.as_str(),
            row.topics.join(";").as_str(),
            row.origin,
            row.state.as_str(),
        ])?;
    }
    writer.flush().context("cannot write the list")?;
    Ok(())
}

/// Writes `rows` as a table for people, one reader per line, tab-separated.
pub fn write_table(rows: &[ListRow], mut out: impl std::io::Write) -> Result<()> {
    writeln!(out, "email\tname\tlanguage\ttopics\tfrom\tstate")?;
    for row in rows {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            row.email,
            row.name,
            row.locale,
            if row.topics.is_empty() {
                "(all)".to_owned()
            } else {
                row.topics.join(";")
            },
            row.origin,
            row.state
        )?;
    }
    let count = rows.len();
    writeln!(
        out,
        "{count} {}",
        if count == 1 { "reader" } else { "readers" }
    )?;
    Ok(())
}

#[cfg(test)]
mod reader_of_tests {
    use super::reader_of;
    use crate::model::{ListEntry, ListOrigin, ReaderChoices, Subscriber};

    fn entry(origin: ListOrigin, in_file: bool, confirmed: bool, locale: &str) -> ListEntry {
        ListEntry {
            subscriber: Subscriber {
                email: "a@example.org".to_owned(),
                name: "A".to_owned(),
                locale: locale.to_owned(),
                topics: Vec::new(),
                since: None,
            },
            origin,
            in_file,
            chosen: ReaderChoices::default(),
            confirmed,
        }
    }

    #[test]
    fn only_listed_readers_get_mail_and_a_language_gone_falls_back_for_file_readers() {
        let locales = ["en", "zh"];
        let get = |e| reader_of(e, &locales).map(|s| s.locale);
        assert_eq!(
            get(entry(ListOrigin::File, true, false, "zh")).as_deref(),
            Some("zh")
        );
        assert_eq!(get(entry(ListOrigin::File, false, false, "zh")), None);
        assert_eq!(get(entry(ListOrigin::Signup, false, false, "en")), None);
        assert_eq!(
            get(entry(ListOrigin::Signup, false, true, "en")).as_deref(),
            Some("en")
        );
        assert_eq!(
            get(entry(ListOrigin::Import, false, false, "en")).as_deref(),
            Some("en")
        );
        assert_eq!(
            get(entry(ListOrigin::File, true, false, "fr")).as_deref(),
            Some("en")
        );
        assert_eq!(get(entry(ListOrigin::Import, false, false, "fr")), None);
    }
}

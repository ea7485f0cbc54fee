//! Subscriber list: reads the CSV named in `[digest] subscribers`
//! (`email,name,locale[,topics]`, UTF-8, header row) into `Subscriber`s.
//!
//! Bad rows are reported with their line and skipped, so one typo never
//! stops everyone's digest. This module must not decide who is suppressed
//! or send anything.

use crate::model::Subscriber;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
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
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the subscriber list {}; check [digest] subscribers in config.toml",
            path.display()
        )
    })?;
    parse(&bytes, locales).with_context(|| format!("invalid subscriber list {}", path.display()))
}

/// Parses subscriber CSV text.
pub fn parse(bytes: &[u8], locales: &[&str]) -> Result<SubscriberList> {
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

    let mut list = SubscriberList::default();
    let mut seen = BTreeSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                list.skipped.push(SkippedRow {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |col: usize| record.get(col).unwrap_or_default().to_owned();
        let email = field(email_col);
        let locale = field(locale_col);
        if email.parse::<lettre::Address>().is_err() {
            list.skipped.push(SkippedRow {
                line,
                reason: format!("`{email}` is not a valid email address"),
            });
            continue;
        }
        if !locales.contains(&locale.as_str()) {
            list.skipped.push(SkippedRow {
                line,
                reason: format!(
                    "{email}: unknown locale `{locale}`; configured: {}",
                    locales.join(", ")
                ),
            });
            continue;
        }
        if !seen.insert(crate::model::EmailKey::new(&email)) {
            list.skipped.push(SkippedRow {
                line,
                reason: format!("{email} is listed more than once; only the first row is used"),
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
        list.lines.push(line);
        list.subscribers.push(Subscriber {
            email,
            name: field(name_col),
            locale,
            topics,
        });
    }
    Ok(list)
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
    fn header_without_required_columns_is_an_error() {
        let err = parse(b"mail,who\nx@example.org,X\n", LOCALES).unwrap_err();
        assert!(
            err.to_string()
                .contains("the header row must name the columns email,name,locale"),
            "{err}"
        );
    }
}

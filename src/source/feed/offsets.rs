//! The time offsets a partner wrote its dates in. feed-rs, which reads the
//! feed, normalises every date to UTC; a partner in Chongqing that dates
//! an item `+08:00` should keep `+08:00` in our feeds, so the same bytes
//! are read again by the typed readers (`rss`, `atom_syndication`,
//! `serde_json`), which keep each date as written.
//!
//! Pure and best-effort: a document the typed readers cannot read yields
//! no offsets, and the item keeps feed-rs's UTC (the same instant).

use chrono::{DateTime, FixedOffset, Utc};
use std::collections::HashMap;

/// The offset each instant was written with in `bytes`, keyed by the
/// instant. Keying by instant, not item, needs no id matching: if two
/// items share an instant with different offsets, either is right.
pub fn written_offsets(bytes: &[u8]) -> HashMap<DateTime<Utc>, FixedOffset> {
    let mut dates: Vec<DateTime<FixedOffset>> = Vec::new();
    if let Ok(channel) = rss::Channel::read_from(bytes) {
        for item in channel.items() {
            dates.extend(
                item.pub_date()
                    .and_then(|d| DateTime::parse_from_rfc2822(d.trim()).ok()),
            );
            if let Some(dc) = item.dublin_core_ext() {
                dates.extend(
                    dc.dates()
                        .iter()
                        .filter_map(|d| DateTime::parse_from_rfc3339(d.trim()).ok()),
                );
            }
        }
    } else if let Ok(feed) = atom_syndication::Feed::read_from(bytes) {
        for entry in feed.entries() {
            dates.push(*entry.updated());
            dates.extend(entry.published().copied());
        }
    } else if let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) {
        for item in json["items"].as_array().into_iter().flatten() {
            for key in ["date_published", "date_modified"] {
                dates.extend(
                    item[key]
                        .as_str()
                        .and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok()),
                );
            }
        }
    }
    dates
        .into_iter()
        .map(|d| (d.with_timezone(&Utc), *d.offset()))
        .collect()
}

/// `date` in the offset it was written with, if `offsets` knows it.
pub fn as_written(
    date: DateTime<Utc>,
    offsets: &HashMap<DateTime<Utc>, FixedOffset>,
) -> DateTime<FixedOffset> {
    offsets
        .get(&date)
        .map_or_else(|| date.fixed_offset(), |offset| date.with_timezone(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(bytes: &str) -> Vec<String> {
        let offsets = written_offsets(bytes.as_bytes());
        let mut dates: Vec<String> = offsets
            .keys()
            .map(|instant| as_written(*instant, &offsets).to_rfc3339())
            .collect();
        dates.sort();
        dates
    }

    #[test]
    fn rss_atom_and_json_dates_keep_their_offsets() {
        let rss = r#"<rss version="2.0"><channel><title>R</title><link>https://r.example/</link><description>d</description>
<item><title>A</title><pubDate>Fri, 27 Nov 2026 10:00:00 +0800</pubDate></item></channel></rss>"#;
        assert_eq!(written(rss), ["2026-11-27T10:00:00+08:00"]);
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2026-11-27T00:00:00Z</updated>
<entry><id>urn:a:1</id><title>T</title><updated>2026-11-28T09:00:00-05:00</updated><published>2026-11-28T08:00:00-05:00</published></entry></feed>"#;
        assert_eq!(
            written(atom),
            ["2026-11-28T08:00:00-05:00", "2026-11-28T09:00:00-05:00"]
        );
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"7","date_published":"2026-11-27T10:00:00+08:00"}]}"#;
        assert_eq!(written(json), ["2026-11-27T10:00:00+08:00"]);
    }

    #[test]
    fn an_unknown_instant_stays_utc() {
        let instant = DateTime::parse_from_rfc3339("2026-11-27T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            as_written(instant, &HashMap::new()).to_rfc3339(),
            "2026-11-27T02:00:00+00:00"
        );
        assert!(written_offsets(b"not a feed").is_empty());
    }
}

//! `gazette subscribers`: the list in the state database shown, exported,
//! added to from a file, and a suppression lifted on the reader's request.

use super::{Output, SubscribersRequest};
use crate::config::Config;
use crate::model::{ListEntry, ListOrigin};
use crate::state::{FileKind, State};
use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// Runs one `gazette subscribers` action.
pub fn subscribers(
    config: &Config,
    request: &SubscribersRequest,
    now: DateTime<FixedOffset>,
    output: Output,
) -> Result<()> {
    if config.digest.is_none() {
        return Err(anyhow!(
            "{} has no [digest] section, so there is no list; add one (see README)",
            config.path.display()
        ));
    }
    match request {
        SubscribersRequest::List | SubscribersRequest::Export => {
            let rows = rows(config)?;
            let mut out = std::io::stdout().lock();
            if matches!(request, SubscribersRequest::Export) {
                crate::subscribers::write_csv(&rows, &mut out)?;
            } else {
                crate::subscribers::write_table(&rows, &mut out)?;
            }
            Ok(())
        }
        SubscribersRequest::Import { file } => {
            let state = State::open(&config.state)?;
            let bytes = crate::subscribers::read_file(file)?;
            // Drawn only on a terminal (indicatif checks), so cron logs stay clean.
            let progress = if output.is_normal() {
                let rows = bytes.iter().filter(|b| **b == b'\n').count();
                indicatif::ProgressBar::new(rows.saturating_sub(1).max(1) as u64)
            } else {
                indicatif::ProgressBar::hidden()
            };
            progress.set_style(
                indicatif::ProgressStyle::with_template(
                    "importing {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let merged = merge_rows(
                config,
                &state,
                file,
                &bytes,
                FileKind::Import,
                now,
                &mut |_, _| progress.inc(1),
            )?;
            progress.finish_and_clear();
            if output.is_normal() {
                println!(
                    "imported {}: {} added, {} updated, {} skipped (readers' own choices kept)",
                    file.display(),
                    merged.sync.added,
                    merged.sync.updated,
                    merged.skipped
                );
            }
            Ok(())
        }
        SubscribersRequest::Resubscribe { address } => {
            if address.parse::<lettre::Address>().is_err() {
                bail!("`{address}` is not an email address");
            }
            let Some(state) = State::open_read_only(&config.state)? else {
                bail!("{address} is not suppressed (there is no state database yet)");
            };
            drop(state);
            let state = State::open(&config.state)?;
            match state.lift_suppression(address)? {
                Some(reason) => {
                    tracing::warn!(
                        "suppression of {address} lifted at the reader's request (it was: {reason})"
                    );
                    if output.is_normal() {
                        println!(
                            "{address} is no longer suppressed (it was: {reason}); the next digest goes to them"
                        );
                    }
                    Ok(())
                }
                None => bail!("{address} is not suppressed; nothing to lift"),
            }
        }
    }
}

/// Every reader with their state, then suppressed addresses the list has
/// no entry for.
fn rows(config: &Config) -> Result<Vec<crate::subscribers::ListRow>> {
    let Some(state) = State::open_read_only(&config.state)? else {
        return Ok(Vec::new());
    };
    let entries = state.list_entries()?;
    let mut suppressions: HashMap<String, (String, String)> = state.suppressions()?;
    let soft = state.soft_bounce_counts()?;
    let mut rows: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            let key = crate::model::EmailKey::new(&entry.subscriber.email);
            let suppressed = suppressions.remove(key.as_str());
            let mut row = row(entry, suppressed);
            if row.state == "active"
                && let Some((count, status)) = soft.get(key.as_str())
            {
                row.state = format!(
                    "active ({count} soft bounce{}, last {status})",
                    if *count == 1 { "" } else { "s" }
                );
            }
            row
        })
        .collect();
    let mut rest: Vec<_> = suppressions.into_iter().collect();
    rest.sort();
    rows.extend(
        rest.into_iter()
            .map(|(email, (reason, at))| crate::subscribers::ListRow {
                email,
                name: String::new(),
                locale: String::new(),
                topics: Vec::new(),
                origin: "-",
                state: format!("unsubscribed: {reason} ({at})"),
            }),
    );
    Ok(rows)
}

fn row(entry: ListEntry, suppressed: Option<(String, String)>) -> crate::subscribers::ListRow {
    let state = match (&suppressed, entry.origin) {
        (Some((reason, at)), _) => format!("unsubscribed: {reason} ({at})"),
        (None, ListOrigin::File) if !entry.in_file => "no longer in the file".to_owned(),
        (None, ListOrigin::Signup) if !entry.confirmed => "awaiting confirmation".to_owned(),
        (None, _) => "active".to_owned(),
    };
    crate::subscribers::ListRow {
        email: entry.subscriber.email,
        name: entry.subscriber.name,
        locale: entry.subscriber.locale,
        topics: entry.subscriber.topics,
        origin: match entry.origin {
            ListOrigin::File => "csv",
            ListOrigin::Import => "import",
            ListOrigin::Signup => "signup",
        },
        state,
    }
}

/// What [`merge_rows`] did.
pub(super) struct Merged {
    pub sync: crate::state::FileSync,
    /// Rows skipped (each warned about with its line).
    pub skipped: u64,
}

/// Merges the subscriber CSV `bytes` (read from `file`) into the list row
/// by row, so a file of any size is never held as readers: `each` sees
/// every usable row first (line, reader); every skipped row is warned
/// about with its line. For the editor's own file ([`FileKind::Editors`])
/// file readers it no longer lists are marked so; an import removes no one.
pub(super) fn merge_rows(
    config: &Config,
    state: &State,
    file: &std::path::Path,
    bytes: &[u8],
    kind: FileKind,
    now: DateTime<FixedOffset>,
    each: &mut dyn FnMut(u64, &crate::model::Subscriber),
) -> Result<Merged> {
    let keys: Vec<&str> = config.locales.iter().map(|l| l.key.as_str()).collect();
    let shown = file.display();
    let mut merge = state.begin_file_merge(kind, now)?;
    let mut duplicates = 0u64;
    let mut warn = |found: Vec<(u64, String)>| {
        for (line, address) in found {
            tracing::warn!(
                "{shown}:{line}: {}; row skipped",
                crate::subscribers::duplicate_reason(&address)
            );
            duplicates += 1;
        }
    };
    let skipped = crate::subscribers::for_each_row(bytes, &keys, &mut |line, subscriber| {
        each(line, &subscriber);
        merge.add(line, &subscriber)?;
        warn(merge.take_duplicates());
        Ok(None)
    })
    .map_err(|e| e.context(format!("invalid subscriber list {shown}")))?;
    for row in &skipped {
        tracing::warn!("{shown}:{}: {}; row skipped", row.line, row.reason);
    }
    let (sync, last) = merge.finish()?;
    warn(last);
    Ok(Merged {
        sync,
        skipped: skipped.len() as u64 + duplicates,
    })
}

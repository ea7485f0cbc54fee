//! Incremental `build`: a digest of everything a build reads, so a cron run
//! with nothing new can stop after a few thousand `stat` calls instead of
//! loading every article. Like `make`, it trusts sizes and modification
//! times; like git, it distrusts a file modified within the last seconds
//! before the build (its next change could keep the same size and mtime
//! tick), and then records nothing, so the next build runs in full.
//!
//! This module decides nothing about content; it only compares what the
//! last build recorded in the state database with the files on disk.

use crate::config::{Config, FeedLocation, Source};
use crate::state::{BuildRecord, State};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files modified this recently are not trusted to reveal their next change.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The digest of a build's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub digest: String,
    /// Some input changed within [`RACY_WINDOW`]: do not record this build.
    pub racy: bool,
}

/// What of the state database goes into the fingerprint: the ids of the
/// digests sent (each adds a web copy), read from `previous`, the database
/// as the last run left it. Read before the build, which may write to the
/// database (the fetch cache, skipped feed items) while the fingerprint is
/// taken.
pub fn digest_ids(config: &Config, previous: Option<&State>) -> Result<Vec<String>> {
    match previous {
        Some(state) if config.digest.is_some() => state.digest_ids(),
        _ => Ok(Vec::new()),
    }
}

/// The inputs of a build at `now`, or `None` when a source is fetched over
/// the network (its content is unknown until fetched, so always build).
/// `digests` are the ids of the digests the state database records
/// ([`digest_ids`]).
/// `started` is when the build began: an input modified after it (or
/// within [`RACY_WINDOW`] before it) makes the fingerprint racy, so it may
/// be taken while the build reads the same files.
pub fn fingerprint(
    config: &Config,
    digests: &[String],
    now: DateTime<FixedOffset>,
    started: SystemTime,
) -> Result<Option<Fingerprint>> {
    let mut files = Vec::new();
    files.push(config.path.clone());
    collect(&config.site.locales_dir, &mut files);
    if let Some(digest) = &config.digest {
        collect(&digest.templates_dir, &mut files);
    }
    for source in &config.sources {
        match source {
            Source::Markdown { path } | Source::Text { path, .. } => collect(path, &mut files),
            Source::Feed(feed) => match &feed.location {
                FeedLocation::Url(_) => return Ok(None),
                FeedLocation::Path(path) => files.push(path.clone()),
            },
        }
    }
    // Byte order, not `Path`'s component-wise order: the same determinism,
    // without parsing components of tens of thousands of paths on a run
    // that usually finds nothing changed.
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    files.dedup_by(|a, b| a.as_os_str() == b.as_os_str());
    let stats: Vec<Option<(u64, i128)>> = files.par_iter().map(|path| stat(path)).collect();

    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    // Digest pages are named by the day; a new day is a new build.
    hasher.update(now.format("\n%Y-%m-%d\n").to_string().as_bytes());
    for id in digests {
        hasher.update(format!("digest\t{id}\n").as_bytes());
    }
    let racy_after = started
        .checked_sub(RACY_WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(i128::MAX, |d| d.as_nanos() as i128);
    let mut racy = false;
    // One reused line buffer: this loop runs once per input file on every
    // cron run, so it must not allocate per file.
    let mut line = String::new();
    for (path, stat) in files.iter().zip(&stats) {
        let (size, mtime) = stat.unwrap_or((u64::MAX, -1));
        racy |= mtime >= racy_after;
        line.clear();
        // Writing to a String cannot fail.
        let _ = writeln!(line, "{}\t{size}\t{mtime}", path.display());
        hasher.update(line.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    Ok(Some(Fingerprint { digest, racy }))
}

/// True when `record` (the last recorded build) had the same inputs, `now`
/// falls in the span in which the same stories are published, and every
/// output file is still as that build left it.
pub fn up_to_date(
    config: &Config,
    record: &BuildRecord,
    fingerprint: &Fingerprint,
    now: DateTime<FixedOffset>,
) -> bool {
    let in_window = record.valid_from.is_none_or(|from| from <= now)
        && record.valid_until.is_none_or(|until| now < until);
    let intact = record
        .outputs
        .iter()
        .all(|(path, size, mtime)| stat(&config.feeds.dir.join(path)) == Some((*size, *mtime)));
    record.inputs == fingerprint.digest && in_window && intact && !record.outputs.is_empty()
}

/// Records a finished build (unless its inputs were racy).
pub fn record(
    config: &Config,
    fingerprint: &Fingerprint,
    window: (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>),
    outputs: &[PathBuf],
) -> Result<()> {
    if fingerprint.racy {
        tracing::debug!("inputs changed within the last seconds; not recording this build");
        return Ok(());
    }
    let outputs = outputs
        .iter()
        .map(|path| {
            let (size, mtime) = stat(&config.feeds.dir.join(path))
                .with_context(|| format!("cannot read back {}", path.display()))?;
            Ok((path.display().to_string(), size, mtime))
        })
        .collect::<Result<Vec<_>>>()?;
    State::open(&config.state)?.store_build_record(&BuildRecord {
        inputs: fingerprint.digest.clone(),
        valid_from: window.0,
        valid_until: window.1,
        outputs,
    })
}

/// Size and modification time (ns since the epoch) of a file.
fn stat(path: &Path) -> Option<(u64, i128)> {
    let metadata = std::fs::metadata(path).ok()?;
    let mtime = metadata
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some((metadata.len(), mtime))
}

/// Every file below `dir` (hidden entries included: a cheap superset of
/// what the sources read). A missing folder contributes nothing here; the
/// full build reports it.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(&path, out),
            Ok(_) => out.push(path),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the fingerprint of a small site is racy when its article was
    /// last modified at `modified(started)` (the config an hour before):
    /// mtimes are set relative to a fixed start, nothing sleeps or reads
    /// the wall clock.
    fn racy_at(modified: impl Fn(SystemTime) -> SystemTime) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, crate::test_support::BILINGUAL_CONFIG).unwrap();
        std::fs::create_dir(dir.path().join("articles")).unwrap();
        let article = dir.path().join("articles/a.md");
        std::fs::write(&article, "+++\ntitle = \"A\"\n+++\nText.\n").unwrap();
        let config = crate::config::parse(
            crate::test_support::BILINGUAL_CONFIG,
            &config_path,
            dir.path(),
        )
        .unwrap();
        // A fixed start, far from the wall clock.
        let started = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let old = started - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&config_path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&article)
            .unwrap()
            .set_modified(modified(started))
            .unwrap();
        let now = DateTime::parse_from_rfc3339("2027-01-15T08:00:00+00:00").unwrap();
        fingerprint(&config, &[], now, started)
            .unwrap()
            .expect("no network source")
            .racy
    }

    #[test]
    fn an_input_modified_within_the_racy_window_before_the_build_is_racy() {
        let ms = Duration::from_millis(1);
        assert!(!racy_at(|started| started - Duration::from_secs(3600)));
        assert!(!racy_at(|started| started - RACY_WINDOW - 10 * ms));
        assert!(racy_at(|started| started - RACY_WINDOW));
        assert!(racy_at(|started| started - RACY_WINDOW + 10 * ms));
        assert!(racy_at(|started| started));
        // Modified while the build runs.
        assert!(racy_at(|started| started + 10 * ms));
    }
}

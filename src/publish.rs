//! Publishing: puts finished files in place through a [`files::Batch`]
//! (every changed file written to a temp file beside it and fsynced first,
//! then all renamed in one burst, then the folders fsynced), leaves files
//! whose bytes would not change untouched, so a run with nothing new
//! changes nothing, and clears the temp files a killed run left behind.
//!
//! Published files are meant to be served: a new one gets the mode the
//! umask gives any new file (0644 under umask 022), a replaced one keeps
//! its mode. Private files (the outbox's, the state database) are not
//! written here.
//!
//! This module must not render or decide what to publish; it only writes.

use crate::files::{self, Batch, Existing, FolderSync, TempName};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was new or its bytes changed; it now holds the new bytes.
    Written,
    /// The file already held exactly these bytes and was not touched.
    Unchanged,
}

/// What [`publish_all`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Published {
    /// Files that were new or changed, as given (relative to the root).
    pub written: Vec<PathBuf>,
    /// Files that already held exactly their bytes.
    pub unchanged: usize,
}

/// Published files' temporary names: hidden (a leading `.`, which static
/// servers do not list), and never `*.xml` or `*.json`, so nothing serving
/// the folder can pick one up.
const TEMP: TempName = TempName {
    prefix: ".gazette-",
    suffix: ".tmp",
};

/// Every file is fsynced before the renames, so a crash can at worst lose
/// renames and leave yesterday's files: no error is worth failing a build
/// for once the new files are in place.
const FOLDER_SYNC: FolderSync = FolderSync::BestEffort;

/// A temp file older than this belongs to no running build (a build's temp
/// files live only from staging to the renames, seconds after): it was
/// left by a killed one. A younger one is left alone, since a second
/// `build` may be staging it right now.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Publishes `files` (path under `root`, bytes) together: the folders are
/// created, every file that changes is staged and fsynced, and only then
/// are they all renamed into place. When any file cannot be staged,
/// nothing is published and the files already there stay as they were.
/// Stale temp files of ours in those folders are removed first.
pub fn publish_all<'a>(
    root: &Path,
    files: impl IntoIterator<Item = (&'a Path, &'a [u8])>,
) -> Result<Published> {
    let files: Vec<(&Path, PathBuf, &[u8])> = files
        .into_iter()
        .map(|(relative, bytes)| (relative, root.join(relative), bytes))
        .collect();
    let folders = folders_of(files.iter().map(|(_, path, _)| path.as_path()));
    for dir in &folders {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    remove_stale_temps(&folders);
    let mut published = Published::default();
    let mut batch = Batch::new(TEMP, FOLDER_SYNC);
    for (relative, path, bytes) in &files {
        if unchanged(path, bytes) {
            published.unchanged += 1;
            continue;
        }
        batch
            .stage(path, bytes, Existing::Replace)
            .with_context(|| staging_failed(path))?;
        published.written.push(relative.to_path_buf());
    }
    commit(batch)?;
    Ok(published)
}

/// Removes our stale temp files (see [`STALE_AFTER`]) from the folders
/// that hold `paths`, for a build that publishes nothing new. A file that
/// cannot be removed is a warning, not a failure: it is hidden and no
/// reader is served it.
pub fn remove_stale_temps_beside<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    remove_stale_temps(&folders_of(paths));
}

fn remove_stale_temps(folders: &BTreeSet<PathBuf>) {
    for dir in folders {
        match files::remove_stale_temps(dir, TEMP, STALE_AFTER) {
            Ok(swept) => {
                for path in swept.removed {
                    tracing::debug!("removed {}, left by an interrupted build", path.display());
                }
                for (path, e) in swept.failed {
                    tracing::warn!(
                        "cannot remove {}, a temporary file an interrupted build left: {e}; remove it by hand",
                        path.display()
                    );
                }
            }
            Err(e) => tracing::warn!(
                "cannot look for temporary files left by an interrupted build in {}: {e}",
                dir.display()
            ),
        }
    }
}

/// The distinct folders of `paths`.
fn folders_of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> BTreeSet<PathBuf> {
    paths
        .into_iter()
        .map(|path| path.parent().unwrap_or(Path::new(".")).to_path_buf())
        .collect()
}

fn unchanged(path: &Path, bytes: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|existing| existing == bytes)
}

fn staging_failed(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("."));
    format!(
        "cannot write {} (through a temporary file in {}); nothing was published, the files \
         already there are as they were: make sure that folder is writable and has room, then build again",
        path.display(),
        dir.display()
    )
}

fn commit(batch: Batch) -> Result<()> {
    batch.commit().map(drop).map_err(|e| {
        let what = format!(
            "cannot replace {}; {} of {} changed files were already in place and the others \
             kept their old version: fix the cause below, then build again",
            e.target.display(),
            e.renamed,
            e.total
        );
        anyhow::Error::new(e.error).context(what)
    })
}

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Readers see either the old file or the new one, never a partial one.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<Outcome> {
    if unchanged(path, bytes) {
        return Ok(Outcome::Unchanged);
    }
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent folder", path.display()))?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    let mut batch = Batch::new(TEMP, FOLDER_SYNC);
    batch
        .stage(path, bytes, Existing::Replace)
        .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
    commit(batch)?;
    Ok(Outcome::Written)
}

/// Writes `bytes` to a new file at `path`, atomically; never replaces an
/// existing file (the error then is [`std::io::ErrorKind::AlreadyExists`]).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut batch = Batch::new(TEMP, FOLDER_SYNC);
    batch.stage(path, bytes, Existing::Keep)?;
    batch.commit().map(drop).map_err(|e| e.error.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_leaves_identical_content_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("en/rss.xml");
        assert_eq!(write_if_changed(&path, b"one").unwrap(), Outcome::Written);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(write_if_changed(&path, b"one").unwrap(), Outcome::Unchanged);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        assert_eq!(write_if_changed(&path, b"two").unwrap(), Outcome::Written);
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn write_new_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("articles/a.md");
        write_new(&path, b"one").unwrap();
        let err = write_new(&path, b"two").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
    }

    use crate::test_support::file_names as names;

    #[test]
    fn publish_all_stages_everything_before_replacing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("en")).unwrap();
        std::fs::write(root.join("en/rss.xml"), b"old rss").unwrap();
        std::fs::write(root.join("en/atom.xml"), b"same").unwrap();
        // A folder where the last file goes: staging it fails.
        std::fs::create_dir_all(root.join("en/feed.json")).unwrap();
        let files: [(&Path, &[u8]); 3] = [
            (Path::new("en/rss.xml"), b"new rss"),
            (Path::new("en/atom.xml"), b"same"),
            (Path::new("en/feed.json"), b"{}"),
        ];
        let err = publish_all(root, files).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("cannot write") && text.contains("feed.json"),
            "{text}"
        );
        assert!(text.contains("nothing was published"), "{text}");
        assert!(text.contains("a folder is in the way"), "{text}");
        assert_eq!(std::fs::read(root.join("en/rss.xml")).unwrap(), b"old rss");
        assert_eq!(
            names(&root.join("en")),
            ["atom.xml", "feed.json", "rss.xml"]
        );

        std::fs::remove_dir(root.join("en/feed.json")).unwrap();
        let modified = std::fs::metadata(root.join("en/atom.xml"))
            .unwrap()
            .modified()
            .unwrap();
        let published = publish_all(root, files).unwrap();
        assert_eq!(
            published,
            Published {
                written: vec![PathBuf::from("en/rss.xml"), PathBuf::from("en/feed.json")],
                unchanged: 1
            }
        );
        assert_eq!(std::fs::read(root.join("en/rss.xml")).unwrap(), b"new rss");
        assert_eq!(std::fs::read(root.join("en/feed.json")).unwrap(), b"{}");
        let after = std::fs::metadata(root.join("en/atom.xml"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(after, modified, "an unchanged file was touched");
        assert_eq!(
            names(&root.join("en")),
            ["atom.xml", "feed.json", "rss.xml"]
        );
    }

    #[test]
    fn a_rename_that_fails_names_the_file_and_what_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        write_new(&path, b"one").unwrap();
        // `write_new` refuses at the rename; `commit`'s message is the one
        // `write_if_changed` and `publish_all` give for any failed rename.
        let mut batch = Batch::new(TEMP, FOLDER_SYNC);
        batch.stage(&path, b"two", Existing::Keep).unwrap();
        let text = format!("{:#}", commit(batch).unwrap_err());
        assert!(
            text.contains("cannot replace") && text.contains("a.md"),
            "{text}"
        );
        assert!(
            text.contains("0 of 1 changed files were already in place"),
            "{text}"
        );
        assert_eq!(names(dir.path()), ["a.md"]);
    }
}

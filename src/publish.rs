//! Publishing: writes finished files atomically (through
//! [`files::write_atomic`](crate::files::write_atomic): temp file in the same
//! folder, fsync, rename) and leaves files whose bytes would not change
//! untouched, so a run with nothing new changes nothing.
//!
//! This module must not render or decide what to publish; it only writes.

use crate::files::{self, Atomic, Existing, FolderSync, TempName, WriteError};
use anyhow::{Context, Result};
use std::path::Path;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was new or its bytes changed; it now holds the new bytes.
    Written,
    /// The file already held exactly these bytes and was not touched.
    Unchanged,
}

/// Published files' temporary names: hidden, and never `*.xml` or
/// `*.json`, so nothing serving the folder can pick one up.
const TEMP: TempName = TempName {
    prefix: ".gazette-",
    suffix: ".tmp",
};

/// The file is fsynced before the rename, so a crash can at worst lose the
/// rename and leave yesterday's file: no error is worth failing a build for
/// once the new file is in place.
const FOLDER_SYNC: FolderSync = FolderSync::BestEffort;

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Readers see either the old file or the new one, never a partial one.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<Outcome> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(Outcome::Unchanged);
    }
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent folder", path.display()))?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    let how = Atomic {
        temp: TEMP,
        existing: Existing::Replace,
        folder_sync: FOLDER_SYNC,
    };
    match files::write_atomic(path, bytes, how) {
        Ok(()) => Ok(Outcome::Written),
        Err(WriteError::Temp(e)) => {
            Err(e).with_context(|| format!("cannot write a temporary file in {}", dir.display()))
        }
        Err(WriteError::Rename(e)) => {
            Err(e).with_context(|| format!("cannot replace {}", path.display()))
        }
        // Never returned with `FolderSync::BestEffort`; kept for completeness.
        Err(e @ WriteError::FolderSync(_)) => Err(e.into()),
    }
}

/// Writes `bytes` to a new file at `path`, atomically; never replaces an
/// existing file (the error then is [`std::io::ErrorKind::AlreadyExists`]).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let how = Atomic {
        temp: TEMP,
        existing: Existing::Keep,
        folder_sync: FOLDER_SYNC,
    };
    Ok(files::write_atomic(path, bytes, how)?)
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
}

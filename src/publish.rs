//! Publishing: writes finished files atomically (temp file in the same
//! folder, fsync, rename) and leaves files whose bytes would not change
//! untouched, so a run with nothing new changes nothing.
//!
//! This module must not render or decide what to publish; it only writes.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
}

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
    let temp = staged(dir, bytes)
        .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
    temp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    sync_folder(dir);
    Ok(Outcome::Written)
}

/// Writes `bytes` to a new file at `path`, atomically; never replaces an
/// existing file (the error then is [`std::io::ErrorKind::AlreadyExists`]).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    staged(dir, bytes)?
        .persist_noclobber(path)
        .map_err(|e| e.error)?;
    sync_folder(dir);
    Ok(())
}

/// `bytes` in a fsynced temporary file in `dir`, ready to be renamed into place.
fn staged(dir: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut temp = tempfile::Builder::new()
        .prefix(".gazette-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

/// Makes a rename in `dir` durable; not every platform can open a folder.
fn sync_folder(dir: &Path) {
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
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

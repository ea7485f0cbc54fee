//! Atomic file writes, the one way gazette puts a finished file in place: a
//! temporary file in the destination's own folder (so the rename never
//! crosses a file system), written and fsynced, renamed over the
//! destination, then the folder fsynced so the rename survives a crash.
//! Readers see the old file or the new one, never part of one.
//!
//! A leaf module: it depends on nothing of ours. It never decides what to
//! write or whether a file needs writing, never creates folders, and never
//! words an error for the user: it says which step failed and callers say
//! what that means in their terms.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

/// How [`write_atomic`] puts one file in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Atomic {
    /// The temporary file's name.
    pub temp: TempName,
    /// What happens when the destination already exists.
    pub existing: Existing,
    /// How much the folder's fsync after the rename matters.
    pub folder_sync: FolderSync,
}

/// The fixed start and end of a temporary file's name (a random part goes
/// between them). A leading `.` hides it from `ls` and from tools that
/// pick up every `*.eml` or `*.xml` they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempName {
    /// Start of the name, such as `.gazette-`.
    pub prefix: &'static str,
    /// End of the name, such as `.tmp`.
    pub suffix: &'static str,
}

/// What [`write_atomic`] does when the destination already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it in one rename.
    Replace,
    /// Leave it alone and fail with [`io::ErrorKind::AlreadyExists`]
    /// (checked by the rename itself, so two writers cannot both win).
    Keep,
}

/// How [`write_atomic`] treats the fsync of the folder after the rename,
/// which makes the rename itself durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderSync {
    /// Tried wherever the folder can be opened; a failure is ignored, since
    /// the file itself is already fsynced and in place.
    BestEffort,
    /// On Unix, failing to open or fsync the folder is an error (the caller
    /// reports the file as not safely written); skipped elsewhere, since a
    /// folder cannot be opened on Windows.
    Required,
}

/// Which step of [`write_atomic`] failed.
#[derive(Debug)]
pub enum WriteError {
    /// Creating, writing or fsyncing the temporary file; the destination
    /// is untouched and the temporary file removed.
    Temp(io::Error),
    /// Renaming the temporary file onto the destination; the destination
    /// is untouched. The temporary file is removed when this error is
    /// dropped.
    Rename(tempfile::PersistError),
    /// Fsyncing the folder ([`FolderSync::Required`] only); the new file
    /// is in place but its rename may not survive a crash.
    FolderSync(io::Error),
}

impl WriteError {
    /// The underlying I/O error, whichever step failed.
    pub fn io(&self) -> &io::Error {
        match self {
            WriteError::Temp(e) | WriteError::FolderSync(e) => e,
            WriteError::Rename(e) => &e.error,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Temp(e) => write!(f, "cannot write the temporary file: {e}"),
            WriteError::Rename(e) => write!(f, "cannot rename the temporary file: {}", e.error),
            WriteError::FolderSync(e) => write!(f, "cannot sync the folder: {e}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.io())
    }
}

impl From<WriteError> for io::Error {
    /// The underlying I/O error, for callers that only need its kind and text.
    fn from(error: WriteError) -> io::Error {
        match error {
            WriteError::Temp(e) | WriteError::FolderSync(e) => e,
            WriteError::Rename(e) => e.error,
        }
    }
}

/// Writes `bytes` to `path` atomically, as `how` says. The folder of `path`
/// (`.` when it has none) must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], how: Atomic) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = staged(dir, bytes, how.temp).map_err(WriteError::Temp)?;
    match how.existing {
        Existing::Replace => temp.persist(path),
        Existing::Keep => temp.persist_noclobber(path),
    }
    .map_err(WriteError::Rename)?;
    sync_folder(dir, how.folder_sync).map_err(WriteError::FolderSync)
}

/// `bytes` in a fsynced temporary file in `dir`, ready to be renamed into place.
fn staged(dir: &Path, bytes: &[u8], name: TempName) -> io::Result<tempfile::NamedTempFile> {
    let mut temp = tempfile::Builder::new()
        .prefix(name.prefix)
        .suffix(name.suffix)
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

/// Makes a rename in `dir` durable, as far as `how` asks.
fn sync_folder(dir: &Path, how: FolderSync) -> io::Result<()> {
    match how {
        FolderSync::BestEffort => {
            if let Ok(folder) = std::fs::File::open(dir) {
                let _ = folder.sync_all();
            }
        }
        FolderSync::Required => {
            #[cfg(unix)]
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOW: Atomic = Atomic {
        temp: TempName {
            prefix: ".test-",
            suffix: ".tmp",
        },
        existing: Existing::Replace,
        folder_sync: FolderSync::Required,
    };

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_a_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.xml");
        write_atomic(&path, b"one", HOW).unwrap();
        write_atomic(&path, b"two", HOW).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["a.xml"]);
    }

    #[test]
    fn keep_never_replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        let keep = Atomic {
            existing: Existing::Keep,
            folder_sync: FolderSync::BestEffort,
            ..HOW
        };
        write_atomic(&path, b"one", keep).unwrap();
        let err = write_atomic(&path, b"two", keep).unwrap_err();
        assert!(matches!(err, WriteError::Rename(_)), "{err:?}");
        assert_eq!(err.io().kind(), io::ErrorKind::AlreadyExists);
        drop(err);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["a.md"]);
    }

    #[test]
    fn a_missing_folder_fails_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("missing/a.xml"), b"one", HOW).unwrap_err();
        assert!(matches!(err, WriteError::Temp(_)), "{err:?}");
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }
}

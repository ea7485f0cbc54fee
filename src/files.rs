//! Atomic file writes, the one way gazette puts a finished file in place: a
//! temporary file in the destination's own folder (so the rename never
//! crosses a file system), written and fsynced, renamed over the
//! destination, then the folder fsynced so the rename survives a crash.
//! Readers see the old file or the new one, never part of one.
//!
//! Two ways in: [`write_atomic`] puts one private file (mode 0600, the
//! temporary file's own) in place, for the outbox; a [`Batch`] stages many
//! published files first and renames them all in one burst, with the mode
//! a normal new file gets (0666 less the umask) or the mode the file it
//! replaces already had. [`remove_stale_temps`] clears what a killed
//! batch left behind.
//!
//! A leaf module: it depends on nothing of ours. It never decides what to
//! write or whether a file needs writing, never creates folders, and never
//! words an error for the user: it says which step failed and callers say
//! what that means in their terms.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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

/// Length of the random part of a [`Batch`]'s temporary names, fixed so
/// that [`remove_stale_temps`] can recognise exactly those names.
const RANDOM_LEN: usize = 6;

/// Files staged to be renamed into place together by [`Batch::commit`].
///
/// Each [`Batch::stage`] writes and fsyncs a temporary file beside its
/// destination; nothing a reader can see changes until `commit`, which
/// does only renames (then fsyncs the folders). A process killed while
/// staging leaves every destination as it was; dropping an uncommitted
/// batch removes its temporary files.
///
/// On Unix a new file gets `0o666` masked by the umask (by the kernel, at
/// creation: reading the umask would mean changing it, which races with
/// other threads), as any program's new file does, so a web server can
/// serve it; a file that replaces another keeps the old file's permission
/// bits and, where the user may set it, its group, so a `chmod 640` or a
/// `chgrp www-data` survives the next build.
#[derive(Debug)]
pub struct Batch {
    temp: TempName,
    folder_sync: FolderSync,
    staged: Vec<Staged>,
}

#[derive(Debug)]
struct Staged {
    file: tempfile::NamedTempFile,
    target: PathBuf,
    existing: Existing,
}

/// Why [`Batch::commit`] stopped.
#[derive(Debug)]
pub struct CommitError {
    /// The destination whose rename (or folder's fsync) failed.
    pub target: PathBuf,
    /// How many files of the batch were already renamed into place.
    pub renamed: usize,
    /// How many files the batch held.
    pub total: usize,
    /// The step that failed ([`WriteError::Rename`] or [`WriteError::FolderSync`]).
    pub error: WriteError,
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({} of {} files were already in place)",
            self.target.display(),
            self.error,
            self.renamed,
            self.total
        )
    }
}

impl std::error::Error for CommitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error.io())
    }
}

impl Batch {
    /// An empty batch whose temporary files are named as `temp` says.
    pub fn new(temp: TempName, folder_sync: FolderSync) -> Batch {
        Batch {
            temp,
            folder_sync,
            staged: Vec::new(),
        }
    }

    /// How many files are staged.
    pub fn len(&self) -> usize {
        self.staged.len()
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Writes `bytes` to a fsynced temporary file beside `path`, to be
    /// renamed onto it by [`Batch::commit`]. The folder of `path` must
    /// exist. A folder in the place of `path` is refused here, so that the
    /// commit does not stop half-way on it.
    pub fn stage(&mut self, path: &Path, bytes: &[u8], existing: Existing) -> io::Result<()> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a folder is in the way of the file; move it elsewhere",
            ));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(self.temp.prefix)
            .suffix(self.temp.suffix)
            .rand_bytes(RANDOM_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The mode `open(2)` gives a normal new file; the kernel
            // applies the umask (tempfile's default would be 0o600).
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut file = builder.tempfile_in(dir)?;
        #[cfg(unix)]
        keep_access(file.as_file(), path)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        self.staged.push(Staged {
            file,
            target: path.to_path_buf(),
            existing,
        });
        Ok(())
    }

    /// Renames every staged file onto its destination, in the order
    /// staged, then fsyncs each folder once. The renames follow each other
    /// with no other work between them, so readers see a folder's files
    /// change together. On an error the files renamed so far stay in
    /// place, the rest are not renamed, and their temporary files are
    /// removed.
    pub fn commit(self) -> Result<usize, CommitError> {
        let total = self.staged.len();
        let mut folders: Vec<PathBuf> = Vec::new();
        for (renamed, staged) in self.staged.into_iter().enumerate() {
            let Staged {
                file,
                target,
                existing,
            } = staged;
            let result = match existing {
                Existing::Replace => file.persist(&target),
                Existing::Keep => file.persist_noclobber(&target),
            };
            if let Err(e) = result {
                return Err(CommitError {
                    target,
                    renamed,
                    total,
                    error: WriteError::Rename(e),
                });
            }
            let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
            if !folders.contains(&dir) {
                folders.push(dir);
            }
        }
        for dir in folders {
            if let Err(e) = sync_folder(&dir, self.folder_sync) {
                return Err(CommitError {
                    target: dir,
                    renamed: total,
                    total,
                    error: WriteError::FolderSync(e),
                });
            }
        }
        Ok(total)
    }
}

/// Gives the temporary `file` the permission bits (and, if allowed, the
/// group) of the file at `target` when there is one; a new file keeps the
/// umask's mode it was created with.
#[cfg(unix)]
fn keep_access(file: &std::fs::File, target: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(old) = std::fs::metadata(target) else {
        return Ok(());
    };
    if !old.is_file() {
        return Ok(());
    }
    if old.gid() != file.metadata()?.gid() {
        // Only a member of the group may set it: otherwise the file gets
        // the user's group, as any new file would, and the mode below.
        let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
    }
    // Permission bits only: set-id and sticky bits mean nothing on a
    // published file and are not carried over.
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o777))
}

/// What [`remove_stale_temps`] did in one folder.
#[derive(Debug, Default)]
pub struct Swept {
    /// Temporary files removed.
    pub removed: Vec<PathBuf>,
    /// Temporary files that could not be removed, and why.
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Removes from `dir` the temporary files a [`Batch`] named as `temp`
/// left behind (a killed process cannot remove its own), when they are
/// older than `older_than`. Only regular files whose name is exactly
/// `prefix`, six letters or digits, `suffix` are candidates, so nobody
/// else's file is touched; a younger one may belong to a batch being
/// staged right now by another process. A missing folder has nothing to
/// remove.
pub fn remove_stale_temps(dir: &Path, temp: TempName, older_than: Duration) -> io::Result<Swept> {
    let mut swept = Swept::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(swept),
        Err(e) => return Err(e),
    };
    let cutoff = SystemTime::now().checked_sub(older_than);
    for entry in entries {
        let entry = entry?;
        if !is_temp_name(&entry.file_name().to_string_lossy(), temp) {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks: a link is not ours.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let old = match (metadata.modified(), cutoff) {
            (Ok(modified), Some(cutoff)) => modified < cutoff,
            _ => false,
        };
        if metadata.is_file() && old {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => swept.removed.push(path),
                // Gone meanwhile: what we wanted.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => swept.failed.push((path, e)),
            }
        }
    }
    Ok(swept)
}

/// True when `name` is `prefix`, [`RANDOM_LEN`] ASCII letters or digits
/// (tempfile's random part), then `suffix`.
fn is_temp_name(name: &str, temp: TempName) -> bool {
    name.strip_prefix(temp.prefix)
        .and_then(|rest| rest.strip_suffix(temp.suffix))
        .is_some_and(|middle| {
            middle.len() == RANDOM_LEN && middle.bytes().all(|b| b.is_ascii_alphanumeric())
        })
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

    use crate::test_support::file_names as names;

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

    const TEMP: TempName = HOW.temp;

    #[test]
    fn staged_files_are_invisible_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("a.xml");
        std::fs::write(&old, b"old").unwrap();
        let new = dir.path().join("b.json");
        let mut batch = Batch::new(TEMP, FolderSync::Required);
        batch.stage(&old, b"new a", Existing::Replace).unwrap();
        batch.stage(&new, b"new b", Existing::Replace).unwrap();
        assert_eq!(batch.len(), 2);
        // Staged: the old file as it was, no new file, only hidden temps.
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
        assert!(!new.exists());
        let visible: Vec<_> = names(dir.path())
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .collect();
        assert_eq!(visible, ["a.xml"]);
        assert_eq!(batch.commit().unwrap(), 2);
        assert_eq!(std::fs::read(&old).unwrap(), b"new a");
        assert_eq!(std::fs::read(&new).unwrap(), b"new b");
        assert_eq!(names(dir.path()), ["a.xml", "b.json"]);
    }

    #[test]
    fn an_error_while_staging_leaves_every_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("a.xml");
        std::fs::write(&old, b"old").unwrap();
        std::fs::create_dir(dir.path().join("c.xml")).unwrap();
        let mut batch = Batch::new(TEMP, FolderSync::Required);
        batch.stage(&old, b"new a", Existing::Replace).unwrap();
        let missing = batch
            .stage(&dir.path().join("missing/b.xml"), b"b", Existing::Replace)
            .unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let folder = batch
            .stage(&dir.path().join("c.xml"), b"c", Existing::Replace)
            .unwrap_err();
        assert_eq!(folder.kind(), io::ErrorKind::IsADirectory);
        assert!(
            folder.to_string().contains("a folder is in the way"),
            "{folder}"
        );
        // The caller gives up: dropping the batch removes what it staged.
        drop(batch);
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.xml", "c.xml"]);
    }

    #[test]
    fn a_failed_rename_says_which_file_and_how_far_the_commit_got() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.xml");
        let b = dir.path().join("b.xml");
        let mut batch = Batch::new(TEMP, FolderSync::Required);
        batch.stage(&a, b"a", Existing::Replace).unwrap();
        batch.stage(&b, b"b", Existing::Keep).unwrap();
        // Another writer gets there first; `Keep` refuses to replace it.
        std::fs::write(&b, b"theirs").unwrap();
        let err = batch.commit().unwrap_err();
        assert_eq!(err.target, b);
        assert_eq!((err.renamed, err.total), (1, 2));
        assert_eq!(err.error.io().kind(), io::ErrorKind::AlreadyExists);
        let text = err.to_string();
        assert!(
            text.contains("b.xml") && text.contains("1 of 2 files"),
            "{text}"
        );
        drop(err);
        assert_eq!(std::fs::read(&b).unwrap(), b"theirs");
        assert_eq!(names(dir.path()), ["a.xml", "b.xml"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        // What this process's umask gives any new file (reading the umask
        // itself would mean changing it under the other test threads).
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let new = dir.path().join("new.xml");
        let kept = dir.path().join("kept.xml");
        std::fs::write(&kept, b"old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut batch = Batch::new(TEMP, FolderSync::Required);
        batch.stage(&new, b"new", Existing::Replace).unwrap();
        batch.stage(&kept, b"new", Existing::Replace).unwrap();
        batch.commit().unwrap();
        assert_eq!(mode(&new), mode(&plain));
        assert_ne!(
            mode(&new),
            0o600,
            "tempfile's private default leaked through"
        );
        assert_eq!(mode(&kept), 0o640);
        // The one-file private writer (the outbox's) is unchanged: 0600.
        let private = dir.path().join("private.eml");
        write_atomic(&private, b"mail", HOW).unwrap();
        assert_eq!(mode(&private), 0o600);
    }

    #[test]
    fn only_old_temp_files_of_our_own_naming_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for name in [
            ".test-a1B2c3.tmp",   // ours, old: removed
            ".test-Zz9Yy8.tmp",   // ours, fresh: may be another run's, kept
            ".test-notes.tmp",    // not a random part of ours
            ".test-a1B2c3d4.tmp", // random part of the wrong length
            ".test-a1B2c3.txt",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join(".test-dir123.tmp")).unwrap();
        #[cfg(unix)]
        std::fs::File::open(dir.path().join(".test-dir123.tmp"))
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        for name in [
            ".test-a1B2c3.tmp",
            ".test-notes.tmp",
            ".test-a1B2c3d4.tmp",
            ".test-a1B2c3.txt",
            "notes.txt",
        ] {
            let file = std::fs::File::options()
                .write(true)
                .open(dir.path().join(name))
                .unwrap();
            file.set_modified(an_hour_ago).unwrap();
        }
        let swept = remove_stale_temps(dir.path(), TEMP, Duration::from_secs(60)).unwrap();
        assert_eq!(swept.removed, [dir.path().join(".test-a1B2c3.tmp")]);
        assert!(swept.failed.is_empty());
        assert_eq!(
            names(dir.path()),
            [
                ".test-Zz9Yy8.tmp",
                ".test-a1B2c3.txt",
                ".test-a1B2c3d4.tmp",
                ".test-dir123.tmp",
                ".test-notes.tmp",
                "notes.txt"
            ]
        );
        let missing = remove_stale_temps(&dir.path().join("missing"), TEMP, Duration::ZERO);
        assert!(missing.unwrap().removed.is_empty());
    }
}

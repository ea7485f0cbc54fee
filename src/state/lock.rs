//! The send lock: an OS file lock on `<database>.lock`, so that two
//! `gazette send` runs never work the same ledger at once.
//!
//! It must never wait for the lock (a second `send` exits at once) and
//! never delete the lock file.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

#[cfg(test)]
mod tests;

/// Held for the whole of `send`: a second `send` exits at once. Released
/// when dropped, and by the OS if the process dies, so `kill -9` leaves no
/// stale lock. The lock file itself stays (deleting it would let two
/// processes lock different files of the same name).
#[derive(Debug)]
pub struct SendLock {
    _file: File,
    path: PathBuf,
}

impl SendLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Another `gazette send` holds the lock.
#[derive(Debug, thiserror::Error)]
#[error("another `gazette send` is running (lock held on {}); wait for it to finish", .lock_path.display())]
pub struct Busy {
    /// The lock file another process holds.
    pub lock_path: PathBuf,
}

/// Takes the send lock of the database at `path`: an OS file lock on
/// `<path>.lock`, created with its folder if needed. Fails at once, without
/// waiting, when another process holds it.
pub fn lock(path: &Path) -> Result<SendLock> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the folder {} for the send lock",
                parent.display()
            )
        })?;
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    // Private like the database beside it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&lock_path)
        .with_context(|| format!("cannot open the send lock {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(SendLock {
            _file: file,
            path: lock_path,
        }),
        Err(TryLockError::WouldBlock) => Err(Busy { lock_path }.into()),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

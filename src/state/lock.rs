//! The send lock: who may work a ledger at once.
//!
//! SQLite: an OS file lock on `<database>.lock`, so that two `gazette
//! send` runs never work the same ledger at once. PostgreSQL: session
//! advisory locks on a connection of the lock's own, held as long as the
//! process: a sole `gazette send` takes the send key exclusively, each
//! `gazette send --worker` takes it shared (workers run side by side, never
//! beside a sole send) and its own worker key, which tells the others it is
//! alive (see `worker`). The server drops both when the connection ends,
//! however the process ended.
//!
//! It must never wait for the lock (a second `send` exits at once) and
//! never delete the lock file.

use super::WorkerId;
use crate::config::StateLocation;
use anyhow::{Context, Result, bail};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The advisory lock key of a send on PostgreSQL ("gzsn").
const SEND_KEY: i64 = 0x677a_736e;

/// The advisory lock key held while a send plans and records a new
/// digest ("gzpl"): one at a time, so a digest is created once.
const PLAN_KEY: i64 = 0x677a_706c;

/// How a send shares the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRole {
    /// `gazette send`: the only sender.
    Sole,
    /// `gazette send --worker`: one of several, on a PostgreSQL state.
    Worker,
}

#[cfg(test)]
mod tests;

/// Held for the whole of `send`: a second `send` exits at once. Released
/// when dropped, and by the OS if the process dies, so `kill -9` leaves no
/// stale lock. The lock file itself stays (deleting it would let two
/// processes lock different files of the same name).
pub struct SendLock {
    held: Held,
    worker: WorkerId,
}

enum Held {
    File { _file: File, path: PathBuf },
    Postgres(Box<postgres::Client>),
}

impl std::fmt::Debug for SendLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendLock")
            .field("worker", &self.worker)
            .finish()
    }
}

impl SendLock {
    /// The lock file (SQLite only).
    pub fn path(&self) -> Option<&Path> {
        match &self.held {
            Held::File { path, .. } => Some(path),
            Held::Postgres(_) => None,
        }
    }

    /// The id this send claims deliveries under.
    pub fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// Waits until no other send is planning, and holds that until the
    /// returned guard is dropped: planning and recording a new digest
    /// happen one sender at a time, so the digest is created once and the
    /// others find it recorded. With SQLite the send lock already is that.
    pub fn planning(&mut self) -> Result<Planning<'_>> {
        match &mut self.held {
            Held::File { .. } => Ok(Planning { client: None }),
            Held::Postgres(client) => {
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&PLAN_KEY])
                    .context("cannot take the planning lock on the state database")?;
                Ok(Planning {
                    client: Some(client),
                })
            }
        }
    }
}

/// Held while a send plans (see [`SendLock::planning`]).
pub struct Planning<'l> {
    client: Option<&'l mut postgres::Client>,
}

impl Drop for Planning<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // If this fails the connection is gone, and the lock with it.
            let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&PLAN_KEY]);
        }
    }
}

/// Another `gazette send` holds the lock.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Busy {
    /// Who holds it, and what to do.
    pub what: String,
}

/// Takes the send lock of the state at `location` (see the module's
/// header). Fails at once, without waiting, when another send holds it.
pub fn lock(location: &StateLocation, role: SendRole) -> Result<SendLock> {
    match location {
        StateLocation::Sqlite(path) => {
            if role == SendRole::Worker {
                bail!(
                    "`gazette send --worker` shares one ledger among several senders, which needs \
                     a PostgreSQL state (`[state] url = \"postgres://…\"`); with the SQLite file {} \
                     run one `gazette send` (it sends over `delivery.connections` in parallel)",
                    path.display()
                );
            }
            lock_file(path)
        }
        StateLocation::Postgres(postgres) => {
            let label = super::postgres_label(&postgres.url);
            let mut client = super::db::connect_postgres(postgres, &label)?;
            let worker = WorkerId::fresh();
            let context = || format!("cannot take the send lock on {label}");
            let took = match role {
                SendRole::Sole => client.query_one("SELECT pg_try_advisory_lock($1)", &[&SEND_KEY]),
                SendRole::Worker => {
                    client.query_one("SELECT pg_try_advisory_lock_shared($1)", &[&SEND_KEY])
                }
            }
            .with_context(context)?
            .try_get::<_, bool>(0)
            .with_context(context)?;
            if !took {
                let what = match role {
                    SendRole::Sole => format!(
                        "another `gazette send` (or a `send --worker`) is running on {label}; \
                         wait for it to finish, or run this one as `gazette send --worker` to join the workers"
                    ),
                    SendRole::Worker => format!(
                        "a `gazette send` that is not a worker is running on {label}; \
                         wait for it to finish (workers join only each other)"
                    ),
                };
                return Err(Busy { what }.into());
            }
            if let Some(key) = worker.advisory_key() {
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&key])
                    .with_context(context)?;
            }
            Ok(SendLock {
                held: Held::Postgres(Box::new(client)),
                worker,
            })
        }
    }
}

fn lock_file(path: &Path) -> Result<SendLock> {
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
            held: Held::File {
                _file: file,
                path: lock_path,
            },
            worker: WorkerId::fresh(),
        }),
        Err(TryLockError::WouldBlock) => Err(Busy {
            what: format!(
                "another `gazette send` is running (lock held on {}); wait for it to finish",
                lock_path.display()
            ),
        }
        .into()),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

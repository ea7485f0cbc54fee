//! The `state` stage: the store that makes `gazette send` exactly-once.
//!
//! It owns the state database: the embedded SQLite file (`[state] path`,
//! `.gazette/state.db` by default) or a shared PostgreSQL database
//! (`[state] url`, for several sending hosts). Both hold the same tables
//! under the same rules, and nothing outside this module can tell which
//! one runs: the digests and the stories in each, the per-subscriber
//! delivery ledger, the suppression list, the list of readers, the
//! mailbox's records, and the feed fetch cache (the last good copy of each
//! feed source with its HTTP validators).
//!
//! It records states and answers questions about them. It must not decide
//! policy beyond the state transitions written down here (who subscribes,
//! what goes into a digest, whether to retry an `unknown` delivery are the
//! caller's business), and it never renders or sends.
//!
//! A delivery moves through these states:
//!
//! ```text
//! pending ──mark_sending──► sending ──record_outcome──► sent | failed | deferred | unknown
//! deferred (due) ──mark_sending──► sending
//! sending ──recover_interrupted──► unknown ──requeue_unknown──► pending
//! pending | deferred ──suppress──► failed ("suppressed")
//! sending ──release──► pending | deferred (a stopped run; never transmitted)
//! ```
//!
//! Exactly-once rests on three rules:
//! - a delivery is moved to `sending`, durably (SQLite: WAL with
//!   `synchronous = FULL`; PostgreSQL: a committed transaction), *before*
//!   its message can reach the relay, and only from `pending` or a due
//!   `deferred`, so nothing is claimed twice; the claim records the
//!   worker that made it (`worker`);
//! - a row still in `sending` after its worker died may have been
//!   transmitted: it becomes `unknown`, which is never resent unless the
//!   user asks;
//! - every change is one statement or one transaction, so a crash at any
//!   point leaves each delivery in exactly one recorded state.
//!
//! Times are stored as RFC 3339 UTC text with whole seconds
//! (`2026-05-01T07:00:00Z`): fixed width, so text order is time order.
//!
//! One file per thing stored, each adding its part of [`State`]'s methods:
//!
//! - `db`: one connection, whichever backend: placeholders, parameters,
//!   rows, transactions;
//! - `schema`: recognising our file (or tables), connection settings,
//!   migrations, and the PostgreSQL schema;
//! - `worker`: who claimed a delivery, and whether that worker still runs;
//! - `digests`: digests, their stories, and the `pending` rows they start;
//! - `status`: the names of a delivery's states, as stored;
//! - `ledger`: every later move of a delivery, and reading deliveries back;
//! - `retry`: when a deferred delivery is due again, and when it is given up;
//! - `group_commit`: one writer thread sharing each fsync among send workers;
//! - `suppressions`: addresses never to mail again;
//! - `fetch_cache`: the last good copy of each feed source;
//! - `build_record`: what the last build read and wrote;
//! - `skipped_items`: feed items already warned about as skipped;
//! - `lock`: the send lock (a file beside the SQLite database, advisory
//!   locks on PostgreSQL), sole or shared by workers.
//!
//! This file holds what they share: the connection, opening it, and how
//! addresses and times are written.

mod build_record;
mod db;
mod digests;
mod fetch_cache;
mod group_commit;
mod inbound;
mod ledger;
mod lock;
mod postgres_tls;
mod readers;
mod retry;
mod schema;
mod skipped_items;
mod status;
mod suppressions;
#[cfg(test)]
mod tests;
mod waiting;
mod worker;

pub use build_record::BuildRecord;
pub use fetch_cache::CachedFetch;
pub use group_commit::{
    Claim, Claimed, Ledger, LedgerChange, LedgerWriter, SuppressionWatch, Verdict, ledger_writer,
};
pub use inbound::{MailApplied, MailChange};
pub use ledger::{Counts, Delivery, Suppressed};
pub use lock::{Busy, Planning, SendLock, SendRole, lock};
pub use readers::{Choice, FileKind, FileMerge, FileSync, SignUp};
pub use status::Status;
pub use waiting::Waiting;
pub use worker::WorkerId;

use crate::config::{PostgresState, StateLocation};
use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use db::Db;
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::fs;
use std::path::Path;

/// An open gazette state database. One per process; `send` also holds a
/// [`SendLock`] so that two runs never work the same ledger (or, with
/// PostgreSQL and `send --worker`, so that workers share it knowingly).
#[derive(Debug)]
pub struct State {
    db: Db,
    /// Where it is, for messages: the file, or the server and database.
    label: String,
    /// The send worker whose claims this connection makes (see `worker`).
    worker: WorkerId,
}

impl State {
    /// Opens (or creates) the state database at `location`.
    ///
    /// SQLite: creates the file's folder, switches it to WAL with
    /// `synchronous = FULL` (a `sent` row must survive power loss, since
    /// it is what prevents a duplicate), and migrates the schema. Fails,
    /// without changing the file, when it is not a gazette database or was
    /// written by a newer gazette.
    ///
    /// PostgreSQL: connects, and creates or migrates gazette's tables in
    /// the database (one process at a time, under an advisory lock).
    pub fn open(location: &StateLocation) -> Result<State> {
        match location {
            StateLocation::Sqlite(path) => State::open_sqlite(path),
            StateLocation::Postgres(postgres) => {
                let state = State::connect_postgres(postgres)?;
                state.migrate_postgres()?;
                Ok(state)
            }
        }
    }

    fn connect_postgres(postgres: &PostgresState) -> Result<State> {
        let label = postgres_label(&postgres.url);
        let client = db::connect_postgres(postgres, &label)?;
        Ok(State {
            db: Db::Postgres(Box::new(RefCell::new(db::Pg::new(client)))),
            label,
            worker: WorkerId::local(),
        })
    }

    fn open_sqlite(path: &Path) -> Result<State> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| {
                format!(
                    "cannot create the folder {} for the state database",
                    parent.display()
                )
            })?;
        }
        create_private(path)
            .with_context(|| format!("cannot create the state database {}", path.display()))?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the state database {}", path.display()))?;
        let state = State::sqlite(conn, path);
        state.check_identity()?;
        state.configure()?;
        state.migrate()?;
        Ok(state)
    }

    fn sqlite(conn: Connection, path: &Path) -> State {
        conn.set_prepared_statement_cache_capacity(64);
        State {
            db: Db::Sqlite(conn),
            label: path.display().to_string(),
            worker: WorkerId::local(),
        }
    }

    /// Opens an existing database for reading only, for commands that must
    /// write nothing (`check`, and `send` reading the fetch cache): no
    /// folder or file is created, nothing is migrated. `None` when the file
    /// does not exist. An older schema is fine (what it lacks reads as
    /// empty); a newer one, or a file that is not ours, is an error. On
    /// PostgreSQL the session is read-only, and `None` when gazette has
    /// made no tables in the database yet.
    pub fn open_read_only(location: &StateLocation) -> Result<Option<State>> {
        let path = match location {
            StateLocation::Sqlite(path) => path,
            StateLocation::Postgres(postgres) => {
                let state = State::connect_postgres(postgres)?;
                state
                    .db
                    .batch("SET default_transaction_read_only = on")
                    .with_context(|| format!("cannot configure {}", state.label))?;
                return match state.postgres_version()? {
                    None => Ok(None),
                    Some(_) => Ok(Some(state)),
                };
            }
        };
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        // A read-only connection to a WAL database still creates `-wal` and
        // `-shm` files beside it (and cannot remove them). Without a `-wal`
        // file every commit is in the main file, so it is opened as
        // `immutable`: read without locks or side files. With one (another
        // gazette is writing, or one crashed) the ordinary read-only way.
        let conn = if Path::new(&wal).exists() {
            Connection::open_with_flags(path, flags)
        } else {
            let uri = std::path::absolute(path)
                .ok()
                .and_then(|p| url::Url::from_file_path(p).ok())
                .map(|mut u| {
                    u.set_query(Some("immutable=1"));
                    u.to_string()
                })
                .ok_or_else(|| anyhow!("cannot make a file URI of {}", path.display()))?;
            Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
        }
        .with_context(|| format!("cannot open the state database {}", path.display()))?;
        let state = State::sqlite(conn, path);
        state.check_identity()?;
        Ok(Some(state))
    }

    /// Makes this connection's claims those of `worker` (the send lock's):
    /// every row it claims records that id, and recovery leaves its rows alone.
    pub fn set_worker(&mut self, worker: &WorkerId) {
        self.worker = worker.clone();
    }

    /// The send worker this connection claims for.
    pub fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// Where the database is, as messages name it: the file, or the
    /// PostgreSQL server and database (never a password).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Begins a transaction that takes the write lock at once, so a
    /// read-then-write never fails half-way on a lock upgrade (nor races
    /// another process on PostgreSQL).
    fn write_transaction(&self) -> Result<db::Tx<'_>> {
        self.db
            .begin_exclusive()
            .with_context(|| format!("cannot begin a transaction on {}", self.label))
    }
}

/// How messages name a PostgreSQL state: its URL without a password.
fn postgres_label(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            format!("the PostgreSQL database {parsed}")
        }
        Err(_) => "the PostgreSQL database of `state.url`".to_owned(),
    }
}

/// Addresses are stored and compared by their list key ([`EmailKey`]).
fn normalize_email(email: &str) -> String {
    crate::model::EmailKey::new(email).as_str().to_owned()
}

/// Creates `path` empty and readable by its owner only (0600), unless it
/// exists: the database holds every subscriber's address, and SQLite
/// gives its WAL and shared-memory files the database file's mode.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// RFC 3339 in UTC, whole seconds: fixed width, so text order is time order.
fn timestamp(time: DateTime<FixedOffset>) -> String {
    time.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

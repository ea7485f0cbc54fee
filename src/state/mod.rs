//! The `state` stage: the SQLite store that makes `gazette send` exactly-once.
//!
//! It owns the database file (`[state] path`, `.gazette/state.db` by
//! default): the digests and the stories in each, the per-subscriber
//! delivery ledger, the suppression list, and the feed fetch cache (the last
//! good copy of each feed source with its HTTP validators).
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
//! ```
//!
//! Exactly-once rests on three rules:
//! - a delivery is moved to `sending`, durably (WAL with `synchronous =
//!   FULL`), *before* its message can reach the relay, and only from
//!   `pending` or a due `deferred`, so nothing is claimed twice;
//! - a row still in `sending` after a crash may have been transmitted: it
//!   becomes `unknown`, which is never resent unless the user asks;
//! - every change is one statement or one transaction, so a crash at any
//!   point leaves each delivery in exactly one recorded state.
//!
//! Times are stored as RFC 3339 UTC text with whole seconds
//! (`2026-05-01T07:00:00Z`): fixed width, so text order is time order.

mod group_commit;

pub use group_commit::{Claim, Ledger, LedgerChange, LedgerWriter, ledger_writer};

use crate::model::DeliveryOutcome;
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeDelta, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// `PRAGMA application_id` of a gazette database ("gzst"), so a different
/// SQLite file at the configured path is recognised instead of altered.
const APPLICATION_ID: i32 = 0x677a_7374;

/// How long a statement waits for another connection's write lock (a
/// `build` recording while `send` runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Delay before the first retry of a deferred delivery; doubles per attempt.
const FIRST_RETRY_DELAY_MINUTES: i64 = 5;

/// The longest wait between two attempts.
const MAX_RETRY_DELAY_MINUTES: i64 = 6 * 60;

/// A delivery deferred on its this-many-th attempt is given up (`failed`).
const MAX_ATTEMPTS: u32 = 10;

/// Schema migrations in order: entry `i` takes the database from version
/// `i` to version `i + 1` (`PRAGMA user_version`). Append, never edit.
const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4];

/// The schema version this build writes and understands.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: digests, their stories, the delivery ledger, suppressions.
const SCHEMA_V1: &str = "
CREATE TABLE digests (
    id         TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- A story goes into exactly one digest, ever: story_id is unique across digests.
CREATE TABLE digest_stories (
    digest_id TEXT NOT NULL REFERENCES digests (id),
    story_id  TEXT NOT NULL UNIQUE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (digest_id, position)
) STRICT;

-- One row per digest and recipient; the row is the exactly-once ledger.
CREATE TABLE deliveries (
    digest_id       TEXT NOT NULL REFERENCES digests (id),
    email           TEXT NOT NULL CHECK (email = lower(email)),
    locale          TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'deferred', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (digest_id, email)
) STRICT;

CREATE INDEX deliveries_by_status ON deliveries (status, next_attempt_at);

CREATE TABLE suppressions (
    email      TEXT PRIMARY KEY NOT NULL CHECK (email = lower(email)),
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
";

/// Version 2: the fetch cache of feed sources, keyed by the source's URL.
/// `body` is the last raw document that parsed as a feed; `etag` and
/// `last_modified` are the validators the server sent with it, replayed as
/// `If-None-Match` / `If-Modified-Since`.
const SCHEMA_V2: &str = "
CREATE TABLE fetch_cache (
    url           TEXT PRIMARY KEY NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    body          BLOB NOT NULL,
    fetched_at    TEXT NOT NULL
) STRICT;
";

/// Version 3: what the last build read and wrote, so an unchanged build can stop early.
const SCHEMA_V3: &str = "
CREATE TABLE build_record (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    inputs      TEXT NOT NULL,
    valid_from  TEXT,
    valid_until TEXT,
    outputs     TEXT NOT NULL
) STRICT;
";

/// Version 4: no index on the deliveries' status. Every claim and every
/// outcome changes a row's status, and the index made each such change
/// rewrite two more pages (remove and re-insert the entry) in the commit
/// a message waits for; the few queries by status run once per `send`
/// and scan the table instead (100,000 rows: milliseconds).
const SCHEMA_V4: &str = "DROP INDEX deliveries_by_status;";

/// What the last `build` read and wrote: a digest of every input, the span
/// of `now` in which the same stories are published, and each output file
/// with its size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// Hex digest of every input (see `app::incremental`).
    pub inputs: String,
    /// The newest publication time at or before the build's `now`.
    pub valid_from: Option<DateTime<FixedOffset>>,
    /// The first scheduled publication after the build's `now`.
    pub valid_until: Option<DateTime<FixedOffset>>,
    /// (path under the feeds folder, size in bytes, mtime in ns since the epoch).
    pub outputs: Vec<(String, u64, i128)>,
}

/// The last good copy of a feed source, from the fetch cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFetch {
    /// The `ETag` the server sent with `body`, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent with `body`, if any (as sent).
    pub last_modified: Option<String>,
    /// The raw document.
    pub body: Vec<u8>,
    /// When `body` was fetched (RFC 3339 UTC).
    pub fetched_at: String,
}

/// Where a delivery stands. Stored as lowercase text (`pending`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Recorded with its digest; not yet attempted.
    Pending,
    /// Handed to a transport; the outcome is not yet recorded.
    Sending,
    /// The transport accepted it. Never sent again.
    Sent,
    /// Refused for good (5xx, given up, or suppressed). Never sent again.
    Failed,
    /// Refused for now (4xx or connection lost before the end of data):
    /// due again at its `next_attempt_at`.
    Deferred,
    /// May or may not have been accepted: never resent automatically.
    Unknown,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Deferred,
        Status::Unknown,
    ];

    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Deferred => "deferred",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| anyhow!("`{text}` is not a delivery status"))
    }
}

impl ToSql for Status {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Status {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Status> {
        let text = value.as_str()?;
        text.parse()
            .map_err(|e: anyhow::Error| FromSqlError::Other(e.into()))
    }
}

/// One row of the delivery ledger: one digest for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The digest this delivery sends.
    pub digest_id: String,
    /// Lowercased address.
    pub email: String,
    /// Locale key of the digest this recipient gets.
    pub locale: String,
    /// Where the delivery stands.
    pub status: Status,
    /// How many times the message was handed to a transport.
    pub attempts: u32,
    /// Why the last attempt did not end in `sent`, if it did not.
    pub last_error: Option<String>,
}

/// How many deliveries are in each status, over all digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// In [`Status::Pending`].
    pub pending: u64,
    /// In [`Status::Sending`].
    pub sending: u64,
    /// In [`Status::Sent`].
    pub sent: u64,
    /// In [`Status::Failed`].
    pub failed: u64,
    /// In [`Status::Deferred`].
    pub deferred: u64,
    /// In [`Status::Unknown`].
    pub unknown: u64,
}

impl Counts {
    /// All deliveries in the ledger.
    pub fn total(&self) -> u64 {
        self.pending + self.sending + self.sent + self.failed + self.deferred + self.unknown
    }
}

/// An open gazette state database. One per process; `send` also holds a
/// [`SendLock`] so that two runs never work the same ledger.
#[derive(Debug)]
pub struct State {
    conn: Connection,
    path: PathBuf,
}

/// Columns read into a [`Delivery`] by [`State::deliveries_where`].
const DELIVERY_COLUMNS: &str = "d.digest_id, d.email, d.locale, d.status, d.attempts, d.last_error";

impl State {
    /// Opens (or creates) the database at `path`, creating its folder,
    /// switching it to WAL with `synchronous = FULL` (a `sent` row must
    /// survive power loss, since it is what prevents a duplicate), and
    /// migrating the schema to this build's version.
    ///
    /// Fails, without changing the file, when it is not a gazette database
    /// or was written by a newer gazette.
    pub fn open(path: &Path) -> Result<State> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| {
                format!(
                    "cannot create the folder {} for the state database",
                    parent.display()
                )
            })?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the state database {}", path.display()))?;
        let state = State {
            conn,
            path: path.to_path_buf(),
        };
        state.check_identity()?;
        state.configure()?;
        state.migrate()?;
        Ok(state)
    }

    /// Opens an existing database for reading only, for commands that must
    /// write nothing (`check`, and `send` reading the fetch cache): no
    /// folder or file is created, nothing is migrated. `None` when the file
    /// does not exist. An older schema is fine (what it lacks reads as
    /// empty); a newer one, or a file that is not ours, is an error.
    pub fn open_read_only(path: &Path) -> Result<Option<State>> {
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
        let state = State {
            conn,
            path: path.to_path_buf(),
        };
        state.check_identity()?;
        Ok(Some(state))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses files that are not ours before anything writes to them.
    fn check_identity(&self) -> Result<()> {
        let path = self.path.display();
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .with_context(|| format!("cannot configure the state database {path}"))?;
        let header = self.conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_schema)",
            [],
            |row| {
                Ok((
                    row.get::<_, i32>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        );
        let (application_id, version, objects) = match header {
            Ok(header) => header,
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
                return Err(e).with_context(|| {
                    format!(
                        "{path} is not a gazette state database (not even SQLite); \
                         move it away or set `[state] path` in config.toml to another file"
                    )
                });
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read the state database {path}"));
            }
        };
        let fresh = application_id == 0 && version == 0 && objects == 0;
        if (application_id != APPLICATION_ID && !fresh) || version < 0 {
            bail!(
                "{path} is a SQLite database but not a gazette state database \
                 (application_id {application_id:#x}, {objects} schema objects); \
                 move it away or set `[state] path` in config.toml to another file"
            );
        }
        if version > SCHEMA_VERSION {
            bail!(
                "the state database {path} has schema version {version}, newer than the \
                 version {SCHEMA_VERSION} this gazette understands; it was written by a newer \
                 gazette: upgrade gazette (or restore a backup made by this version)"
            );
        }
        Ok(())
    }

    /// Per-connection settings: WAL, full fsync on commit, foreign keys.
    fn configure(&self) -> Result<()> {
        let path = self.path.display();
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .with_context(|| format!("cannot switch the state database {path} to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(
                "the state database {path} stays in `{mode}` journal mode instead of WAL; \
                 put it on a local file system"
            );
        }
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .and_then(|()| self.conn.pragma_update(None, "foreign_keys", true))
            .with_context(|| format!("cannot configure the state database {path}"))?;
        Ok(())
    }

    /// Applies the migrations this file has not seen, in one transaction
    /// (IMMEDIATE, so two processes opening a new file migrate it once).
    fn migrate(&self) -> Result<()> {
        let path = self.path.display();
        let tx = self.write_transaction()?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .with_context(|| format!("cannot read the schema version of {path}"))?;
        if version >= SCHEMA_VERSION {
            return Ok(());
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let to = index + 1;
            tx.execute_batch(migration)
                .and_then(|()| tx.pragma_update(None, "user_version", to as i64))
                .with_context(|| {
                    format!("cannot migrate the state database {path} to version {to}")
                })?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .and_then(|()| tx.commit())
            .with_context(|| format!("cannot migrate the state database {path}"))
    }

    /// Begins a transaction that takes the write lock at once, so a
    /// read-then-write never fails half-way on a lock upgrade.
    fn write_transaction(&self) -> Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .with_context(|| format!("cannot begin a transaction on {}", self.path.display()))
    }

    /// Every story id already in some digest.
    pub fn included_story_ids(&self) -> Result<BTreeSet<String>> {
        let read = || -> rusqlite::Result<BTreeSet<String>> {
            let mut stmt = self.conn.prepare("SELECT story_id FROM digest_stories")?;
            let ids = stmt.query_map([], |row| row.get(0))?;
            ids.collect()
        };
        read().with_context(|| {
            format!(
                "cannot read the stories already sent from {}",
                self.path.display()
            )
        })
    }

    /// Whether a digest with this id was recorded.
    pub fn digest_exists(&self, id: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM digests WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|row| row.is_some())
            .with_context(|| format!("cannot look up digest `{id}` in {}", self.path.display()))
    }

    /// One transaction: the digest, its stories (in order), and a `Pending`
    /// delivery per recipient (email, locale key). Recipients already
    /// suppressed are not added. Fails, recording nothing, when the digest
    /// exists, a story is already in a digest (this one included), or an
    /// address appears twice.
    pub fn create_digest(
        &mut self,
        id: &str,
        created_at: DateTime<FixedOffset>,
        story_ids: &[String],
        recipients: &[(String, String)],
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let created = timestamp(created_at);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("cannot begin a transaction on {path}"))?;

        tx.execute(
            "INSERT INTO digests (id, created_at) VALUES (?1, ?2)",
            params![id, created],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                anyhow!(e).context(format!("digest `{id}` already exists in {path}"))
            } else {
                anyhow!(e).context(format!("cannot record digest `{id}` in {path}"))
            }
        })?;

        for (position, story_id) in story_ids.iter().enumerate() {
            let inserted = tx.execute(
                "INSERT INTO digest_stories (digest_id, story_id, position) VALUES (?1, ?2, ?3)",
                params![id, story_id, position as i64],
            );
            if let Err(e) = inserted {
                if !is_constraint(&e) {
                    return Err(e).with_context(|| {
                        format!("cannot record story `{story_id}` of digest `{id}` in {path}")
                    });
                }
                let holder: Option<String> = tx
                    .query_row(
                        "SELECT digest_id FROM digest_stories WHERE story_id = ?1",
                        [story_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .with_context(|| format!("cannot look up story `{story_id}` in {path}"))?;
                let holder = holder.unwrap_or_else(|| id.to_owned());
                return Err(e).with_context(|| {
                    format!(
                        "story `{story_id}` is already in digest `{holder}` ({path}); \
                         a story goes into exactly one digest, so digest `{id}` was not recorded"
                    )
                });
            }
        }

        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO deliveries (digest_id, email, locale, status, updated_at)
                     SELECT ?1, ?2, ?3, 'pending', ?4
                     WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE email = ?2)",
                )
                .with_context(|| format!("cannot record deliveries in {path}"))?;
            let mut seen = HashSet::new();
            for (email, locale) in recipients {
                let email = normalize_email(email);
                if !seen.insert(email.clone()) {
                    bail!(
                        "recipient {email} appears twice in digest `{id}`; \
                         digest `{id}` was not recorded in {path}"
                    );
                }
                insert
                    .execute(params![id, email, locale, created])
                    .with_context(|| {
                        format!("cannot record the delivery of digest `{id}` to {email} in {path}")
                    })?;
            }
        }

        tx.commit()
            .with_context(|| format!("cannot commit digest `{id}` to {path}"))
    }

    /// The stories of a digest, in their order in it. Fails for an unknown digest.
    pub fn digest_story_ids(&self, id: &str) -> Result<Vec<String>> {
        if !self.digest_exists(id)? {
            bail!("no digest `{id}` in {}", self.path.display());
        }
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare(
                "SELECT story_id FROM digest_stories WHERE digest_id = ?1 ORDER BY position",
            )?;
            let ids = stmt.query_map([id], |row| row.get(0))?;
            ids.collect()
        };
        read().with_context(|| {
            format!(
                "cannot read the stories of digest `{id}` from {}",
                self.path.display()
            )
        })
    }

    /// Deliveries to attempt now: `Pending` ones, and `Deferred` ones whose
    /// `next_attempt_at <= now`; oldest digest first, then by email.
    pub fn due_deliveries(&self, now: DateTime<FixedOffset>) -> Result<Vec<Delivery>> {
        self.deliveries_where(
            "d.status = 'pending' OR (d.status = 'deferred' AND d.next_attempt_at <= ?1)",
            &[&timestamp(now)],
        )
        .with_context(|| {
            format!(
                "cannot read the deliveries due from {}",
                self.path.display()
            )
        })
    }

    /// Claims a delivery before its message is handed to a transport:
    /// `Pending` or due `Deferred` → `Sending`, counting the attempt. The
    /// change is committed (and fsynced) when this returns. Fails when the
    /// delivery is missing or not due, so nothing is sent twice.
    pub fn mark_sending(
        &self,
        digest_id: &str,
        email: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let claim = LedgerChange::Claim {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        };
        self.apply_one(&claim, now).map(|_| ())
    }

    /// Applies `changes` in order in one transaction (one fsync for all of
    /// them, see [`group_commit`]) and returns each change's own result:
    /// a claim that is not due, or an outcome for a row that is not
    /// `sending`, fails alone and leaves the others standing, since each
    /// change runs in its own savepoint; but once an outcome fails, the
    /// claims after it are refused, since a ledger that cannot record what
    /// happened must not let more messages leave. A change's result is the
    /// row's new status (`Sending` for a claim). `Err` (nothing applied)
    /// when the transaction itself fails.
    ///
    /// Every ledger write goes through here: one change at a time
    /// ([`State::mark_sending`], [`State::record_outcome`]), a claim and its
    /// outcome together ([`State::fail_unsent`]), or whatever the send
    /// workers queued together ([`group_commit`]).
    pub fn apply(
        &self,
        changes: &[&LedgerChange],
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<Result<Status>>> {
        let tx = self.write_transaction()?;
        let mut results = Vec::with_capacity(changes.len());
        let mut outcome_failed = false;
        for change in changes {
            if outcome_failed && matches!(change, LedgerChange::Claim { .. }) {
                results.push(Err(anyhow!(
                    "not claimed: an earlier outcome could not be recorded in {}",
                    self.path.display()
                )));
                continue;
            }
            savepoint(&tx, "SAVEPOINT change")
                .with_context(|| format!("cannot begin a savepoint on {}", self.path.display()))?;
            let result = match change {
                LedgerChange::Claim { digest_id, email } => self
                    .mark_sending_on(&tx, digest_id, email, now)
                    .map(|()| Status::Sending),
                LedgerChange::Outcome {
                    digest_id,
                    email,
                    outcome,
                } => self.record_outcome_on(&tx, digest_id, email, outcome, now),
            };
            let undone = if result.is_ok() {
                Ok(())
            } else {
                savepoint(&tx, "ROLLBACK TO change")
            };
            undone
                .and_then(|()| savepoint(&tx, "RELEASE change"))
                .with_context(|| format!("cannot end a savepoint on {}", self.path.display()))?;
            outcome_failed |= result.is_err() && matches!(change, LedgerChange::Outcome { .. });
            results.push(result);
        }
        tx.commit().with_context(|| {
            format!(
                "cannot commit {} ledger changes to {}",
                changes.len(),
                self.path.display()
            )
        })?;
        Ok(results)
    }

    /// [`State::apply`] for one change, whose result it returns.
    fn apply_one(&self, change: &LedgerChange, now: DateTime<FixedOffset>) -> Result<Status> {
        self.apply(&[change], now)?
            .pop()
            .unwrap_or_else(|| Err(anyhow!("the ledger applied no change")))
    }

    /// Closes a due delivery as `Failed` with `reason` without it ever
    /// reaching a transport (the address left the list, was suppressed, or
    /// its message could not be built): the claim and the outcome in one
    /// transaction, through the same transitions as a real attempt.
    pub fn fail_unsent(
        &self,
        digest_id: &str,
        email: &str,
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let claim = LedgerChange::Claim {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
        };
        let outcome = LedgerChange::Outcome {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
            outcome: DeliveryOutcome::Failed {
                reason: reason.to_owned(),
                suppress: false,
            },
        };
        // The claim's error first: when it fails, so does the outcome.
        for result in self.apply(&[&claim, &outcome], now)? {
            result?;
        }
        Ok(())
    }

    fn mark_sending_on(
        &self,
        conn: &Connection,
        digest_id: &str,
        email: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let email = normalize_email(email);
        // Cached statements: these run once or twice per message sent.
        let changed = conn
            .prepare_cached(
                "UPDATE deliveries
                 SET status = 'sending', attempts = attempts + 1, updated_at = ?3
                 WHERE digest_id = ?1 AND email = ?2
                   AND (status = 'pending' OR (status = 'deferred' AND next_attempt_at <= ?3))",
            )
            .and_then(|mut statement| statement.execute(params![digest_id, email, timestamp(now)]))
            .with_context(|| {
                format!(
                    "cannot mark the delivery of digest `{digest_id}` to {email} as sending in {}",
                    self.path.display()
                )
            })?;
        if changed == 1 {
            return Ok(());
        }
        match self.delivery_status(digest_id, &email)? {
            None => bail!(
                "no delivery of digest `{digest_id}` to {email} in {}",
                self.path.display()
            ),
            Some(status) => bail!(
                "the delivery of digest `{digest_id}` to {email} is {status}, not due; \
                 it was not marked as sending ({})",
                self.path.display()
            ),
        }
    }

    /// Records what the transport reported for a delivery in `Sending`, and
    /// returns its new status:
    /// - `Sent` → `Sent`;
    /// - `Failed` → `Failed`, and with `suppress` the address is added to the
    ///   suppression list with the reason (see [`State::suppress`]);
    /// - `Deferred` → `Deferred`, due again after 5 minutes doubling per
    ///   attempt, capped at 6 hours; on the 10th attempt → `Failed`
    ///   ("gave up after 10 attempts");
    /// - `Unknown` → `Unknown`.
    pub fn record_outcome(
        &self,
        digest_id: &str,
        email: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<FixedOffset>,
    ) -> Result<Status> {
        let change = LedgerChange::Outcome {
            digest_id: digest_id.to_owned(),
            email: email.to_owned(),
            outcome: outcome.clone(),
        };
        self.apply_one(&change, now)
    }

    fn record_outcome_on(
        &self,
        tx: &Connection,
        digest_id: &str,
        email: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<FixedOffset>,
    ) -> Result<Status> {
        let path = self.path.display();
        let email = normalize_email(email);
        let context =
            || format!("cannot record the outcome of digest `{digest_id}` to {email} in {path}");
        let row: Option<(Status, u32)> = tx
            .prepare_cached(
                "SELECT status, attempts FROM deliveries WHERE digest_id = ?1 AND email = ?2",
            )
            .and_then(|mut statement| {
                statement.query_row(params![digest_id, email], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
            })
            .optional()
            .with_context(context)?;
        let attempts = match row {
            None => bail!("no delivery of digest `{digest_id}` to {email} in {path}"),
            Some((Status::Sending, attempts)) => attempts,
            Some((status, _)) => bail!(
                "the delivery of digest `{digest_id}` to {email} is {status}, not sending, \
                 so its outcome was not recorded ({path}); call mark_sending before \
                 handing a message to a transport"
            ),
        };
        let now_text = timestamp(now);
        let (status, error, next_attempt) = match outcome {
            DeliveryOutcome::Sent => (Status::Sent, None, None),
            DeliveryOutcome::Failed { reason, suppress } => {
                if *suppress {
                    suppress_in(tx, &email, reason, &now_text).with_context(context)?;
                }
                (Status::Failed, Some(reason.clone()), None)
            }
            DeliveryOutcome::Deferred(reason) if attempts >= MAX_ATTEMPTS => (
                Status::Failed,
                Some(format!("gave up after {attempts} attempts; last: {reason}")),
                None,
            ),
            DeliveryOutcome::Deferred(reason) => (
                Status::Deferred,
                Some(reason.clone()),
                Some(timestamp(now + retry_delay(attempts))),
            ),
            DeliveryOutcome::Unknown(reason) => (Status::Unknown, Some(reason.clone()), None),
        };
        tx.prepare_cached(
            "UPDATE deliveries
             SET status = ?3, last_error = ?4, next_attempt_at = ?5, updated_at = ?6
             WHERE digest_id = ?1 AND email = ?2",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                digest_id,
                email,
                status,
                error,
                next_attempt,
                now_text
            ])
        })
        .with_context(context)?;
        Ok(status)
    }

    /// After a crash or `kill -9`: rows left in `Sending` may have been
    /// transmitted, so they become `Unknown` (never resent automatically).
    /// Call it while holding the [`SendLock`]. Returns how many.
    pub fn recover_interrupted(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        self.conn
            .execute(
                "UPDATE deliveries
                 SET status = 'unknown', updated_at = ?1,
                     last_error = 'interrupted after the message was handed to the transport'
                 WHERE status = 'sending'",
                [timestamp(now)],
            )
            .map(|n| n as u64)
            .with_context(|| {
                format!(
                    "cannot recover interrupted deliveries in {}",
                    self.path.display()
                )
            })
    }

    /// Deliveries whose outcome is unknown, oldest digest first, then by email.
    pub fn unknown_deliveries(&self) -> Result<Vec<Delivery>> {
        self.deliveries_where("d.status = 'unknown'", &[])
            .with_context(|| {
                format!(
                    "cannot read the unknown deliveries from {}",
                    self.path.display()
                )
            })
    }

    /// `send --retry-unknown`: `Unknown` → `Pending`, on purpose, accepting
    /// that some recipients may get the digest twice. Addresses suppressed
    /// since stay `Unknown`. `last_error` is kept as a record of why. Returns how many.
    pub fn requeue_unknown(&self, now: DateTime<FixedOffset>) -> Result<u64> {
        self.conn
            .execute(
                "UPDATE deliveries
                 SET status = 'pending', next_attempt_at = NULL, updated_at = ?1
                 WHERE status = 'unknown'
                   AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = deliveries.email)",
                [timestamp(now)],
            )
            .map(|n| n as u64)
            .with_context(|| {
                format!(
                    "cannot requeue unknown deliveries in {}",
                    self.path.display()
                )
            })
    }

    /// Adds an address to the suppression list and, in the same
    /// transaction, marks its `Pending`/`Deferred` deliveries as `Failed`
    /// "suppressed" so they are never sent. Returns whether the address was
    /// newly added (an existing entry keeps its first reason).
    pub fn suppress(&self, email: &str, reason: &str, now: DateTime<FixedOffset>) -> Result<bool> {
        let email = normalize_email(email);
        let context = || format!("cannot suppress {email} in {}", self.path.display());
        let tx = self.write_transaction()?;
        let added = suppress_in(&tx, &email, reason, &timestamp(now)).with_context(context)?;
        tx.commit().with_context(context)?;
        Ok(added)
    }

    /// Whether the address (compared case-insensitively) is suppressed.
    pub fn is_suppressed(&self, email: &str) -> Result<bool> {
        let email = normalize_email(email);
        self.conn
            .prepare_cached("SELECT 1 FROM suppressions WHERE email = ?1")
            .and_then(|mut statement| statement.query_row([&email], |_| Ok(())))
            .optional()
            .map(|row| row.is_some())
            .with_context(|| format!("cannot look up {email} in {}", self.path.display()))
    }

    /// How many deliveries are in each status.
    pub fn counts(&self) -> Result<Counts> {
        let read = || -> rusqlite::Result<Counts> {
            let mut stmt = self
                .conn
                .prepare("SELECT status, count(*) FROM deliveries GROUP BY status")?;
            let mut rows = stmt.query([])?;
            let mut counts = Counts::default();
            while let Some(row) = rows.next()? {
                // count(*) is never negative.
                let n = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
                match row.get::<_, Status>(0)? {
                    Status::Pending => counts.pending = n,
                    Status::Sending => counts.sending = n,
                    Status::Sent => counts.sent = n,
                    Status::Failed => counts.failed = n,
                    Status::Deferred => counts.deferred = n,
                    Status::Unknown => counts.unknown = n,
                }
            }
            Ok(counts)
        };
        read().with_context(|| format!("cannot count deliveries in {}", self.path.display()))
    }

    /// The last good copy of the feed at `url`, if one was stored. A
    /// database from before the fetch cache (opened read-only) has none.
    /// Whether table `name` exists: a database opened read-only may predate it.
    fn has_table(&self, name: &str) -> rusqlite::Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()
            .map(|row| row.is_some())
    }

    /// The record of the last build, if one was stored (none in a database
    /// written by an older gazette that has no such table).
    pub fn build_record(&self) -> Result<Option<BuildRecord>> {
        let context = || {
            format!(
                "cannot read the last build's record from {}",
                self.path.display()
            )
        };
        if !self.has_table("build_record").with_context(context)? {
            return Ok(None);
        }
        let row: Option<(String, Option<String>, Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT inputs, valid_from, valid_until, outputs FROM build_record WHERE id = 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .with_context(context)?;
        let Some((inputs, valid_from, valid_until, outputs)) = row else {
            return Ok(None);
        };
        let time = |text: Option<String>| -> Result<Option<DateTime<FixedOffset>>> {
            text.map(|t| DateTime::parse_from_rfc3339(&t).with_context(context))
                .transpose()
        };
        Ok(Some(BuildRecord {
            inputs,
            valid_from: time(valid_from)?,
            valid_until: time(valid_until)?,
            outputs: serde_json::from_str(&outputs).with_context(context)?,
        }))
    }

    /// Replaces the record of the last build.
    pub fn store_build_record(&self, record: &BuildRecord) -> Result<()> {
        let outputs = serde_json::to_string(&record.outputs)?;
        self.conn
            .execute(
                "INSERT INTO build_record (id, inputs, valid_from, valid_until, outputs)
                 VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET inputs = excluded.inputs,
                   valid_from = excluded.valid_from, valid_until = excluded.valid_until,
                   outputs = excluded.outputs",
                rusqlite::params![
                    record.inputs,
                    record.valid_from.map(|t| t.to_rfc3339()),
                    record.valid_until.map(|t| t.to_rfc3339()),
                    outputs
                ],
            )
            .with_context(|| format!("cannot record the build in {}", self.path.display()))?;
        Ok(())
    }

    /// Ids of every digest, oldest first.
    pub fn digest_ids(&self) -> Result<Vec<String>> {
        let context = || format!("cannot list digests in {}", self.path.display());
        let mut statement = self
            .conn
            .prepare("SELECT id FROM digests ORDER BY created_at, id")
            .with_context(context)?;
        let ids = statement
            .query_map([], |row| row.get(0))
            .with_context(context)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .with_context(context)?;
        Ok(ids)
    }

    pub fn cached_fetch(&self, url: &str) -> Result<Option<CachedFetch>> {
        let context = || {
            format!(
                "cannot read the cached copy of {url} from {}",
                self.path.display()
            )
        };
        if !self.has_table("fetch_cache").with_context(context)? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT etag, last_modified, body, fetched_at FROM fetch_cache WHERE url = ?1",
                [url],
                |row| {
                    Ok(CachedFetch {
                        etag: row.get(0)?,
                        last_modified: row.get(1)?,
                        body: row.get(2)?,
                        fetched_at: row.get(3)?,
                    })
                },
            )
            .optional()
            .with_context(context)
    }

    /// Records `body` as the last good copy of the feed at `url`, with the
    /// validators the server sent, replacing the previous copy.
    pub fn store_fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        body: &[u8],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO fetch_cache (url, etag, last_modified, body, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                     last_modified = excluded.last_modified, body = excluded.body,
                     fetched_at = excluded.fetched_at",
                params![url, etag, last_modified, body, timestamp(now)],
            )
            .map(|_| ())
            .with_context(|| {
                format!(
                    "cannot store the fetched copy of {url} in {}",
                    self.path.display()
                )
            })
    }

    /// The status of one delivery, if it exists.
    fn delivery_status(&self, digest_id: &str, email: &str) -> Result<Option<Status>> {
        self.conn
            .query_row(
                "SELECT status FROM deliveries WHERE digest_id = ?1 AND email = ?2",
                params![digest_id, email],
                |row| row.get(0),
            )
            .optional()
            .with_context(|| {
                format!(
                    "cannot look up the delivery of digest `{digest_id}` to {email} in {}",
                    self.path.display()
                )
            })
    }

    /// Deliveries matching `condition`, oldest digest first, then by email.
    fn deliveries_where(
        &self,
        condition: &str,
        values: &[&dyn ToSql],
    ) -> rusqlite::Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS}
             FROM deliveries d JOIN digests g ON g.id = d.digest_id
             WHERE {condition}
             ORDER BY g.created_at, g.id, d.email"
        ))?;
        let rows = stmt.query_map(values, |row| {
            Ok(Delivery {
                digest_id: row.get(0)?,
                email: row.get(1)?,
                locale: row.get(2)?,
                status: row.get(3)?,
                attempts: row.get(4)?,
                last_error: row.get(5)?,
            })
        })?;
        rows.collect()
    }
}

/// Adds a suppression and fails the address's outstanding deliveries.
/// Runs one savepoint statement (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`),
/// cached: [`State::apply`] runs two or three per ledger change.
fn savepoint(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
}

fn suppress_in(tx: &Connection, email: &str, reason: &str, now: &str) -> rusqlite::Result<bool> {
    let added = tx.execute(
        "INSERT INTO suppressions (email, reason, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (email) DO NOTHING",
        params![email, reason, now],
    )?;
    tx.execute(
        "UPDATE deliveries
         SET status = 'failed', last_error = 'suppressed', next_attempt_at = NULL, updated_at = ?2
         WHERE email = ?1 AND status IN ('pending', 'deferred')",
        params![email, now],
    )?;
    Ok(added == 1)
}

/// How long to wait after the `attempts`-th attempt was deferred: 5 minutes,
/// doubling per attempt, at most 6 hours.
fn retry_delay(attempts: u32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(16);
    let minutes = (FIRST_RETRY_DELAY_MINUTES << doublings).min(MAX_RETRY_DELAY_MINUTES);
    TimeDelta::minutes(minutes)
}

/// Addresses are compared case-insensitively: stored lowercased.
fn normalize_email(email: &str) -> String {
    email.to_lowercase()
}

/// RFC 3339 in UTC, whole seconds: fixed width, so text order is time order.
fn timestamp(time: DateTime<FixedOffset>) -> String {
    time.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

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
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn recipients(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(email, locale)| (email.to_string(), locale.to_string()))
            .collect()
    }

    fn db_path(dir: &TempDir) -> PathBuf {
        dir.path().join("nested").join(".gazette").join("state.db")
    }

    fn open_temp() -> (TempDir, State) {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&db_path(&dir)).unwrap();
        (dir, state)
    }

    /// A digest `id` created at `created`, with one story named after it.
    fn digest(state: &mut State, id: &str, created: &str, to: &[(&str, &str)]) {
        state
            .create_digest(
                id,
                at(created),
                &strings(&[&format!("story-{id}")]),
                &recipients(to),
            )
            .unwrap();
    }

    fn delivery(state: &State, digest_id: &str, email: &str) -> Delivery {
        state
            .deliveries_where("d.digest_id = ?1 AND d.email = ?2", &[&digest_id, &email])
            .unwrap()
            .pop()
            .unwrap()
    }

    fn due_keys(state: &State, now: &str) -> Vec<(String, String)> {
        state
            .due_deliveries(at(now))
            .unwrap()
            .into_iter()
            .map(|d| (d.digest_id, d.email))
            .collect()
    }

    fn error_text(result: Result<impl fmt::Debug>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn creates_schema_in_new_folders_and_reopening_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let mut state = State::open(&path).unwrap();
            state
                .create_digest(
                    "2026-05-01",
                    at("2026-05-01T07:00:00+08:00"),
                    &strings(&["b", "a", "c"]),
                    &recipients(&[("li.wei@example.org", "zh")]),
                )
                .unwrap();
        }
        let state = State::open(&path).unwrap();
        let version: i64 = state
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let application_id: i32 = state
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(application_id, APPLICATION_ID);
        assert!(state.digest_exists("2026-05-01").unwrap());
        assert!(!state.digest_exists("2026-05-02").unwrap());
        assert_eq!(
            state.digest_story_ids("2026-05-01").unwrap(),
            strings(&["b", "a", "c"])
        );
        assert_eq!(
            state.included_story_ids().unwrap(),
            ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
        );
        let created: String = state
            .conn
            .query_row("SELECT created_at FROM digests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(created, "2026-04-30T23:00:00Z");
        assert_eq!(state.counts().unwrap().pending, 1);
    }

    #[test]
    fn a_version_1_database_is_migrated_to_the_fetch_cache_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute_batch(
                "INSERT INTO digests (id, created_at) VALUES ('d1', '2026-05-01T00:00:00Z');",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
        }
        let read_only = State::open_read_only(&path).unwrap().unwrap();
        assert_eq!(
            read_only.cached_fetch("https://a.example/feed").unwrap(),
            None
        );
        drop(read_only);
        let state = State::open(&path).unwrap();
        let version: i64 = state
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(state.digest_exists("d1").unwrap());
        assert_eq!(state.cached_fetch("https://a.example/feed").unwrap(), None);
    }

    #[test]
    fn the_ledger_has_no_status_index_to_rewrite_on_every_change() {
        let (_dir, state) = open_temp();
        let indexes: Vec<String> = state
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            !indexes.iter().any(|name| name == "deliveries_by_status"),
            "{indexes:?}"
        );
    }

    #[test]
    fn fetch_cache_keeps_the_last_stored_copy_per_url() {
        let (_dir, state) = open_temp();
        let url = "https://partner.example.com/feed.xml";
        state
            .store_fetch(
                url,
                Some("\"v1\""),
                None,
                b"<rss/>",
                at("2026-05-01T07:00:00+08:00"),
            )
            .unwrap();
        state
            .store_fetch(
                url,
                None,
                Some("Fri, 01 May 2026 00:00:00 GMT"),
                b"<rss>2</rss>",
                at("2026-05-02T07:00:00+08:00"),
            )
            .unwrap();
        let cached = state.cached_fetch(url).unwrap().unwrap();
        assert_eq!(cached.etag, None);
        assert_eq!(
            cached.last_modified.as_deref(),
            Some("Fri, 01 May 2026 00:00:00 GMT")
        );
        assert_eq!(cached.body, b"<rss>2</rss>");
        assert_eq!(cached.fetched_at, "2026-05-01T23:00:00Z");
        assert_eq!(state.cached_fetch("https://other.example/").unwrap(), None);
    }

    #[test]
    fn read_only_open_creates_nothing_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none").join("state.db");
        assert!(State::open_read_only(&missing).unwrap().is_none());
        assert!(!dir.path().join("none").exists());

        let path = dir.path().join("state.db");
        State::open(&path)
            .unwrap()
            .store_fetch("u", None, None, b"x", at("2026-05-01T07:00:00Z"))
            .unwrap();
        let before = fs::read(&path).unwrap();
        let state = State::open_read_only(&path).unwrap().unwrap();
        assert_eq!(state.cached_fetch("u").unwrap().unwrap().body, b"x");
        let message =
            error_text(state.store_fetch("u", None, None, b"y", at("2026-05-02T07:00:00Z")));
        assert!(
            message.contains("cannot store the fetched copy of u"),
            "{message}"
        );
        drop(state);
        assert_eq!(fs::read(&path).unwrap(), before);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec!["state.db"], "no -wal or -shm left behind");
    }

    #[test]
    fn journal_mode_is_wal_with_full_sync_and_foreign_keys() {
        let (_dir, state) = open_temp();
        let mode: String = state
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let synchronous: i64 = state
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let foreign_keys: i64 = state
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(synchronous, 2, "FULL");
        assert_eq!(foreign_keys, 1);
    }

    #[test]
    fn the_build_record_round_trips_and_is_replaced() {
        let (_dir, state) = open_temp();
        assert_eq!(state.build_record().unwrap(), None);
        let first = BuildRecord {
            inputs: "abc".to_owned(),
            valid_from: Some(DateTime::parse_from_rfc3339("2026-11-28T09:00:00+08:00").unwrap()),
            valid_until: None,
            outputs: vec![("en/rss.xml".to_owned(), 1234, 1_700_000_000_000_000_000)],
        };
        state.store_build_record(&first).unwrap();
        assert_eq!(state.build_record().unwrap(), Some(first.clone()));
        let second = BuildRecord {
            inputs: "def".to_owned(),
            outputs: Vec::new(),
            ..first
        };
        state.store_build_record(&second).unwrap();
        assert_eq!(state.build_record().unwrap(), Some(second));
    }

    #[test]
    fn refuses_a_database_written_by_a_newer_gazette() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        drop(State::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let message = error_text(State::open(&path));
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("schema version 99"), "{message}");
        assert!(message.contains("upgrade gazette"), "{message}");
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite_without_changing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let text = "these are not the droids you are looking for\n".repeat(40);
        fs::write(&path, &text).unwrap();
        let message = error_text(State::open(&path));
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("is not a gazette state database"),
            "{message}"
        );
        assert!(message.contains("[state] path"), "{message}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn refuses_another_programs_sqlite_database_without_changing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 1;")
            .unwrap();
        let message = error_text(State::open(&path));
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("not a gazette state database"),
            "{message}"
        );
        let mode: String = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[test]
    fn create_digest_records_lowercased_pending_deliveries() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("Zoe@Example.ORG", "en"), ("li.wei@example.org", "zh")],
        );
        let due = state.due_deliveries(at("2026-05-01T07:00:00Z")).unwrap();
        assert_eq!(
            due,
            vec![
                Delivery {
                    digest_id: "d1".into(),
                    email: "li.wei@example.org".into(),
                    locale: "zh".into(),
                    status: Status::Pending,
                    attempts: 0,
                    last_error: None,
                },
                Delivery {
                    digest_id: "d1".into(),
                    email: "zoe@example.org".into(),
                    locale: "en".into(),
                    status: Status::Pending,
                    attempts: 0,
                    last_error: None,
                },
            ]
        );
    }

    #[test]
    fn a_story_already_in_a_digest_fails_the_whole_new_digest() {
        let (_dir, mut state) = open_temp();
        state
            .create_digest(
                "d1",
                at("2026-05-01T07:00:00Z"),
                &strings(&["s1", "s2"]),
                &recipients(&[("a@example.org", "en")]),
            )
            .unwrap();
        let result = state.create_digest(
            "d2",
            at("2026-05-02T07:00:00Z"),
            &strings(&["s3", "s1"]),
            &recipients(&[("b@example.org", "en")]),
        );
        let message = error_text(result);
        assert!(
            message.contains("story `s1` is already in digest `d1`"),
            "{message}"
        );
        assert!(
            message.contains(&state.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("UNIQUE"), "{message}");
        assert!(!state.digest_exists("d2").unwrap());
        assert_eq!(
            state.included_story_ids().unwrap(),
            ["s1", "s2"].iter().map(|s| s.to_string()).collect()
        );
        assert_eq!(state.counts().unwrap().total(), 1);
    }

    #[test]
    fn a_story_twice_in_one_digest_or_a_repeated_recipient_records_nothing() {
        let (_dir, mut state) = open_temp();
        let message = error_text(state.create_digest(
            "d1",
            at("2026-05-01T07:00:00Z"),
            &strings(&["s1", "s1"]),
            &recipients(&[("a@example.org", "en")]),
        ));
        assert!(
            message.contains("story `s1` is already in digest `d1`"),
            "{message}"
        );
        let message = error_text(state.create_digest(
            "d1",
            at("2026-05-01T07:00:00Z"),
            &strings(&["s1"]),
            &recipients(&[("a@example.org", "en"), ("A@example.org", "zh")]),
        ));
        assert!(
            message.contains("recipient a@example.org appears twice"),
            "{message}"
        );
        assert!(!state.digest_exists("d1").unwrap());
        assert!(state.included_story_ids().unwrap().is_empty());
        assert_eq!(state.counts().unwrap(), Counts::default());
    }

    #[test]
    fn an_existing_digest_id_is_refused() {
        let (_dir, mut state) = open_temp();
        digest(&mut state, "d1", "2026-05-01T07:00:00Z", &[]);
        let message = error_text(state.create_digest(
            "d1",
            at("2026-05-02T07:00:00Z"),
            &strings(&["other"]),
            &[],
        ));
        assert!(message.contains("digest `d1` already exists"), "{message}");
        assert!(!state.included_story_ids().unwrap().contains("other"));
    }

    #[test]
    fn digest_story_ids_of_an_unknown_digest_is_an_error() {
        let (_dir, state) = open_temp();
        let message = error_text(state.digest_story_ids("nope"));
        assert!(message.contains("no digest `nope`"), "{message}");
    }

    #[test]
    fn suppressed_recipients_are_not_added_to_a_new_digest() {
        let (_dir, mut state) = open_temp();
        let now = at("2026-05-01T06:00:00Z");
        assert!(
            state
                .suppress("Zoe@Example.org", "unsubscribed", now)
                .unwrap()
        );
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("zoe@example.org", "en"), ("li.wei@example.org", "zh")],
        );
        assert_eq!(
            due_keys(&state, "2026-05-01T07:00:00Z"),
            vec![("d1".to_string(), "li.wei@example.org".to_string())]
        );
    }

    #[test]
    fn due_deliveries_come_oldest_digest_first_then_by_email() {
        let (_dir, mut state) = open_temp();
        // 2026-05-01T17:00Z: later than `early` despite the earlier local date.
        digest(
            &mut state,
            "late",
            "2026-05-02T01:00:00+08:00",
            &[("b@x.org", "en"), ("a@x.org", "en")],
        );
        digest(
            &mut state,
            "early",
            "2026-05-01T09:00:00Z",
            &[("c@x.org", "en"), ("a@x.org", "en")],
        );
        let keys = due_keys(&state, "2026-05-02T00:00:00Z");
        let expected: Vec<(String, String)> = [
            ("early", "a@x.org"),
            ("early", "c@x.org"),
            ("late", "a@x.org"),
            ("late", "b@x.org"),
        ]
        .iter()
        .map(|(d, e)| (d.to_string(), e.to_string()))
        .collect();
        assert_eq!(keys, expected);
    }

    #[test]
    fn a_deferred_delivery_is_due_only_after_its_backoff() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en")],
        );
        let deferred = DeliveryOutcome::Deferred("451 try again later".into());

        state
            .mark_sending("d1", "a@x.org", at("2026-05-01T08:00:00Z"))
            .unwrap();
        let status = state
            .record_outcome("d1", "A@x.org", &deferred, at("2026-05-01T08:00:00Z"))
            .unwrap();
        assert_eq!(status, Status::Deferred);
        let row = delivery(&state, "d1", "a@x.org");
        assert_eq!((row.status, row.attempts), (Status::Deferred, 1));
        assert_eq!(row.last_error.as_deref(), Some("451 try again later"));

        assert!(due_keys(&state, "2026-05-01T08:04:59Z").is_empty());
        let message = error_text(state.mark_sending("d1", "a@x.org", at("2026-05-01T08:04:59Z")));
        assert!(message.contains("is deferred, not due"), "{message}");
        assert_eq!(due_keys(&state, "2026-05-01T08:05:00Z").len(), 1);

        // Second deferral: 10 minutes.
        state
            .mark_sending("d1", "a@x.org", at("2026-05-01T08:05:00Z"))
            .unwrap();
        state
            .record_outcome("d1", "a@x.org", &deferred, at("2026-05-01T08:05:00Z"))
            .unwrap();
        assert!(due_keys(&state, "2026-05-01T08:14:59Z").is_empty());
        assert_eq!(due_keys(&state, "2026-05-01T08:15:00Z").len(), 1);
    }

    #[test]
    fn retry_delay_doubles_from_five_minutes_up_to_six_hours() {
        let minutes: Vec<i64> = (1..=10).map(|n| retry_delay(n).num_minutes()).collect();
        assert_eq!(minutes, vec![5, 10, 20, 40, 80, 160, 320, 360, 360, 360]);
        assert_eq!(retry_delay(u32::MAX).num_minutes(), 360);
    }

    #[test]
    fn the_tenth_deferred_attempt_gives_up_as_failed() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en")],
        );
        let mut now = at("2026-05-01T08:00:00Z");
        let deferred = DeliveryOutcome::Deferred("421 busy".into());
        for attempt in 1..=10 {
            state.mark_sending("d1", "a@x.org", now).unwrap();
            let status = state
                .record_outcome("d1", "a@x.org", &deferred, now)
                .unwrap();
            let expected = if attempt < 10 {
                Status::Deferred
            } else {
                Status::Failed
            };
            assert_eq!(status, expected, "attempt {attempt}");
            now += TimeDelta::hours(6);
        }
        let row = delivery(&state, "d1", "a@x.org");
        assert_eq!((row.status, row.attempts), (Status::Failed, 10));
        assert_eq!(
            row.last_error.as_deref(),
            Some("gave up after 10 attempts; last: 421 busy")
        );
        assert!(state.due_deliveries(now).unwrap().is_empty());
    }

    #[test]
    fn a_failure_with_suppress_adds_the_address_and_fails_its_other_deliveries() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("Gone@x.org", "en"), ("b@x.org", "en")],
        );
        digest(
            &mut state,
            "d2",
            "2026-05-02T07:00:00Z",
            &[("gone@x.org", "en")],
        );
        let now = at("2026-05-02T08:00:00Z");

        state.mark_sending("d1", "b@x.org", now).unwrap();
        let plain = DeliveryOutcome::Failed {
            reason: "554 policy".into(),
            suppress: false,
        };
        assert_eq!(
            state.record_outcome("d1", "b@x.org", &plain, now).unwrap(),
            Status::Failed
        );
        assert!(!state.is_suppressed("b@x.org").unwrap());

        state.mark_sending("d1", "gone@x.org", now).unwrap();
        let bad = DeliveryOutcome::Failed {
            reason: "550 5.1.1 no such user".into(),
            suppress: true,
        };
        assert_eq!(
            state.record_outcome("d1", "gone@x.org", &bad, now).unwrap(),
            Status::Failed
        );
        assert!(state.is_suppressed("GONE@x.org").unwrap());
        let reason: String = state
            .conn
            .query_row(
                "SELECT reason FROM suppressions WHERE email = 'gone@x.org'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(reason, "550 5.1.1 no such user");
        assert_eq!(
            delivery(&state, "d1", "gone@x.org").last_error.as_deref(),
            Some("550 5.1.1 no such user")
        );
        let other = delivery(&state, "d2", "gone@x.org");
        assert_eq!(
            (other.status, other.last_error.as_deref()),
            (Status::Failed, Some("suppressed"))
        );
        assert!(state.due_deliveries(now).unwrap().is_empty());
    }

    #[test]
    fn suppress_reports_whether_the_address_is_new_and_fails_outstanding_deliveries() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en")],
        );
        let now = at("2026-05-01T08:00:00Z");
        assert!(state.suppress("A@X.org", "complaint", now).unwrap());
        assert!(!state.suppress("a@x.org", "again", now).unwrap());
        assert_eq!(delivery(&state, "d1", "a@x.org").status, Status::Failed);
        let message = error_text(state.mark_sending("d1", "a@x.org", now));
        assert!(message.contains("is failed, not due"), "{message}");
    }

    #[test]
    fn sent_is_final_and_a_delivery_is_claimed_only_once() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en")],
        );
        let now = at("2026-05-01T08:00:00Z");
        state.mark_sending("d1", "a@x.org", now).unwrap();
        let message = error_text(state.mark_sending("d1", "a@x.org", now));
        assert!(message.contains("is sending, not due"), "{message}");
        assert_eq!(
            state
                .record_outcome("d1", "a@x.org", &DeliveryOutcome::Sent, now)
                .unwrap(),
            Status::Sent
        );
        let message =
            error_text(state.record_outcome("d1", "a@x.org", &DeliveryOutcome::Sent, now));
        assert!(message.contains("is sent, not sending"), "{message}");
        assert!(state.due_deliveries(now).unwrap().is_empty());
        let message = error_text(state.mark_sending("d1", "b@x.org", now));
        assert!(
            message.contains("no delivery of digest `d1` to b@x.org"),
            "{message}"
        );
    }

    #[test]
    fn recover_interrupted_turns_sending_into_unknown_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let now = at("2026-05-01T08:00:00Z");
        {
            let mut state = State::open(&path).unwrap();
            digest(
                &mut state,
                "d1",
                "2026-05-01T07:00:00Z",
                &[("a@x.org", "en"), ("b@x.org", "en")],
            );
            state.mark_sending("d1", "a@x.org", now).unwrap();
            // Dropped without recording an outcome: the process died mid-send.
        }
        let state = State::open(&path).unwrap();
        assert_eq!(state.counts().unwrap().sending, 1);
        assert_eq!(state.recover_interrupted(now).unwrap(), 1);
        assert_eq!(state.recover_interrupted(now).unwrap(), 0);
        let unknown = state.unknown_deliveries().unwrap();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].email, "a@x.org");
        assert_eq!(unknown[0].status, Status::Unknown);
        assert_eq!(unknown[0].attempts, 1);
        assert!(
            unknown[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("interrupted")
        );
        assert_eq!(
            due_keys(&state, "2026-05-09T00:00:00Z"),
            vec![("d1".to_string(), "b@x.org".to_string())]
        );
    }

    #[test]
    fn requeue_unknown_makes_unknown_deliveries_pending_except_suppressed() {
        let (_dir, mut state) = open_temp();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en"), ("b@x.org", "en")],
        );
        let now = at("2026-05-01T08:00:00Z");
        for email in ["a@x.org", "b@x.org"] {
            state.mark_sending("d1", email, now).unwrap();
            let outcome = DeliveryOutcome::Unknown("connection lost after end of data".into());
            assert_eq!(
                state.record_outcome("d1", email, &outcome, now).unwrap(),
                Status::Unknown
            );
        }
        state.suppress("b@x.org", "unsubscribed", now).unwrap();
        assert!(state.due_deliveries(now).unwrap().is_empty());
        assert_eq!(state.requeue_unknown(now).unwrap(), 1);
        assert_eq!(
            due_keys(&state, "2026-05-01T08:00:00Z"),
            vec![("d1".to_string(), "a@x.org".to_string())]
        );
        let unknown = state.unknown_deliveries().unwrap();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].email, "b@x.org");
        assert_eq!(state.requeue_unknown(now).unwrap(), 0);
    }

    #[test]
    fn counts_reports_each_status() {
        let (_dir, mut state) = open_temp();
        let emails = [
            "p@x.org", "s1@x.org", "s2@x.org", "f@x.org", "d@x.org", "u@x.org", "i@x.org",
        ];
        let to: Vec<(&str, &str)> = emails.iter().map(|e| (*e, "en")).collect();
        digest(&mut state, "d1", "2026-05-01T07:00:00Z", &to);
        let now = at("2026-05-01T08:00:00Z");
        let outcomes = [
            ("s1@x.org", DeliveryOutcome::Sent),
            ("s2@x.org", DeliveryOutcome::Sent),
            (
                "f@x.org",
                DeliveryOutcome::Failed {
                    reason: "550".into(),
                    suppress: false,
                },
            ),
            ("d@x.org", DeliveryOutcome::Deferred("451".into())),
            ("u@x.org", DeliveryOutcome::Unknown("lost".into())),
        ];
        for (email, outcome) in &outcomes {
            state.mark_sending("d1", email, now).unwrap();
            state.record_outcome("d1", email, outcome, now).unwrap();
        }
        state.mark_sending("d1", "i@x.org", now).unwrap();
        assert_eq!(
            state.counts().unwrap(),
            Counts {
                pending: 1,
                sending: 1,
                sent: 2,
                failed: 1,
                deferred: 1,
                unknown: 1
            }
        );
        assert_eq!(state.counts().unwrap().total(), 7);
    }

    #[test]
    fn status_text_round_trips_and_rejects_unknown_words() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
        }
        let message = error_text("queued".parse::<Status>());
        assert!(
            message.contains("`queued` is not a delivery status"),
            "{message}"
        );
    }

    #[test]
    fn a_second_send_lock_fails_while_the_first_is_held_and_succeeds_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let first = lock(&path).unwrap();
        let lock_file = dir
            .path()
            .join("nested")
            .join(".gazette")
            .join("state.db.lock");
        assert_eq!(first.path(), lock_file);
        let message = error_text(lock(&path));
        assert_eq!(
            message,
            format!(
                "another `gazette send` is running (lock held on {}); wait for it to finish",
                lock_file.display()
            )
        );
        drop(first);
        let again = lock(&path).unwrap();
        drop(again);
        assert!(lock_file.exists());
    }
}

//! The shape of the state database file: how a gazette database is told
//! apart from any other file (`application_id`), the connection settings
//! every exactly-once rule relies on (WAL, `synchronous = FULL`, foreign
//! keys), and the migrations from each older schema version to this
//! build's.
//!
//! It must never edit a migration that has shipped (append a new one), and
//! never write to a file before it is recognised as ours or as empty; it
//! reads and writes no rows.

use super::State;
use anyhow::{Context, Result, bail};
use rusqlite::ErrorCode;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// `PRAGMA application_id` of a gazette database ("gzst"), so a different
/// SQLite file at the configured path is recognised instead of altered.
const APPLICATION_ID: i32 = 0x677a_7374;

/// How long a statement waits for another connection's write lock (a
/// `build` recording while `send` runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations in order: entry `i` takes the database from version
/// `i` to version `i + 1` (`PRAGMA user_version`). Append, never edit.
const MIGRATIONS: &[&str] = &[
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9, SCHEMA_V10,
];

/// The schema version this build writes and understands.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: digests, their stories, the delivery ledger, suppressions.
/// The `status` CHECK spells out [`Status`](super::Status)'s words itself:
/// a shipped migration is never edited, so it is not built from the enum;
/// a test in `status` keeps the two in step.
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
/// outcome changes a row's status, and an index on it would make each such
/// change rewrite two more pages (remove and re-insert the entry) in the
/// commit a message waits for; the few queries by status run once per
/// `send` and scan the table instead (100,000 rows: milliseconds).
const SCHEMA_V4: &str = "DROP INDEX deliveries_by_status;";

/// Version 5: the items of each feed source that were skipped (no date,
/// no title, no link), keyed by the source's name and the warning's text
/// (which names the item), so a skipped item is warned about once, when a
/// build first sees it, not on every build.
const SCHEMA_V5: &str = "
CREATE TABLE skipped_items (
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (source, reason)
) STRICT;
";

/// Version 6: the list itself. `origin` says who added a reader (the
/// editor's file, or their own sign-up); `in_file` whether the latest file
/// still lists a `csv` reader; the `*_chosen` flags mark what the reader
/// set themselves, which the editor's file never overwrites. `import`
/// readers came from `gazette subscribers import` of another file: the
/// editor's file leaving them out does not remove them. `topics` is a
/// JSON array. Unsubscribes stay in `suppressions`, which always wins.
const SCHEMA_V6: &str = "
CREATE TABLE subscribers (
    email         TEXT PRIMARY KEY NOT NULL CHECK (email = lower(email)),
    address       TEXT NOT NULL,
    name          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    topics        TEXT NOT NULL,
    origin        TEXT NOT NULL CHECK (origin IN ('csv', 'import', 'signup')),
    in_file       INTEGER NOT NULL CHECK (in_file IN (0, 1)),
    name_chosen   INTEGER NOT NULL DEFAULT 0 CHECK (name_chosen IN (0, 1)),
    locale_chosen INTEGER NOT NULL DEFAULT 0 CHECK (locale_chosen IN (0, 1)),
    topics_chosen INTEGER NOT NULL DEFAULT 0 CHECK (topics_chosen IN (0, 1)),
    confirmed_at  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
";

/// Version 7: the list's mailbox. `inbound` holds every incoming message
/// processed (by its Message-ID, or a hash of its bytes), so processing it
/// again changes nothing; `soft_bounces` the transient failures counted
/// toward `digest.soft_bounce_limit`.
const SCHEMA_V7: &str = "
CREATE TABLE inbound (
    message_key  TEXT PRIMARY KEY NOT NULL,
    outcome      TEXT NOT NULL,
    processed_at TEXT NOT NULL
) STRICT;

CREATE TABLE soft_bounces (
    email       TEXT NOT NULL CHECK (email = lower(email)),
    message_key TEXT NOT NULL,
    status      TEXT NOT NULL,
    diagnostic  TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (email, message_key)
) STRICT;
";

/// Version 8: who claimed each delivery (a send worker's id, see
/// `worker`), so that several senders sharing one ledger can tell a dead
/// worker's rows from a live one's. NULL: nobody holds the row.
const SCHEMA_V8: &str = "ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;";

/// Version 9: the ledger's `status` CHECK as a chain of `=` instead of
/// `IN (…)`, which allows the same six words. SQLite evaluates a CHECK on
/// every insert and on every update of its column, and it evaluates an
/// `IN` list of more than two values by filling a temporary b-tree with
/// the list first, once per statement: with one row per statement (each
/// recorded delivery, each claim, each outcome) that was about 4 µs of a
/// row's 7–10 µs. SQLite cannot alter a CHECK in place, so the table is
/// rebuilt (nothing references it; it has no index besides its key); the
/// rows are copied as they are, in one transaction with the version bump.
const SCHEMA_V9: &str = "
CREATE TABLE deliveries_v9 (
    digest_id       TEXT NOT NULL REFERENCES digests (id),
    email           TEXT NOT NULL CHECK (email = lower(email)),
    locale          TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status = 'pending' OR status = 'sending' OR status = 'sent'
               OR status = 'failed' OR status = 'deferred' OR status = 'unknown'),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    claimed_by      TEXT,
    PRIMARY KEY (digest_id, email)
) STRICT;
INSERT INTO deliveries_v9 (digest_id, email, locale, status, attempts, next_attempt_at,
                           last_error, updated_at, claimed_by)
    SELECT digest_id, email, locale, status, attempts, next_attempt_at,
           last_error, updated_at, claimed_by
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v9 RENAME TO deliveries;
";

/// Version 10: the list's `origin` CHECK as a chain of `=`, for the
/// reason of version 9: one reader stored per statement (a first import,
/// a first `send`, a sign-up) paid for SQLite filling a temporary b-tree
/// with the three words each time, about 3–6 µs of a row (10⁶ rows: the
/// better part of the import). The same three words are allowed. The table
/// is rebuilt as version 9 rebuilt the ledger (nothing references it; its
/// only index is its key), keeping each row's `rowid`, which is the order
/// readers joined in.
const SCHEMA_V10: &str = "
CREATE TABLE subscribers_v10 (
    email         TEXT PRIMARY KEY NOT NULL CHECK (email = lower(email)),
    address       TEXT NOT NULL,
    name          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    topics        TEXT NOT NULL,
    origin        TEXT NOT NULL
        CHECK (origin = 'csv' OR origin = 'import' OR origin = 'signup'),
    in_file       INTEGER NOT NULL CHECK (in_file IN (0, 1)),
    name_chosen   INTEGER NOT NULL DEFAULT 0 CHECK (name_chosen IN (0, 1)),
    locale_chosen INTEGER NOT NULL DEFAULT 0 CHECK (locale_chosen IN (0, 1)),
    topics_chosen INTEGER NOT NULL DEFAULT 0 CHECK (topics_chosen IN (0, 1)),
    confirmed_at  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
INSERT INTO subscribers_v10 (rowid, email, address, name, locale, topics, origin, in_file,
                             name_chosen, locale_chosen, topics_chosen, confirmed_at,
                             created_at, updated_at)
    SELECT rowid, email, address, name, locale, topics, origin, in_file,
           name_chosen, locale_chosen, topics_chosen, confirmed_at, created_at, updated_at
    FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_v10 RENAME TO subscribers;
";

/// The PostgreSQL schema, version 8: the SQLite schema after all of the
/// migrations above (its version 10), the same tables, columns and checks;
/// the status and origin checks keep their `IN (…)`, which PostgreSQL
/// tests without the cost that made SQLite's versions 9 and 10. Text is
/// compared byte by byte (`COLLATE "C"`), as SQLite does, so timestamps
/// and addresses sort the same on both; numbers are `bigint`.
/// `gazette_schema` says the database is ours and at which version.
const POSTGRES_V8: &str = r#"
CREATE TABLE gazette_schema (
    application TEXT COLLATE "C" PRIMARY KEY CHECK (application = 'gazette'),
    version     BIGINT NOT NULL
);

CREATE TABLE digests (
    id         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE digest_stories (
    digest_id TEXT COLLATE "C" NOT NULL REFERENCES digests (id),
    story_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    position  BIGINT NOT NULL CHECK (position >= 0),
    PRIMARY KEY (digest_id, position)
);

CREATE TABLE deliveries (
    digest_id       TEXT COLLATE "C" NOT NULL REFERENCES digests (id),
    email           TEXT COLLATE "C" NOT NULL CHECK (email = lower(email)),
    locale          TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'deferred', 'unknown')),
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT COLLATE "C",
    last_error      TEXT,
    updated_at      TEXT COLLATE "C" NOT NULL,
    claimed_by      TEXT COLLATE "C",
    PRIMARY KEY (digest_id, email)
);

CREATE TABLE suppressions (
    email      TEXT COLLATE "C" PRIMARY KEY NOT NULL CHECK (email = lower(email)),
    reason     TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE fetch_cache (
    url           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    body          BYTEA NOT NULL,
    fetched_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE build_record (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    inputs      TEXT NOT NULL,
    valid_from  TEXT COLLATE "C",
    valid_until TEXT COLLATE "C",
    outputs     TEXT NOT NULL
);

CREATE TABLE skipped_items (
    source     TEXT COLLATE "C" NOT NULL,
    reason     TEXT COLLATE "C" NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (source, reason)
);

-- `seq` keeps the order readers were added in (SQLite's rowid).
CREATE TABLE subscribers (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    email         TEXT COLLATE "C" PRIMARY KEY NOT NULL CHECK (email = lower(email)),
    address       TEXT NOT NULL,
    name          TEXT NOT NULL,
    locale        TEXT COLLATE "C" NOT NULL,
    topics        TEXT NOT NULL,
    origin        TEXT COLLATE "C" NOT NULL CHECK (origin IN ('csv', 'import', 'signup')),
    in_file       BIGINT NOT NULL CHECK (in_file IN (0, 1)),
    name_chosen   BIGINT NOT NULL DEFAULT 0 CHECK (name_chosen IN (0, 1)),
    locale_chosen BIGINT NOT NULL DEFAULT 0 CHECK (locale_chosen IN (0, 1)),
    topics_chosen BIGINT NOT NULL DEFAULT 0 CHECK (topics_chosen IN (0, 1)),
    confirmed_at  TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE inbound (
    message_key  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    outcome      TEXT NOT NULL,
    processed_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE soft_bounces (
    email       TEXT COLLATE "C" NOT NULL CHECK (email = lower(email)),
    message_key TEXT COLLATE "C" NOT NULL,
    status      TEXT NOT NULL,
    diagnostic  TEXT NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (email, message_key)
);

INSERT INTO gazette_schema (application, version) VALUES ('gazette', 8);
"#;

/// The PostgreSQL schema version this build writes.
const POSTGRES_VERSION: i64 = 8;

impl State {
    /// The SQLite connection, for what only SQLite has (pragmas, the
    /// file's identity).
    pub(super) fn sqlite_conn(&self) -> Result<&rusqlite::Connection> {
        match &self.db {
            super::Db::Sqlite(conn) => Ok(conn),
            super::Db::Postgres(_) => bail!("{} is not a SQLite file", self.label),
        }
    }

    /// The schema version of gazette's tables in a PostgreSQL database;
    /// `None` when gazette made none there yet. Fails when the database
    /// holds gazette's table names without being gazette's.
    pub(super) fn postgres_version(&self) -> Result<Option<i64>> {
        let label = &self.label;
        let tables: Vec<String> = self
            .db
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema()
                   AND table_name IN ('gazette_schema', 'deliveries', 'digests', 'subscribers')",
                &[],
                |row| row.text(0),
            )
            .with_context(|| format!("cannot read the tables of {label}"))?;
        if tables.is_empty() {
            return Ok(None);
        }
        if !tables.iter().any(|t| t == "gazette_schema") {
            bail!(
                "{label} has tables named like gazette's ({}) but no gazette_schema table: \
                 it is not a gazette state; point `state.url` at a database (or add \
                 `?options=-csearch_path%3Dgazette` for a schema) of gazette's own",
                tables.join(", ")
            );
        }
        let version = self
            .db
            .query_one("SELECT version FROM gazette_schema", &[], |row| row.int(0))
            .with_context(|| format!("cannot read the schema version of {label}"))?;
        if version > POSTGRES_VERSION {
            bail!(
                "{label} has schema version {version}, newer than the version \
                 {POSTGRES_VERSION} this gazette understands; it was written by a newer \
                 gazette: upgrade gazette on this host"
            );
        }
        Ok(Some(version))
    }

    /// Creates gazette's tables in a PostgreSQL database that has none,
    /// in one transaction under the write lock, so that several workers
    /// starting at once create them once.
    pub(super) fn migrate_postgres(&self) -> Result<()> {
        let label = self.label.clone();
        let tx = self.write_transaction()?;
        if self.postgres_version()?.is_none() {
            self.db
                .batch(POSTGRES_V8)
                .with_context(|| format!("cannot create gazette's tables in {label}"))?;
        }
        tx.commit()
            .with_context(|| format!("cannot create gazette's tables in {label}"))
    }

    /// Refuses files that are not ours before anything writes to them.
    pub(super) fn check_identity(&self) -> Result<()> {
        let path = &self.label;
        let conn = self.sqlite_conn()?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .with_context(|| format!("cannot configure the state database {path}"))?;
        let header = conn.query_row(
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
    pub(super) fn configure(&self) -> Result<()> {
        let path = &self.label;
        let conn = self.sqlite_conn()?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .with_context(|| format!("cannot switch the state database {path} to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(
                "the state database {path} stays in `{mode}` journal mode instead of WAL; \
                 put it on a local file system"
            );
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .and_then(|()| conn.pragma_update(None, "foreign_keys", true))
            .with_context(|| format!("cannot configure the state database {path}"))?;
        Ok(())
    }

    /// Applies the migrations this file has not seen, in one transaction
    /// (IMMEDIATE, so two processes opening a new file migrate it once).
    pub(super) fn migrate(&self) -> Result<()> {
        let path = &self.label;
        let conn = self.sqlite_conn()?;
        let tx = self.write_transaction()?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .with_context(|| format!("cannot read the schema version of {path}"))?;
        if version >= SCHEMA_VERSION {
            return Ok(());
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let to = index + 1;
            conn.execute_batch(migration)
                .and_then(|()| conn.pragma_update(None, "user_version", to as i64))
                .with_context(|| {
                    format!("cannot migrate the state database {path} to version {to}")
                })?;
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .with_context(|| format!("cannot migrate the state database {path}"))?;
        tx.commit()
            .with_context(|| format!("cannot migrate the state database {path}"))
    }

    /// Whether table `name` exists: a database opened read-only may predate
    /// it (it is not migrated), and what it lacks then reads as empty.
    pub(super) fn has_table(&self, name: &str) -> Result<bool> {
        let sql = match self.db.backend() {
            super::db::Backend::Sqlite => {
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1"
            }
            super::db::Backend::Postgres => {
                "SELECT 1 FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = ?1"
            }
        };
        Ok(self
            .db
            .query_opt(sql, super::db::args![name], |_| Ok(()))?
            .is_some())
    }
}

//! The list as the state database keeps it: the editor's file merged in
//! (each `send`, `serve` start and `gazette subscribers import`), readers'
//! own choices recorded, and every entry read back for sending and for
//! `gazette subscribers list`.
//!
//! It stores and returns rows; it never decides whose value wins (that is
//! `subscribers::merge`) beyond keeping a chosen field when the file
//! changes, and never touches suppressions.

use super::db::{Backend, Row, Value, args};
use super::{State, normalize_email, timestamp};
use crate::model::{ListEntry, ListOrigin, ReaderChoices, Subscriber};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset};
use std::collections::{HashMap, HashSet};

/// What a merge of the editor's file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSync {
    pub added: u64,
    pub updated: u64,
    /// File readers the file no longer lists (they get no more mail).
    pub removed: u64,
}

/// Where a sign-up stands after [`State::sign_up`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUp {
    /// New, or still unconfirmed (details refreshed): send a confirmation.
    AwaitingConfirmation,
    /// Already a reader (from the file, an import, or a confirmed sign-up).
    AlreadyListed,
    /// Suppressed: nothing is sent, whatever the form says.
    Suppressed,
}

/// What a reader changes on their preferences page; `None` leaves a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    pub name: Option<String>,
    pub locale: Option<String>,
    pub topics: Option<Vec<String>>,
}

fn topics_json(topics: &[String]) -> String {
    serde_json::to_string(topics).unwrap_or_else(|_| "[]".to_owned())
}

/// The editor's file during a merge (see [`State::sync_file`]): a
/// temporary table, so it is the connection's own and never on disk with
/// the database. `seq` keeps the file's order.
const FILE_TABLE_SQLITE: &str = "
CREATE TEMP TABLE IF NOT EXISTS file_readers (
    seq     INTEGER PRIMARY KEY,
    email   TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    name    TEXT NOT NULL,
    locale  TEXT NOT NULL,
    topics  TEXT NOT NULL
);
DELETE FROM file_readers;";
const FILE_TABLE_POSTGRES: &str = r#"
CREATE TEMP TABLE IF NOT EXISTS file_readers (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email   TEXT COLLATE "C" NOT NULL UNIQUE,
    address TEXT NOT NULL,
    name    TEXT NOT NULL,
    locale  TEXT COLLATE "C" NOT NULL,
    topics  TEXT NOT NULL
);
DELETE FROM file_readers;"#;

/// File rows per insert into `file_readers`.
const FILE_BATCH: usize = 1000;

/// Which file a merge reads, which decides what its absence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The editor's own file (`digest.subscribers`): a `csv` reader it no
    /// longer lists gets no more mail.
    Editors,
    /// Another file, from `gazette subscribers import`: its readers are
    /// `import` readers, and it removes no one.
    Import,
}

impl FileKind {
    /// The `origin` of the readers it adds.
    fn origin(self) -> &'static str {
        match self {
            FileKind::Editors => "csv",
            FileKind::Import => "import",
        }
    }
}

/// Where a merge stores the rows of the file as they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MergeTarget {
    /// Into `file_readers`, compared with the list at `finish`.
    Staged,
    /// Straight into the list, which was empty when the merge began (a
    /// first import, a first `send`): with nothing to compare with, every
    /// row is new, and the staging table would only double the writes (the
    /// 10⁶-row first import took 40% of its time copying it into the list).
    /// An address already stored is then a duplicate row of the file, as in
    /// the staging table.
    Direct,
}

fn merge_context(state: &State) -> String {
    format!("cannot merge the subscriber file into {}", state.label)
}

/// An editor's file being merged into the list, row by row, so that a
/// file of any size is never held whole: [`FileMerge::add`] each row, in
/// file order, then [`FileMerge::finish`]. An address listed twice keeps
/// its first row; the later ones are reported (by line) by
/// [`FileMerge::take_duplicates`] and `finish`.
pub struct FileMerge<'s> {
    state: &'s State,
    tx: super::db::Tx<'s>,
    now: String,
    kind: FileKind,
    /// Where the rows go as they are added.
    target: MergeTarget,
    /// Readers stored so far by a [`MergeTarget::Direct`] merge.
    added: u64,
    /// (ledger address, address, name, locale, topics JSON), not yet
    /// inserted, and the line of each.
    batch: Vec<[String; 5]>,
    batch_lines: Vec<u64>,
    batch_keys: HashSet<String>,
    /// (line, address as written) of rows that came after one for the
    /// same reader.
    duplicates: Vec<(u64, String)>,
}

impl FileMerge<'_> {
    /// Adds one row of the file, read from `line`.
    pub fn add(&mut self, line: u64, subscriber: &Subscriber) -> Result<()> {
        let key = normalize_email(&subscriber.email);
        if !self.batch_keys.insert(key.clone()) {
            self.duplicates.push((line, subscriber.email.clone()));
            return Ok(());
        }
        self.batch_lines.push(line);
        self.batch.push([
            key,
            subscriber.email.clone(),
            subscriber.name.clone(),
            subscriber.locale.clone(),
            topics_json(&subscriber.topics),
        ]);
        if self.batch.len() == FILE_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// The addresses of rows skipped so far because an earlier row listed
    /// the same reader. Rows are stored in batches, so a duplicate is
    /// known once its batch is (every [`FILE_BATCH`] rows, and at `finish`).
    pub fn take_duplicates(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.duplicates)
    }

    /// Stores the rows added since the last flush; rows of readers stored
    /// by an earlier batch are duplicates.
    fn flush(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.batch);
        let lines = std::mem::take(&mut self.batch_lines);
        self.batch_keys.clear();
        if rows.is_empty() {
            return Ok(());
        }
        let db = &self.state.db;
        let context = || merge_context(self.state);
        // Whether each row was stored (or is a duplicate), in order.
        let stored: Vec<bool> = match db.backend() {
            // In-process: a cached statement per row costs microseconds.
            // (Not several rows per statement: SQLite then keeps a journal
            // of every page each statement changes, so that a failing row
            // could undo the others, and with readers in no order of their
            // addresses that is a page written per row.)
            Backend::Sqlite => {
                let mut stored = Vec::with_capacity(rows.len());
                let origin = self.kind.origin();
                for row in &rows {
                    let added = match self.target {
                        MergeTarget::Staged => db.execute(
                            "INSERT INTO file_readers (email, address, name, locale, topics)
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (email) DO NOTHING",
                            args![&row[0], &row[1], &row[2], &row[3], &row[4]],
                        ),
                        MergeTarget::Direct => db.execute(
                            "INSERT INTO subscribers (email, address, name, locale, topics,
                                 origin, in_file, created_at, updated_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)
                             ON CONFLICT (email) DO NOTHING",
                            args![
                                &row[0], &row[1], &row[2], &row[3], &row[4], origin, &self.now
                            ],
                        ),
                    }
                    .with_context(context)?;
                    stored.push(added == 1);
                }
                stored
            }
            // Over the network: one statement per batch.
            Backend::Postgres => {
                let column =
                    |n: usize| -> Vec<&str> { rows.iter().map(|row| row[n].as_str()).collect() };
                let columns: Vec<Vec<&str>> = (0..5).map(column).collect();
                let mut params: Vec<Value<'_>> = columns.iter().map(|c| Value::Texts(c)).collect();
                let sql = match self.target {
                    MergeTarget::Staged => {
                        "INSERT INTO file_readers (email, address, name, locale, topics)
                         SELECT r.email, r.address, r.name, r.locale, r.topics
                         FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[])
                             WITH ORDINALITY AS r (email, address, name, locale, topics, n)
                         ORDER BY n
                         ON CONFLICT (email) DO NOTHING
                         RETURNING email"
                    }
                    MergeTarget::Direct => {
                        params.push(Value::Text(self.kind.origin()));
                        params.push(Value::Text(&self.now));
                        "INSERT INTO subscribers (email, address, name, locale, topics,
                             origin, in_file, created_at, updated_at)
                         SELECT r.email, r.address, r.name, r.locale, r.topics, ?6, 1, ?7, ?7
                         FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[])
                             WITH ORDINALITY AS r (email, address, name, locale, topics, n)
                         ORDER BY n
                         ON CONFLICT (email) DO NOTHING
                         RETURNING email"
                    }
                };
                let returned: HashSet<String> = db
                    .query(sql, &params, |row| row.text(0))
                    .with_context(context)?
                    .into_iter()
                    .collect();
                rows.iter().map(|row| returned.contains(&row[0])).collect()
            }
        };
        if self.target == MergeTarget::Direct {
            self.added += stored.iter().filter(|stored| **stored).count() as u64;
        }
        self.duplicates.extend(
            rows.into_iter()
                .zip(lines)
                .zip(stored)
                .filter(|(_, stored)| !stored)
                .map(|(([_, address, ..], line), _)| (line, address)),
        );
        Ok(())
    }

    /// Merges what was added: new readers added, changed fields updated
    /// unless the reader chose them, and for the editor's own file
    /// ([`FileKind::Editors`]) file readers it no longer lists marked so.
    /// Commits. Returns what changed, and the duplicates not yet taken.
    pub fn finish(mut self) -> Result<(FileSync, Vec<(u64, String)>)> {
        self.flush()?;
        let duplicates = self.take_duplicates();
        if self.target == MergeTarget::Direct {
            // Every reader is stored already, and the list held no one
            // before, so no one was updated or left out.
            let added = self.added;
            let FileMerge { tx, state, .. } = self;
            tx.commit().with_context(|| merge_context(state))?;
            let sync = FileSync {
                added,
                ..FileSync::default()
            };
            return Ok((sync, duplicates));
        }
        let db = &self.state.db;
        let context = || merge_context(self.state);
        let now = &self.now;
        let origin = self.kind.origin();
        // Readers already listed first, then the new ones, so that the
        // join looks up only rows that were there before (on a first
        // import there are none), never the rows this merge adds.
        // A field the reader chose keeps its stored value; a row the file
        // leaves as it was is not written.
        let updated = db
            .execute(
                "UPDATE subscribers SET address = f.address,
                     name = CASE WHEN subscribers.name_chosen = 1 THEN subscribers.name ELSE f.name END,
                     locale = CASE WHEN subscribers.locale_chosen = 1
                                   THEN subscribers.locale ELSE f.locale END,
                     topics = CASE WHEN subscribers.topics_chosen = 1
                                   THEN subscribers.topics ELSE f.topics END,
                     in_file = 1, updated_at = ?1
                 FROM file_readers f
                 WHERE subscribers.email = f.email AND subscribers.origin IN ('csv', 'import')
                   AND (subscribers.in_file = 0 OR subscribers.address <> f.address
                        OR (subscribers.name_chosen = 0 AND subscribers.name <> f.name)
                        OR (subscribers.locale_chosen = 0 AND subscribers.locale <> f.locale)
                        OR (subscribers.topics_chosen = 0 AND subscribers.topics <> f.topics))",
                args![now],
            )
            .with_context(context)?;
        let added = db
            .execute(
                "INSERT INTO subscribers
                     (email, address, name, locale, topics, origin, in_file, created_at, updated_at)
                 SELECT f.email, f.address, f.name, f.locale, f.topics, ?2, 1, ?1, ?1
                 FROM file_readers f
                 WHERE NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = f.email)
                 ORDER BY f.seq",
                args![now, origin],
            )
            .with_context(context)?;
        let removed = if self.kind == FileKind::Editors {
            db.execute(
                "UPDATE subscribers SET in_file = 0, updated_at = ?1
                 WHERE origin = 'csv' AND in_file = 1
                   AND NOT EXISTS (SELECT 1 FROM file_readers f WHERE f.email = subscribers.email)",
                args![now],
            )
            .with_context(context)?
        } else {
            0
        };
        db.execute("DELETE FROM file_readers", &[])
            .with_context(context)?;
        let FileMerge { tx, .. } = self;
        tx.commit().with_context(context)?;
        Ok((
            FileSync {
                added,
                updated,
                removed,
            },
            duplicates,
        ))
    }
}

/// The columns [`entry`] reads, in its order.
const ENTRY_COLUMNS: &str = "address, name, locale, topics, origin, in_file, name_chosen,
    locale_chosen, topics_chosen, confirmed_at IS NOT NULL, confirmed_at";

fn entry(row: &Row<'_>) -> Result<ListEntry> {
    let topics = row.str(3)?;
    let origin = row.str(4)?;
    let confirmed_at: Option<String> = row.opt_text(10)?;
    Ok(ListEntry {
        subscriber: Subscriber {
            email: row.text(0)?,
            name: row.text(1)?,
            locale: row.text(2)?,
            topics: serde_json::from_str(topics).unwrap_or_default(),
            // Written by `timestamp`, so it parses; a sign-up's stories start there.
            since: confirmed_at
                .as_deref()
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok()),
        },
        origin: match origin {
            "signup" => ListOrigin::Signup,
            "import" => ListOrigin::Import,
            _ => ListOrigin::File,
        },
        in_file: row.flag(5)?,
        chosen: ReaderChoices {
            name: row.flag(6)?,
            locale: row.flag(7)?,
            topics: row.flag(8)?,
        },
        confirmed: row.flag(9)?,
    })
}

impl State {
    /// The column that keeps the order readers were added in.
    fn join_order(&self) -> &'static str {
        match self.db.backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "seq",
        }
    }
}

impl State {
    /// Merges the editor's file: new readers added, changed fields updated
    /// unless the reader chose them, readers the file no longer lists
    /// marked so (a sign-up is never touched by the file's absence). One
    /// transaction; only rows that change are written.
    pub fn sync_file(&self, file: &[Subscriber], now: DateTime<FixedOffset>) -> Result<FileSync> {
        let mut merge = self.begin_file_merge(FileKind::Editors, now)?;
        for subscriber in file {
            merge.add(0, subscriber)?;
        }
        merge.finish().map(|(sync, _)| sync)
    }

    /// Begins merging a file of readers row by row (see [`FileMerge`]), in
    /// one transaction that [`FileMerge::finish`] commits.
    pub fn begin_file_merge(
        &self,
        kind: FileKind,
        now: DateTime<FixedOffset>,
    ) -> Result<FileMerge<'_>> {
        let tx = self.write_transaction()?;
        let context = || merge_context(self);
        // Read inside the transaction, which no other writer of the list
        // shares, so no reader can be added before the merge's own rows.
        let empty = self
            .db
            .query_opt("SELECT 1 FROM subscribers LIMIT 1", &[], |row| row.int(0))
            .with_context(context)?
            .is_none();
        let target = if empty {
            MergeTarget::Direct
        } else {
            // Otherwise the file goes into a temporary table, and the merge
            // is three statements over it: the database compares, so
            // memory does not grow with the list.
            self.db
                .batch(match self.db.backend() {
                    Backend::Sqlite => FILE_TABLE_SQLITE,
                    Backend::Postgres => FILE_TABLE_POSTGRES,
                })
                .with_context(context)?;
            MergeTarget::Staged
        };
        Ok(FileMerge {
            state: self,
            tx,
            kind,
            target,
            added: 0,
            now: timestamp(now),
            batch: Vec::with_capacity(FILE_BATCH),
            batch_lines: Vec::with_capacity(FILE_BATCH),
            batch_keys: HashSet::new(),
            duplicates: Vec::new(),
        })
    }

    /// Every reader the database knows, in the order they joined.
    pub fn list_entries(&self) -> Result<Vec<ListEntry>> {
        self.entries_where("1 = 1")
    }

    /// The entries a dry run's merge needs: readers with a choice of their
    /// own, sign-ups and imports. File readers who chose nothing are
    /// exactly the file's rows, so they are not read back.
    pub fn list_overrides(&self) -> Result<Vec<ListEntry>> {
        self.entries_where(
            "name_chosen = 1 OR locale_chosen = 1 OR topics_chosen = 1 OR origin <> 'csv'",
        )
    }

    /// The entries matching `condition`, in the order they joined.
    fn entries_where(&self, condition: &str) -> Result<Vec<ListEntry>> {
        let order = self.join_order();
        self.read_list(&format!("{condition} ORDER BY {order}"), &[], entry)
    }

    /// Rows of `SELECT {ENTRY_COLUMNS}, email FROM subscribers WHERE
    /// {tail}`, each read by `read`; none in a database from before the list.
    fn read_list<T>(
        &self,
        tail: &str,
        params: &[Value<'_>],
        read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let context = || format!("cannot read the list from {}", self.label);
        if !self.has_table("subscribers").with_context(context)? {
            return Ok(Vec::new());
        }
        self.db
            .query(
                &format!("SELECT {ENTRY_COLUMNS}, email FROM subscribers WHERE {tail}"),
                params,
                read,
            )
            .with_context(context)
    }

    /// The entries of the list that may get mail (file readers the file
    /// still lists, imports, confirmed sign-ups) with addresses after
    /// `after` (by ledger address; `""` for the first), at most `limit`,
    /// in address order, each with its ledger address: a send reads the
    /// whole list this way, a batch at a time.
    pub fn active_entries(&self, after: &str, limit: u32) -> Result<Vec<(String, ListEntry)>> {
        self.read_list(
            "email > ?1
               AND ((origin = 'csv' AND in_file = 1) OR origin = 'import'
                    OR (origin = 'signup' AND confirmed_at IS NOT NULL))
             ORDER BY email LIMIT ?2",
            args![after, limit],
            |row| Ok((row.text(11)?, entry(row)?)),
        )
    }

    /// The entries of the list for these ledger addresses (those it has).
    pub fn entries_for(&self, emails: &[&str]) -> Result<HashMap<String, ListEntry>> {
        if emails.is_empty() {
            return Ok(HashMap::new());
        }
        let read = |row: &Row<'_>| Ok((row.text(11)?, entry(row)?));
        let found = match self.db.backend() {
            Backend::Sqlite => {
                // Batches are small (a send's 200): one `IN` list each.
                let marks: Vec<String> = (1..=emails.len()).map(|n| format!("?{n}")).collect();
                let params: Vec<Value<'_>> = emails.iter().map(|e| Value::Text(e)).collect();
                self.read_list(&format!("email IN ({})", marks.join(", ")), &params, read)
            }
            Backend::Postgres => {
                self.read_list("email = ANY(?1::text[])", &[Value::Texts(emails)], read)
            }
        }?;
        Ok(found.into_iter().collect())
    }

    /// The reader with this address, if the list has them.
    pub fn list_entry(&self, email: &str) -> Result<Option<ListEntry>> {
        let key = normalize_email(email);
        let context = || format!("cannot look up {key} in {}", self.label);
        if !self.has_table("subscribers").with_context(context)? {
            return Ok(None);
        }
        self.db
            .query_opt(
                &format!("SELECT {ENTRY_COLUMNS} FROM subscribers WHERE email = ?1"),
                args![&key],
                entry,
            )
            .with_context(context)
    }

    /// Records a reader's own choice; the fields set are marked chosen, so
    /// the editor's file never overwrites them. Fails for an address the
    /// list does not have.
    pub fn record_choice(
        &self,
        email: &str,
        choice: &Choice,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let key = normalize_email(email);
        let context = || format!("cannot record the choice of {key} in {}", self.label);
        // One statement: a field left `NULL` keeps its value and flag.
        let topics = choice.topics.as_deref().map(topics_json);
        let changed = self
            .db
            .execute(
                "UPDATE subscribers SET
                     name = coalesce(?2, name),
                     name_chosen = CASE WHEN ?2 IS NULL THEN name_chosen ELSE 1 END,
                     locale = coalesce(?3, locale),
                     locale_chosen = CASE WHEN ?3 IS NULL THEN locale_chosen ELSE 1 END,
                     topics = coalesce(?4, topics),
                     topics_chosen = CASE WHEN ?4 IS NULL THEN topics_chosen ELSE 1 END,
                     updated_at = ?5
                 WHERE email = ?1",
                args![&key, &choice.name, &choice.locale, &topics, &timestamp(now)],
            )
            .with_context(context)?;
        if changed == 0 {
            bail!("{key} is not on the list");
        }
        Ok(())
    }
}

impl State {
    /// Records a sign-up awaiting confirmation. The reader's name, language
    /// and topics are theirs (marked chosen). A suppressed address, or one
    /// already listed, is left as it is.
    pub fn sign_up(&self, reader: &Subscriber, now: DateTime<FixedOffset>) -> Result<SignUp> {
        let key = normalize_email(&reader.email);
        let context = || format!("cannot record the sign-up of {key} in {}", self.label);
        let tx = self.write_transaction()?;
        let suppressed = self
            .db
            .query_opt(
                "SELECT 1 FROM suppressions WHERE email = ?1",
                args![&key],
                |_| Ok(()),
            )
            .with_context(context)?
            .is_some();
        if suppressed {
            return Ok(SignUp::Suppressed);
        }
        let existing: Option<(String, bool)> = self
            .db
            .query_opt(
                "SELECT origin, confirmed_at IS NOT NULL FROM subscribers WHERE email = ?1",
                args![&key],
                |row| Ok((row.text(0)?, row.flag(1)?)),
            )
            .with_context(context)?;
        let now = timestamp(now);
        let outcome = match &existing {
            Some((origin, confirmed)) if origin != "signup" || *confirmed => SignUp::AlreadyListed,
            Some(_) | None => {
                // Still unconfirmed: the form's details replace the old ones.
                let sql = if existing.is_some() {
                    "UPDATE subscribers SET address = ?2, name = ?3, locale = ?4, topics = ?5,
                         updated_at = ?6 WHERE email = ?1"
                } else {
                    "INSERT INTO subscribers (email, address, name, locale, topics, origin, in_file,
                         name_chosen, locale_chosen, topics_chosen, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'signup', 0, 1, 1, 1, ?6, ?6)"
                };
                let topics = topics_json(&reader.topics);
                self.db
                    .execute(
                        sql,
                        args![
                            &key,
                            &reader.email,
                            &reader.name,
                            &reader.locale,
                            &topics,
                            &now
                        ],
                    )
                    .with_context(context)?;
                SignUp::AwaitingConfirmation
            }
        };
        tx.commit().with_context(context)?;
        Ok(outcome)
    }

    /// Confirms a sign-up; true when the address is now a confirmed reader
    /// (also when it already was). False when there is no such sign-up.
    pub fn confirm_sign_up(&self, email: &str, now: DateTime<FixedOffset>) -> Result<bool> {
        let key = normalize_email(email);
        let context = || format!("cannot confirm the sign-up of {key} in {}", self.label);
        let tx = self.write_transaction()?;
        self.db
            .execute(
                "UPDATE subscribers SET confirmed_at = ?2, updated_at = ?2
                 WHERE email = ?1 AND origin = 'signup' AND confirmed_at IS NULL",
                args![&key, &timestamp(now)],
            )
            .with_context(context)?;
        let confirmed = self
            .db
            .query_opt(
                "SELECT 1 FROM subscribers WHERE email = ?1 AND (origin <> 'signup' OR confirmed_at IS NOT NULL)",
                args![&key],
                |_| Ok(()),
            )
            .with_context(context)?
            .is_some();
        tx.commit().with_context(context)?;
        Ok(confirmed)
    }
}

#[cfg(test)]
mod tests;

//! The list as the state database keeps it: the editor's file merged in
//! (each `send`, `serve` start and `gazette subscribers import`), readers'
//! own choices recorded, and every entry read back for sending and for
//! `gazette subscribers list`.
//!
//! It stores and returns rows; it never decides whose value wins (that is
//! `subscribers::merge`) beyond keeping a chosen field when the file
//! changes, and never touches suppressions.

use super::db::{Backend, Row, args};
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

/// What a merge needs of a stored file reader: whether the file still
/// listed them, what they chose, and a fingerprint of the fields the file
/// may set (a 64-bit hash, not the strings, so that a 10⁶-reader merge
/// holds tens of megabytes, not hundreds).
struct Stored {
    in_file: bool,
    chosen: ReaderChoices,
    /// From the editor's file (not an import): its absence removes them.
    from_file: bool,
    fingerprint: u64,
}

/// The fields of a reader the file may set, hashed: the address always,
/// each of name, locale and topics unless the reader chose it.
fn fingerprint(
    address: &str,
    name: &str,
    locale: &str,
    topics: &str,
    chosen: ReaderChoices,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    address.hash(&mut hasher);
    (!chosen.name).then_some(name).hash(&mut hasher);
    (!chosen.locale).then_some(locale).hash(&mut hasher);
    (!chosen.topics).then_some(topics).hash(&mut hasher);
    hasher.finish()
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
        self.merge_file(file, true, now, &mut |_| {})
    }

    /// Adds and updates the readers of `file` as [`State::sync_file`] does,
    /// but marks no one removed: `gazette subscribers import` of an extra file.
    /// `merged` is told how many of the file's rows are merged so far
    /// (every 10,000 rows and at the end), for a progress bar.
    pub fn add_file(
        &self,
        file: &[Subscriber],
        now: DateTime<FixedOffset>,
        merged: &mut dyn FnMut(u64),
    ) -> Result<FileSync> {
        self.merge_file(file, false, now, merged)
    }

    fn merge_file(
        &self,
        file: &[Subscriber],
        remove_absent: bool,
        now: DateTime<FixedOffset>,
        merged: &mut dyn FnMut(u64),
    ) -> Result<FileSync> {
        let context = || format!("cannot merge the subscriber file into {}", self.label);
        let now = timestamp(now);
        let tx = self.write_transaction()?;
        let mut stored: HashMap<String, Stored> = HashMap::new();
        self.db
            .each(
                "SELECT email, address, name, locale, topics, in_file, name_chosen,
                        locale_chosen, topics_chosen, origin = 'csv'
                 FROM subscribers WHERE origin IN ('csv', 'import')",
                &[],
                |row| {
                    let chosen = ReaderChoices {
                        name: row.flag(6)?,
                        locale: row.flag(7)?,
                        topics: row.flag(8)?,
                    };
                    let fingerprint =
                        fingerprint(row.str(1)?, row.str(2)?, row.str(3)?, row.str(4)?, chosen);
                    stored.insert(
                        row.text(0)?,
                        Stored {
                            in_file: row.flag(5)?,
                            chosen,
                            from_file: row.flag(9)?,
                            fingerprint,
                        },
                    );
                    Ok(())
                },
            )
            .with_context(context)?;
        let mut sync = FileSync::default();
        let mut listed = HashSet::new();
        {
            let insert = "INSERT INTO subscribers
                     (email, address, name, locale, topics, origin, in_file, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?7, 1, ?6, ?6)
                 ON CONFLICT (email) DO NOTHING";
            // A field the reader chose keeps its stored value.
            let update = "UPDATE subscribers SET address = ?2,
                     name = CASE WHEN name_chosen = 1 THEN name ELSE ?3 END,
                     locale = CASE WHEN locale_chosen = 1 THEN locale ELSE ?4 END,
                     topics = CASE WHEN topics_chosen = 1 THEN topics ELSE ?5 END,
                     in_file = 1, updated_at = ?6
                 WHERE email = ?1";
            for (row, subscriber) in file.iter().enumerate() {
                if row % 10_000 == 0 {
                    merged(row as u64);
                }
                let email = normalize_email(&subscriber.email);
                if !listed.insert(email.clone()) {
                    continue;
                }
                let topics = topics_json(&subscriber.topics);
                match stored.get(&email) {
                    None => {
                        sync.added += self
                            .db
                            .execute(
                                insert,
                                args![
                                    &email,
                                    &subscriber.email,
                                    &subscriber.name,
                                    &subscriber.locale,
                                    &topics,
                                    &now,
                                    if remove_absent { "csv" } else { "import" }
                                ],
                            )
                            .with_context(context)?;
                    }
                    Some(old) => {
                        let unchanged = old.in_file
                            && old.fingerprint
                                == fingerprint(
                                    &subscriber.email,
                                    &subscriber.name,
                                    &subscriber.locale,
                                    &topics,
                                    old.chosen,
                                );
                        if !unchanged {
                            self.db
                                .execute(
                                    update,
                                    args![
                                        &email,
                                        &subscriber.email,
                                        &subscriber.name,
                                        &subscriber.locale,
                                        &topics,
                                        &now
                                    ],
                                )
                                .with_context(context)?;
                            sync.updated += 1;
                        }
                    }
                }
            }
            for (email, old) in stored.iter().filter(|_| remove_absent) {
                if old.from_file && old.in_file && !listed.contains(email) {
                    self.db
                        .execute(
                            "UPDATE subscribers SET in_file = 0, updated_at = ?2 WHERE email = ?1",
                            args![email, &now],
                        )
                        .with_context(context)?;
                    sync.removed += 1;
                }
            }
        }
        tx.commit().with_context(context)?;
        merged(file.len() as u64);
        Ok(sync)
    }

    /// Every reader the database knows, in the order they joined.
    pub fn list_entries(&self) -> Result<Vec<ListEntry>> {
        let context = || format!("cannot read the list from {}", self.label);
        if !self.has_table("subscribers").with_context(context)? {
            return Ok(Vec::new());
        }
        self.db
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM subscribers ORDER BY {}",
                    self.join_order()
                ),
                &[],
                entry,
            )
            .with_context(context)
    }

    /// The entries a send's merge needs: readers with a choice of their own,
    /// sign-ups and imports. File readers who chose nothing are exactly the
    /// file's rows, so they are not read back (at 10⁶ readers that would be
    /// the whole list in memory twice).
    pub fn list_overrides(&self) -> Result<Vec<ListEntry>> {
        let context = || format!("cannot read the list from {}", self.label);
        if !self.has_table("subscribers").with_context(context)? {
            return Ok(Vec::new());
        }
        self.db
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM subscribers
                     WHERE name_chosen = 1 OR locale_chosen = 1 OR topics_chosen = 1
                        OR origin <> 'csv'
                     ORDER BY {}",
                    self.join_order()
                ),
                &[],
                entry,
            )
            .with_context(context)
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
        let outcome = match existing {
            Some((origin, confirmed)) if origin != "signup" || confirmed => SignUp::AlreadyListed,
            Some(_) => {
                self.db
                    .execute(
                        "UPDATE subscribers SET address = ?2, name = ?3, locale = ?4, topics = ?5,
                             updated_at = ?6 WHERE email = ?1",
                        args![
                            &key,
                            &reader.email,
                            &reader.name,
                            &reader.locale,
                            &topics_json(&reader.topics),
                            &now
                        ],
                    )
                    .with_context(context)?;
                SignUp::AwaitingConfirmation
            }
            None => {
                self.db
                    .execute(
                        "INSERT INTO subscribers (email, address, name, locale, topics, origin, in_file,
                             name_chosen, locale_chosen, topics_chosen, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'signup', 0, 1, 1, 1, ?6, ?6)",
                        args![
                            &key,
                            &reader.email,
                            &reader.name,
                            &reader.locale,
                            &topics_json(&reader.topics),
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

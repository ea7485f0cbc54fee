//! Tests of recognising, configuring and migrating the state database (`schema`).

use super::*;
use crate::state::tests::*;
use rusqlite::Connection;
use std::fs;

/// Every row of `sql`, its `columns` columns each as SQLite holds them.
fn rows_of(conn: &Connection, sql: &str, columns: usize) -> Vec<Vec<rusqlite::types::Value>> {
    let mut statement = conn.prepare(sql).unwrap();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| row.get(i))
                .collect::<rusqlite::Result<_>>()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A database at `path` as a gazette of schema `version` left it, holding
/// the rows that `rows` (SQL) inserts.
fn database_at_version(path: &std::path::Path, version: usize, rows: &str) -> Connection {
    let conn = Connection::open(path).unwrap();
    for migration in &MIGRATIONS[..version] {
        conn.execute_batch(migration).unwrap();
    }
    conn.execute_batch(rows).unwrap();
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    conn
}

/// The state at `path` opened by this gazette, which migrates it; checks it
/// is at this build's schema version.
fn open_migrated(path: &std::path::Path) -> State {
    let state = State::open(&sqlite(path)).unwrap();
    let version: i64 = state
        .sqlite_conn()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    state
}

#[test]
fn creates_schema_in_new_folders_and_reopening_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let mut state = State::open(&sqlite(&path)).unwrap();
        state
            .create_digest(
                "2026-05-01",
                at("2026-05-01T07:00:00+08:00"),
                &strings(&["b", "a", "c"]),
                &recipients(&[("li.wei@example.org", "zh")]),
            )
            .unwrap();
    }
    let state = State::open(&sqlite(&path)).unwrap();
    let version: i64 = state
        .sqlite_conn()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let application_id: i32 = state
        .sqlite_conn()
        .unwrap()
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
        .sqlite_conn()
        .unwrap()
        .query_row("SELECT created_at FROM digests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(created, "2026-04-30T23:00:00Z");
    assert_eq!(state.counts().unwrap().pending, 1);
}

#[test]
fn a_version_1_database_is_migrated_to_the_fetch_cache_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    database_at_version(
        &path,
        1,
        "INSERT INTO digests (id, created_at) VALUES ('d1', '2026-05-01T00:00:00Z');",
    );
    let read_only = State::open_read_only(&sqlite(&path)).unwrap().unwrap();
    assert_eq!(
        read_only.cached_fetch("https://a.example/feed").unwrap(),
        None
    );
    drop(read_only);
    let state = open_migrated(&path);
    assert!(state.digest_exists("d1").unwrap());
    assert_eq!(state.cached_fetch("https://a.example/feed").unwrap(), None);
}

#[test]
fn the_ledger_has_no_status_index_to_rewrite_on_every_change() {
    let (_dir, state) = sqlite_temp();
    let indexes: Vec<String> = state
        .sqlite_conn()
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'")
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
fn journal_mode_is_wal_with_full_sync_and_foreign_keys() {
    let (_dir, state) = sqlite_temp();
    let mode: String = state
        .sqlite_conn()
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let synchronous: i64 = state
        .sqlite_conn()
        .unwrap()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    let foreign_keys: i64 = state
        .sqlite_conn()
        .unwrap()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(synchronous, 2, "FULL");
    assert_eq!(foreign_keys, 1);
}

#[test]
fn refuses_a_database_written_by_a_newer_gazette() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(State::open(&sqlite(&path)).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let message = error_text(State::open(&sqlite(&path)));
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
    let message = error_text(State::open(&sqlite(&path)));
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
    let message = error_text(State::open(&sqlite(&path)));
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
fn version_9_rebuilds_the_ledger_keeping_every_row_and_still_refuses_unknown_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let all_rows = |conn: &Connection| {
        rows_of(
            conn,
            "SELECT digest_id, email, locale, status, attempts, next_attempt_at,
                    last_error, updated_at, claimed_by
             FROM deliveries ORDER BY digest_id, email",
            9,
        )
    };
    let before = {
        let conn = database_at_version(
            &path,
            8,
            "INSERT INTO digests (id, created_at) VALUES ('d1', '2026-05-01T00:00:00Z');
             INSERT INTO deliveries (digest_id, email, locale, status, attempts,
                                     next_attempt_at, last_error, updated_at, claimed_by)
             VALUES ('d1', 'a@example.com', 'en', 'pending', 0, NULL, NULL, '2026-05-01T00:00:00Z', NULL),
                    ('d1', 'b@example.com', 'zh', 'sending', 1, NULL, NULL, '2026-05-01T00:01:00Z', 'host-1:42'),
                    ('d1', 'c@example.com', 'en', 'deferred', 2, '2026-05-01T01:00:00Z',
                     '451 4.7.1 try later', '2026-05-01T00:02:00Z', NULL),
                    ('d1', 'd@example.com', 'en', 'unknown', 1, NULL, 'connection lost', '2026-05-01T00:03:00Z', NULL);",
        );
        all_rows(&conn)
    };
    assert_eq!(before.len(), 4);

    let state = open_migrated(&path);
    let conn = state.sqlite_conn().unwrap();
    assert_eq!(all_rows(conn), before);
    let table: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'deliveries'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!table.contains("status IN"), "{table}");
    let problems: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(problems, 0);
    let refused = conn
        .execute(
            "UPDATE deliveries SET status = 'delivered' WHERE email = 'a@example.com'",
            [],
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("CHECK constraint failed"),
        "{refused}"
    );
    let orphan = conn
        .execute(
            "INSERT INTO deliveries (digest_id, email, locale, status, updated_at)
             VALUES ('no-such-digest', 'e@example.com', 'en', 'pending', 'now')",
            [],
        )
        .unwrap_err();
    assert!(
        orphan.to_string().contains("FOREIGN KEY constraint failed"),
        "{orphan}"
    );
}

#[test]
fn version_10_rebuilds_the_list_keeping_every_row_and_its_order_and_still_refuses_unknown_origins()
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let all_rows = |conn: &Connection| {
        rows_of(
            conn,
            "SELECT rowid, email, address, name, locale, topics, origin, in_file,
                    name_chosen, locale_chosen, topics_chosen, confirmed_at,
                    created_at, updated_at
             FROM subscribers ORDER BY rowid",
            14,
        )
    };
    let before = {
        // Joined in an order that is not the addresses' order, one of each
        // origin, with choices and a confirmation, and a gap in the rowids.
        let conn = database_at_version(
            &path,
            9,
            "INSERT INTO subscribers (rowid, email, address, name, locale, topics, origin, in_file,
                                      name_chosen, locale_chosen, topics_chosen, confirmed_at,
                                      created_at, updated_at)
             VALUES (1, 'zoe@example.org', 'Zoe@example.org', 'Zoë', 'en', '[\"autos\"]', 'csv', 1,
                     0, 0, 0, NULL, '2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z'),
                    (2, 'li.wei@example.org', 'Li.Wei@example.org', '李伟', 'zh', '[]', 'import', 1,
                     1, 0, 1, NULL, '2026-05-01T00:01:00Z', '2026-05-02T00:00:00Z'),
                    (5, 'ann@example.org', 'ann@example.org', 'Ann', 'en', '[]', 'signup', 0,
                     0, 1, 0, '2026-05-03T00:00:00Z', '2026-05-03T00:00:00Z', '2026-05-03T00:00:00Z');",
        );
        all_rows(&conn)
    };
    assert_eq!(before.len(), 3);

    let state = open_migrated(&path);
    let conn = state.sqlite_conn().unwrap();
    assert_eq!(
        all_rows(conn),
        before,
        "every row, with its rowid (the join order)"
    );
    let emails: Vec<String> = state
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|entry| entry.subscriber.email)
        .collect();
    assert_eq!(
        emails,
        ["Zoe@example.org", "Li.Wei@example.org", "ann@example.org"],
        "the list reads back in the order readers joined"
    );
    let table: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'subscribers'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!table.contains("origin IN"), "{table}");
    let refused = conn
        .execute(
            "UPDATE subscribers SET origin = 'api' WHERE email = 'zoe@example.org'",
            [],
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("CHECK constraint failed"),
        "{refused}"
    );
    let duplicate = conn
        .execute(
            "INSERT INTO subscribers (email, address, name, locale, topics, origin, in_file,
                                      created_at, updated_at)
             VALUES ('ann@example.org', 'ann@example.org', 'A', 'en', '[]', 'csv', 1, 'now', 'now')",
            [],
        )
        .unwrap_err();
    assert!(
        duplicate.to_string().contains("UNIQUE constraint failed"),
        "{duplicate}"
    );
}

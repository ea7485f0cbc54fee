//! Fixtures shared by the tests of every file of `state` (each file's own
//! tests are in its `<file>/tests.rs`), and the tests of opening a database.

use super::*;
use std::fmt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub(super) fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

pub(super) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub(super) fn recipients(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(email, locale)| (email.to_string(), locale.to_string()))
        .collect()
}

pub(super) fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("nested").join(".gazette").join("state.db")
}

/// The state database of one test: a SQLite file in a temporary folder,
/// or, with `GAZETTE_TEST_STATE_BACKEND=postgres` and a PostgreSQL server
/// in `GAZETTE_TEST_POSTGRES` (`.ci/run`'s second pass of these tests), a
/// fresh database on it, dropped afterwards.
pub(crate) struct TestState {
    /// The temporary folder the SQLite file is in (kept until the test ends).
    _dir: TempDir,
    /// Where the state is.
    pub location: StateLocation,
    _postgres: Option<ThrowawayDatabase>,
}

impl TestState {
    pub(crate) fn new() -> TestState {
        let dir = tempfile::tempdir().unwrap();
        let postgres = std::env::var("GAZETTE_TEST_STATE_BACKEND").is_ok_and(|b| b == "postgres");
        match std::env::var("GAZETTE_TEST_POSTGRES") {
            Ok(server) if postgres && !server.is_empty() => {
                let database = ThrowawayDatabase::create(&server);
                TestState {
                    location: StateLocation::Postgres(PostgresState {
                        url: database.url.clone(),
                        password_env: None,
                        tls: Default::default(),
                    }),
                    _dir: dir,
                    _postgres: Some(database),
                }
            }
            _ => TestState {
                location: StateLocation::Sqlite(db_path(&dir)),
                _dir: dir,
                _postgres: None,
            },
        }
    }

    /// Opens (again) the test's state.
    pub(crate) fn open(&self) -> State {
        State::open(&self.location).unwrap()
    }
}

/// A database created on a PostgreSQL server for one test, dropped with it.
pub(crate) struct ThrowawayDatabase {
    server: String,
    name: String,
    /// The database's own URL.
    pub url: String,
}

impl ThrowawayDatabase {
    pub(crate) fn create(server: &str) -> ThrowawayDatabase {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "gazette_unit_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(server).unwrap();
        url.set_path(&format!("/{name}"));
        ThrowawayDatabase {
            server: server.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for ThrowawayDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub(super) fn open_temp() -> (TestState, State) {
    let test = TestState::new();
    let state = test.open();
    (test, state)
}

/// A SQLite state in a temporary folder, whatever the test run's backend:
/// for what only SQLite has (pragmas, the file, its lock file).
pub(super) fn sqlite_temp() -> (TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&sqlite(&db_path(&dir))).unwrap();
    (dir, state)
}

/// The location of a SQLite state file.
pub(super) fn sqlite(path: &Path) -> StateLocation {
    StateLocation::Sqlite(path.to_path_buf())
}

/// A digest `id` created at `created`, with one story named after it.
pub(super) fn digest(state: &mut State, id: &str, created: &str, to: &[(&str, &str)]) {
    state
        .create_digest(
            id,
            at(created),
            &strings(&[&format!("story-{id}")]),
            &recipients(to),
        )
        .unwrap();
}

pub(super) fn delivery(state: &State, digest_id: &str, email: &str) -> Delivery {
    state
        .deliveries_where(
            "d.digest_id = ?1 AND d.email = ?2",
            db::args![digest_id, email],
        )
        .unwrap()
        .pop()
        .unwrap()
}

pub(super) fn due_keys(state: &State, now: &str) -> Vec<(String, String)> {
    state
        .due_deliveries(at(now))
        .unwrap()
        .into_iter()
        .map(|d| (d.digest_id, d.email))
        .collect()
}

pub(super) fn error_text(result: Result<impl fmt::Debug>) -> String {
    format!("{:#}", result.unwrap_err())
}

#[test]
fn read_only_open_creates_nothing_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none").join("state.db");
    assert!(State::open_read_only(&sqlite(&missing)).unwrap().is_none());
    assert!(!dir.path().join("none").exists());

    let path = dir.path().join("state.db");
    State::open(&sqlite(&path))
        .unwrap()
        .store_fetch("u", None, None, b"x", at("2026-05-01T07:00:00Z"))
        .unwrap();
    let before = fs::read(&path).unwrap();
    let state = State::open_read_only(&sqlite(&path)).unwrap().unwrap();
    assert_eq!(state.cached_fetch("u").unwrap().unwrap().body, b"x");
    let message = error_text(state.store_fetch("u", None, None, b"y", at("2026-05-02T07:00:00Z")));
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
fn a_password_variable_that_is_not_set_is_named() {
    let location = StateLocation::Postgres(PostgresState {
        url: "postgres://gazette@127.0.0.1:1/news".to_owned(),
        password_env: Some("GAZETTE_TEST_UNSET_PASSWORD".to_owned()),
        tls: Default::default(),
    });
    assert_eq!(
        error_text(State::open(&location)),
        "`state.password_env` names GAZETTE_TEST_UNSET_PASSWORD, which is not set; \
         export it with the database password"
    );
}

#[test]
fn a_postgres_database_with_tables_of_another_application_is_refused() {
    let test = TestState::new();
    let StateLocation::Postgres(PostgresState { url, .. }) = &test.location else {
        return; // PostgreSQL only (.ci/run's second pass).
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE deliveries (id int)")
        .unwrap();
    let message = error_text(State::open(&test.location));
    assert!(
        message
            .contains("has tables named like gazette's (deliveries) but no gazette_schema table"),
        "{message}"
    );
}

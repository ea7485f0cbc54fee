//! Fixtures shared by the tests of every file of `state` (each file's own
//! tests are in its `<file>/tests.rs`), and the tests of opening a database.

use super::*;
use std::fmt;
use std::path::PathBuf;
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

pub(super) fn open_temp() -> (TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&db_path(&dir)).unwrap();
    (dir, state)
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
        .deliveries_where("d.digest_id = ?1 AND d.email = ?2", &[&digest_id, &email])
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

//! Tests of the send lock (`lock`).

use super::*;
use crate::state::tests::*;

#[test]
fn a_second_send_lock_fails_while_the_first_is_held_and_succeeds_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let location = crate::config::StateLocation::Sqlite(path.clone());
    let first = lock(&location, SendRole::Sole).unwrap();
    let lock_file = dir
        .path()
        .join("nested")
        .join(".gazette")
        .join("state.db.lock");
    assert_eq!(first.path(), Some(lock_file.as_path()));
    let message = error_text(lock(&location, SendRole::Sole));
    assert_eq!(
        message,
        format!(
            "another `gazette send` is running (lock held on {}); wait for it to finish",
            lock_file.display()
        )
    );
    drop(first);
    let again = lock(&location, SendRole::Sole).unwrap();
    drop(again);
    assert!(lock_file.exists());
}

#[test]
fn on_postgres_a_sole_send_and_workers_exclude_each_other_and_workers_share() {
    let test = TestState::new();
    if !matches!(test.location, crate::config::StateLocation::Postgres(_)) {
        return; // PostgreSQL only (.ci/run's second pass).
    }
    drop(test.open());
    let sole = lock(&test.location, SendRole::Sole).unwrap();
    let message = error_text(lock(&test.location, SendRole::Worker));
    assert!(
        message.starts_with("a `gazette send` that is not a worker is running on the PostgreSQL database postgres://"),
        "{message}"
    );
    drop(sole);
    let first = lock(&test.location, SendRole::Worker).unwrap();
    let second = lock(&test.location, SendRole::Worker).unwrap();
    assert_ne!(first.worker(), second.worker());
    let message = error_text(lock(&test.location, SendRole::Sole));
    assert!(
        message.contains("another `gazette send` (or a `send --worker`) is running on")
            && message.ends_with(
                "wait for it to finish, or run this one as `gazette send --worker` to join the workers"
            ),
        "{message}"
    );
}

#[test]
fn a_worker_on_a_sqlite_state_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let location = crate::config::StateLocation::Sqlite(db_path(&dir));
    let message = error_text(lock(&location, SendRole::Worker));
    assert!(
        message
            .ends_with("run one `gazette send` (it sends over `delivery.connections` in parallel)"),
        "{message}"
    );
}

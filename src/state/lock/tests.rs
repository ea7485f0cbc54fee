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

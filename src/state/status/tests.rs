//! Tests of the stored names of delivery states (`status`).

use super::*;
use crate::state::tests::*;
use std::collections::BTreeSet;

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
fn the_schema_check_lists_exactly_the_enum_statuses() {
    // The CHECK constraint is in a shipped migration, which is never
    // edited: this keeps it and `Status` from drifting apart.
    let (_dir, state) = sqlite_temp();
    let table: String = state
        .sqlite_conn()
        .unwrap()
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'deliveries'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // `status = 'pending' OR status = 'sending' OR …` (schema version 9).
    let (_, after) = table.split_once("CHECK (status = ").unwrap();
    let (chain, _) = after.split_once(')').unwrap();
    let in_schema: BTreeSet<&str> = chain
        .split("OR status = ")
        .map(|w| w.trim().trim_matches('\''))
        .collect();
    let in_enum: BTreeSet<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(in_schema, in_enum);
}

//! Tests of the skipped-items record (`skipped_items`).

use crate::state::tests::*;

#[test]
fn a_skipped_item_is_new_once_and_forgotten_when_it_leaves_the_feed() {
    let (_dir, state) = open_temp();
    let now = at("2026-05-01T07:00:00+08:00");
    let undated = "item `u1` has no date (published or updated)".to_owned();
    let unlinked = "item `n1` has no absolute http(s) link".to_owned();
    assert_eq!(
        state
            .record_skipped_items("P", &[undated.clone()], now)
            .unwrap(),
        [undated.clone()]
    );
    // The next build sees it again, and a new one.
    assert_eq!(
        state
            .record_skipped_items("P", &[undated.clone(), unlinked.clone()], now)
            .unwrap(),
        [unlinked.clone()]
    );
    // Another source's items are its own.
    assert_eq!(
        state
            .record_skipped_items("Q", &[undated.clone()], now)
            .unwrap(),
        [undated.clone()]
    );
    // `u1` left the feed: forgotten, so it is new if it comes back.
    assert_eq!(
        state
            .record_skipped_items("P", &[unlinked.clone()], now)
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        state
            .skipped_items("P")
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [unlinked]
    );
    assert_eq!(
        state
            .record_skipped_items("P", &[undated.clone()], now)
            .unwrap(),
        [undated]
    );
}

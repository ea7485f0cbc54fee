//! Tests of the skipped-items record (`skipped_items`).

use crate::state::tests::*;

const UNDATED: &str = "item `u1` has no date (published or updated)";
const UNLINKED: &str = "item `n1` has no absolute http(s) link";

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn a_skipped_item_is_new_once_and_forgotten_when_it_leaves_the_feed() {
    let (_dir, state) = open_temp();
    let now = at("2026-05-01T07:00:00+08:00");
    let record = |source: &str, reasons: &[&str]| {
        state
            .record_skipped_items(source, &lines(reasons), now)
            .unwrap()
    };
    assert_eq!(record("P", &[UNDATED]), [UNDATED]);
    // The next build sees it again, and a new one.
    assert_eq!(record("P", &[UNDATED, UNLINKED]), [UNLINKED]);
    // Another source's items are its own.
    assert_eq!(record("Q", &[UNDATED]), [UNDATED]);
    // `u1` left the feed: forgotten, so it is new if it comes back.
    assert_eq!(record("P", &[UNLINKED]), Vec::<String>::new());
    assert_eq!(
        state
            .skipped_items("P")
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [UNLINKED]
    );
    assert_eq!(record("P", &[UNDATED]), [UNDATED]);
}

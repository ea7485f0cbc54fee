//! Tests of the build record (`build_record`).

use super::*;
use crate::state::tests::*;

#[test]
fn the_build_record_round_trips_and_is_replaced() {
    let (_dir, state) = open_temp();
    assert_eq!(state.build_record().unwrap(), None);
    let first = BuildRecord {
        inputs: "abc".to_owned(),
        valid_from: Some(DateTime::parse_from_rfc3339("2026-11-28T09:00:00+08:00").unwrap()),
        valid_until: None,
        outputs: vec![("en/rss.xml".to_owned(), 1234, 1_700_000_000_000_000_000)],
    };
    state.store_build_record(&first).unwrap();
    assert_eq!(state.build_record().unwrap(), Some(first.clone()));
    let second = BuildRecord {
        inputs: "def".to_owned(),
        outputs: Vec::new(),
        ..first
    };
    state.store_build_record(&second).unwrap();
    assert_eq!(state.build_record().unwrap(), Some(second));
}

//! Tests of recording digests and their stories (`digests`).

use crate::state::tests::*;
use crate::state::{Counts, Delivery, Status};

#[test]
fn create_digest_records_lowercased_pending_deliveries() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("Zoe@Example.ORG", "en"), ("li.wei@example.org", "zh")],
    );
    let due = state.due_deliveries(at("2026-05-01T07:00:00Z")).unwrap();
    assert_eq!(
        due,
        vec![
            Delivery {
                digest_id: "d1".into(),
                email: "li.wei@example.org".into(),
                locale: "zh".into(),
                status: Status::Pending,
                attempts: 0,
                last_error: None,
            },
            Delivery {
                digest_id: "d1".into(),
                email: "zoe@example.org".into(),
                locale: "en".into(),
                status: Status::Pending,
                attempts: 0,
                last_error: None,
            },
        ]
    );
}

#[test]
fn a_story_already_in_a_digest_fails_the_whole_new_digest() {
    let (_dir, mut state) = open_temp();
    state
        .create_digest(
            "d1",
            at("2026-05-01T07:00:00Z"),
            &strings(&["s1", "s2"]),
            &recipients(&[("a@example.org", "en")]),
        )
        .unwrap();
    let result = state.create_digest(
        "d2",
        at("2026-05-02T07:00:00Z"),
        &strings(&["s3", "s1"]),
        &recipients(&[("b@example.org", "en")]),
    );
    let message = error_text(result);
    assert!(
        message.contains("story `s1` is already in digest `d1`"),
        "{message}"
    );
    assert!(message.contains(state.label()), "{message}");
    assert!(
        message.contains("UNIQUE") || message.contains("unique constraint"),
        "{message}"
    );
    assert!(!state.digest_exists("d2").unwrap());
    assert_eq!(
        state.included_story_ids().unwrap(),
        ["s1", "s2"].iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(state.counts().unwrap().total(), 1);
}

#[test]
fn a_story_twice_in_one_digest_or_a_repeated_recipient_records_nothing() {
    let (_dir, mut state) = open_temp();
    let message = error_text(state.create_digest(
        "d1",
        at("2026-05-01T07:00:00Z"),
        &strings(&["s1", "s1"]),
        &recipients(&[("a@example.org", "en")]),
    ));
    assert!(
        message.contains("story `s1` is already in digest `d1`"),
        "{message}"
    );
    let message = error_text(state.create_digest(
        "d1",
        at("2026-05-01T07:00:00Z"),
        &strings(&["s1"]),
        &recipients(&[("a@example.org", "en"), ("A@example.org", "zh")]),
    ));
    assert!(
        message.contains("recipient a@example.org appears twice"),
        "{message}"
    );
    assert!(!state.digest_exists("d1").unwrap());
    assert!(state.included_story_ids().unwrap().is_empty());
    assert_eq!(state.counts().unwrap(), Counts::default());
}

#[test]
fn an_existing_digest_id_is_refused() {
    let (_dir, mut state) = open_temp();
    digest(&mut state, "d1", "2026-05-01T07:00:00Z", &[]);
    let message = error_text(state.create_digest(
        "d1",
        at("2026-05-02T07:00:00Z"),
        &strings(&["other"]),
        &[],
    ));
    assert!(message.contains("digest `d1` already exists"), "{message}");
    assert!(!state.included_story_ids().unwrap().contains("other"));
}

#[test]
fn digest_story_ids_of_an_unknown_digest_is_an_error() {
    let (_dir, state) = open_temp();
    let message = error_text(state.digest_story_ids("nope"));
    assert!(message.contains("no digest `nope`"), "{message}");
}

#[test]
fn suppressed_recipients_are_not_added_to_a_new_digest() {
    let (_dir, state) = open_temp();
    let now = at("2026-05-01T06:00:00Z");
    assert!(
        state
            .suppress("Zoe@Example.org", "unsubscribed", now)
            .unwrap()
    );
    let mut batches = Some(vec![
        ("zoe@example.org".to_string(), "en".to_string()),
        ("li.wei@example.org".to_string(), "zh".to_string()),
    ]);
    let recorded = state
        .create_digest_from(
            "d1",
            at("2026-05-01T07:00:00Z"),
            &["s1".to_string()],
            &mut |_| Ok(batches.take()),
        )
        .unwrap();
    // The count is of what was recorded, not of what was offered.
    assert_eq!(recorded, 1);
    assert_eq!(
        due_keys(&state, "2026-05-01T07:00:00Z"),
        vec![("d1".to_string(), "li.wei@example.org".to_string())]
    );
}

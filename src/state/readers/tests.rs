//! Tests of the list in the state database (`readers`).

use super::Choice;
use crate::model::{ListOrigin, Subscriber};
use crate::state::tests::*;

fn reader(email: &str, name: &str, locale: &str, topics: &[&str]) -> Subscriber {
    Subscriber {
        email: email.to_owned(),
        name: name.to_owned(),
        locale: locale.to_owned(),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        since: None,
    }
}

#[test]
fn the_file_adds_updates_and_removes_but_never_overwrites_a_choice() {
    let (_dir, state) = open_temp();
    let now = at("2026-05-01T07:00:00Z");
    let file = [
        reader("Li.Wei@example.org", "李伟", "zh", &[]),
        reader("zoe@example.org", "Zoë", "en", &["autos"]),
    ];
    let first = state.sync_file(&file, now).unwrap();
    assert_eq!((first.added, first.updated, first.removed), (2, 0, 0));
    // The same file again writes nothing.
    let again = state.sync_file(&file, now).unwrap();
    assert_eq!((again.added, again.updated, again.removed), (0, 0, 0));

    // Zoë picks Chinese and no topics; the editor then edits her row.
    state
        .record_choice(
            "ZOE@example.org",
            &Choice {
                locale: Some("zh".to_owned()),
                topics: Some(Vec::new()),
                ..Choice::default()
            },
            now,
        )
        .unwrap();
    let edited = [
        reader("li.wei@example.org", "Li Wei", "zh", &[]),
        reader("zoe@example.org", "Zoë Martin", "en", &["rail"]),
    ];
    let sync = state.sync_file(&edited, now).unwrap();
    assert_eq!((sync.added, sync.updated, sync.removed), (0, 2, 0));
    let zoe = state.list_entry("zoe@example.org").unwrap().unwrap();
    assert_eq!(
        zoe.subscriber.name, "Zoë Martin",
        "the name was not hers to keep"
    );
    assert_eq!(zoe.subscriber.locale, "zh");
    assert!(zoe.subscriber.topics.is_empty());
    assert!(zoe.chosen.locale && zoe.chosen.topics && !zoe.chosen.name);
    assert_eq!(zoe.origin, ListOrigin::File);

    // Li Wei leaves the file: kept, marked, and back when listed again.
    let sync = state.sync_file(&edited[1..], now).unwrap();
    assert_eq!(sync.removed, 1);
    let li = state.list_entry("li.wei@example.org").unwrap().unwrap();
    assert!(!li.in_file);
    state.sync_file(&edited, now).unwrap();
    assert!(
        state
            .list_entry("li.wei@example.org")
            .unwrap()
            .unwrap()
            .in_file
    );
    let order: Vec<String> = state
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.subscriber.email)
        .collect();
    assert_eq!(order, ["li.wei@example.org", "zoe@example.org"]);
}

#[test]
fn a_choice_for_an_unknown_address_is_an_error_naming_it() {
    let (_dir, state) = open_temp();
    let err = state
        .record_choice(
            "nobody@example.org",
            &Choice::default(),
            at("2026-05-01T07:00:00Z"),
        )
        .unwrap_err();
    assert!(format!("{err:#}").contains("nobody@example.org is not on the list"));
}

//! Tests of the list in the state database (`readers`).

use super::{Choice, FileKind};
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

#[test]
fn a_file_merged_row_by_row_names_every_later_row_of_a_reader_and_lists_in_batches() {
    let (_dir, state) = open_temp();
    let (sync, duplicates) = merge_with_repeats(&state, FileKind::Editors);
    assert_eq!(sync.added, 2498);
    assert_eq!(
        duplicates,
        [
            (12, "Reader0005@example.org".to_owned()),
            (1900, "Reader0005@example.org".to_owned())
        ]
    );
    assert_eq!(
        state
            .list_entry("reader0005@example.org")
            .unwrap()
            .unwrap()
            .subscriber
            .name,
        "R5",
        "the first row is kept"
    );

    // Read back in batches, in address order, each with its ledger address.
    let mut after = String::new();
    let mut seen = 0;
    loop {
        let page = state.active_entries(&after, 700).unwrap();
        let Some((last, _)) = page.last() else { break };
        assert!(page.windows(2).all(|w| w[0].0 < w[1].0));
        after = last.clone();
        seen += page.len();
    }
    assert_eq!(seen, 2498);
    let found = state
        .entries_for(&["reader0001@example.org", "nobody@example.org"])
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found["reader0001@example.org"].subscriber.name, "R1");
}

/// Merges 2,500 rows, two of them repeating an earlier reader (in the
/// same batch of 1,000 as their first row, line 12, and in a later one,
/// line 1,900), as the file `kind`; returns what the merge said and the
/// duplicates it named.
fn merge_with_repeats(
    state: &crate::state::State,
    kind: FileKind,
) -> (crate::state::FileSync, Vec<(u64, String)>) {
    let now = at("2026-05-01T07:00:00Z");
    let mut merge = state.begin_file_merge(kind, now).unwrap();
    let mut duplicates = Vec::new();
    for n in 0..2500u64 {
        let email = match n {
            10 | 1898 => "Reader0005@example.org".to_owned(),
            _ => format!("reader{n:04}@example.org"),
        };
        merge
            .add(n + 2, &reader(&email, &format!("R{n}"), "en", &["autos"]))
            .unwrap();
        duplicates.extend(merge.take_duplicates());
    }
    let (sync, last) = merge.finish().unwrap();
    duplicates.extend(last);
    (sync, duplicates)
}

#[test]
fn a_first_merge_stores_what_a_merge_into_a_list_would() {
    // A first merge writes straight into the empty list; one into a list
    // that holds someone goes through the staging table. Both must leave
    // the same readers, in the same order, and name the same rows.
    for kind in [FileKind::Editors, FileKind::Import] {
        let (_first_dir, first) = open_temp();
        let (_later_dir, later) = open_temp();
        let earlier = [reader("before@example.org", "B", "zh", &[])];
        let mut merge = later
            .begin_file_merge(FileKind::Import, at("2026-04-01T07:00:00Z"))
            .unwrap();
        merge.add(2, &earlier[0]).unwrap();
        merge.finish().unwrap();

        let (first_sync, first_duplicates) = merge_with_repeats(&first, kind);
        let (later_sync, later_duplicates) = merge_with_repeats(&later, kind);
        assert_eq!(first_sync, later_sync, "{kind:?}");
        assert_eq!(
            (first_sync.added, first_sync.updated, first_sync.removed),
            (2498, 0, 0),
            "{kind:?}: the import-only reader is not removed by an editor's file"
        );
        assert_eq!(first_duplicates, later_duplicates, "{kind:?}");
        assert_eq!(
            first_duplicates,
            [
                (12, "Reader0005@example.org".to_owned()),
                (1900, "Reader0005@example.org".to_owned())
            ]
        );
        let first_list = first.list_entries().unwrap();
        let later_list = later.list_entries().unwrap();
        assert_eq!(later_list[0].subscriber.email, "before@example.org");
        assert_eq!(
            first_list,
            later_list[1..],
            "{kind:?}: same rows, same join order"
        );
        let expected_origin = match kind {
            FileKind::Editors => ListOrigin::File,
            FileKind::Import => ListOrigin::Import,
        };
        assert!(
            first_list
                .iter()
                .all(|entry| entry.origin == expected_origin && entry.in_file)
        );
        assert_eq!(first_list[5].subscriber.name, "R5", "the first row is kept");
        assert_eq!(first_list[5].subscriber.topics, ["autos"]);
    }
}

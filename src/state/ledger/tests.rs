//! Tests of the delivery ledger's transitions (`ledger`).

use super::*;
use crate::state::tests::*;
use chrono::TimeDelta;

#[test]
fn due_deliveries_come_oldest_digest_first_then_by_email() {
    let (_dir, mut state) = open_temp();
    // 2026-05-01T17:00Z: later than `early` despite the earlier local date.
    digest(
        &mut state,
        "late",
        "2026-05-02T01:00:00+08:00",
        &[("b@x.org", "en"), ("a@x.org", "en")],
    );
    digest(
        &mut state,
        "early",
        "2026-05-01T09:00:00Z",
        &[("c@x.org", "en"), ("a@x.org", "en")],
    );
    let keys = due_keys(&state, "2026-05-02T00:00:00Z");
    let expected: Vec<(String, String)> = [
        ("early", "a@x.org"),
        ("early", "c@x.org"),
        ("late", "a@x.org"),
        ("late", "b@x.org"),
    ]
    .iter()
    .map(|(d, e)| (d.to_string(), e.to_string()))
    .collect();
    assert_eq!(keys, expected);
}

#[test]
fn a_deferred_delivery_is_due_only_after_its_backoff() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en")],
    );
    let deferred = DeliveryOutcome::Deferred("451 try again later".into());

    state
        .mark_sending("d1", "a@x.org", at("2026-05-01T08:00:00Z"))
        .unwrap();
    let status = state
        .record_outcome("d1", "A@x.org", &deferred, at("2026-05-01T08:00:00Z"))
        .unwrap();
    assert_eq!(status, Status::Deferred);
    let row = delivery(&state, "d1", "a@x.org");
    assert_eq!((row.status, row.attempts), (Status::Deferred, 1));
    assert_eq!(row.last_error.as_deref(), Some("451 try again later"));

    assert!(due_keys(&state, "2026-05-01T08:04:59Z").is_empty());
    let message = error_text(state.mark_sending("d1", "a@x.org", at("2026-05-01T08:04:59Z")));
    assert!(message.contains("is deferred, not due"), "{message}");
    assert_eq!(due_keys(&state, "2026-05-01T08:05:00Z").len(), 1);

    // Second deferral: 10 minutes.
    state
        .mark_sending("d1", "a@x.org", at("2026-05-01T08:05:00Z"))
        .unwrap();
    state
        .record_outcome("d1", "a@x.org", &deferred, at("2026-05-01T08:05:00Z"))
        .unwrap();
    assert!(due_keys(&state, "2026-05-01T08:14:59Z").is_empty());
    assert_eq!(due_keys(&state, "2026-05-01T08:15:00Z").len(), 1);
}

#[test]
fn the_tenth_deferred_attempt_gives_up_as_failed() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en")],
    );
    let mut now = at("2026-05-01T08:00:00Z");
    let deferred = DeliveryOutcome::Deferred("421 busy".into());
    for attempt in 1..=10 {
        state.mark_sending("d1", "a@x.org", now).unwrap();
        let status = state
            .record_outcome("d1", "a@x.org", &deferred, now)
            .unwrap();
        let expected = if attempt < 10 {
            Status::Deferred
        } else {
            Status::Failed
        };
        assert_eq!(status, expected, "attempt {attempt}");
        now += TimeDelta::hours(6);
    }
    let row = delivery(&state, "d1", "a@x.org");
    assert_eq!((row.status, row.attempts), (Status::Failed, 10));
    assert_eq!(
        row.last_error.as_deref(),
        Some("gave up after 10 attempts; last: 421 busy")
    );
    assert!(state.due_deliveries(now).unwrap().is_empty());
}

#[test]
fn sent_is_final_and_a_delivery_is_claimed_only_once() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    state.mark_sending("d1", "a@x.org", now).unwrap();
    let message = error_text(state.mark_sending("d1", "a@x.org", now));
    assert!(message.contains("is sending, not due"), "{message}");
    assert_eq!(
        state
            .record_outcome("d1", "a@x.org", &DeliveryOutcome::Sent, now)
            .unwrap(),
        Status::Sent
    );
    let message = error_text(state.record_outcome("d1", "a@x.org", &DeliveryOutcome::Sent, now));
    assert!(message.contains("is sent, not sending"), "{message}");
    assert!(state.due_deliveries(now).unwrap().is_empty());
    let message = error_text(state.mark_sending("d1", "b@x.org", now));
    assert!(
        message.contains("no delivery of digest `d1` to b@x.org"),
        "{message}"
    );
}

#[test]
fn recover_interrupted_turns_sending_into_unknown_after_a_crash() {
    let test = TestState::new();
    let now = at("2026-05-01T08:00:00Z");
    {
        let mut state = test.open();
        digest(
            &mut state,
            "d1",
            "2026-05-01T07:00:00Z",
            &[("a@x.org", "en"), ("b@x.org", "en")],
        );
        state.mark_sending("d1", "a@x.org", now).unwrap();
        // Dropped without recording an outcome: the process died mid-send.
    }
    let state = test.open();
    assert_eq!(state.counts().unwrap().sending, 1);
    assert_eq!(state.recover_interrupted(now).unwrap(), 1);
    assert_eq!(state.recover_interrupted(now).unwrap(), 0);
    let unknown = state.unknown_deliveries().unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].email, "a@x.org");
    assert_eq!(unknown[0].status, Status::Unknown);
    assert_eq!(unknown[0].attempts, 1);
    assert!(
        unknown[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    assert_eq!(
        due_keys(&state, "2026-05-09T00:00:00Z"),
        vec![("d1".to_string(), "b@x.org".to_string())]
    );
}

#[test]
fn requeue_unknown_makes_unknown_deliveries_pending_except_suppressed() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en"), ("b@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    for email in ["a@x.org", "b@x.org"] {
        state.mark_sending("d1", email, now).unwrap();
        let outcome = DeliveryOutcome::Unknown("connection lost after end of data".into());
        assert_eq!(
            state.record_outcome("d1", email, &outcome, now).unwrap(),
            Status::Unknown
        );
    }
    state.suppress("b@x.org", "unsubscribed", now).unwrap();
    assert!(state.due_deliveries(now).unwrap().is_empty());
    assert_eq!(state.requeue_unknown(now).unwrap(), 1);
    assert_eq!(
        due_keys(&state, "2026-05-01T08:00:00Z"),
        vec![("d1".to_string(), "a@x.org".to_string())]
    );
    let unknown = state.unknown_deliveries().unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].email, "b@x.org");
    assert_eq!(state.requeue_unknown(now).unwrap(), 0);
}

#[test]
fn counts_reports_each_status() {
    let (_dir, mut state) = open_temp();
    let emails = [
        "p@x.org", "s1@x.org", "s2@x.org", "f@x.org", "d@x.org", "u@x.org", "i@x.org",
    ];
    let to: Vec<(&str, &str)> = emails.iter().map(|e| (*e, "en")).collect();
    digest(&mut state, "d1", "2026-05-01T07:00:00Z", &to);
    let now = at("2026-05-01T08:00:00Z");
    let outcomes = [
        ("s1@x.org", DeliveryOutcome::Sent),
        ("s2@x.org", DeliveryOutcome::Sent),
        (
            "f@x.org",
            DeliveryOutcome::Failed {
                reason: "550".into(),
                suppress: false,
            },
        ),
        ("d@x.org", DeliveryOutcome::Deferred("451".into())),
        ("u@x.org", DeliveryOutcome::Unknown("lost".into())),
    ];
    for (email, outcome) in &outcomes {
        state.mark_sending("d1", email, now).unwrap();
        state.record_outcome("d1", email, outcome, now).unwrap();
    }
    state.mark_sending("d1", "i@x.org", now).unwrap();
    assert_eq!(
        state.counts().unwrap(),
        Counts {
            pending: 1,
            sending: 1,
            sent: 2,
            failed: 1,
            deferred: 1,
            unknown: 1
        }
    );
    assert_eq!(state.counts().unwrap().total(), 7);
}

#[test]
fn a_claim_on_a_row_a_suppression_settled_answers_suppressed_not_an_error_of_the_run() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    // Another writer (`gazette unsubscribe`) lands after planning.
    state
        .suppress("A@x.org", "unsubscribed by request", now)
        .unwrap();
    let error = state.mark_sending("d1", "a@x.org", now).unwrap_err();
    assert!(error.is::<Suppressed>(), "{error:#}");
    assert_eq!(
        error.to_string(),
        "a@x.org was suppressed during the run; its delivery of digest `d1` is not sent"
    );
    // The producer's path settles it without an error either.
    state
        .fail_unsent("d1", "a@x.org", "suppressed", now)
        .unwrap();
    assert_eq!(
        state.delivery_status("d1", "a@x.org").unwrap(),
        Some(Status::Failed)
    );
}

#[test]
fn a_released_claim_is_due_again_as_it_was_and_its_attempt_is_not_counted() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en"), ("b@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    let release = |email: &str| LedgerChange::Release {
        digest_id: "d1".into(),
        email: email.into(),
    };
    // A pending row goes back to pending.
    state.mark_sending("d1", "a@x.org", now).unwrap();
    assert_eq!(
        state
            .apply(&[&release("a@x.org")], now)
            .unwrap()
            .pop()
            .unwrap()
            .unwrap(),
        Status::Pending
    );
    // A deferred row, due again, goes back to deferred and stays due.
    state.mark_sending("d1", "b@x.org", now).unwrap();
    let deferred = DeliveryOutcome::Deferred("451 later".into());
    state
        .record_outcome("d1", "b@x.org", &deferred, now)
        .unwrap();
    let later = now + TimeDelta::hours(1);
    state.mark_sending("d1", "b@x.org", later).unwrap();
    assert_eq!(
        state
            .apply(&[&release("b@x.org")], later)
            .unwrap()
            .pop()
            .unwrap()
            .unwrap(),
        Status::Deferred
    );
    let due = state.due_deliveries(later).unwrap();
    let attempts: Vec<(String, u32)> = due.iter().map(|d| (d.email.clone(), d.attempts)).collect();
    assert_eq!(
        attempts,
        [("a@x.org".to_owned(), 0), ("b@x.org".to_owned(), 1)]
    );
}

#[test]
fn an_outcome_that_fails_in_a_commit_leaves_the_others_in_it_recorded() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en"), ("b@x.org", "en"), ("c@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    state.mark_sending("d1", "b@x.org", now).unwrap();
    state.mark_sending("d1", "c@x.org", now).unwrap();
    let outcome = |email: &str, outcome: DeliveryOutcome| LedgerChange::Outcome {
        digest_id: "d1".into(),
        email: email.into(),
        outcome,
    };
    let bounced = DeliveryOutcome::Failed {
        reason: "550 5.1.1 no such user".into(),
        suppress: true,
    };
    let changes = [
        // Never claimed: refused, without a savepoint on SQLite.
        outcome("a@x.org", DeliveryOutcome::Sent),
        outcome("b@x.org", DeliveryOutcome::Sent),
        // Writes twice (the suppression, then the row), under a savepoint.
        outcome("c@x.org", bounced),
    ];
    let results = state
        .apply(&changes.iter().collect::<Vec<_>>(), now)
        .unwrap();
    let message = results[0].as_ref().unwrap_err().to_string();
    assert!(message.contains("is pending, not sending"), "{message}");
    assert_eq!(results[1].as_ref().unwrap(), &Status::Sent);
    assert_eq!(results[2].as_ref().unwrap(), &Status::Failed);

    let message = error_text(state.record_outcome("d1", "b@x.org", &DeliveryOutcome::Sent, now));
    assert!(message.contains("is sent, not sending"), "{message}");
    assert!(state.is_suppressed("c@x.org").unwrap());
    let due: Vec<String> = state
        .due_deliveries(now)
        .unwrap()
        .into_iter()
        .map(|d| d.email)
        .collect();
    assert_eq!(due, ["a@x.org"]);
}

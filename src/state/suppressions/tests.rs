//! Tests of the suppression list (`suppressions`).

use crate::model::DeliveryOutcome;
use crate::state::Status;
use crate::state::tests::*;

#[test]
fn a_failure_with_suppress_adds_the_address_and_fails_its_other_deliveries() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("Gone@x.org", "en"), ("b@x.org", "en")],
    );
    digest(
        &mut state,
        "d2",
        "2026-05-02T07:00:00Z",
        &[("gone@x.org", "en")],
    );
    let now = at("2026-05-02T08:00:00Z");

    state.mark_sending("d1", "b@x.org", now).unwrap();
    let plain = DeliveryOutcome::Failed {
        reason: "554 policy".into(),
        suppress: false,
    };
    assert_eq!(
        state.record_outcome("d1", "b@x.org", &plain, now).unwrap(),
        Status::Failed
    );
    assert!(!state.is_suppressed("b@x.org").unwrap());

    state.mark_sending("d1", "gone@x.org", now).unwrap();
    let bad = DeliveryOutcome::Failed {
        reason: "550 5.1.1 no such user".into(),
        suppress: true,
    };
    assert_eq!(
        state.record_outcome("d1", "gone@x.org", &bad, now).unwrap(),
        Status::Failed
    );
    assert!(state.is_suppressed("GONE@x.org").unwrap());
    let reason: String = state
        .db
        .query_one(
            "SELECT reason FROM suppressions WHERE email = 'gone@x.org'",
            &[],
            |r| r.text(0),
        )
        .unwrap();
    assert_eq!(reason, "550 5.1.1 no such user");
    assert_eq!(
        delivery(&state, "d1", "gone@x.org").last_error.as_deref(),
        Some("550 5.1.1 no such user")
    );
    let other = delivery(&state, "d2", "gone@x.org");
    assert_eq!(
        (other.status, other.last_error.as_deref()),
        (Status::Failed, Some("suppressed"))
    );
    assert!(state.due_deliveries(now).unwrap().is_empty());
}

#[test]
fn suppress_reports_whether_the_address_is_new_and_fails_outstanding_deliveries() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    assert!(state.suppress("A@X.org", "complaint", now).unwrap());
    assert!(!state.suppress("a@x.org", "again", now).unwrap());
    assert_eq!(delivery(&state, "d1", "a@x.org").status, Status::Failed);
    // A claim after the suppression is answered "suppressed", not "not due".
    let message = error_text(state.mark_sending("d1", "a@x.org", now));
    assert!(
        message.contains("a@x.org was suppressed during the run"),
        "{message}"
    );
}

#[test]
fn the_whole_list_reads_back_by_its_keys() {
    let (_dir, state) = open_temp();
    let now = at("2026-05-01T08:00:00Z");
    state.suppress("Gone@X.org", "bounced", now).unwrap();
    state.suppress("left@x.org", "unsubscribed", now).unwrap();
    let all = state.suppressed_addresses().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains("gone@x.org") && all.contains("left@x.org"));
}

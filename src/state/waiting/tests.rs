//! Tests of the deferred rows' schedule (`waiting`).

use crate::model::DeliveryOutcome;
use crate::state::tests::*;

#[test]
fn waiting_counts_deferred_rows_and_names_the_first_retry() {
    let (_dir, mut state) = open_temp();
    digest(
        &mut state,
        "d1",
        "2026-05-01T07:00:00Z",
        &[("a@x.org", "en"), ("b@x.org", "en")],
    );
    let now = at("2026-05-01T08:00:00Z");
    assert_eq!(state.waiting().unwrap().deferred, 0);
    assert_eq!(state.waiting().unwrap().next_try, None);
    let deferred = DeliveryOutcome::Deferred("451 try later".into());
    for email in ["a@x.org", "b@x.org"] {
        state.mark_sending("d1", email, now).unwrap();
        state.record_outcome("d1", email, &deferred, now).unwrap();
    }
    let waiting = state.waiting().unwrap();
    assert_eq!(waiting.deferred, 2);
    let next = waiting.next_try.unwrap();
    assert!(next > now, "{next} after {now}");
    assert!(state.due_deliveries(now).unwrap().is_empty());

    assert_eq!(state.retry_deferred_now(now).unwrap(), 2);
    let due: Vec<String> = state
        .due_deliveries(now)
        .unwrap()
        .into_iter()
        .map(|d| d.email)
        .collect();
    assert_eq!(due, ["a@x.org", "b@x.org"]);
}

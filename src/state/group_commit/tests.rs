//! Tests of the ledger writer (`group_commit`): claims are durable when
//! answered, outcomes follow, and a ledger that failed lets nothing more out.

use super::*;
use crate::state::Status;
use crate::state::tests::TestState;
use chrono::DateTime;
use std::time::Duration;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-05-01T08:00:00+08:00").unwrap()
}

fn ledger_with(emails: &[&str]) -> TestState {
    let test = TestState::new();
    let mut state = test.open();
    let recipients: Vec<(String, String)> = emails
        .iter()
        .map(|e| (e.to_string(), "en".to_string()))
        .collect();
    state
        .create_digest("d1", now(), &["s1".to_string()], &recipients)
        .unwrap();
    test
}

fn status(test: &TestState, email: &str) -> Status {
    test.open().delivery_status("d1", email).unwrap().unwrap()
}

#[test]
fn a_claim_is_durable_when_wait_returns_and_outcomes_follow() {
    let test = ledger_with(&["a@example.com", "b@example.com"]);
    let (ledger, writer) = ledger_writer(test.open(), now());
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        ledger.claim("d1", "a@example.com").wait().unwrap();
        // Committed: another connection sees it.
        assert_eq!(status(&test, "a@example.com"), Status::Sending);
        ledger.record("d1".into(), "a@example.com".into(), DeliveryOutcome::Sent);
        ledger.claim("d1", "b@example.com").wait().unwrap();
        // The outcome was queued before the next claim, so it is committed too.
        assert_eq!(status(&test, "a@example.com"), Status::Sent);
        ledger.record(
            "d1".into(),
            "b@example.com".into(),
            DeliveryOutcome::Deferred("451 later".into()),
        );
        drop(ledger);
        running.join().unwrap().unwrap();
    });
    assert_eq!(status(&test, "b@example.com"), Status::Deferred);
}

#[test]
fn claims_from_many_threads_each_win_once() {
    let emails: Vec<String> = (0..40).map(|i| format!("r{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let test = ledger_with(&refs);
    let (ledger, writer) = ledger_writer(test.open(), now());
    let won = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        for _ in 0..4 {
            let ledger = ledger.clone();
            let (emails, won) = (&emails, &won);
            scope.spawn(move || {
                // Every thread tries every row: exactly one claim per row may win.
                for email in emails {
                    if ledger.claim("d1", email).wait().is_ok() {
                        won.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        ledger.record("d1".into(), email.clone(), DeliveryOutcome::Sent);
                    }
                }
            });
        }
        drop(ledger);
        running.join().unwrap().unwrap();
    });
    assert_eq!(won.into_inner(), 40);
    let state = test.open();
    assert_eq!(state.counts().unwrap().sent, 40);
}

#[test]
fn a_claim_that_is_not_due_is_refused_naming_the_row() {
    let test = ledger_with(&["a@example.com"]);
    let (ledger, writer) = ledger_writer(test.open(), now());
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        ledger.claim("d1", "a@example.com").wait().unwrap();
        let error = ledger
            .claim("d1", "a@example.com")
            .wait()
            .unwrap_err()
            .to_string();
        assert!(error.contains("is sending, not due"), "{error}");
        assert!(error.contains("a@example.com"), "{error}");
        drop(ledger);
        running.join().unwrap().unwrap();
    });
}

#[test]
fn an_outcome_that_cannot_be_recorded_stops_later_claims() {
    let test = ledger_with(&["a@example.com", "b@example.com"]);
    let (ledger, writer) = ledger_writer(test.open(), now());
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        // Never claimed, so its outcome cannot be recorded.
        ledger.record("d1".into(), "a@example.com".into(), DeliveryOutcome::Sent);
        let error = ledger
            .claim("d1", "b@example.com")
            .wait()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("earlier outcome could not be recorded"),
            "{error}"
        );
        drop(ledger);
        let error = running.join().unwrap().unwrap_err().to_string();
        assert!(error.contains("not sending"), "{error}");
    });
    assert_eq!(status(&test, "b@example.com"), Status::Pending);
}

#[test]
fn claims_asked_together_are_answered_one_by_one() {
    let test = ledger_with(&["a@example.com", "b@example.com", "c@example.com"]);
    let (ledger, writer) = ledger_writer(test.open(), now());
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        ledger.claim("d1", "b@example.com").wait().unwrap();
        let claims = ledger.claim_all([
            ("d1", "a@example.com"),
            ("d1", "b@example.com"),
            ("d1", "c@example.com"),
        ]);
        let answers: Vec<bool> = claims.into_iter().map(|c| c.wait().is_ok()).collect();
        // b was claimed already: only its claim is refused.
        assert_eq!(answers, [true, false, true]);
        for email in ["a@example.com", "b@example.com", "c@example.com"] {
            assert_eq!(status(&test, email), Status::Sending, "{email}");
        }
        drop(ledger);
        running.join().unwrap().unwrap();
    });
}

#[test]
fn outcomes_queued_from_many_threads_without_a_claim_after_them_are_all_committed() {
    // Only the outcome that finds the queue empty wakes the writer; the
    // others must still reach a commit, whether they land before the
    // writer takes the queue or after, and whether a flush or the last
    // handle going away ends the run.
    let emails: Vec<String> = (0..200).map(|i| format!("r{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let test = ledger_with(&refs);
    let (ledger, writer) = ledger_writer(test.open(), now());
    let (first, second) = emails.split_at(100);
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        for claim in ledger.claim_all(refs.iter().map(|email| ("d1", *email))) {
            assert_eq!(claim.wait().unwrap(), Claimed::Sending);
        }
        record_all(&ledger, first);
        ledger.flush().unwrap();
        for email in first {
            assert_eq!(status(&test, email), Status::Sent, "{email}");
        }
        record_all(&ledger, second);
        drop(ledger);
        running.join().unwrap().unwrap();
    });
    for email in second {
        assert_eq!(status(&test, email), Status::Sent, "{email}");
    }
}

/// Records `Sent` for every row of `rows` from four threads at once, and
/// returns when they are done.
fn record_all(ledger: &Ledger, rows: &[String]) {
    std::thread::scope(|scope| {
        for chunk in rows.chunks(rows.len().div_ceil(4)) {
            scope.spawn(move || {
                for email in chunk {
                    ledger.record("d1".into(), email.clone(), DeliveryOutcome::Sent);
                }
            });
        }
    });
}

#[test]
fn the_watch_tells_a_suppression_another_connection_committed_after_the_claim() {
    let test = ledger_with(&["a@example.com", "b@example.com", "c@example.com"]);
    let (ledger, writer) = ledger_writer(test.open(), now());
    let watch = writer.watch();
    let fresh = Duration::from_secs(3600);
    let sqlite = test.open().db.backend() == crate::state::db::Backend::Sqlite;
    std::thread::scope(|scope| {
        let running = scope.spawn(|| writer.run());
        for claim in ledger.claim_all([("d1", "a@example.com"), ("d1", "b@example.com")]) {
            assert_eq!(claim.wait().unwrap(), Claimed::Sending);
        }
        // PostgreSQL has no data version: the watch never vouches there,
        // and workers look every address up themselves.
        let clear = if sqlite {
            Verdict::Clear
        } else {
            Verdict::Unknown
        };
        assert_eq!(watch.verdict("a@example.com", fresh), clear);
        // The unsubscribe lands from elsewhere after the claims; the next
        // commit (any: here a claim of another row) looks again.
        test.open()
            .suppress("b@example.com", "unsubscribed", now())
            .unwrap();
        ledger.claim("d1", "c@example.com").wait().unwrap();
        let suppressed = if sqlite {
            Verdict::Suppressed
        } else {
            Verdict::Unknown
        };
        assert_eq!(watch.verdict("b@example.com", fresh), suppressed);
        assert_eq!(watch.verdict("a@example.com", fresh), clear);
        assert_eq!(watch.verdict("c@example.com", fresh), clear);
        // Settled: no longer watched.
        ledger.record("d1".into(), "a@example.com".into(), DeliveryOutcome::Sent);
        ledger.flush().unwrap();
        assert_eq!(watch.verdict("a@example.com", fresh), Verdict::Unknown);
        drop(ledger);
        running.join().unwrap().unwrap();
    });
}

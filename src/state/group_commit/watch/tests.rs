//! Tests of the suppression watch's answers, without a writer.

use super::*;

const FRESH: Duration = Duration::from_secs(3600);

/// A watch over `email`'s claimed row, just looked at and found clear.
fn looked_clear(email: &str) -> SuppressionWatch {
    let watch = SuppressionWatch::default();
    watch.claimed(email);
    watch.looked(Instant::now(), &[]);
    watch
}

#[test]
fn a_row_is_unknown_until_claimed_and_looked_at() {
    let watch = SuppressionWatch::default();
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Unknown);
    watch.claimed("a@example.com");
    // Claimed, but the writer has not looked since: it cannot vouch.
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Unknown);
    watch.looked(Instant::now(), &[]);
    assert_eq!(watch.verdict("A@Example.com", FRESH), Verdict::Clear);
    assert_eq!(watch.verdict("b@example.com", FRESH), Verdict::Unknown);
}

#[test]
fn a_suppression_found_is_told_however_old_the_look() {
    let watch = SuppressionWatch::default();
    watch.claimed("a@example.com");
    watch.claimed("b@example.com");
    watch.looked(Instant::now(), &["a@example.com".to_owned()]);
    assert_eq!(
        watch.verdict("a@example.com", Duration::ZERO),
        Verdict::Suppressed
    );
    // A clear row needs a recent look; a zero freshness allows none.
    assert_eq!(
        watch.verdict("b@example.com", Duration::ZERO),
        Verdict::Unknown
    );
    assert_eq!(watch.verdict("b@example.com", FRESH), Verdict::Clear);
}

#[test]
fn a_settled_row_is_no_longer_vouched_for() {
    let watch = looked_clear("a@example.com");
    watch.settled("a@example.com");
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Unknown);
}

#[test]
fn a_blind_writer_vouches_for_nothing_until_it_looks_again() {
    let watch = looked_clear("a@example.com");
    watch.blind();
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Unknown);
    // "Nothing changed" cannot restore what it never confirmed.
    watch.unchanged(Instant::now());
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Unknown);
    watch.looked(Instant::now(), &[]);
    assert_eq!(watch.verdict("a@example.com", FRESH), Verdict::Clear);
}

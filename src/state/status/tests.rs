//! Tests of the stored names of delivery states (`status`).

use super::*;
use crate::state::tests::*;

#[test]
fn status_text_round_trips_and_rejects_unknown_words() {
    for status in Status::ALL {
        assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
    }
    let message = error_text("queued".parse::<Status>());
    assert!(
        message.contains("`queued` is not a delivery status"),
        "{message}"
    );
}

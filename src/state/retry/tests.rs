//! Tests of the backoff schedule (`retry`).

use super::*;

#[test]
fn retry_delay_doubles_from_five_minutes_up_to_six_hours() {
    let minutes: Vec<i64> = (1..=10).map(|n| retry_delay(n).num_minutes()).collect();
    assert_eq!(minutes, vec![5, 10, 20, 40, 80, 160, 320, 360, 360, 360]);
    assert_eq!(retry_delay(u32::MAX).num_minutes(), 360);
}

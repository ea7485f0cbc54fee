//! Crash recovery at the start of a send: rows a killed run left
//! `sending` become `unknown` (the relay may have accepted them, so they
//! are never resent on their own), and `--retry-unknown` queues the
//! unknown ones again on purpose; `--retry-deferred` makes deferred ones
//! due now.
//!
//! Runs under the send lock, before planning; it sends nothing.

use crate::app::{DeferredDeliveries, SendRequest, UnknownDeliveries};
use crate::state::State;
use anyhow::Result;
use chrono::{DateTime, FixedOffset};

/// Settles what an interrupted run left behind and applies the request's
/// retry choices; returns how many rows became `unknown` now.
pub fn recover(state: &State, request: &SendRequest, now: DateTime<FixedOffset>) -> Result<u64> {
    let interrupted = state.recover_interrupted(now)?;
    if interrupted > 0 {
        tracing::warn!(
            "{interrupted} deliveries were interrupted by a crash after they started; their fate is unknown and they are not resent (see `send --retry-unknown`)"
        );
    }
    if request.unknown == UnknownDeliveries::Retry {
        let requeued = state.requeue_unknown(now)?;
        tracing::info!("{requeued} deliveries of unknown fate queued again on purpose");
    }
    if request.deferred == DeferredDeliveries::RetryNow {
        let due = state.retry_deferred_now(now)?;
        tracing::info!("{due} deferred deliveries retried now, before their next attempt time");
    }
    Ok(interrupted)
}

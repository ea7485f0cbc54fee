//! The states a delivery can be in, and their one spelling in the database:
//! [`Status::as_str`] is where the stored words are written down. SQL
//! elsewhere in `state` takes them from here, either bound as a parameter
//! or formatted into statement text built once; the one exception is the
//! schema's CHECK constraint (see `schema`), which a test compares with
//! [`Status::ALL`].
//!
//! It must never encode a transition (which state may follow which is
//! `ledger`'s) nor talk to the database beyond converting a value.

use anyhow::{Result, anyhow};
use std::fmt;
use std::str::FromStr;

#[cfg(test)]
mod tests;

/// Where a delivery stands. Stored as lowercase text (`pending`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Recorded with its digest; not yet attempted.
    Pending,
    /// Handed to a transport; the outcome is not yet recorded.
    Sending,
    /// The transport accepted it. Never sent again.
    Sent,
    /// Refused for good (5xx, given up, or suppressed). Never sent again.
    Failed,
    /// Refused for now (4xx or connection lost before the end of data):
    /// due again at its `next_attempt_at`.
    Deferred,
    /// May or may not have been accepted: never resent automatically.
    Unknown,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Deferred,
        Status::Unknown,
    ];

    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Deferred => "deferred",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| anyhow!("`{text}` is not a delivery status"))
    }
}

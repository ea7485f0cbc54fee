//! Who claims a delivery: every claim records the send worker that made
//! it (`deliveries.claimed_by`), so that when several `gazette send
//! --worker` processes share a PostgreSQL state, a worker that dies leaves
//! rows that the others can tell apart from those of workers still running.
//!
//! A worker is alive while it holds the PostgreSQL session advisory lock
//! named by its id (taken by [`lock`](super::lock) on a connection that
//! lives as long as the process, and released by the server when that
//! connection ends, however the process ended). With SQLite there is one
//! sender at a time (the lock file), whose id is `local`.
//!
//! It decides nothing about what a dead worker's rows become; the ledger's
//! recovery rules do.

use sha2::{Digest, Sha256};

/// A send worker's id, as stored in `deliveries.claimed_by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkerId(String);

impl WorkerId {
    /// The one sender of a SQLite state (or a PostgreSQL state's sole
    /// `gazette send`, which shares with no one).
    pub fn local() -> WorkerId {
        WorkerId("local".to_owned())
    }

    /// A new id, unique to this process: `w-` and 16 hex digits from the
    /// host name, the process id and the time.
    pub fn fresh() -> WorkerId {
        let mut hash = Sha256::new();
        hash.update(std::process::id().to_le_bytes());
        if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            hash.update(host.as_bytes());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        hash.update(now.as_nanos().to_le_bytes());
        let digest = hash.finalize();
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        WorkerId(format!("w-{:016x}", u64::from_le_bytes(key)))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PostgreSQL advisory lock key that says this worker is alive;
    /// `None` for `local` (and anything not made by [`WorkerId::fresh`]).
    pub(super) fn advisory_key(&self) -> Option<i64> {
        let hex = self.0.strip_prefix("w-")?;
        u64::from_str_radix(hex, 16)
            .ok()
            .map(|key| i64::from_le_bytes(key.to_le_bytes()))
    }

    /// The id read back from `claimed_by`.
    pub(super) fn stored(text: String) -> WorkerId {
        WorkerId(text)
    }
}

impl std::fmt::Display for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::WorkerId;

    #[test]
    fn fresh_ids_differ_and_name_their_lock() {
        let a = WorkerId::fresh();
        let b = WorkerId::fresh();
        assert_ne!(a, b);
        assert!(a.advisory_key().is_some());
        assert_eq!(WorkerId::local().advisory_key(), None);
    }
}

//! Rate limits of the sign-up form: per client address (no flood from one
//! machine) and per target address (no subscription-bombing of someone
//! else's inbox). In memory: a restart forgets them, which only ever
//! allows more, never refuses a reader wrongly for long.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The sign-up form's limits.
pub struct SignupLimits {
    /// Sign-up requests per client address.
    pub per_client: Limiter,
    /// Confirmation mails per target address.
    pub per_address: Limiter,
}

impl Default for SignupLimits {
    /// 10 sign-ups per client an hour; 3 confirmation mails to one address a day.
    fn default() -> SignupLimits {
        SignupLimits {
            per_client: Limiter::new(10, Duration::from_secs(3600)),
            per_address: Limiter::new(3, Duration::from_secs(24 * 3600)),
        }
    }
}

/// At most `limit` events per key within `window`.
pub struct Limiter {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(limit: usize, window: Duration) -> Limiter {
        Limiter {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event for `key` at `now`; false when it is over the limit
    /// (and then it is not counted).
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        // Forget keys whose events have all aged out, so memory stays bounded
        // by the traffic of one window.
        if seen.len() > 10_000 {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let times = seen.entry(key.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_the_window_and_lifts_after_it() {
        let limiter = Limiter::new(2, Duration::from_secs(60));
        let start = Instant::now();
        assert!(limiter.allow("a", start));
        assert!(limiter.allow("a", start));
        assert!(!limiter.allow("a", start + Duration::from_secs(1)));
        assert!(limiter.allow("b", start), "keys are counted apart");
        assert!(limiter.allow("a", start + Duration::from_secs(61)));
    }
}

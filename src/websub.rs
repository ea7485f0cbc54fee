//! WebSub publishing (W3C Recommendation, §7): after a build changed a
//! feed, tell the hub with `hub.mode=publish` and the feed's URL, so
//! subscribers get the update at once instead of at their next poll.
//!
//! I/O at the edge: it only POSTs what it is given. Which feeds changed is
//! the caller's knowledge; a hub that fails is reported back, never retried
//! here and never fatal (the feeds are already published).

use std::time::Duration;
use url::Url;

/// How long one ping may take; a slow hub must not hold up cron.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One feed the hub did not accept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingFailure {
    pub feed: Url,
    pub reason: String,
}

/// Pings `hub` once per feed in `feeds`, in order, with `user_agent`.
/// Returns the pings that failed (a 2xx answer is success, as WebSub asks
/// hubs to answer `publish` with one).
pub fn ping(hub: &Url, feeds: &[Url], user_agent: &str) -> Vec<PingFailure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .user_agent(user_agent)
        .http_status_as_error(false)
        .build()
        .into();
    feeds
        .iter()
        .filter_map(|feed| {
            let form = [("hub.mode", "publish"), ("hub.url", feed.as_str())];
            let reason = match agent.post(hub.as_str()).send_form(form) {
                Ok(response) if response.status().is_success() => return None,
                Ok(response) => format!("the hub answered {}", response.status()),
                Err(e) => e.to_string(),
            };
            Some(PingFailure {
                feed: feed.clone(),
                reason,
            })
        })
        .collect()
}

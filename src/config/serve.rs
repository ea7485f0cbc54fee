//! Validation of `[serve]`: the address `gazette serve` listens on and the
//! public URL its pages (and the mails' links) live under.

use super::raw::RawServe;
use super::settings::ServeConfig;
use url::Url;

pub(super) fn validate_serve(raw: RawServe, problems: &mut Vec<String>) -> Option<ServeConfig> {
    let listen = match raw.listen.parse() {
        Ok(listen) => Some(listen),
        Err(_) => {
            problems.push(format!(
                "serve.listen `{}` is not an address and port, e.g. \"127.0.0.1:8080\"",
                raw.listen
            ));
            None
        }
    };
    let public_url = match Url::parse(&raw.public_url) {
        Ok(url)
            if url.scheme() == "https"
                || (url.scheme() == "http"
                    && url.host_str().is_some_and(crate::net::is_loopback_host)) =>
        {
            if url.query().is_some() || url.fragment().is_some() {
                problems.push(format!(
                    "serve.public_url `{}` has a query or fragment; write the folder the pages live under, e.g. \"https://news.example.org/list/\"",
                    raw.public_url
                ));
                None
            } else {
                // A folder: `unsubscribe` resolves under it, not beside it.
                let mut url = url;
                if !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                Some(url)
            }
        }
        _ => {
            problems.push(format!(
                "serve.public_url `{}` must be an absolute https URL (mail clients only offer one-click unsubscribe over https; http only on this machine), e.g. \"https://news.example.org/list/\"",
                raw.public_url
            ));
            None
        }
    };
    let confirm_expiry = match raw.confirm_days {
        days @ 1..=365 => Some(chrono::TimeDelta::days(days)),
        days => {
            problems.push(format!(
                "serve.confirm_days = {days}: write how many days a confirmation link works, 1 to 365 (default 7)"
            ));
            None
        }
    };
    Some(ServeConfig {
        listen: listen?,
        public_url: public_url?,
        static_files: raw.static_files,
        confirm_expiry: confirm_expiry?,
    })
}

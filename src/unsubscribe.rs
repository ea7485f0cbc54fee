//! Signed unsubscribe links: an HMAC-SHA256 token over the address, so a
//! link can unsubscribe only the person it was sent to. The secret comes
//! from an environment variable the config names; it is never stored.
//!
//! Pure functions; no I/O beyond what the caller passes in.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// The token for `email` (compared case-insensitively), as lowercase hex.
pub fn token(secret: &[u8], email: &str) -> String {
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(crate::model::EmailKey::new(email).as_str().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True when `token` was made for `email` with `secret` (constant time).
pub fn verify(secret: &[u8], email: &str, token: &str) -> bool {
    let expected = self::token(secret, email);
    expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// `base?email=…&token=…`: the one-click unsubscribe URL for `email`.
pub fn url(base: &Url, secret: &[u8], email: &str) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut()
        .append_pair("email", email)
        .append_pair("token", &token(secret, email));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verifies_only_for_its_address_and_secret() {
        let t = token(b"secret", "Li.Wei@example.org");
        assert_eq!(t.len(), 64);
        assert!(verify(b"secret", "li.wei@example.org", &t));
        assert!(!verify(b"secret", "someone@example.org", &t));
        assert!(!verify(b"other", "li.wei@example.org", &t));
    }

    #[test]
    fn url_carries_address_and_token() {
        let base = Url::parse("https://news.example.org/unsubscribe").unwrap();
        let url = url(&base, b"s", "zoë@example.org");
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(pairs[0], ("email".to_owned(), "zoë@example.org".to_owned()));
        assert!(verify(b"s", "zoë@example.org", &pairs[1].1));
    }
}

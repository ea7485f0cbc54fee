//! Signed links: an HMAC-SHA256 token over an action and an address, so a
//! link can act only for the person it was sent to, and only as it says
//! (an unsubscribe token cannot open preferences or confirm a sign-up).
//! The secret comes from an environment variable the config names; it is
//! never stored.
//!
//! Pure functions; no I/O beyond what the caller passes in.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// What a signed link may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `List-Unsubscribe` and the footer link.
    Unsubscribe,
    /// The reader's preferences page (language, topics, name).
    Preferences,
}

impl Action {
    /// Part of the signed text, so tokens of different actions differ.
    fn label(self) -> &'static str {
        match self {
            Action::Unsubscribe => "unsubscribe",
            Action::Preferences => "preferences",
        }
    }
}

/// The unsubscribe token for `email` (compared case-insensitively), as
/// lowercase hex.
pub fn token(secret: &[u8], email: &str) -> String {
    action_token(secret, Action::Unsubscribe, email)
}

/// The token for `action` on `email`, as lowercase hex.
pub fn action_token(secret: &[u8], action: Action, email: &str) -> String {
    sign(secret, action.label(), email)
}

/// The token that confirms a sign-up of `email`, valid until `expires`
/// (Unix seconds, part of what is signed, so it cannot be extended).
pub fn confirm_token(secret: &[u8], email: &str, expires: i64) -> String {
    sign(secret, &format!("confirm:{expires}"), email)
}

/// True when `token` confirms `email`'s sign-up until `expires` (constant
/// time; whether `expires` has passed is the caller's to check).
pub fn verify_confirm(secret: &[u8], email: &str, expires: i64, token: &str) -> bool {
    same(&confirm_token(secret, email, expires), token)
}

/// The signature of a VERP return path (see `verp`): the digest and the
/// recipient, under a label no other token uses.
pub fn verp_token(secret: &[u8], digest_id: &str, email: &str) -> String {
    sign(secret, &format!("verp:{digest_id}"), email)
}

fn same(expected: &str, token: &str) -> bool {
    expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn sign(secret: &[u8], label: &str, email: &str) -> String {
    // The action and a separator no action label or address holds first.
    let key = crate::model::EmailKey::new(email);
    hmac_hex(secret, &[label.as_bytes(), b"\0", key.as_str().as_bytes()])
}

/// HMAC-SHA256 of `parts` one after the other, in lowercase hex.
fn hmac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// True when `token` is the unsubscribe token of `email` with `secret`
/// (constant time). Tokens of the form mailed before tokens named their
/// action (an HMAC of the address alone) still unsubscribe, and only
/// unsubscribe: those digests are in inboxes, and their links must work.
pub fn verify(secret: &[u8], email: &str, token: &str) -> bool {
    verify_action(secret, Action::Unsubscribe, email, token)
        | same(&legacy_token(secret, email), token)
}

/// The unsubscribe token as digests carried it before tokens named their action.
fn legacy_token(secret: &[u8], email: &str) -> String {
    hmac_hex(
        secret,
        &[crate::model::EmailKey::new(email).as_str().as_bytes()],
    )
}

/// True when `token` was made for `action` on `email` with `secret`
/// (constant time).
pub fn verify_action(secret: &[u8], action: Action, email: &str, token: &str) -> bool {
    same(&action_token(secret, action, email), token)
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
    fn a_token_works_only_for_its_action() {
        let t = action_token(b"secret", Action::Preferences, "a@example.org");
        assert!(verify_action(
            b"secret",
            Action::Preferences,
            "A@example.org",
            &t
        ));
        assert!(!verify_action(
            b"secret",
            Action::Unsubscribe,
            "a@example.org",
            &t
        ));
        assert!(!verify(b"secret", "a@example.org", &t));
    }

    #[test]
    fn a_token_mailed_before_actions_were_signed_still_unsubscribes_only() {
        let old = legacy_token(b"secret", "a@example.org");
        assert!(verify(b"secret", "A@example.org", &old));
        assert!(!verify_action(
            b"secret",
            Action::Preferences,
            "a@example.org",
            &old
        ));
        assert!(!verify(b"secret", "b@example.org", &old));
    }

    #[test]
    fn a_confirmation_token_is_bound_to_its_expiry() {
        let t = confirm_token(b"secret", "a@example.org", 1_800_000_000);
        assert!(verify_confirm(
            b"secret",
            "A@example.org",
            1_800_000_000,
            &t
        ));
        assert!(!verify_confirm(
            b"secret",
            "a@example.org",
            1_900_000_000,
            &t
        ));
        assert!(!verify(b"secret", "a@example.org", &t));
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

//! VERP return paths: each digest leaves with the envelope sender
//! `<local>+<digest>.<signature>@<domain>` (`digest.return_path` split at
//! its `@`), so a bounce names the delivery it is about even when its body
//! is unreadable. The signature (HMAC over the digest and the recipient)
//! lets the mailbox find the recipient among that digest's deliveries and
//! keeps anyone from forging a bounce for an address of their choice.
//!
//! Pure functions: no I/O.

use crate::unsubscribe;

/// Hex digits of the signature: 48 bits, so guessing one for a chosen
/// address is hopeless, and the local part stays short (RFC 5321: 64).
const SIGNATURE_CHARS: usize = 12;

/// The return path of `digest_id` to `email`.
pub fn address(return_path: &str, secret: &[u8], digest_id: &str, email: &str) -> String {
    let (local, domain) = return_path.rsplit_once('@').unwrap_or((return_path, ""));
    format!(
        "{local}+{digest_id}.{}@{domain}",
        signature(secret, digest_id, email)
    )
}

/// The signature of `digest_id` to `email`.
pub fn signature(secret: &[u8], digest_id: &str, email: &str) -> String {
    let mut token = unsubscribe::verp_token(secret, digest_id, email);
    token.truncate(SIGNATURE_CHARS);
    token
}

/// A return path's (digest id, signature), when `address` is one of ours.
pub fn parse(return_path: &str, address: &str) -> Option<(String, String)> {
    let (local, domain) = return_path.rsplit_once('@')?;
    let address = address.trim().trim_matches(|c| c == '<' || c == '>');
    let (their_local, their_domain) = address.rsplit_once('@')?;
    if !their_domain.eq_ignore_ascii_case(domain) {
        return None;
    }
    let tag = their_local.strip_prefix(local)?.strip_prefix('+')?;
    let (digest_id, signature) = tag.rsplit_once('.')?;
    let valid = signature.len() == SIGNATURE_CHARS
        && signature.bytes().all(|b| b.is_ascii_hexdigit())
        && !digest_id.is_empty();
    valid.then(|| (digest_id.to_owned(), signature.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_path_reads_back_and_names_its_delivery() {
        let address = address(
            "bounces@news.example.org",
            b"s",
            "2026-11-29",
            "Zoe@example.org",
        );
        assert!(address.starts_with("bounces+2026-11-29."), "{address}");
        assert!(address.ends_with("@news.example.org"));
        assert!(address.split('@').next().unwrap().len() <= 64);
        let (digest, sig) = parse("bounces@news.example.org", &format!("<{address}>")).unwrap();
        assert_eq!(digest, "2026-11-29");
        assert_eq!(sig, signature(b"s", "2026-11-29", "zoe@example.org"));
        assert_ne!(sig, signature(b"s", "2026-11-29", "sam@example.org"));
    }

    #[test]
    fn other_addresses_are_not_return_paths() {
        for other in [
            "bounces@news.example.org",
            "bounces+2026-11-29.abc@news.example.org",
            "bounces+2026-11-29.0123456789ab@elsewhere.org",
            "other+2026-11-29.0123456789ab@news.example.org",
        ] {
            assert_eq!(parse("bounces@news.example.org", other), None, "{other}");
        }
    }
}

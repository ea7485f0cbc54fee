//! DKIM signing (RFC 6376) of finished digest messages with lettre's
//! signer, configured for relaxed/relaxed canonicalisation and for the
//! headers a receiver must be able to trust, the one-click unsubscribe
//! headers included (RFC 8058 §4 asks for them to be signed).
//!
//! This module reads no files: `config` reads the PEM text once per run and
//! turns it into a [`DkimSigner`] here, so a bad key is a config error
//! before any work starts, and every message reuses the parsed key.

use base64::Engine as _;
use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::der::asn1::ObjectIdentifier;
use rsa::pkcs8::{PrivateKeyInfo, SecretDocument};
use rsa::traits::PublicKeyParts;
use std::fmt;

/// The headers every signature covers, in `h=` order.
///
/// lettre's default list (From, Subject, To, Date) misses `Message-ID` and
/// the two `List-Unsubscribe` headers: unsigned, a forwarder could swap the
/// unsubscribe target, and RFC 8058 §4 requires them to be signed for
/// one-click unsubscribe.
pub const SIGNED_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// PKCS#8 algorithm identifiers gazette signs with.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// RFC 8301 §3.2: verifiers must not accept RSA keys under 1024 bits.
const MIN_RSA_BITS: usize = 1024;

/// Why a PEM text cannot be used as a DKIM signing key. Messages never
/// contain key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DkimKeyError {
    /// No `-----BEGIN … PRIVATE KEY-----` line at all.
    #[error("it is not a PEM private key (no \"-----BEGIN … PRIVATE KEY-----\" line)")]
    NotPem,
    /// A password-protected key.
    #[error(
        "the key is encrypted; write an unencrypted copy with `openssl pkey -in KEY -out PLAIN.pem` and keep that file private"
    )]
    Encrypted,
    /// A PEM private key of a type gazette cannot sign with.
    #[error("{0} keys cannot sign DKIM; use an RSA or Ed25519 key")]
    Unsupported(String),
    /// The PEM block is damaged or does not hold what its label says.
    #[error("the {label} key cannot be read ({reason})")]
    Invalid {
        /// The PEM label, such as `RSA PRIVATE KEY`.
        label: String,
        /// What the decoder found wrong.
        reason: String,
    },
    /// An RSA key too short for receivers to accept.
    #[error(
        "the RSA key has {0} bits; receivers reject DKIM keys under 1024 bits (RFC 8301): generate one with `openssl genrsa -out dkim.pem 2048`"
    )]
    TooShort(usize),
}

/// A DKIM signing key with its domain (`d=`) and selector (`s=`), parsed
/// once and shared by every message of a run.
pub struct DkimSigner {
    config: DkimConfig,
    domain: String,
    selector: String,
    algorithm: DkimSigningAlgorithm,
}

// Hand-written so the private key never reaches a log line.
impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimSigner")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl DkimSigner {
    /// Parses `pem`: an RSA key in PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
    /// PKCS#8 (`BEGIN PRIVATE KEY`), or an Ed25519 key in PKCS#8
    /// (RFC 8463, `a=ed25519-sha256`), as `openssl genrsa` and
    /// `openssl genpkey -algorithm ed25519` write them.
    pub fn from_pem(pem: &str, domain: &str, selector: &str) -> Result<DkimSigner, DkimKeyError> {
        let (key, algorithm) = signing_key(pem)?;
        let headers = SIGNED_HEADERS
            .iter()
            .map(|name| HeaderName::new_from_ascii_str(name))
            .collect();
        // lettre defaults to simple header canonicalisation, which breaks as
        // soon as a relay refolds a header; relaxed survives that.
        let canonicalization = DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        };
        Ok(DkimSigner {
            config: DkimConfig::new(
                selector.to_owned(),
                domain.to_owned(),
                key,
                headers,
                canonicalization,
            ),
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            algorithm,
        })
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`); the public key is published at
    /// `<selector>._domainkey.<domain>`.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Adds a `DKIM-Signature` header to `message`. Its `t=` is the real
    /// clock (lettre reads it), not `--now`.
    pub fn sign(&self, message: &mut Message) {
        message.sign(&self.config);
    }
}

/// The PEM label of the first private-key block in `pem`, e.g. `RSA PRIVATE KEY`.
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = pem[start..].find("-----")? + start;
    Some(&pem[start..end])
}

/// lettre takes an RSA key only as PKCS#1 PEM and an Ed25519 key only as
/// base64 of its 32-byte seed, so every accepted form is turned into one of
/// those.
fn signing_key(pem: &str) -> Result<(DkimSigningKey, DkimSigningAlgorithm), DkimKeyError> {
    let label = pem_label(pem).ok_or(DkimKeyError::NotPem)?;
    let invalid = |reason: String| DkimKeyError::Invalid {
        label: label.to_owned(),
        reason,
    };
    match label {
        "RSA PRIVATE KEY" => {
            let key = RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| invalid(e.to_string()))?;
            rsa_key(&key)
        }
        "PRIVATE KEY" => {
            // PKCS#8 names the algorithm inside; dispatch on it so a damaged
            // RSA key is reported as that, not as "not Ed25519".
            let (_, document) =
                SecretDocument::from_pem(pem).map_err(|e| invalid(e.to_string()))?;
            let info: PrivateKeyInfo = document.decode_msg().map_err(|e| invalid(e.to_string()))?;
            match info.algorithm.oid {
                RSA_ENCRYPTION => {
                    let key = RsaPrivateKey::try_from(info).map_err(|e| invalid(e.to_string()))?;
                    rsa_key(&key)
                }
                ED25519 => {
                    let key = ed25519_dalek::SigningKey::try_from(info)
                        .map_err(|e| invalid(e.to_string()))?;
                    let seed = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
                    let key = DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519)
                        .map_err(|e| invalid(e.to_string()))?;
                    Ok((key, DkimSigningAlgorithm::Ed25519))
                }
                oid => Err(DkimKeyError::Unsupported(format!(
                    "PKCS#8 (algorithm {oid})"
                ))),
            }
        }
        "ENCRYPTED PRIVATE KEY" => Err(DkimKeyError::Encrypted),
        other if other.ends_with("PRIVATE KEY") => Err(DkimKeyError::Unsupported(
            other.trim_end_matches("PRIVATE KEY").trim().to_owned(),
        )),
        _ => Err(DkimKeyError::NotPem),
    }
}

fn rsa_key(key: &RsaPrivateKey) -> Result<(DkimSigningKey, DkimSigningAlgorithm), DkimKeyError> {
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(DkimKeyError::TooShort(bits));
    }
    let invalid = |reason: String| DkimKeyError::Invalid {
        label: "RSA PRIVATE KEY".to_owned(),
        reason,
    };
    // Zeroised when dropped.
    let pkcs1 = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| invalid(e.to_string()))?;
    let key = DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa)
        .map_err(|e| invalid(e.to_string()))?;
    Ok((key, DkimSigningAlgorithm::Rsa))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/rsa.pem");
    const RSA_512_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/rsa-512.pem");
    const ED25519_PEM: &str = include_str!("../../tests/fixtures/mail/dkim/ed25519.pem");

    fn error(pem: &str) -> String {
        DkimSigner::from_pem(pem, "news.example.org", "brief")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_rsa_and_ed25519_keys() {
        let rsa = DkimSigner::from_pem(RSA_PEM, "news.example.org", "brief").unwrap();
        assert!(matches!(rsa.algorithm, DkimSigningAlgorithm::Rsa));
        assert_eq!(
            (rsa.domain(), rsa.selector()),
            ("news.example.org", "brief")
        );
        let ed = DkimSigner::from_pem(ED25519_PEM, "news.example.org", "brief").unwrap();
        assert!(matches!(ed.algorithm, DkimSigningAlgorithm::Ed25519));
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let signer = DkimSigner::from_pem(RSA_PEM, "news.example.org", "brief").unwrap();
        let debug = format!("{signer:?}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(debug.contains("news.example.org"), "{debug}");
        // No key material: neither PEM lines nor the big integers of the key.
        let body_line = RSA_PEM.lines().nth(1).unwrap();
        assert!(!debug.contains(body_line), "{debug}");
        assert!(debug.len() < 200, "{debug}");
    }

    #[test]
    fn rejects_text_that_is_not_a_pem_key() {
        assert_eq!(
            error("v=DKIM1; k=rsa; p=MIIB"),
            "it is not a PEM private key (no \"-----BEGIN … PRIVATE KEY-----\" line)"
        );
        assert_eq!(
            error("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"),
            DkimKeyError::NotPem.to_string()
        );
    }

    #[test]
    fn rejects_a_damaged_key_naming_its_kind() {
        let damaged = RSA_PEM.replacen("MII", "MIX", 1);
        let err = error(&damaged);
        assert!(
            err.starts_with("the RSA PRIVATE KEY key cannot be read ("),
            "{err}"
        );
        let err = error("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert!(
            err.starts_with("the PRIVATE KEY key cannot be read ("),
            "{err}"
        );
    }

    #[test]
    fn rejects_unsupported_encrypted_and_short_keys() {
        assert_eq!(
            error("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
            "EC keys cannot sign DKIM; use an RSA or Ed25519 key"
        );
        assert!(
            error(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            )
            .contains("the key is encrypted; write an unencrypted copy with `openssl pkey")
        );
        assert!(
            error(RSA_512_PEM).starts_with(
                "the RSA key has 512 bits; receivers reject DKIM keys under 1024 bits"
            ),
            "{}",
            error(RSA_512_PEM)
        );
    }
}

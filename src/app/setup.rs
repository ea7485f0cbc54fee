//! Parse, then build: turns the validated [`Config`] (plain data) into the
//! working parts a run needs, each built once: the DKIM signer (its key
//! read and parsed), the compiled import rules, the unsubscribe secret and
//! the transports.
//!
//! A part that cannot be built is reported like a config problem (exit 3)
//! before any work starts. This file builds; it decides nothing about the
//! order of a run.

use crate::config::{Config, ConfigError, Delivery, DigestConfig, DkimConfig, SmtpSecurity};
use crate::deliver::{
    DkimSigner, FileOutbox, RateLimiter, Security, SmtpSettings, SmtpTransport, Transport,
};
use crate::source::text::ChromeRules;
use anyhow::{Result, anyhow};
use std::cell::OnceCell;

/// The DKIM signer of `[digest.dkim]`, its key read and parsed; `None`
/// when the site signs nothing.
pub fn dkim_signer(config: &Config) -> Result<Option<DkimSigner>> {
    let Some(dkim) = config.digest.as_ref().and_then(|d| d.dkim.as_ref()) else {
        return Ok(None);
    };
    read_dkim_key(dkim).map(Some).map_err(|problem| {
        ConfigError {
            path: config.path.clone(),
            problems: vec![problem],
        }
        .into()
    })
}

fn read_dkim_key(dkim: &DkimConfig) -> Result<DkimSigner, String> {
    let path = &dkim.private_key;
    let pem = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "digest.dkim.private_key: cannot read `{}` ({e}); point it at the PEM file holding the DKIM private key (relative to the config folder), e.g. one made with `openssl genrsa -out dkim.pem 2048`",
            path.display()
        )
    })?;
    DkimSigner::from_pem(&pem, &dkim.domain, &dkim.selector).map_err(|e| {
        format!(
            "digest.dkim.private_key `{}`: {e}; gazette signs with an RSA key (PEM, PKCS#1 or PKCS#8) or an Ed25519 key (PEM, PKCS#8)",
            path.display()
        )
    })
}

/// The import rules (built-in chrome and caption patterns plus the site's
/// `[import]` ones), compiled on first use: a site without text sources
/// never pays for the regex sets.
#[derive(Debug, Default)]
pub struct ImportRules {
    compiled: OnceCell<ChromeRules>,
}

impl ImportRules {
    /// The compiled rules when a text source of `config` needs them.
    pub fn for_sources(&self, config: &Config) -> Result<Option<&ChromeRules>> {
        if config.has_text_sources() {
            self.get(config).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The compiled rules of `config`.
    pub fn get(&self, config: &Config) -> Result<&ChromeRules> {
        if let Some(rules) = self.compiled.get() {
            return Ok(rules);
        }
        let rules = ChromeRules::new(&config.import.chrome, &config.import.captions)
            .map_err(|m| anyhow!("{}: [import]: {m}", config.path.display()))?;
        Ok(self.compiled.get_or_init(|| rules))
    }
}

/// The shortest unsubscribe secret accepted, in bytes. Every subscriber
/// holds an HMAC of their own address under it, so a short secret can be
/// found offline by trying them all against one's own link (a 1-byte
/// secret in at most 256 tries), and then anyone can be unsubscribed.
/// 32 bytes is the size of HMAC-SHA256's output: guessing is no easier
/// than forging a token.
pub const MIN_SECRET_BYTES: usize = 32;

/// The secret that signs unsubscribe links, from the environment variable
/// the config names; at least [`MIN_SECRET_BYTES`] long.
pub fn unsubscribe_secret(digest: &DigestConfig) -> Result<Vec<u8>> {
    let name = &digest.unsubscribe_secret_env;
    let secret = std::env::var_os(name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "the environment variable {name} is not set; it holds the secret that signs unsubscribe links: at least {MIN_SECRET_BYTES} random bytes, kept the same between runs (make one with `openssl rand -hex 32`)"
            )
        })?;
    // Its bytes are the key: no need for it to be UTF-8.
    let secret = secret.into_encoded_bytes();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(anyhow!(
            "the environment variable {name} holds {} bytes; the secret that signs unsubscribe links must be at least {MIN_SECRET_BYTES} bytes long, or anyone with their own link could recover it offline: set it to the output of `openssl rand -hex 32` (links already sent stop working when the secret changes)",
            secret.len()
        ));
    }
    Ok(secret)
}

/// The transports of a send: one per connection, and the shared rate limit.
pub struct Transports {
    /// One per worker thread.
    pub connections: Vec<Box<dyn Transport>>,
    pub limiter: RateLimiter,
    /// How many jobs each connection claims ahead (see `delivery.smtp.claim_ahead`).
    pub claim_ahead: usize,
}

/// Builds the transports `[delivery]` selects.
pub fn transports(delivery: &Delivery) -> Result<Transports> {
    match delivery {
        Delivery::File { outbox } => Ok(Transports {
            connections: vec![Box::new(FileOutbox::new(outbox.clone())?)],
            limiter: RateLimiter::new(0),
            // A file is written faster than its claim is synced: the next
            // claim overlaps the write, as on a relay.
            claim_ahead: 1,
        }),
        Delivery::Smtp(smtp) => {
            let password = if smtp.username.is_empty() {
                None
            } else {
                Some(std::env::var(&smtp.password_env).map_err(|_| {
                    anyhow!(
                        "delivery.smtp.username is set but the environment variable {} (the SMTP password) is not",
                        smtp.password_env
                    )
                })?)
            };
            let mut connections: Vec<Box<dyn Transport>> = Vec::with_capacity(smtp.connections);
            for _ in 0..smtp.connections {
                let settings = SmtpSettings {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    security: match smtp.security {
                        SmtpSecurity::Tls => Security::Tls,
                        SmtpSecurity::Starttls => Security::StartTls,
                        SmtpSecurity::None => Security::None,
                    },
                    username: smtp.username.clone(),
                    password: password.clone(),
                    timeout: smtp.timeout,
                    hello_name: None,
                };
                connections.push(Box::new(SmtpTransport::new(settings)?));
            }
            Ok(Transports {
                connections,
                limiter: RateLimiter::new(smtp.max_per_second),
                claim_ahead: smtp.claim_ahead,
            })
        }
    }
}

#[cfg(test)]
mod tests;

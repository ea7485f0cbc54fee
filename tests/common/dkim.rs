//! Independent DKIM verification for tests: mail-auth's verifier (not the
//! lettre code that signs), given the public key as a pre-filled TXT cache
//! entry so no DNS query is ever made. Also used by the unit tests in
//! `src/deliver/` (through `#[path]`), so it depends on nothing else here.
#![allow(dead_code)]

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// One signature as the verifier saw it.
#[derive(Debug)]
pub struct Verified {
    pub result: DkimResult,
    /// `h=`, as written.
    pub headers: Vec<String>,
    /// `c=` as `header/body`.
    pub canonicalization: String,
    pub domain: String,
    pub selector: String,
}

/// A TXT cache holding exactly the records a test gives it.
struct TxtRecords(HashMap<Box<str>, Txt>);

impl ResolverCache<Box<str>, Txt> for TxtRecords {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// Verifies every DKIM-Signature of `message` against the key record `txt`
/// (`v=DKIM1; k=rsa; p=…`) published at `<selector>._domainkey.<domain>`.
pub fn verify(message: &[u8], selector: &str, domain: &str, txt: &str) -> Vec<Verified> {
    let key = DomainKey::parse(txt.trim().as_bytes()).expect("the test's TXT record parses");
    // mail-auth looks names up fully qualified, with the trailing dot.
    let name = format!("{selector}._domainkey.{domain}.");
    let cache = TxtRecords(HashMap::from([(
        name.into_boxed_str(),
        Txt::DomainKey(Arc::new(key)),
    )]));
    // No name servers: a lookup the cache cannot answer fails instead of
    // reaching the network.
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_parts(None, vec![], vec![]),
        ResolverOpts::default(),
    )
    .expect("a resolver without name servers");
    let parsed = AuthenticatedMessage::parse(message).expect("mail-auth parses the message");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let outputs = runtime
        .block_on(authenticator.verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache)));
    outputs
        .into_iter()
        .map(|output| {
            let signature = output.signature();
            Verified {
                result: output.result().clone(),
                headers: signature.map(|s| s.h.clone()).unwrap_or_default(),
                canonicalization: signature
                    .map(|s| format!("{:?}/{:?}", s.ch, s.cb).to_lowercase())
                    .unwrap_or_default(),
                domain: signature.map(|s| s.d.clone()).unwrap_or_default(),
                selector: signature.map(|s| s.s.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

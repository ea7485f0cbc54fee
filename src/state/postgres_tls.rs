//! The TLS side of a PostgreSQL connection: a rustls client configuration
//! that checks the server's certificate as [`ServerCheck`] says (nothing,
//! the chain, or the chain and the name), for the driver's rustls adapter.
//! Reads the `sslrootcert` file, and says what to do when a connection
//! fails over TLS; opens no connection and knows no table.

use crate::config::{PostgresTls, ServerCheck, TrustRoots};
use anyhow::{Context, Result, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::{Arc, Mutex};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector that checks the server's certificate as `check` says.
/// Built once per process for each check asked for: a send opens several
/// connections, and the system's roots are many files to read.
pub(super) fn connector(check: &ServerCheck) -> Result<MakeRustlsConnect> {
    static BUILT: Mutex<Vec<(ServerCheck, MakeRustlsConnect)>> = Mutex::new(Vec::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, connector)) = built.iter().find(|(made_for, _)| made_for == check) {
        return Ok(connector.clone());
    }
    let connector = build(check)?;
    built.push((check.clone(), connector.clone()));
    Ok(connector)
}

fn build(check: &ServerCheck) -> Result<MakeRustlsConnect> {
    // Named, not the process default: the dev build also links aws-lc-rs,
    // and rustls refuses to guess between two providers.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        ServerCheck::Nothing => Arc::new(Lenient {
            chain: None,
            signatures: provider.signature_verification_algorithms,
        }),
        ServerCheck::Chain(roots) => Arc::new(Lenient {
            chain: Some(webpki(roots, &provider)?),
            signatures: provider.signature_verification_algorithms,
        }),
        ServerCheck::ChainAndName(roots) => webpki(roots, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS for the state database")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `error` and its sources, outermost first.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// What to do about a failed connection, when the failure says: a
/// `; …` to append to the error, or nothing.
pub(super) fn failure_hint(error: &postgres::Error, tls: &PostgresTls) -> &'static str {
    for cause in causes(error) {
        // The adapter hands rustls's error over inside an io::Error, whose
        // `source` skips it.
        let tls_error = cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(|e| e.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(certificate)) = tls_error {
            return match certificate {
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "; the server's certificate is not for the host in state.url: connect by \
                     the name the certificate carries, or use sslmode=verify-ca"
                }
                rustls::CertificateError::UnknownIssuer
                | rustls::CertificateError::BadSignature
                    if matches!(
                        tls,
                        PostgresTls::Require(ServerCheck::Chain(_) | ServerCheck::ChainAndName(_))
                    ) =>
                {
                    "; the server's certificate is not signed by a trusted authority: name \
                     the file of the CA that signed it in sslrootcert"
                }
                // Expired and the rest: rustls's own words say it.
                _ => "",
            };
        }
    }
    let refused_tls = causes(error).any(|cause| cause.to_string() == "server does not support TLS");
    if refused_tls {
        return "; sslmode asks for TLS and the server does not offer it: turn `ssl = on` \
                in the server's postgresql.conf, or use sslmode=disable on a private network";
    }
    ""
}

fn webpki(roots: &TrustRoots, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
    let store = root_store(roots)?;
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .context("cannot set up the state database's certificate check")
}

fn root_store(roots: &TrustRoots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        TrustRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            // Unreadable entries are skipped; what was read is enough.
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                bail!(
                    "state.url checks the server's certificate against the system's \
                     certificate authorities, and none were found; install the \
                     `ca-certificates` package or name your CA's file in sslrootcert"
                );
            }
        }
        TrustRoots::File(path) => {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|found| found.collect::<Result<_, _>>())
                .map_err(|e| {
                    anyhow!(
                        "cannot read sslrootcert {} ({e}); it must be the PEM file of the \
                         certificate authority that signed the server's certificate",
                        path.display()
                    )
                })?;
            if certificates.is_empty() {
                bail!(
                    "sslrootcert {} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); \
                     name the file of the certificate authority that signed the server's \
                     certificate",
                    path.display()
                );
            }
            for certificate in certificates {
                store.add(certificate).map_err(|e| {
                    anyhow!(
                        "sslrootcert {}: a certificate is not usable: {e}",
                        path.display()
                    )
                })?;
            }
        }
    }
    Ok(store)
}

/// The checks libpq leaves out: `verify-ca` (and `require` with a root
/// certificate) checks the chain but not the name, for a server reached by
/// an address its certificate does not carry; `prefer` and `require`
/// without one take the certificate as it comes. Either way the
/// handshake's signatures are checked, so the session is with the holder
/// of the certificate's key.
#[derive(Debug)]
struct Lenient {
    /// The chain's check; `None`: no check of the certificate.
    chain: Option<Arc<WebPkiServerVerifier>>,
    signatures: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.signatures)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.signatures)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_schemes()
    }
}

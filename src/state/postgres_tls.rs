//! The TLS side of a PostgreSQL connection: a rustls client configuration
//! that checks the server's certificate as [`PostgresTls`] says (nothing,
//! the chain, or the chain and the name), for the driver's rustls adapter.
//! Reads the `sslrootcert` file; opens no connection and knows no table.

use crate::config::{PostgresTls, ServerCheck, TrustRoots};
use anyhow::{Context, Result, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `tls` (used only when the mode is not `disable`).
pub(super) fn connector(tls: &PostgresTls) -> Result<MakeRustlsConnect> {
    // Named, not the process default: the dev build also links aws-lc-rs,
    // and rustls refuses to guess between two providers.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match &tls.check {
        ServerCheck::Nothing => Arc::new(Unchecked(provider.clone())),
        ServerCheck::Chain(roots) => Arc::new(ChainOnly(webpki(roots, &provider)?)),
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

/// `verify-ca`: the chain is checked, the name is not (libpq's meaning;
/// for a server reached by an address its certificate does not name).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
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
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the
/// certificate taken as it comes (libpq's meaning). The handshake's
/// signatures are still checked, so the session is with the holder of the
/// certificate's key, whoever that is.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

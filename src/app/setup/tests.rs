use super::*;
use crate::config::tests::{mail_fixture, parse_with_dkim};

fn signer_of(dkim: &str) -> Result<Option<DkimSigner>> {
    dkim_signer(&parse_with_dkim(dkim)?)
}

#[test]
fn dkim_signer_reads_the_key_relative_to_the_config() {
    let signer = signer_of("selector = \"brief\"\nprivate_key = \"dkim/rsa.pem\"\n")
        .unwrap()
        .unwrap();
    assert_eq!(signer.domain(), "news.example.org");
    assert_eq!(signer.selector(), "brief");
    assert!(!format!("{signer:?}").contains("BEGIN"), "{signer:?}");

    let signer = signer_of(
        "domain = \"Example.ORG\"\nselector = \"s1\"\nprivate_key = \"dkim/ed25519.pem\"\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(signer.domain(), "example.org");
}

#[test]
fn dkim_key_that_cannot_be_read_is_named_with_what_to_do() {
    let error =
        signer_of("selector = \"brief\"\nprivate_key = \"dkim/missing.pem\"\n").unwrap_err();
    assert_eq!(crate::ExitCode::for_error(&error), crate::ExitCode::Config);
    let err = format!("{error:#}");
    let path = mail_fixture().join("dkim/missing.pem");
    assert!(
        err.contains(&format!(
            "digest.dkim.private_key: cannot read `{}` (",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "point it at the PEM file holding the DKIM private key (relative to the config folder)"
        ),
        "{err}"
    );
}

#[test]
fn dkim_file_that_is_not_a_key_is_named_with_what_to_do() {
    let err = format!(
        "{:#}",
        signer_of("selector = \"brief\"\nprivate_key = \"dkim/rsa.txt\"\n").unwrap_err()
    );
    let path = mail_fixture().join("dkim/rsa.txt");
    assert!(
        err.contains(&format!(
            "digest.dkim.private_key `{}`: it is not a PEM private key",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "gazette signs with an RSA key (PEM, PKCS#1 or PKCS#8) or an Ed25519 key (PEM, PKCS#8)"
        ),
        "{err}"
    );
    // The key's bytes never reach the message.
    assert!(!err.contains("MII"), "{err}");
    let err = format!(
        "{:#}",
        signer_of("selector = \"brief\"\nprivate_key = \"dkim/rsa-512.pem\"\n").unwrap_err()
    );
    assert!(err.contains("the RSA key has 512 bits"), "{err}");
}

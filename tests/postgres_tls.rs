//! TLS to a PostgreSQL state: `gazette send` against the test server
//! (tests/e2e/postgres-start.sh: TLS on, a certificate for `localhost`
//! signed by a CA of its own, and a role `gazette_tls` the server accepts
//! only over TLS), with the `sslmode` and `sslrootcert` a newsroom writes
//! in `state.url`. A send that succeeds as `gazette_tls` was encrypted;
//! a certificate that does not check out stops the run before anything is
//! sent, with what to do. The last test stands in for a server with TLS
//! off by answering the driver's TLS request the way such a server does.

mod common;

use common::postgres::{Database, server, server_ca};
use common::smtp::MailServer;
use common::{NOW, Site, stderr, stdout};
use std::process::{Command, Output};

const SECRET: &str = "tls-test-secret-0123456789abcdef0123456";

/// `postgres://gazette_tls@{host}:{port}/{database}?{query}`.
fn url(database: &Database, host: &str, query: &str) -> String {
    let mut url = url::Url::parse(&database.url).unwrap();
    url.set_username("gazette_tls").unwrap();
    url.set_host(Some(host)).unwrap();
    format!("{url}?{query}")
}

fn send_with_state(site: &Site, relay: &MailServer, state_url: &str) -> Output {
    let config = site
        .read("config.toml.orig")
        .replace("port = 0", &format!("port = {}", relay.port))
        + &format!("\n[state]\nurl = {state_url:?}\n");
    site.write("config.toml", config);
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--now", NOW, "send"])
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG")
        .output()
        .unwrap()
}

fn mail_site() -> Site {
    let site = Site::from_fixture("mail");
    site.write("config.toml.orig", site.read("config.toml"));
    site
}

fn ledger(database: &Database) -> Vec<(String, String)> {
    database
        .client()
        .query("SELECT email, status FROM deliveries ORDER BY email", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[test]
fn verify_full_with_the_servers_ca_sends_over_tls_and_the_tls_only_role_is_refused_without_it() {
    let Some(ca) = server_ca() else { return };
    let database = Database::create(&server().unwrap(), "tls_full");
    let site = mail_site();
    let relay = MailServer::start(&[]);

    let plain = send_with_state(
        &site,
        &relay,
        &url(&database, "localhost", "sslmode=disable"),
    );
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    let error = stderr(&plain);
    assert!(
        error.contains("cannot connect to the state database") && error.contains("no encryption"),
        "{error}"
    );
    assert!(relay.received().is_empty());

    let verified = send_with_state(
        &site,
        &relay,
        &url(
            &database,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
    );
    assert!(
        verified.status.success(),
        "{}\n{}",
        stdout(&verified),
        stderr(&verified)
    );
    assert!(
        stdout(&verified).contains("sent 4, deferred 0, failed 0, unknown 0"),
        "{}",
        stdout(&verified)
    );
    assert_eq!(relay.received().len(), 4);
    let rows = ledger(&database);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|(_, status)| status == "sent"), "{rows:?}");
}

#[test]
fn require_and_the_default_encrypt_without_checking_the_certificate() {
    let Some(_) = server_ca() else { return };
    let database = Database::create(&server().unwrap(), "tls_require");
    let site = mail_site();
    let relay = MailServer::start(&[]);
    // 127.0.0.1 is not the name on the certificate, and its CA is not
    // given: `require` (libpq's meaning) encrypts and checks neither.
    let output = send_with_state(
        &site,
        &relay,
        &url(&database, "127.0.0.1", "sslmode=require"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(relay.received().len(), 4);
    assert_eq!(ledger(&database).len(), 4);

    // No sslmode is libpq's `prefer`: TLS when the server offers it, which
    // the TLS-only role proves by being let in.
    let database = Database::create(&server().unwrap(), "tls_prefer");
    let relay = MailServer::start(&[]);
    let mut default = url(&database, "127.0.0.1", "");
    default.pop();
    let output = send_with_state(&site, &relay, &default);
    assert!(output.status.success(), "{default}: {}", stderr(&output));
    assert_eq!(relay.received().len(), 4);
}

#[test]
fn a_certificate_that_does_not_check_out_stops_the_send_with_what_to_do() {
    let Some(ca) = server_ca() else { return };
    let database = Database::create(&server().unwrap(), "tls_refused");
    let site = mail_site();
    let relay = MailServer::start(&[]);
    let cases = [
        (
            url(
                &database,
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "the server's certificate is not for the host in state.url",
        ),
        (
            url(&database, "localhost", "sslmode=verify-full"),
            "the server's certificate is not signed by a trusted authority: name the file of the CA that signed it in sslrootcert",
        ),
        (
            url(
                &database,
                "localhost",
                "sslmode=verify-ca&sslrootcert=no-such-ca.pem",
            ),
            "cannot read sslrootcert",
        ),
    ];
    for (state_url, expected) in cases {
        let output = send_with_state(&site, &relay, &state_url);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{state_url}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{state_url}: {}",
            stderr(&output)
        );
    }
    // verify-ca checks the chain only: the same address is accepted.
    let chain_only = send_with_state(
        &site,
        &relay,
        &url(
            &database,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
    );
    assert!(chain_only.status.success(), "{}", stderr(&chain_only));
    assert_eq!(relay.received().len(), 4);
}

#[test]
fn require_against_a_server_without_tls_says_so() {
    // What a server with `ssl = off` answers to the driver's SSLRequest:
    // one byte, `N`. No PostgreSQL needed to see gazette's message.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 8];
        stream.read_exact(&mut request).unwrap();
        // Length 8, then the SSLRequest code 80877103.
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
        stream.write_all(b"N").unwrap();
    });
    let site = mail_site();
    let relay = MailServer::start(&[]);
    let output = send_with_state(
        &site,
        &relay,
        &format!("postgres://gazette@127.0.0.1:{port}/news?sslmode=require"),
    );
    server.join().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "sslmode asks for TLS and the server does not offer it: turn `ssl = on` in the server's postgresql.conf"
        ),
        "{}",
        stderr(&output)
    );
    assert!(relay.received().is_empty());
}

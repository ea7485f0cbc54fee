//! A throwaway database on the PostgreSQL server the tests are given
//! (`GAZETTE_TEST_POSTGRES`, started by `.ci/run` through
//! `tests/e2e/postgres-start.sh`), dropped when the test ends.

/// The server's URL, or `None` (and a note) when no server was given
/// outside CI; under CI a missing server fails the test.
pub fn server() -> Option<String> {
    given(
        "GAZETTE_TEST_POSTGRES",
        "no PostgreSQL server; run `eval \"$(tests/e2e/postgres-start.sh)\"` first",
    )
}

/// The PEM file of the CA that signed the test server's certificate
/// (`GAZETTE_TEST_POSTGRES_CA`), or `None` as [`server`] says.
#[allow(dead_code)] // Only the TLS tests need it.
pub fn server_ca() -> Option<String> {
    server()?;
    given(
        "GAZETTE_TEST_POSTGRES_CA",
        "the PostgreSQL server given has no test CA; start one with tests/e2e/postgres-start.sh",
    )
}

/// The value of `variable`, or `None` (and why the test is skipped)
/// outside CI; under CI it must be set.
fn given(variable: &str, missing: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must set {variable} (see tests/e2e/postgres-start.sh)")
        }
        _ => {
            eprintln!("skipped: {missing}");
            None
        }
    }
}

/// A database of the test's own.
pub struct Database {
    server: String,
    name: String,
    /// Its URL, for `state.url`.
    pub url: String,
}

impl Database {
    pub fn create(server: &str, purpose: &str) -> Database {
        let name = format!("gazette_it_{purpose}_{}", std::process::id());
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(server).unwrap();
        url.set_path(&format!("/{name}"));
        Database {
            server: server.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// A connection to it, for reading the ledger back.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

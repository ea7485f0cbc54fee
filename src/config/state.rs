//! `[state]` validated: the SQLite file or the PostgreSQL URL, and the
//! TLS its `sslmode` and `sslrootcert` ask for. Reads no file and connects
//! to nothing; the state module does that with what this returns.

use super::settings::{PostgresState, PostgresTls, ServerCheck, StateLocation, TrustRoots};
use std::path::Path;
use url::Url;

/// `[state]`: a SQLite file (`path`, the default) or a PostgreSQL URL
/// (`url`), never both. The password is never in config.toml.
pub(super) fn validate_state(
    raw: super::raw::RawState,
    root: &Path,
    problems: &mut Vec<String>,
) -> StateLocation {
    let default = || StateLocation::Sqlite(root.join(".gazette/state.db"));
    match (raw.path, raw.url) {
        (Some(_), Some(_)) => {
            problems.push(
                "[state] sets both `path` (a SQLite file) and `url` (a PostgreSQL database); keep one".to_owned(),
            );
            default()
        }
        (path, None) => {
            if raw.password_env.is_some() {
                problems.push(
                    "state.password_env is only for a PostgreSQL `state.url`; remove it, or set `url`".to_owned(),
                );
            }
            path.map_or_else(default, |path| StateLocation::Sqlite(root.join(path)))
        }
        (None, Some(url)) => {
            let (url, tls) = match Url::parse(&url) {
                Ok(parsed) if matches!(parsed.scheme(), "postgres" | "postgresql") => {
                    if parsed.password().is_some() {
                        problems.push(format!(
                            "state.url `{}` holds a password; remove it from the URL, export it in an environment variable and name that in state.password_env",
                            redact_password(&parsed)
                        ));
                    }
                    (
                        without_tls_parameters(&url),
                        postgres_tls(&parsed, root, problems),
                    )
                }
                _ => {
                    problems.push(format!(
                        "state.url `{url}` is not a PostgreSQL URL; write it as \"postgres://user@host:5432/database\""
                    ));
                    (url, PostgresTls::default())
                }
            };
            StateLocation::Postgres(PostgresState {
                url,
                password_env: raw.password_env,
                tls,
            })
        }
    }
}

/// The parameters [`postgres_tls`] reads, which the driver does not know
/// (or knows fewer values of) and so must not see.
const TLS_PARAMETERS: [&str; 2] = ["sslmode", "sslrootcert"];

/// `sslmode` and `sslrootcert` of a PostgreSQL URL, as libpq reads them
/// (except `allow`, which no one should want and the driver cannot do).
fn postgres_tls(url: &Url, root: &Path, problems: &mut Vec<String>) -> PostgresTls {
    let parameter = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let roots = parameter("sslrootcert").map(|value| match value.as_str() {
        "system" => TrustRoots::System,
        path => TrustRoots::File(root.join(path)),
    });
    let mode = parameter("sslmode");
    match (mode.as_deref().unwrap_or("prefer"), roots) {
        ("disable", None) => PostgresTls::Disable,
        ("prefer", None) => PostgresTls::Prefer,
        ("require", None) => PostgresTls::Require(ServerCheck::Nothing),
        // libpq: `require` with a root certificate checks the chain.
        ("require" | "verify-ca", Some(roots)) => PostgresTls::Require(ServerCheck::Chain(roots)),
        ("verify-ca", None) => PostgresTls::Require(ServerCheck::Chain(TrustRoots::System)),
        ("verify-full", roots) => PostgresTls::Require(ServerCheck::ChainAndName(
            roots.unwrap_or(TrustRoots::System),
        )),
        (mode @ ("disable" | "prefer"), Some(_)) => {
            problems.push(format!(
                "state.url names an sslrootcert, but sslmode={mode} checks no certificate; \
                 use sslmode=verify-full (or verify-ca), or drop sslrootcert"
            ));
            PostgresTls::default()
        }
        (other, _) => {
            problems.push(format!(
                "state.url has sslmode={other}; use one of disable, prefer, require, verify-ca, \
                 verify-full (verify-full checks that the certificate is the server's)"
            ));
            PostgresTls::default()
        }
    }
}

/// `url` without [`TLS_PARAMETERS`], every other parameter as written
/// (the driver decodes them itself, so they are not re-encoded).
fn without_tls_parameters(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !pair.is_empty() && !TLS_PARAMETERS.contains(&key)
        })
        .collect();
    let mut written = base.to_owned();
    if !kept.is_empty() {
        written.push('?');
        written.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        written.push('#');
        written.push_str(fragment);
    }
    written
}

fn redact_password(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(Some("****"));
    url.to_string()
}

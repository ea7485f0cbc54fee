//! Facts about network names that more than one stage must agree on, such
//! as which SMTP hosts may be reached without TLS.
//!
//! A leaf module: it depends on nothing of ours, does no I/O and never
//! resolves a name (the answer must not depend on DNS or `/etc/hosts`).

use std::net::{IpAddr, Ipv6Addr};

/// Whether `host` certainly names this machine, so traffic to it never
/// leaves it: `localhost` in any case, with or without the trailing dot of
/// a fully qualified name; any IPv4 address in 127.0.0.0/8; IPv6 `::1` in
/// any spelling; the IPv4-mapped form of a 127.0.0.0/8 address
/// (`::ffff:127.0.0.1`). An IP address may be in one pair of brackets, as
/// in a URL or an SMTP address literal (`[::1]`, `[127.0.0.1]`).
///
/// Anything else is `false`, including names that usually resolve to
/// loopback but need not (`foo.localhost`, a host-file alias), shorthand
/// IPv4 forms the C resolver accepts (`127.1`), surrounding spaces, and
/// unbalanced brackets: a false `false` only costs the user a clear error,
/// a false `true` would send a password in clear text.
pub fn is_loopback_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .and_then(|address| address.parse::<IpAddr>().ok())
            .is_some_and(is_loopback_ip);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    name.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(is_loopback_ip)
}

/// `IpAddr::is_loopback`, plus IPv4-mapped IPv6 loopback addresses, which
/// the standard library does not count but which reach 127.0.0.0/8.
fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || mapped_loopback(v6),
    }
}

fn mapped_loopback(v6: Ipv6Addr) -> bool {
    v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_spelling_of_this_machine() {
        for host in [
            "localhost",
            "LOCALHOST",
            "LocalHost",
            "localhost.",
            "LOCALHOST.",
            "127.0.0.1",
            "127.1.2.3",
            "127.255.255.255",
            "[127.0.0.1]",
            "::1",
            "[::1]",
            "0:0:0:0:0:0:0:1",
            "[0000:0000:0000:0000:0000:0000:0000:0001]",
            "::ffff:127.0.0.1",
            "[::ffff:127.9.9.9]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn rejects_other_hosts_and_malformed_spellings() {
        for host in [
            "",
            ".",
            "smtp.example.com",
            "localhost.example.com",
            "foo.localhost",
            "localhost..",
            "mylocalhost",
            "192.168.1.10",
            "10.0.0.1",
            "128.0.0.1",
            "0.0.0.0",
            "::",
            "::2",
            "::ffff:10.0.0.1",
            "[localhost]",
            "[::1",
            "::1]",
            "[[::1]]",
            "[127.0.0.1].",
            "127.0.0.1.",
            " localhost",
            "localhost ",
            "127.1",
        ] {
            assert!(!is_loopback_host(host), "{host:?}");
        }
    }
}

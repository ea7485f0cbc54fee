//! Network names shared by the stages that judge them: which hosts are
//! this machine. A leaf: depends on nothing of ours.

/// True when `host` names this machine: `localhost` (any case, with or
/// without a trailing dot or brackets), any 127.0.0.0/8 address, or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

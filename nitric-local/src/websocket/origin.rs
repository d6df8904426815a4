//! Which browser pages may open a websocket: the `Origin` check of an
//! upgrade request.
//!
//! Browsers let any page open a websocket to any address, and tell the
//! server which page asked in the `Origin` header. Without a check, any
//! website a developer visits could talk to the app running on their
//! machine. So the gateway accepts only requests without an `Origin`
//! (command-line clients, other programs), pages served from this machine
//! (loopback origins), the gateway's own page wherever it is served (see
//! below), and the origins the configuration lists.
//!
//! The gateway's own page (the page for trying a socket) opens its
//! websocket from the origin `http://` + the `Host` it was served under.
//! On a gateway bound to another address than loopback that is not a
//! loopback origin, so a request whose `Origin` is `http://` + its own
//! `Host` is accepted too, but only when that `Host` is an IP address: a
//! host name proves nothing, because of DNS rebinding. A foreign page at
//! `http://evil.example:4001` can have `evil.example` resolve to this
//! machine, and its websocket then arrives with `Origin:
//! http://evil.example:4001` and `Host: evil.example:4001`, which match.
//! An IP address cannot be rebound: a page whose origin is
//! `http://192.0.2.7:4001` was served by whoever listens there, and a
//! request that names that address in its `Host` reached this gateway
//! there. A page reached through a host name other than `localhost` needs
//! its origin listed.

use std::net::{IpAddr, SocketAddr};

/// The allowed origins of one gateway.
#[derive(Debug, Clone)]
pub(super) struct AllowedOrigins {
    any: bool,
    /// Lowercase origins without a trailing `/`.
    listed: Vec<String>,
}

impl AllowedOrigins {
    /// `listed` as [`crate::Config::allowed_origins`] holds them: origins,
    /// `null`, or `*` for any.
    pub(super) fn new(listed: &[String]) -> Self {
        let listed: Vec<String> = listed
            .iter()
            .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        Self {
            any: listed.iter().any(|origin| origin == "*"),
            listed,
        }
    }

    /// Whether a request with this `Origin` header value (`None`: without
    /// one), sent with this `Host` header value, may open a websocket.
    pub(super) fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.any {
            return true;
        }
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        is_loopback(&origin) || is_own(&origin, host) || self.listed.contains(&origin)
    }
}

/// `http(s)://` with a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`)
/// and any port.
fn is_loopback(origin: &str) -> bool {
    let Some((host, _port)) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .and_then(split_host_port)
    else {
        return false;
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The gateway's own origin as the request names it: `http://` + `host`,
/// where `host` is an IP address and an optional port (see the module docs
/// for why not a name).
fn is_own(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host.and_then(ip_and_port) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .and_then(ip_and_port)
        .is_some_and(|from| from == host)
}

/// Whether `host_port` is an IP address other than loopback and an
/// optional port.
pub(super) fn is_remote_ip_and_port(host_port: &str) -> bool {
    ip_and_port(host_port).is_some_and(|addr| !addr.ip().is_loopback())
}

/// The address and port (80 when left out, as for `http`) of a
/// `host[:port]` whose host is an IP address: `192.0.2.7:4001`,
/// `[2001:db8::7]:4001`.
fn ip_and_port(host_port: &str) -> Option<SocketAddr> {
    let (host, port) = split_host_port(host_port)?;
    // In brackets, an IPv6 address; without, an IPv4 one.
    let ip: IpAddr = if host_port.starts_with('[') {
        IpAddr::V6(host.parse().ok()?)
    } else {
        IpAddr::V4(host.parse().ok()?)
    };
    Some(SocketAddr::new(ip, port.unwrap_or(80)))
}

/// `host[:port]` split in two, an IPv6 host without its brackets; `None`
/// when the port is not a number.
fn split_host_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed.split_once(']')?;
            if rest.is_empty() {
                (host, None)
            } else {
                (host, Some(rest.strip_prefix(':')?))
            }
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = match port {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_and_none_are_allowed_by_default() {
        let allowed = AllowedOrigins::new(&[]);
        for origin in [
            "http://localhost",
            "http://localhost:3000",
            "https://LOCALHOST:8443/",
            "http://127.0.0.1:5173",
            "http://127.1.2.3",
            "http://[::1]:8080",
            "https://[::1]",
        ] {
            assert!(allowed.allows(Some(origin), None), "{origin}");
        }
        assert!(allowed.allows(None, None));
        for origin in [
            "https://example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost:port",
            "file://localhost",
            "null",
            "",
        ] {
            assert!(!allowed.allows(Some(origin), None), "{origin}");
        }
    }

    #[test]
    fn listed_origins_are_allowed_and_a_star_allows_any() {
        let allowed = AllowedOrigins::new(&["https://Example.com/".into(), "null".into()]);
        assert!(allowed.allows(Some("https://example.com"), None));
        assert!(allowed.allows(Some("null"), None));
        assert!(allowed.allows(Some("http://localhost:1"), None));
        assert!(!allowed.allows(Some("http://example.com"), None));
        assert!(AllowedOrigins::new(&["*".into()]).allows(Some("https://anything.test"), None));
    }

    #[test]
    fn the_gateways_own_origin_is_allowed_when_its_host_is_an_ip_address() {
        let allowed = AllowedOrigins::new(&[]);
        for (origin, host) in [
            ("http://192.0.2.7:4001", "192.0.2.7:4001"),
            ("HTTP://192.0.2.7:4001/", "192.0.2.7:4001"),
            ("http://192.0.2.7", "192.0.2.7"),
            ("http://192.0.2.7", "192.0.2.7:80"),
            ("http://192.0.2.7:80", "192.0.2.7"),
            ("http://[2001:db8::7]:4001", "[2001:DB8::7]:4001"),
        ] {
            assert!(allowed.allows(Some(origin), Some(host)), "{origin} {host}");
        }
        for (origin, host) in [
            // A name can be rebound to this machine by a foreign page.
            ("http://evil.example:4001", "evil.example:4001"),
            ("http://localhost.example:4001", "localhost.example:4001"),
            // Another address, port or scheme is another origin.
            ("http://192.0.2.8:4001", "192.0.2.7:4001"),
            ("http://192.0.2.7:4002", "192.0.2.7:4001"),
            ("https://192.0.2.7:4001", "192.0.2.7:4001"),
            ("http://192.0.2.7:4001", ""),
            ("http://192.0.2.7:4001/path", "192.0.2.7:4001"),
            ("http://[2001:db8::7]:4001", "2001:db8::7"),
            ("http://[192.0.2.7]:4001", "[192.0.2.7]:4001"),
        ] {
            assert!(!allowed.allows(Some(origin), Some(host)), "{origin} {host}");
        }
        assert!(!allowed.allows(Some("http://192.0.2.7:4001"), None));
    }
}

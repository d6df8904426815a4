//! Which browser pages may open a websocket: the `Origin` check of an
//! upgrade request.
//!
//! Browsers let any page open a websocket to any address, and tell the
//! server which page asked in the `Origin` header. Without a check, any
//! website a developer visits could talk to the app running on their
//! machine. So the gateway accepts only requests without an `Origin`
//! (command-line clients, other programs), pages served from this machine
//! (loopback origins), and the origins the configuration lists.

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
    /// one) may open a websocket.
    pub(super) fn allows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.any {
            return true;
        }
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        is_loopback(&origin) || self.listed.contains(&origin)
    }
}

/// `http(s)://` with a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`)
/// and any port.
fn is_loopback(origin: &str) -> bool {
    let Some(host_port) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, rest)) if rest.is_empty() || is_port(rest) => host,
            _ => return false,
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) if is_port(&format!(":{port}")) => host,
            Some(_) => return false,
            None => host_port,
        }
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `:` followed by a port number.
fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .is_some_and(|port| port.parse::<u16>().is_ok())
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
            assert!(allowed.allows(Some(origin)), "{origin}");
        }
        assert!(allowed.allows(None));
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
            assert!(!allowed.allows(Some(origin)), "{origin}");
        }
    }

    #[test]
    fn listed_origins_are_allowed_and_a_star_allows_any() {
        let allowed = AllowedOrigins::new(&["https://Example.com/".into(), "null".into()]);
        assert!(allowed.allows(Some("https://example.com")));
        assert!(allowed.allows(Some("null")));
        assert!(allowed.allows(Some("http://localhost:1")));
        assert!(!allowed.allows(Some("http://example.com")));
        assert!(AllowedOrigins::new(&["*".into()]).allows(Some("https://anything.test")));
    }
}

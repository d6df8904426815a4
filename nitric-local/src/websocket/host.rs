//! The `Host` header check: RFC 9112, section 3.2, says a server must
//! answer 400 (Bad Request) to an HTTP/1.1 request without a `Host`
//! header, and to any request with more than one `Host` line or with a
//! `Host` that is not a host and optional port. Every request to a gateway
//! passes here first, the page and websocket upgrades alike, so the rest of
//! the gateway (the same-origin rule of [`super::origin`]) can trust the
//! one `Host` it reads.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What is wrong with a request's `Host` header.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    /// An HTTP/1.1 request without one (HTTP/1.0 clients may leave it out).
    Missing,
    /// More than one line, which could name two different hosts.
    Repeated(usize),
    /// Not `host[:port]`.
    Invalid,
}

impl Problem {
    fn describe(&self) -> String {
        match self {
            Self::Missing => "the request has no Host header".to_owned(),
            Self::Repeated(lines) => format!("the request has {lines} Host headers"),
            Self::Invalid => "the request's Host header is not a host and optional port".to_owned(),
        }
    }
}

/// Middleware refusing a request whose `Host` breaks RFC 9112's rules with
/// 400, and closing its connection: a client that sends such a request
/// cannot be relied on to frame the next one.
pub(super) async fn require_valid(request: Request, next: Next) -> Response {
    match check(request.version(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(problem) => {
            tracing::debug!(
                ?problem,
                "refusing a request to the websocket gateway with a bad Host header"
            );
            (
                StatusCode::BAD_REQUEST,
                [(header::CONNECTION, HeaderValue::from_static("close"))],
                format!("{} (RFC 9112, section 3.2)\n", problem.describe()),
            )
                .into_response()
        }
    }
}

fn check(version: Version, headers: &HeaderMap) -> Result<(), Problem> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let Some(host) = hosts.next() else {
        return match version {
            Version::HTTP_09 | Version::HTTP_10 => Ok(()),
            _ => Err(Problem::Missing),
        };
    };
    let more = hosts.count();
    if more > 0 {
        return Err(Problem::Repeated(1 + more));
    }
    if is_host_and_port(host.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::Invalid)
    }
}

/// `uri-host [ ":" port ]`, or empty (what a client sends for a target
/// without an authority, RFC 9110 section 7.2).
fn is_host_and_port(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    // An authority without user information is a host and a port, but the
    // parser leaves the port unchecked: `port = *DIGIT` (RFC 3986).
    let Ok(authority) = text.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    !text.contains('@')
        && text
            .strip_prefix(authority.host())
            .is_some_and(|rest| match rest.strip_prefix(':') {
                Some(port) => port.bytes().all(|byte| byte.is_ascii_digit()),
                None => rest.is_empty(),
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(hosts: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for host in hosts {
            headers.append(header::HOST, HeaderValue::from_static(host));
        }
        headers
    }

    #[test]
    fn one_host_and_port_passes() {
        for host in [
            "127.0.0.1:4001",
            "localhost",
            "[::1]:4001",
            "example.com",
            "",
        ] {
            assert_eq!(check(Version::HTTP_11, &headers(&[host])), Ok(()), "{host}");
        }
    }

    #[test]
    fn missing_repeated_or_malformed_hosts_are_refused() {
        assert_eq!(
            check(Version::HTTP_11, &headers(&[])),
            Err(Problem::Missing)
        );
        assert_eq!(check(Version::HTTP_10, &headers(&[])), Ok(()));
        assert_eq!(
            check(Version::HTTP_11, &headers(&["a", "a"])),
            Err(Problem::Repeated(2))
        );
        assert_eq!(
            check(Version::HTTP_10, &headers(&["a", "b", "c"])),
            Err(Problem::Repeated(3))
        );
        for host in [
            "user@host",
            "a b",
            "host:port",
            "host:1:2",
            "host/path",
            "[::1",
        ] {
            assert_eq!(
                check(Version::HTTP_11, &headers(&[host])),
                Err(Problem::Invalid),
                "{host}"
            );
        }
    }
}

//! The page for trying a socket: a plain `GET /` on a gateway (no upgrade)
//! gets a small HTML page that connects to the same socket, sends text or
//! JSON and lists every message, like the Nitric CLI's dashboard does.
//!
//! The page is self-contained: its style and script are inline, allowed by
//! a fresh nonce in its `Content-Security-Policy`, which lets it load
//! nothing else and open websockets only to this machine: to loopback, and
//! to the gateway it came from. Served under an IP address other than
//! loopback (a gateway bound to another interface), its websocket is
//! accepted as the gateway's own origin ([`super::origin`]).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::origin;

/// The page, with [`NONCE`] where each response's nonce goes.
const PAGE: &str = include_str!("page.html");

/// Stands for the nonce in [`PAGE`].
const NONCE: &str = "{{nonce}}";

/// Whether a request to `/` is a plain one, for the page, rather than an
/// attempt to switch protocols, which the upgrade endpoint answers (with its
/// own errors when the upgrade is malformed).
pub(super) fn is_plain(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::UPGRADE)
}

/// The page, for a `GET` (or `HEAD`, which axum answers without the body)
/// that came with this `Host` header value.
pub(super) fn serve(host: Option<&str>) -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let csp = HeaderValue::from_str(&content_security_policy(&nonce, host))
        .expect("the policy is ASCII without control characters");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_SECURITY_POLICY, csp),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        PAGE.replace(NONCE, &nonce),
    )
        .into_response()
}

/// Nothing but the page's own style and script, websockets to this gateway
/// and to loopback, and no framing by other pages. The gateway is `'self'`,
/// and also named as `ws://` + `host` when that is an IP address other than
/// loopback (the only hosts besides loopback whose websocket the origin
/// check takes for the page's own), for browsers whose `'self'` does not
/// cover websockets.
fn content_security_policy(nonce: &str, host: Option<&str>) -> String {
    let own = host
        .filter(|host| origin::is_remote_ip_and_port(host))
        .map(|host| format!(" ws://{host}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; \
         connect-src 'self'{own} ws://127.0.0.1:* ws://localhost:* ws://[::1]:*; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page() -> (String, String) {
        let response = serve(None);
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (csp, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_inline_style_and_script_carry_the_policys_nonce() {
        let (csp, html) = page().await;
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_eq!(nonce.len(), 32, "{csp}");
        assert!(!html.contains(NONCE));
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), 2);
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("<style").count(), 1);
        assert_ne!(page().await.0, csp, "each response has its own nonce");
    }

    #[test]
    fn the_policy_names_the_gateway_only_by_ip_address() {
        let policy = |host| content_security_policy("n", host);
        assert!(policy(Some("192.0.2.7:4001"))
            .contains("connect-src 'self' ws://192.0.2.7:4001 ws://127.0.0.1:*"));
        assert!(policy(Some("[2001:db8::7]:4001")).contains(" ws://[2001:db8::7]:4001 "));
        for host in [
            None,
            Some("example.com:4001"),
            Some("a;b"),
            Some("127.0.0.1:4001"),
        ] {
            assert!(policy(host).contains("connect-src 'self' ws://127.0.0.1:*"));
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for reference in ["http://", "https://", " src=", " href=", "@import", "url("] {
            assert!(!PAGE.contains(reference), "the page mentions {reference}");
        }
        // Inline `style="..."` attributes would need 'unsafe-hashes'.
        assert!(!PAGE.contains(" style="));
    }

    #[test]
    fn only_requests_without_an_upgrade_get_the_page() {
        let mut headers = HeaderMap::new();
        assert!(is_plain(&headers));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(!is_plain(&headers));
    }
}

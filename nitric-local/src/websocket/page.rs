//! The page for trying a socket: a plain `GET /` on a gateway (no upgrade)
//! gets a small HTML page that connects to the same socket, sends text or
//! JSON and lists every message, like the Nitric CLI's dashboard does.
//!
//! The page is self-contained: its style and script are inline, allowed by
//! a fresh nonce in its `Content-Security-Policy`, which lets it load
//! nothing else and open websockets only to this machine.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

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

/// The page, for a `GET` (or `HEAD`, which axum answers without the body).
pub(super) fn serve() -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let csp = HeaderValue::from_str(&content_security_policy(&nonce))
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
/// (`'self'`) and to loopback, and no framing by other pages.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; \
         connect-src 'self' ws://127.0.0.1:* ws://localhost:* ws://[::1]:*; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page() -> (String, String) {
        let response = serve();
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

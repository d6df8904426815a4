//! The gateway's `Host` rule (RFC 9112, section 3.2), over raw TCP: an
//! HTTP/1.1 request without a `Host` header, or any request with more than
//! one, is answered 400, on the page and on a websocket upgrade alike.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{within, TestMembrane};

/// The key from RFC 6455's example handshake.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// What the gateway answered: the status and the rest of the head.
struct Answer {
    status: u16,
    head: String,
    /// Whatever else arrived before the connection closed (for a 400) or
    /// with the head (for a 101 or 200 on a kept connection).
    body: String,
}

/// Sends `request_line`, then `headers`, on a fresh connection to `addr`,
/// and reads the answer's head and, if the gateway closes the connection,
/// its body.
async fn send(addr: &str, request_line: &str, headers: &[String]) -> Answer {
    within(&format!("an answer to {request_line} {headers:?}"), async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut request = format!("{request_line}\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        // Up to the end of the head, and on to the end of the connection
        // when the answer says it closes.
        loop {
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            raw.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&raw);
            if read == 0 {
                break;
            }
            if let Some((head, _)) = text.split_once("\r\n\r\n") {
                if !head.to_ascii_lowercase().contains("connection: close") {
                    break;
                }
            }
        }
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete head in {raw:?}"));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Answer {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    })
    .await
}

fn upgrade_headers() -> Vec<String> {
    vec![
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ]
}

fn page_headers() -> Vec<String> {
    vec!["Accept: text/html".to_owned()]
}

#[tokio::test]
async fn requests_without_exactly_one_host_get_400_on_the_page_and_the_upgrade() {
    let test = TestMembrane::start().await;
    let app = test.accepting_app("chat").await;
    let addr = app.url.strip_prefix("ws://").unwrap().to_owned();
    let host = format!("Host: {addr}");

    for (what, others, fine) in [
        ("the page", page_headers(), 200),
        ("an upgrade", upgrade_headers(), 101),
    ] {
        // One Host: served.
        let with = |hosts: &[&str]| {
            let mut headers: Vec<String> = hosts.iter().map(|host| (*host).to_owned()).collect();
            headers.extend(others.clone());
            headers
        };
        let answer = send(&addr, "GET / HTTP/1.1", &with(&[&host])).await;
        assert_eq!(answer.status, fine, "{what}: {}", answer.head);

        for (case, hosts) in [
            ("no Host header", vec![]),
            ("2 Host headers", vec![host.as_str(), host.as_str()]),
            (
                "2 Host headers",
                vec![host.as_str(), "Host: elsewhere.test"],
            ),
        ] {
            let answer = send(&addr, "GET / HTTP/1.1", &with(&hosts)).await;
            assert_eq!(
                answer.status, 400,
                "{what} with {hosts:?}: {}\n{}",
                answer.head, answer.body
            );
            assert_eq!(
                answer.body,
                format!("the request has {case} (RFC 9112, section 3.2)\n"),
                "{what} with {hosts:?}"
            );
        }
    }

    // HTTP/1.0 predates Host: without one the page is still served, but two
    // are refused whatever the version.
    let answer = send(&addr, "GET / HTTP/1.0", &page_headers()).await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    let mut headers = vec![host.clone(), host.clone()];
    headers.extend(page_headers());
    let answer = send(&addr, "GET / HTTP/1.0", &headers).await;
    assert_eq!(answer.status, 400, "{}", answer.head);
}

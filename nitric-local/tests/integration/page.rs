//! The page a plain GET on a gateway serves, over real HTTP on loopback,
//! next to the websocket upgrade on the same path.

use futures_util::{SinkExt, StreamExt};
use nitric_protocol::websockets::v1::websocket_event_request::WebsocketEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{within, App, Client, TestMembrane};

/// An HTTP/1.1 response, read to the end of the connection.
struct Answer {
    status: u16,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(found, _)| found == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

/// Sends `method /path` to the gateway of `ws_url` and reads the answer.
async fn request(ws_url: &str, method: &str, path: &str) -> Answer {
    let host = ws_url.strip_prefix("ws://").unwrap().trim_end_matches('/');
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(host).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        Answer {
            status: status.parse().unwrap(),
            headers: lines
                .map(|line| {
                    let (name, value) = line.split_once(':').unwrap();
                    (name.to_ascii_lowercase(), value.trim().to_owned())
                })
                .collect(),
            body: body.to_owned(),
        }
    })
    .await
}

#[tokio::test]
async fn a_plain_get_serves_the_page_and_the_upgrade_still_works() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;

    let page = request(&app.url, "GET", "/?name=ada").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-store");
    let csp = page.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains("connect-src 'self' ws://127.0.0.1:* ws://localhost:*"),
        "{csp}"
    );
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
    assert!(page.body.contains("<title>Try this websocket</title>"));
    assert_eq!(
        page.header("content-length"),
        page.body.len().to_string(),
        "the whole page arrives"
    );

    let head = request(&app.url, "HEAD", "/").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), "text/html; charset=utf-8");
    assert!(head.body.is_empty(), "{}", head.body);

    // The page's own websocket comes from the gateway's origin.
    let origin = app.url.replace("ws://", "http://");
    let mut upgrade = app.url.as_str().into_client_request().unwrap();
    upgrade
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    let (mut client, _) = within("the upgrade", tokio_tungstenite::connect_async(upgrade))
        .await
        .expect("a websocket from the page's origin is accepted");
    app.connects.next().await;
    client.send(Message::text("from the page")).await.unwrap();
    match app.messages.next().await.websocket_event {
        Some(WebsocketEvent::Message(message)) => assert_eq!(message.body, b"from the page"),
        other => panic!("expected a message event, got {other:?}"),
    }
    client.close(None).await.unwrap();
    while let Some(Ok(_)) = within("the close", client.next()).await {}
    app.disconnects.next().await;
}

#[tokio::test]
async fn other_methods_get_405() {
    let test = TestMembrane::start().await;
    let app = test.accepting_app("chat").await;
    for method in ["POST", "PUT", "DELETE"] {
        let answer = request(&app.url, method, "/").await;
        assert_eq!(answer.status, 405, "{method}: {}", answer.body);
        let allow = answer.header("allow");
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    }
    assert_eq!(request(&app.url, "GET", "/elsewhere").await.status, 404);
}

/// A non-loopback IPv4 address of this machine: the one its default route
/// leaves from (a UDP "connect" only picks the route, nothing is sent), or
/// the first global one `ip` lists.
fn this_machines_address() -> Option<std::net::Ipv4Addr> {
    let usable = |ip: std::net::Ipv4Addr| !ip.is_loopback() && !ip.is_unspecified();
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| {
            // TEST-NET-3 (RFC 5737): routed like any address, never answered.
            socket.connect("203.0.113.1:9")?;
            socket.local_addr()
        })
        .ok()
        .and_then(|addr| match addr.ip() {
            std::net::IpAddr::V4(ip) if usable(ip) => Some(ip),
            _ => None,
        });
    routed.or_else(|| {
        let listed = std::process::Command::new("ip")
            .args(["-4", "-o", "addr", "show", "scope", "global"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .skip_while(|word| *word != "inet")
            .nth(1)
            .and_then(|cidr| cidr.split('/').next()?.parse().ok())
            .filter(|ip| usable(*ip))
    })
}

/// Opens a websocket to `url` as a page of `origin` would, with `host` as
/// the `Host` header when given (what a client sends for a name that
/// resolved to this address); the error is the HTTP status of a refusal.
async fn upgrade_from(url: &str, origin: &str, host: Option<&str>) -> Result<Client, u16> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    if let Some(host) = host {
        request.headers_mut().insert("Host", host.parse().unwrap());
    }
    match within("the upgrade", tokio_tungstenite::connect_async(request)).await {
        Ok((client, _)) => Ok(client),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("expected an answer to the upgrade, got {other}"),
    }
}

/// The page's own websocket works on `app`'s gateway reached at `addr`,
/// and only the page's own origin (by IP address) is taken for it.
async fn the_page_works_through(app: &mut App, addr: &str) {
    let url = format!("ws://{addr}");
    let page = request(&url, "GET", "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{addr} ")),
        "{csp}"
    );

    let mut client = upgrade_from(&url, &format!("http://{addr}"), None)
        .await
        .unwrap_or_else(|status| panic!("the page's own websocket was refused with {status}"));
    app.connects.next().await;
    client.send(Message::text("from afar")).await.unwrap();
    match app.messages.next().await.websocket_event {
        Some(WebsocketEvent::Message(message)) => assert_eq!(message.body, b"from afar"),
        other => panic!("expected a message event, got {other:?}"),
    }
    client.close(None).await.unwrap();
    while let Some(Ok(_)) = within("the close", client.next()).await {}
    app.disconnects.next().await;

    let port = addr.rsplit(':').next().unwrap();
    for (origin, host) in [
        // A foreign page.
        ("https://example.com".to_owned(), None),
        // Another port of the same address is another origin.
        (format!("http://{addr}1"), None),
        // A foreign page whose name was rebound to this machine's address
        // (DNS rebinding): its Origin and Host match, but name no address.
        (
            format!("http://rebound.example:{port}"),
            Some(format!("rebound.example:{port}")),
        ),
    ] {
        let refused = upgrade_from(&url, &origin, host.as_deref()).await;
        assert_eq!(refused.err(), Some(403), "{origin} {host:?}");
    }
}

#[tokio::test]
async fn the_page_works_on_a_gateway_bound_to_another_address_than_loopback() {
    let Some(ip) = this_machines_address() else {
        eprintln!("skipped: this machine has no address but loopback");
        return;
    };
    // Bound to that address, and to every address, reached through it.
    for bind in [std::net::IpAddr::V4(ip), "0.0.0.0".parse().unwrap()] {
        let test = TestMembrane::start_with(|config| config.ws_host = bind).await;
        let mut app = test.accepting_app("chat").await;
        let port = app.url.rsplit(':').next().unwrap().to_owned();
        the_page_works_through(&mut app, &format!("{ip}:{port}")).await;
    }
}

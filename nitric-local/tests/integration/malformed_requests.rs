//! The gateway from the outside, under generated HTTP request heads sent
//! over a raw TCP socket: mangled request lines and headers, arbitrary query
//! strings and header values, arbitrary bytes. Whatever arrives, the gateway
//! answers with an HTTP status or closes the connection, upgrades every
//! well-formed request whatever its query string or extra headers, and still
//! serves a normal websocket client after each case.
//!
//! 64 cases by default; for a longer search:
//! `PROPTEST_CASES=5000 cargo test -p nitric-local --test integration malformed_requests`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::SinkExt;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{body, open_client, within, App, TestMembrane};

/// Cases when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 64;
/// How long the gateway may take to answer or close.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The key from RFC 6455's example handshake.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// One generated request, as bytes on the wire.
#[derive(Clone)]
struct Request {
    /// What is sent, shown as text (lossily) when a case fails.
    text: String,
    bytes: Vec<u8>,
    /// Whether a well-formed upgrade request must get `101`.
    must_upgrade: bool,
}

impl Request {
    fn upgrade(text: String) -> Self {
        Self::new(text, true)
    }

    fn new(text: String, must_upgrade: bool) -> Self {
        Self {
            bytes: text.clone().into_bytes(),
            text,
            must_upgrade,
        }
    }

    /// The head is complete, so the gateway has a request to answer. Empty
    /// lines before the request line do not count: HTTP/1.1 servers skip
    /// them and wait for the request.
    fn is_complete(&self) -> bool {
        let start = self
            .bytes
            .iter()
            .position(|byte| !matches!(byte, b'\r' | b'\n'))
            .unwrap_or(self.bytes.len());
        let head = &self.bytes[start..];
        let ends = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        ends(b"\r\n\r\n") || ends(b"\n\n")
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("text", &self.text)
            .field("must_upgrade", &self.must_upgrade)
            .finish()
    }
}

/// The header lines of a correct websocket upgrade request.
fn upgrade_headers() -> Vec<String> {
    vec![
        "Host: 127.0.0.1".to_owned(),
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ]
}

fn head(request_line: &str, headers: &[String]) -> String {
    let mut text = format!("{request_line}\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text
}

/// A correct upgrade whose query string is any run of the characters a URI
/// allows there (percent signs not necessarily followed by hex digits).
fn upgrade_with_query() -> impl Strategy<Value = Request> {
    "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,60}".prop_map(|query| {
        Request::upgrade(head(&format!("GET /?{query} HTTP/1.1"), &upgrade_headers()))
    })
}

/// A correct upgrade with one more header whose value is any visible
/// ASCII text.
fn upgrade_with_header() -> impl Strategy<Value = Request> {
    (
        prop_oneof![
            "x-[a-z0-9-]{1,12}",
            select(&["User-Agent", "Cookie", "Accept"][..]).prop_map(str::to_owned)
        ],
        "[!-~]([ -~]{0,60}[!-~])?",
    )
        .prop_map(|(name, value)| {
            let mut headers = upgrade_headers();
            headers.push(format!("{name}: {value}"));
            Request::upgrade(head("GET / HTTP/1.1", &headers))
        })
}

/// An upgrade with parts dropped, replaced or garbled: any answer will do.
fn mangled_upgrade() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        select(&["GET", "POST", "HEAD", "OPTIONS", "CONNECT", "get", ""][..])
            .prop_map(str::to_owned),
        "[!-~]{1,10}",
    ];
    let target = prop_oneof![
        Just("/".to_owned()),
        "/\\?[ -~]{0,40}",
        "/[^\r\n]{0,30}",
        Just("*".to_owned()),
        Just("http://127.0.0.1/".to_owned()),
    ];
    let version = prop_oneof![
        select(&["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 extra", ""][..])
            .prop_map(str::to_owned),
        "[ -~]{0,10}",
    ];
    let header_edit = prop_oneof![
        3 => Just(None),
        1 => Just(Some(String::new())),
        1 => "[^\r\n]{0,40}".prop_map(Some),
        1 => "[A-Za-z-]{1,20}: [^\r\n]{0,40}".prop_map(Some),
        1 => "[ -~]{0,20}:[\\x00-\\xff]{0,20}".prop_map(Some),
    ];
    (
        method,
        target,
        version,
        prop::collection::vec(header_edit, 5),
        prop::collection::vec("[A-Za-z-]{1,16}: [ -~]{0,40}", 0..4),
        any::<bool>(),
    )
        .prop_map(|(method, target, version, edits, extra, terminated)| {
            let mut headers: Vec<String> = upgrade_headers()
                .into_iter()
                .zip(edits)
                .map(|(header, edit)| edit.unwrap_or(header))
                .filter(|header| !header.is_empty())
                .collect();
            headers.extend(extra);
            let mut text = head(&format!("{method} {target} {version}"), &headers);
            if !terminated {
                text.truncate(text.len() - 2);
            }
            Request::new(text, false)
        })
}

/// Any bytes, with or without the blank line that ends a head.
fn arbitrary_bytes() -> impl Strategy<Value = Request> {
    (prop::collection::vec(any::<u8>(), 0..200), any::<bool>()).prop_map(|(mut bytes, end)| {
        if end {
            bytes.extend_from_slice(b"\r\n\r\n");
        }
        Request {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
            must_upgrade: false,
        }
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        1 => upgrade_with_query(),
        1 => upgrade_with_header(),
        2 => mangled_upgrade(),
        1 => arbitrary_bytes(),
    ]
}

/// What the gateway did with a request.
#[derive(Debug, PartialEq)]
enum Answer {
    Status(u16),
    Closed,
}

/// Sends `request` on a fresh TCP connection and reads the status line of
/// the answer, or sees the connection close.
async fn send(port: u16, request: &Request) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| format!("connecting: {error}"))?;
    if stream.write_all(&request.bytes).await.is_err() {
        return Ok(Answer::Closed); // it closed while we were still writing
    }
    if !request.is_complete() {
        // Nothing more is coming; the gateway sees the end of the stream.
        let _ = stream.shutdown().await;
    }
    let mut received = Vec::new();
    let read = tokio::time::timeout(ANSWER_WITHIN, async {
        let mut buffer = [0u8; 512];
        loop {
            if received.windows(2).any(|w| w == b"\r\n") {
                return;
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
    })
    .await;
    if read.is_err() {
        return Err(format!(
            "neither answered nor closed within {ANSWER_WITHIN:?} (received {:?})",
            String::from_utf8_lossy(&received)
        ));
    }
    if received.is_empty() {
        return Ok(Answer::Closed);
    }
    status(&received).map(Answer::Status).ok_or_else(|| {
        format!(
            "not an HTTP status line: {:?}",
            String::from_utf8_lossy(&received)
        )
    })
}

/// The status code of `HTTP/1.x NNN ...`, if it is one.
fn status(received: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(received).ok()?.lines().next()?;
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let code: u16 = rest.get(..3)?.parse().ok()?;
    (100..=599).contains(&code).then_some(code)
}

/// A normal client still connects and its message still reaches the app.
async fn still_serves(app: &mut App, case: usize) -> Result<(), String> {
    let mut client = open_client(&app.url)
        .await
        .map_err(|error| format!("a normal client was refused: {error}"))?;
    let probe = format!("probe {case}");
    within(
        "sending the probe",
        client.send(Message::text(probe.clone())),
    )
    .await
    .map_err(|error| format!("sending the probe: {error}"))?;
    // Skip messages of earlier probes still queued, if any.
    for _ in 0..=case {
        let event = app.messages.next().await;
        if body(&event) == probe.as_bytes() {
            let _ = client.close(None).await;
            return Ok(());
        }
    }
    Err(format!("the probe {probe:?} never reached the app"))
}

#[test]
fn the_gateway_answers_or_closes_on_any_request_head_and_keeps_serving() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (test, app) = runtime.block_on(async {
        let test = TestMembrane::start().await;
        let app = test.accepting_app("fuzz").await;
        (test, app)
    });
    let port = test.membrane.socket_url("fuzz").expect("gateway runs");
    let port: u16 = port
        .rsplit(':')
        .next()
        .and_then(|tail| tail.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {port}"));

    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // The runner takes a `Fn`: what a case changes lives in cells.
    let case = Cell::new(0);
    let app = RefCell::new(app);
    let answers = RefCell::new(BTreeMap::<String, usize>::new());
    let result = TestRunner::new(config).run(&request(), |request| {
        case.set(case.get() + 1);
        let answer = runtime
            .block_on(send(port, &request))
            .map_err(TestCaseError::fail)?;
        *answers
            .borrow_mut()
            .entry(format!("{answer:?}"))
            .or_default() += 1;
        if request.must_upgrade {
            prop_assert_eq!(
                &answer,
                &Answer::Status(101),
                "a well-formed upgrade was refused"
            );
        }
        runtime
            .block_on(still_serves(&mut app.borrow_mut(), case.get()))
            .map_err(TestCaseError::fail)?;
        Ok(())
    });
    eprintln!(
        "answers over {} requests: {:?}",
        case.get(),
        answers.borrow()
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
    drop(test);
}

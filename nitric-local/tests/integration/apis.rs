//! `Api.Serve` and the API listeners: an application's route streams over
//! real gRPC, and real HTTP requests routed to them.

use std::collections::HashMap;
use std::time::Duration;

use nitric_protocol::apis::v1::api_client::ApiClient;
use nitric_protocol::apis::v1::{
    client_message, server_message, ApiDetailsRequest, ApiWorkerOptions, ClientMessage,
    HeaderValue, HttpRequest, HttpResponse, RegistrationRequest, ServerMessage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

use crate::common::{within, TestMembrane};

/// One route's stream, as an application opens it.
pub struct Route {
    to_membrane: mpsc::Sender<ClientMessage>,
    from_membrane: Streaming<ServerMessage>,
}

impl Route {
    pub async fn register(
        channel: Channel,
        api: &str,
        path: &str,
        methods: &[&str],
    ) -> Result<Route, Status> {
        let (to_membrane, outgoing) = mpsc::channel(16);
        let registration = RegistrationRequest {
            api: api.to_owned(),
            path: path.to_owned(),
            methods: methods.iter().map(|method| (*method).to_owned()).collect(),
            options: Some(ApiWorkerOptions::default()),
        };
        to_membrane
            .send(ClientMessage {
                id: String::new(),
                content: Some(client_message::Content::RegistrationRequest(registration)),
            })
            .await
            .unwrap();
        let mut from_membrane = within(
            "the stream to open",
            ApiClient::new(channel).serve(ReceiverStream::new(outgoing)),
        )
        .await?
        .into_inner();
        let first = within("the registration answer", from_membrane.message())
            .await?
            .expect("an answer before the stream ends");
        assert!(
            matches!(
                first.content,
                Some(server_message::Content::RegistrationResponse(_))
            ),
            "{first:?}"
        );
        Ok(Route {
            to_membrane,
            from_membrane,
        })
    }

    async fn next_request(&mut self) -> (String, HttpRequest) {
        let message = within("a request", self.from_membrane.message())
            .await
            .expect("the stream is fine")
            .expect("the stream is open");
        match message.content {
            Some(server_message::Content::HttpRequest(request)) => (message.id, request),
            other => panic!("expected an http_request, got {other:?}"),
        }
    }

    async fn answer(&self, id: String, response: HttpResponse) {
        let message = ClientMessage {
            id,
            content: Some(client_message::Content::HttpResponse(response)),
        };
        self.to_membrane.send(message).await.unwrap();
    }
}

impl Route {
    /// Answers every request `200 ok` from now on, while the route lives.
    pub fn answer_all(mut self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok(Some(message)) = self.from_membrane.message().await {
                let ok = HttpResponse {
                    status: 200,
                    headers: HashMap::new(),
                    body: b"ok".to_vec(),
                };
                self.answer(message.id, ok).await;
            }
        })
    }
}

/// One request on `stream`, left open afterwards (keep-alive), and the
/// response's status and body; `None` if the server closed the connection
/// without answering. Reads by `content-length`, which every answer of the
/// membrane carries.
pub async fn keep_alive_exchange(
    stream: &mut tokio::net::TcpStream,
    target: &str,
) -> Option<(u16, String)> {
    let request = format!("GET {target} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or_else(|| panic!("no content-length in {head:?}"));
            if body.len() >= length {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                return Some((status, body.to_owned()));
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => raw.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Status, lowercase head, and body of one HTTP/1.1 exchange.
async fn http(base: &str, method: &str, target: &str, body: &str) -> (u16, String, String) {
    let authority = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("the api listens");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {authority}\r\nx-trace: t1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    within("the response", stream.read_to_end(&mut raw))
        .await
        .unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn a_request_reaches_its_route_and_the_response_is_written_back() {
    let test = TestMembrane::start().await;
    let mut route = Route::register(test.channel().await, "main", "/users/:id", &["GET"])
        .await
        .unwrap();
    let base = test.membrane.api_url("MAIN").expect("the api listens");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let details = ApiClient::new(test.channel().await)
        .api_details(ApiDetailsRequest {
            api_name: "main".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(details.url, base);

    let client = tokio::spawn({
        let base = base.clone();
        async move { http(&base, "GET", "/users/ada%20l?tag=a&tag=b+c", "hi").await }
    });
    let (id, request) = route.next_request().await;
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/users/ada%20l");
    assert_eq!(request.path_params["id"], "ada l");
    assert_eq!(request.query_params["tag"].value, ["a", "b c"]);
    assert_eq!(request.headers["x-trace"].value, ["t1"]);
    assert_eq!(request.body, b"hi");
    let headers = HashMap::from([(
        "x-answer".to_owned(),
        HeaderValue {
            value: vec!["42".into()],
        },
    )]);
    route
        .answer(
            id,
            HttpResponse {
                status: 201,
                headers,
                body: b"made".to_vec(),
            },
        )
        .await;
    let (status, head, body) = client.await.unwrap();
    assert_eq!((status, body.as_str()), (201, "made"));
    assert!(head.contains("x-answer: 42"), "{head}");
}

#[tokio::test]
async fn no_route_wrong_method_and_duplicate_registrations() {
    let test = TestMembrane::start().await;
    let _route = Route::register(
        test.channel().await,
        "main",
        "/rooms/:room",
        &["GET", "PUT"],
    )
    .await
    .unwrap();
    let base = test.membrane.wait_for_api("main").await;
    assert_eq!(http(&base, "GET", "/elsewhere", "").await.0, 404);
    let (status, head, _) = http(&base, "DELETE", "/rooms/lobby", "").await;
    assert_eq!(status, 405);
    assert!(head.contains("allow: get, put"), "{head}");

    let refusal = Route::register(test.channel().await, "Main", "/rooms/:id", &["PUT"])
        .await
        .err()
        .expect("refused");
    assert_eq!(refusal.code(), Code::AlreadyExists);
    // Another method of the same path is free.
    Route::register(test.channel().await, "main", "/rooms/:id", &["DELETE"])
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_a_gone_handler_is_unavailable() {
    let test =
        TestMembrane::start_with(|config| config.event_timeout = Duration::from_millis(200)).await;
    let mut route = Route::register(test.channel().await, "main", "/slow", &["GET"])
        .await
        .unwrap();
    let base = test.membrane.wait_for_api("main").await;
    let client = tokio::spawn({
        let base = base.clone();
        async move { http(&base, "GET", "/slow", "").await }
    });
    let _ignored = route.next_request().await;
    assert_eq!(client.await.unwrap().0, 504);

    drop(route);
    // The membrane notices the stream's end on its own time; until then a
    // request waits for an answer that cannot come (504), or is cut short
    // by the end (502).
    within("the route to be reported gone", async {
        loop {
            match http(&base, "GET", "/slow", "").await.0 {
                503 => break,
                502 | 504 => continue,
                other => panic!("unexpected status {other}"),
            }
        }
    })
    .await;
}

/// Whether the server closes `stream` (an error counts: a reset) before
/// `PATIENCE` is up, reading and dropping whatever it sends first.
async fn closed_by_the_server(stream: &mut tokio::net::TcpStream) {
    let mut rest = Vec::new();
    within(
        "the server to close the connection",
        stream.read_to_end(&mut rest),
    )
    .await
    .ok();
}

/// A membrane configured by `configure`, with `GET /hello` of api "main"
/// answered 200 by a task, and the API's base URL and `host:port`.
async fn answered_hello(
    configure: impl FnOnce(&mut nitric_local::Config),
) -> (TestMembrane, tokio::task::JoinHandle<()>, String, String) {
    let test = TestMembrane::start_with(configure).await;
    let route = Route::register(test.channel().await, "main", "/hello", &["GET"])
        .await
        .unwrap();
    let answering = route.answer_all();
    let base = test.membrane.wait_for_api("main").await;
    let addr = base.trim_start_matches("http://").to_owned();
    (test, answering, base, addr)
}

#[tokio::test]
async fn silent_slow_and_idle_clients_are_closed_after_the_header_read_timeout() {
    let (_test, _answering, base, addr) = answered_hello(|config| {
        config.header_read_timeout = Duration::from_millis(300);
    })
    .await;

    // Connects and sends nothing.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Sends part of its headers, and never the rest.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /hello HTTP/1.1\r\nhost: localhost\r\nx-more: ")
        .await
        .unwrap();
    // Is served once, then keeps its connection without a next request.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(
        keep_alive_exchange(&mut idle, "/hello").await,
        Some((200, "ok".to_owned()))
    );
    for stream in [&mut silent, &mut slow, &mut idle] {
        closed_by_the_server(stream).await;
    }
    // A client that sends its request in time is still served.
    assert_eq!(http(&base, "GET", "/hello", "").await.0, 200);
}

#[tokio::test]
async fn requests_are_served_while_idle_connections_are_held() {
    let (_test, _answering, base, addr) = answered_hello(|_| {}).await;

    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut partial = tokio::net::TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /hello HTTP/1.1\r\nhost: lo")
        .await
        .unwrap();
    for _ in 0..3 {
        let (status, _, body) = within("a response", http(&base, "GET", "/hello", "")).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    // The held connections are open all along: the partial one finishes.
    partial.write_all(b"calhost\r\n\r\n").await.unwrap();
    let mut answer = vec![0; 12];
    within(
        "the partial request's answer",
        partial.read_exact(&mut answer),
    )
    .await
    .unwrap();
    assert_eq!(answer, b"HTTP/1.1 200");
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503_and_closed() {
    let (_test, _answering, base, addr) = answered_hello(|config| config.max_connections = 2).await;

    // Two keep-alive connections, served, and kept.
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        assert_eq!(keep_alive_exchange(stream, "/hello").await.unwrap().0, 200);
    }

    let (status, head, body) = http(&base, "GET", "/hello", "").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("max_connections"), "{body}");
    assert!(head.contains("connection: close"), "{head}");
    // Even when the client asks to keep it, the refused connection closes.
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(
        keep_alive_exchange(&mut third, "/hello").await.unwrap().0,
        503
    );
    closed_by_the_server(&mut third).await;

    // The connections it has are served meanwhile.
    assert_eq!(
        keep_alive_exchange(&mut first, "/hello").await.unwrap().0,
        200
    );

    // One leaves; once the listener has let go of it, a new one is served.
    drop(second);
    within("a new connection to be served", async {
        loop {
            match http(&base, "GET", "/hello", "").await.0 {
                200 => break,
                503 => {
                    // Polling interval: the place is freed as the closed
                    // connection's task ends.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("unexpected status {other}"),
            }
        }
    })
    .await;
}

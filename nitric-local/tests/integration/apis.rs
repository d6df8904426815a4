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
use tonic::{Code, Status, Streaming};

use crate::common::{within, TestMembrane};

/// One route's stream, as an application opens it.
struct Route {
    to_membrane: mpsc::Sender<ClientMessage>,
    from_membrane: Streaming<ServerMessage>,
}

impl Route {
    async fn register(
        test: &TestMembrane,
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
            ApiClient::new(test.channel().await).serve(ReceiverStream::new(outgoing)),
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
    let mut route = Route::register(&test, "main", "/users/:id", &["GET"])
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
    let _route = Route::register(&test, "main", "/rooms/:room", &["GET", "PUT"])
        .await
        .unwrap();
    let base = test.membrane.wait_for_api("main").await;
    assert_eq!(http(&base, "GET", "/elsewhere", "").await.0, 404);
    let (status, head, _) = http(&base, "DELETE", "/rooms/lobby", "").await;
    assert_eq!(status, 405);
    assert!(head.contains("allow: get, put"), "{head}");

    let refusal = Route::register(&test, "Main", "/rooms/:id", &["PUT"])
        .await
        .err()
        .expect("refused");
    assert_eq!(refusal.code(), Code::AlreadyExists);
    // Another method of the same path is free.
    Route::register(&test, "main", "/rooms/:id", &["DELETE"])
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_a_gone_handler_is_unavailable() {
    let test =
        TestMembrane::start_with(|config| config.event_timeout = Duration::from_millis(200)).await;
    let mut route = Route::register(&test, "main", "/slow", &["GET"])
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

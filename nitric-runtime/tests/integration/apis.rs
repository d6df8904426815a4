//! `#[api]` routes on a running service: real HTTP requests to the test
//! kit's local membrane, answered by the app's handlers, which reach the
//! app's websockets and stores as any handler does.

use futures_util::TryStreamExt;
use nitric_runtime::api::{HttpContext, Json, Response};
use nitric_runtime::kv::KvStore;
use nitric_runtime::testing::{TestApp, TestError};
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{api, kv_store, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Serialize, Deserialize)]
struct Listening {}

#[kv_store("apis-feed-clients", allow = [get, set, delete])]
static FEED_CLIENTS: KvStore<Listening>;

#[websocket("apis-feed", on = "connect")]
async fn feed_connect(ctx: ConnectContext) -> Result<(), Error> {
    FEED_CLIENTS.set(ctx.connection_id(), &Listening {}).await
}

#[websocket("apis-feed", on = "disconnect")]
async fn feed_disconnect(ctx: DisconnectContext) -> Result<(), Error> {
    FEED_CLIENTS.delete(ctx.connection_id()).await
}

#[websocket("apis-feed", on = "message")]
async fn feed_message(_ctx: MessageContext) {}

#[derive(Deserialize)]
struct Note {
    text: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Posted {
    sent: usize,
}

/// Broadcasts the note to every client of the feed.
#[api("apis-test", post = "/feed/:topic")]
async fn post_feed(ctx: HttpContext, Json(note): Json<Note>) -> Result<(u16, Json<Posted>), Error> {
    let topic = ctx.param("topic").unwrap_or_default();
    let ids: Vec<String> = FEED_CLIENTS.keys("").try_collect().await?;
    let feed = Websocket::new("apis-feed");
    for id in &ids {
        feed.send(id, format!("{topic}: {}", note.text)).await?;
    }
    Ok((201, Json(Posted { sent: ids.len() })))
}

#[api("apis-test", get = "/rooms/:room")]
async fn get_room(ctx: HttpContext) -> String {
    format!(
        "room {} seat {} via {}",
        ctx.param("room").unwrap_or_default(),
        ctx.query("seat").unwrap_or("none"),
        ctx.header("x-client").unwrap_or("nobody")
    )
}

#[api("apis-test", get = "/rooms/new")]
async fn new_room(_ctx: HttpContext) -> Response {
    Response::text("the form").with_header("x-page", "new")
}

#[api("apis-test", get = "/broken")]
async fn broken(_ctx: HttpContext) -> Result<String, BoxError> {
    Err("the database is on fire".into())
}

#[api("apis-test", get = "/panics")]
async fn panics(_ctx: HttpContext) -> String {
    panic!("a route handler panicked on purpose")
}

/// A response read off the wire.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request on its own connection, read to its end.
async fn request(base: &str, method: &str, target: &str, body: &str) -> Result<Answer, TestError> {
    Ok(exchange(base, method, target, body).await)
}

async fn exchange(base: &str, method: &str, target: &str, body: &str) -> Answer {
    let authority = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {base}: {error}"));
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {authority}\r\nx-client: tests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is written and the response read");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .expect("the request is written and the response read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"));
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn a_route_reads_its_parameters_query_and_headers() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let base = app.api_url("apis-test").await?;
    let answer = request(&base, "GET", "/rooms/lobby?seat=4", "").await?;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "room lobby seat 4 via tests");
    assert!(
        answer.head.contains("content-type: text/plain"),
        "{}",
        answer.head
    );

    // A literal segment wins over a parameter.
    let answer = request(&base, "GET", "/rooms/new", "").await?;
    assert_eq!((answer.status, answer.body.as_str()), (200, "the form"));
    assert!(answer.head.contains("x-page: new"), "{}", answer.head);
    app.stop().await
}

#[tokio::test]
async fn a_post_broadcasts_to_the_websocket_clients() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let base = app.api_url("apis-test").await?;
    let mut client = app.connect("apis-feed").await?;
    let answer = request(&base, "POST", "/feed/news", r#"{"text": "hello"}"#).await?;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(
        answer.head.contains("content-type: application/json"),
        "{}",
        answer.head
    );
    let posted: Posted = serde_json::from_str(&answer.body).expect("a JSON body");
    assert_eq!(posted, Posted { sent: 1 });
    assert_eq!(client.recv_text().await?, "news: hello");
    client.close().await?;
    app.stop().await
}

#[tokio::test]
async fn bad_bodies_failures_and_panics_are_answered_not_fatal() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let base = app.api_url("apis-test").await?;
    let answer = request(&base, "POST", "/feed/news", r#"{"text": 5}"#).await?;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("at `text`"), "{}", answer.body);

    let answer = request(&base, "GET", "/broken", "").await?;
    assert_eq!(answer.status, 500);
    assert!(
        !answer.body.contains("fire"),
        "the reason is logged, not sent"
    );
    let answer = request(&base, "GET", "/panics", "").await?;
    assert_eq!(answer.status, 500);
    // The service keeps serving.
    let answer = request(&base, "GET", "/rooms/a", "").await?;
    assert_eq!(answer.status, 200);
    app.stop().await
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused_by_the_membrane() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let base = app.api_url("apis-test").await?;
    assert_eq!(request(&base, "GET", "/nowhere", "").await?.status, 404);
    let answer = request(&base, "DELETE", "/rooms/lobby", "").await?;
    assert_eq!(answer.status, 405);
    assert!(answer.head.contains("allow: get"), "{}", answer.head);
    app.stop().await
}

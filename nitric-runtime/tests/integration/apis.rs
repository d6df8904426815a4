//! `#[api]` routes on a running service: real HTTP requests from the test
//! kit's client (`TestApp::http`) to its local membrane, answered by the
//! app's handlers, which reach the app's websockets and stores as any
//! handler does; and the client's own failure messages.

use futures_util::TryStreamExt;
use nitric_runtime::api::{HttpContext, Json, Response};
use nitric_runtime::kv::KvStore;
use nitric_runtime::testing::{TestApp, TestError};
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{api, kv_store, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;

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

/// A CORS preflight, answered by the app.
#[api("apis-test", options = "/rooms/:room")]
async fn room_preflight(_ctx: HttpContext) -> Response {
    Response::new(204)
        .with_header("access-control-allow-origin", "*")
        .with_header("access-control-allow-methods", "GET, OPTIONS")
}

#[api("apis-test", get = "/broken")]
async fn broken(_ctx: HttpContext) -> Result<String, BoxError> {
    Err("the database is on fire".into())
}

#[api("apis-test", get = "/panics")]
async fn panics(_ctx: HttpContext) -> String {
    panic!("a route handler panicked on purpose")
}

#[tokio::test]
async fn a_route_reads_its_parameters_query_and_headers() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let api = app.http("apis-test");
    api.get("/rooms/lobby")
        .query(&[("seat", "4")])
        .header("x-client", "tests")
        .await?
        .assert_status(200)?
        .assert_header("content-type", "text/plain; charset=utf-8")?
        .assert_text("room lobby seat 4 via tests")?;
    // A query written in the path; parameters and queries are decoded.
    api.get("/rooms/a%20b?seat=front+row")
        .await?
        .assert_text("room a b seat front row via nobody")?;

    // A literal segment wins over a parameter.
    let page = api.get("/rooms/new").await?.assert_text("the form")?;
    assert_eq!(page.header("X-Page"), Some("new"));
    app.stop().await
}

#[tokio::test]
async fn a_post_broadcasts_to_the_websocket_clients() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut client = app.connect("apis-feed").await?;
    let posted: Posted = app
        .http("apis-test")
        .post_json("/feed/news", &json!({ "text": "hello" }))
        .await?
        .assert_status(201)?
        .assert_header("content-type", "application/json")?
        .json()?;
    assert_eq!(posted, Posted { sent: 1 });
    assert_eq!(client.recv_text().await?, "news: hello");
    client.close().await?;
    app.stop().await
}

#[tokio::test]
async fn bad_bodies_failures_and_panics_are_answered_not_fatal() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let api = app.http("apis-test");
    let refused = api
        .post_json("/feed/news", &json!({ "text": 5 }))
        .await?
        .assert_status(400)?;
    assert!(refused.text()?.contains("at `text`"), "{refused}");
    // Not JSON at all.
    api.post("/feed/news")
        .text("hello")
        .await?
        .assert_status(400)?;

    let broken = api.get("/broken").await?.assert_status(500)?;
    assert!(
        !broken.text()?.contains("fire"),
        "the reason is logged, not sent: {broken}"
    );
    api.get("/panics").await?.assert_status(500)?;
    // The service keeps serving.
    api.get("/rooms/a").await?.assert_status(200)?;
    app.stop().await
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused_by_the_membrane() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let api = app.http("apis-test");
    api.get("/nowhere").await?.assert_status(404)?;
    api.delete("/rooms/lobby")
        .await?
        .assert_status(405)?
        .assert_header("allow", "GET, OPTIONS")?;
    app.stop().await
}

#[tokio::test]
async fn an_options_route_answers_a_preflight() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    app.http("apis-test")
        .request("OPTIONS", "/rooms/lobby")
        .await?
        .assert_status(204)?
        .assert_header("access-control-allow-methods", "GET, OPTIONS")?;
    app.stop().await
}

#[tokio::test]
async fn the_kit_client_fails_with_the_request_and_the_whole_response() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let api = app.http("apis-test");
    let error = api
        .get("/nowhere")
        .await?
        .assert_status(200)
        .expect_err("a 404 is not a 200")
        .to_string();
    for part in [
        "GET /nowhere on api \"apis-test\": expected status 200, got 404",
        "\n  HTTP 404 Not Found\n",
        "\n  content-type: text/plain",
        "has no route for /nowhere",
    ] {
        assert!(error.contains(part), "{part:?} missing from:\n{error}");
    }

    let error = api
        .post("/feed/news")
        .json(&json!({ "text": "hi" }))
        .await?
        .assert_json(&json!({ "sent": 2 }))
        .expect_err("nobody listens")
        .to_string();
    assert!(
        error.contains(" -   \"sent\": 2\n +   \"sent\": 0"),
        "{error}"
    );

    // Mistakes in the request are errors naming it, not panics.
    let error = api
        .get("rooms")
        .await
        .expect_err("no leading /")
        .to_string();
    assert!(error.contains("must start with `/`"), "{error}");
    let error = api
        .get("/rooms/a")
        .header("bad header", "x")
        .await
        .expect_err("not a header name")
        .to_string();
    assert!(
        error.contains("\"bad header\" is not a header name"),
        "{error}"
    );
    let error = app
        .http("no-such-api")
        .get("/")
        .await
        .expect_err("no such api")
        .to_string();
    assert!(error.contains("api \"no-such-api\""), "{error}");
    app.stop().await
}

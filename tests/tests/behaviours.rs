//! How the runtime treats refusals, failures, panics, concurrency and
//! shutdown, seen from real websocket clients.

use nitric_tests::{App, Client};
use std::time::Duration;

const APP: &str = env!("CARGO_BIN_EXE_behaviours");

async fn started() -> (App, String, tempfile::TempDir) {
    App::start_serving(APP, "public").await
}

#[tokio::test]
async fn a_refused_connect_answers_the_upgrade_with_an_http_error() {
    let (_app, url, _data) = started().await;
    for query in ["reject=1", "fail=1", "panic=1"] {
        let refused = Client::try_connect(&format!("{url}/?{query}")).await;
        assert_eq!(refused.err(), Some(403), "?{query}");
    }
    // The app is still up after all three.
    let mut client = Client::connect(&url).await;
    client.send("still here").await;
    assert_eq!(client.receive().await, "still here");
}

#[tokio::test]
async fn query_parameters_reach_the_connect_handler() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&format!("{url}/?room=lobby&tag=a&tag=b%20c")).await;
    client.send("query").await;
    let query: serde_json::Value = serde_json::from_str(&client.receive().await).unwrap();
    assert_eq!(
        query,
        serde_json::json!({ "room": ["lobby"], "tag": ["a", "b c"] })
    );
}

#[tokio::test]
async fn a_panicking_handler_does_not_stop_the_app() {
    let (mut app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("panic").await;
    let logged = app.stderr_line("panicked; the service keeps running").await;
    assert!(
        logged.contains("connection_id"),
        "the log names the connection: {logged}"
    );
    // The panicking message was answered, so the connection reads on.
    client.send("after the panic").await;
    assert_eq!(client.receive().await, "after the panic");
}

#[tokio::test]
async fn a_slow_handler_on_one_connection_does_not_hold_up_another() {
    let (_app, url, _data) = started().await;
    let mut slow = Client::connect(&url).await;
    let mut fast = Client::connect(&url).await;
    slow.send("slow").await;
    slow.send("after slow").await;
    fast.send("fast").await;
    assert_eq!(fast.receive().await, "fast");
    assert_eq!(
        slow.receives_within(Duration::ZERO).await,
        None,
        "the slow handler is still running"
    );
    // One connection's messages stay in order.
    assert_eq!(slow.receive().await, "slow done");
    assert_eq!(slow.receive().await, "after slow");
}

#[tokio::test]
async fn sigterm_lets_in_flight_handlers_finish_then_exits_zero() {
    let (mut app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("slow").await;
    app.stderr_line("handler registered").await;
    // Give the event time to reach the handler before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.terminate();
    assert_eq!(client.receive().await, "slow done");
    let (status, stderr) = app.exit().await;
    assert!(status.success(), "{status}\n{stderr}");
}

#[tokio::test]
async fn client_calls_answer_typed_results() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("missing key").await;
    assert_eq!(client.receive().await, "None");
    client.send("send to stranger").await;
    assert_eq!(
        client.receive().await,
        "gone: send to connection \"no-such-connection\" on socket \"public\""
    );
    client.send("write read-only").await;
    let refusal = client.receive().await;
    assert!(
        refusal.starts_with("key/value store \"read-only\": `set` is not allowed; add it to the declaration (tests/src/bin/behaviours.rs:"),
        "{refusal}"
    );
}

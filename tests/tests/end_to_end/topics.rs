//! Topics end to end: greeting through a topic, redelivery after failures,
//! delayed publishing, and a send made before the connection is open.

use nitric_tests::{App, Client};
use std::time::{Duration, Instant};

const APP: &str = env!("CARGO_BIN_EXE_topics");

async fn started() -> (App, String, tempfile::TempDir) {
    App::start_serving(APP, "public").await
}

#[tokio::test]
async fn a_new_connection_is_welcomed_through_a_topic() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    assert_eq!(client.receive().await, "welcome!");
}

#[tokio::test]
async fn a_subscriber_that_fails_twice_gets_the_message_a_third_time() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    assert_eq!(client.receive().await, "welcome!");
    client.send("flaky").await;
    assert_eq!(client.receive().await, "attempt 1");
    assert_eq!(client.receive().await, "attempt 2");
    assert_eq!(client.receive().await, "attempt 3");
    // The third attempt succeeded, so there is no fourth.
    assert_eq!(client.receives_within(Duration::from_secs(2)).await, None);
}

#[tokio::test]
async fn a_delayed_message_arrives_no_earlier_than_its_delay() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    assert_eq!(client.receive().await, "welcome!");
    // The delay is what is under test, and only a lower bound is checked:
    // a loaded machine makes the wait longer, never shorter.
    let published = Instant::now();
    client.send("delay 700").await;
    assert_eq!(client.receive().await, "delayed");
    let waited = published.elapsed();
    assert!(
        waited >= Duration::from_millis(700),
        "delivered after {waited:?}"
    );
}

/// A send through the socket's client to the connection its connect
/// handler is accepting succeeds and is held until the connection opens;
/// the subscriber's welcome, sent while it waits or after, comes behind it.
#[tokio::test]
async fn a_send_from_inside_the_connect_handler_waits_for_the_connection() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&format!("{url}/?send_in_connect=1")).await;
    assert_eq!(client.receive().await, "too early");
    assert_eq!(client.receive().await, "welcome!");
    client.send("outcome").await;
    let (typed, message): (bool, String) = serde_json::from_str(&client.receive().await).unwrap();
    assert_eq!((typed, message.as_str()), (false, "the send succeeded"));
}

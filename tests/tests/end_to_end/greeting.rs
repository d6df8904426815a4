//! The greeting example: a new connection is welcomed through a topic.

use nitric_tests::{App, Client};

#[tokio::test]
async fn each_new_connection_is_greeted_by_name() {
    let (_app, url, _data) = App::start_serving(env!("CARGO_BIN_EXE_greeting"), "lobby").await;
    let mut ada = Client::connect(&format!("{url}/?name=ada")).await;
    assert_eq!(ada.receive().await, "welcome, ada!");
    let mut anonymous = Client::connect(&url).await;
    assert_eq!(anonymous.receive().await, "welcome, stranger!");
    // The lobby echoes.
    ada.send("hello").await;
    assert_eq!(ada.receive().await, "hello");
}

//! The greeting example, tested with the test kit: a connect publishes an
//! arrival, the subscriber greets the newcomer.

// The example's handlers, linked into this test; its `main` is not used.
#[allow(dead_code)]
#[path = "main.rs"]
mod greeting;

use nitric_runtime::testing::{TestApp, TestError};

#[tokio::test]
async fn a_newcomer_is_greeted_by_name() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut arrivals = app
        .topic::<serde_json::Value>("arrivals")
        .subscribe()
        .await?;

    let mut ada = app.connect_with_query("lobby", &[("name", "ada")]).await?;
    assert_eq!(ada.recv_text().await?, "welcome, ada!");
    let arrival = arrivals.recv().await?;
    assert_eq!(arrival["name"], "ada");

    let mut stranger = app.connect("lobby").await?;
    assert_eq!(stranger.recv_text().await?, "welcome, stranger!");
    app.stop().await
}

#[tokio::test]
async fn the_lobby_echoes_messages() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect_with_query("lobby", &[("name", "ada")]).await?;
    assert_eq!(ada.recv_text().await?, "welcome, ada!");
    ada.send_text("is anyone here?").await?;
    assert_eq!(ada.recv_text().await?, "is anyone here?");
    app.stop().await
}

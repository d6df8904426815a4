//! The chat example, tested with the test kit: its handlers on an
//! in-process local membrane, real websocket clients.

// The example's handlers, linked into this test; its `main` is not used.
#[allow(dead_code)]
#[path = "main.rs"]
mod chat;

use nitric_runtime::testing::{TestApp, TestError};
use std::time::Duration;

#[tokio::test]
async fn every_member_gets_every_message() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect_with_query("public", &[("name", "ada")]).await?;
    let mut bob = app.connect_with_query("public", &[("name", "bob")]).await?;
    let mut cy = app.connect("public").await?;

    ada.send_text("hello from ada").await?;
    for member in [&mut ada, &mut bob, &mut cy] {
        assert_eq!(member.recv_text().await?, "hello from ada");
    }

    cy.close().await?;
    bob.send_text("cy left").await?;
    for member in [&mut ada, &mut bob] {
        assert_eq!(member.recv_text().await?, "cy left");
    }
    ada.expect_silence(Duration::from_millis(100)).await?;
    app.stop().await
}

#[tokio::test]
async fn rooms_keep_their_messages_apart() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("public").await?;
    let mut bob = app
        .connect_with_query("public", &[("room", "kitchen")])
        .await?;
    let mut cy = app
        .connect_with_query("public", &[("room", "kitchen")])
        .await?;

    bob.send_text("in the kitchen").await?;
    for member in [&mut bob, &mut cy] {
        assert_eq!(member.recv_text().await?, "in the kitchen");
    }
    ada.send_text("in the lobby").await?;
    assert_eq!(ada.recv_text().await?, "in the lobby");
    for member in [&mut ada, &mut bob, &mut cy] {
        member.expect_silence(Duration::from_millis(100)).await?;
    }
    app.stop().await
}

#[tokio::test]
async fn the_store_holds_exactly_the_connected_members() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let store = app.kv_store::<serde_json::Value>("connections");
    let ada = app.connect("public").await?;
    let bob = app
        .connect_with_query("public", &[("room", "kitchen")])
        .await?;

    // Each membership is two keys: room to connection, connection to room.
    assert_eq!(store.keys("room:public:lobby:").await?.len(), 1);
    assert_eq!(store.keys("room:public:kitchen:").await?.len(), 1);
    assert_eq!(store.keys("joined:public:").await?.len(), 2);

    ada.close().await?;
    bob.close().await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !store.keys("").await.expect("list members").is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .map_err(|_| {
        TestError::from(nitric_runtime::Error::Startup(
            "members left in the store".into(),
        ))
    })?;
    app.stop().await
}

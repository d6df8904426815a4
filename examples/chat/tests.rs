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
async fn the_store_holds_exactly_the_connected_members() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let members = app.kv_store::<serde_json::Value>("connections");
    let ada = app.connect_with_query("public", &[("name", "ada")]).await?;
    let bob = app.connect("public").await?;

    let ids = members.keys("").await?;
    assert_eq!(ids.len(), 2);
    let mut names = Vec::new();
    for id in &ids {
        names.push(members.get(id).await?.expect("a member per id")["name"].clone());
    }
    names.sort_by_key(|name| name.to_string());
    assert_eq!(names, [serde_json::json!("ada"), serde_json::Value::Null]);

    ada.close().await?;
    bob.close().await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !members.keys("").await.expect("list members").is_empty() {
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

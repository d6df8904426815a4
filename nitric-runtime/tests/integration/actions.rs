//! Actions on a running service: JSON messages routed by `"action"` to
//! their handlers, replies to `"ref"`, the fallback handler, and the test
//! kit's Phoenix-style assertions.

use nitric_runtime::testing::{assert_broadcast, Reply, TestApp, TestError};
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, Json, MessageContext};
use nitric_runtime::{websocket, Error};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

// The "actions" socket: actions, and a fallback for everything else.

#[websocket("actions", on = "connect")]
async fn actions_connect(_ctx: ConnectContext) {}

#[websocket("actions", on = "disconnect")]
async fn actions_disconnect(_ctx: DisconnectContext) {}

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[websocket("actions", on = "message", action = "join")]
async fn join(ctx: MessageContext, Json(join): Json<Join>) -> Json<Value> {
    Json(json!({ "joined": join.room, "id": ctx.connection_id() }))
}

#[websocket("actions", on = "message", action = "full")]
async fn full(_ctx: MessageContext) -> Result<Json<Value>, String> {
    Err("the room is full".to_owned())
}

#[websocket("actions", on = "message", action = "hang", timeout = "50ms")]
async fn hang(_ctx: MessageContext) {
    std::future::pending::<()>().await
}

#[derive(Deserialize)]
struct Say {
    to: Vec<String>,
    text: String,
}

/// Pushes `{"said": text}` to `to`, then replies `null`.
#[websocket("actions", on = "message", action = "say")]
async fn say(ctx: MessageContext, Json(say): Json<Say>) -> Result<(), Error> {
    let said = json!({ "said": say.text });
    ctx.socket().broadcast_json(say.to, &said).await?;
    Ok(())
}

/// Everything without a known action comes back as it came.
#[websocket("actions", on = "message")]
async fn actions_fallback(ctx: MessageContext) -> Result<(), Error> {
    let echo = json!({ "echo": ctx.text()? });
    ctx.socket().send_json(ctx.connection_id(), &echo).await
}

// The "actions-only" socket: no fallback.

#[websocket("actions-only", on = "connect")]
async fn only_connect(_ctx: ConnectContext) {}

#[websocket("actions-only", on = "disconnect")]
async fn only_disconnect(_ctx: DisconnectContext) {}

#[websocket("actions-only", on = "message", action = "ping")]
async fn ping(_ctx: MessageContext) -> Json<&'static str> {
    Json("pong")
}

// The "typed" socket: actions named by a `"type"` field, as Socket.IO-
// and Redux-style clients send them.

#[websocket("typed", on = "connect")]
async fn typed_connect(_ctx: ConnectContext) {}

#[websocket("typed", on = "disconnect")]
async fn typed_disconnect(_ctx: DisconnectContext) {}

#[websocket("typed", on = "message", action = "join", field = "type")]
async fn typed_join(_ctx: MessageContext, Json(join): Json<Join>) -> Json<Value> {
    Json(json!({ "joined": join.room }))
}

/// What no `"type"` takes, with what it was.
#[websocket("typed", on = "message")]
async fn typed_fallback(ctx: MessageContext) -> Result<(), Error> {
    let echo = json!({ "unrouted": ctx.text()? });
    ctx.socket().send_json(ctx.connection_id(), &echo).await
}

#[tokio::test]
async fn actions_can_be_read_from_another_field() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("typed").await?;
    ada.send_json(&json!({ "type": "join", "ref": "t1", "room": "lobby" }))
        .await?;
    ada.assert_reply("t1", &json!({ "joined": "lobby" }))
        .await?;
    // The kit's requests, with the same field.
    ada.set_action_field("type");
    let reply = ada.request("join", &json!({ "room": "attic" })).await?;
    assert_eq!(reply.into_ok()?, json!({ "joined": "attic" }));
    // "action" means nothing on this socket.
    let by_action = json!({ "action": "join", "ref": "t2", "room": "attic" });
    ada.send_json(&by_action).await?;
    ada.assert_push(&json!({ "unrouted": by_action.to_string() }))
        .await?;
    app.stop().await
}

#[tokio::test]
async fn an_action_runs_its_handler_and_its_result_is_the_reply() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    let reply = ada
        .request("join", &json!({ "room": "lobby" }))
        .await?
        .into_ok()?;
    assert_eq!(reply["joined"], "lobby");
    assert!(reply["id"].is_string(), "{reply}");

    // The same by hand, with a numeric ref, which comes back a number.
    ada.send_json(&json!({ "action": "ping-me-not", "ref": 5 }))
        .await?;
    ada.assert_push(&json!({ "echo": r#"{"action":"ping-me-not","ref":5}"# }))
        .await?;
    ada.send_text(r#"{"action": "join", "ref": 42, "room": "attic"}"#)
        .await?;
    let id = reply["id"].clone();
    ada.assert_reply(42, &json!({ "joined": "attic", "id": id }))
        .await?;
    app.stop().await
}

#[tokio::test]
async fn failures_and_timeouts_are_error_replies() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    assert_eq!(
        ada.request("full", &json!({})).await?,
        Reply::Error(json!({ "reason": "the room is full" }))
    );
    let Reply::Error(timed_out) = ada.request("hang", &json!({})).await? else {
        panic!("a hung action replies with an error");
    };
    assert_eq!(timed_out["reason"], "timed out after 50ms");
    // A payload that does not fit the handler's `Json<Join>`.
    let Reply::Error(unread) = ada.request("join", &json!({ "hall": "lobby" })).await? else {
        panic!("an unreadable payload replies with an error");
    };
    assert!(
        unread["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("room")),
        "{unread}"
    );
    app.stop().await
}

#[tokio::test]
async fn without_a_ref_there_is_no_reply() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    let id = ada
        .request("join", &json!({ "room": "a" }))
        .await?
        .into_ok()?["id"]
        .clone();
    ada.send_json(&json!({ "action": "say", "to": [id], "text": "quiet" }))
        .await?;
    ada.assert_push(&json!({ "said": "quiet" })).await?;
    ada.refute_push(Duration::from_millis(100)).await?;
    app.stop().await
}

#[tokio::test]
async fn plain_messages_go_to_the_fallback_and_unknown_actions_without_one_are_refused(
) -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    ada.send_text("hello").await?;
    ada.assert_push(&json!({ "echo": "hello" })).await?;

    let mut bob = app.connect("actions-only").await?;
    assert_eq!(
        bob.request("ping", &json!({})).await?,
        Reply::Ok(json!("pong"))
    );
    assert_eq!(
        bob.request("jump", &json!({})).await?,
        Reply::Error(json!({ "reason": "unknown action \"jump\"" }))
    );
    // Not an action at all, and no ref: dropped without a word.
    bob.send_text("hello").await?;
    bob.refute_push(Duration::from_millis(100)).await?;
    app.stop().await
}

#[tokio::test]
async fn assert_broadcast_waits_for_every_client() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    let mut bob = app.connect("actions").await?;
    let ada_id = ada
        .request("join", &json!({ "room": "r" }))
        .await?
        .into_ok()?["id"]
        .clone();
    let bob_id = bob
        .request("join", &json!({ "room": "r" }))
        .await?
        .into_ok()?["id"]
        .clone();
    let reply = ada
        .request("say", &json!({ "to": [ada_id, bob_id], "text": "hi all" }))
        .await?;
    assert_eq!(reply, Reply::Ok(Value::Null));
    assert_broadcast(&mut [&mut ada, &mut bob], &json!({ "said": "hi all" })).await?;
    app.stop().await
}

#[tokio::test]
async fn a_failed_assertion_shows_what_arrived_with_a_diff() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("actions").await?;
    ada.send_text("hello").await?;
    ada.set_timeout(Duration::from_millis(300));
    let error = ada
        .assert_push(&json!({ "echo": "goodbye" }))
        .await
        .expect_err("the push differs");
    let message = error.to_string();
    assert!(
        message.contains("assert_push on socket \"actions\""),
        "{message}"
    );
    assert!(message.contains("received (1 messages):"), "{message}");
    assert!(
        message.contains(" -   \"echo\": \"goodbye\"\n +   \"echo\": \"hello\""),
        "{message}"
    );
    // The message stays queued for the next assertion.
    ada.assert_push(&json!({ "echo": "hello" })).await?;
    app.stop().await
}

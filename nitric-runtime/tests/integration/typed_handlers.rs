//! Typed handler parameters on a running service, with real websocket
//! clients: a message handler's payload (`Json<T>`, `String`,
//! `Result<Json<T>, PayloadError>`) and a connect handler's guard (a
//! `FromConnect` type of the app's own, and `Query<T>`).

use nitric_runtime::testing::{Received, TestApp, TestError};
use nitric_runtime::websocket::{
    ConnectContext, DisconnectContext, FromConnect, Json, MessageContext, PayloadError, Query,
    Reject,
};
use nitric_runtime::{websocket, Error};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Deserialize)]
struct Chat {
    text: String,
    #[serde(default)]
    shout: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Heard {
    from: String,
    text: String,
}

/// The member a `?token=` names; tokens are `secret-<name>`.
struct Member {
    name: String,
}

impl FromConnect for Member {
    type Rejection = Reject;

    async fn from_connect(ctx: &ConnectContext) -> Result<Self, Reject> {
        // Awaiting inside a guard, as one reading a store would.
        tokio::task::yield_now().await;
        let token = ctx
            .query()
            .get("token")
            .ok_or_else(|| Reject::new("connect with ?token=..."))?;
        match token.strip_prefix("secret-") {
            Some(name) if !name.is_empty() => Ok(Member {
                name: name.to_owned(),
            }),
            _ => Err(Reject::new("unknown token")),
        }
    }
}

// The "members" socket: a guard on connect, a JSON payload on message.

#[websocket("members", on = "connect")]
async fn members_connect(ctx: ConnectContext, member: Member) -> Result<(), Reject> {
    // The guard's value reaches the handler, which may still refuse.
    if member.name == "mallory" {
        return Err(Reject::new("not mallory"));
    }
    let _ = ctx.connection_id();
    NAMES.lock().unwrap().push(member.name);
    Ok(())
}

/// Every name the connect handler accepted, across the tests of this file.
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[websocket("members", on = "disconnect")]
async fn members_disconnect(_ctx: DisconnectContext) {}

#[websocket("members", on = "message")]
async fn members_message(ctx: MessageContext, Json(chat): Json<Chat>) -> Result<(), Error> {
    let text = if chat.shout {
        chat.text.to_uppercase()
    } else {
        chat.text
    };
    let heard = Json(Heard {
        from: ctx.connection_id().to_owned(),
        text,
    });
    ctx.socket().send_json(ctx.connection_id(), &heard).await
}

// The "moves" socket: `Query<T>` on connect, a payload the handler checks.

#[derive(Deserialize)]
struct Seat {
    room: String,
    seat: u32,
}

#[derive(Debug, Deserialize)]
struct Move {
    x: u8,
    y: u8,
}

#[websocket("moves", on = "connect")]
async fn moves_connect(_ctx: ConnectContext, Query(seat): Query<Seat>) -> Result<(), Reject> {
    match seat.room.as_str() {
        "lobby" if seat.seat < 10 => Ok(()),
        _ => Err(Reject::new("no such seat")),
    }
}

#[websocket("moves", on = "disconnect")]
async fn moves_disconnect(_ctx: DisconnectContext) {}

#[websocket("moves", on = "message")]
async fn moves_message(
    ctx: MessageContext,
    played: Result<Json<Move>, PayloadError>,
) -> Result<(), Error> {
    let reply = match played {
        Ok(Json(Move { x, y })) => format!("played {x},{y}"),
        Err(error) => format!("not a move: {}", error.field().unwrap_or("(whole message)")),
    };
    ctx.socket().send(ctx.connection_id(), reply).await
}

// The "text" socket: a `String` payload.

#[websocket("text", on = "connect")]
async fn text_connect() {}

#[websocket("text", on = "disconnect")]
async fn text_disconnect() {}

#[websocket("text", on = "message")]
async fn text_message(ctx: MessageContext, text: String) -> Result<(), Error> {
    ctx.socket()
        .send(
            ctx.connection_id(),
            format!("{} chars", text.chars().count()),
        )
        .await
}

// The "vault" socket: a guard that fails with an error, not a `Reject`.

/// Opened by `?key=open`; any other key is an error, as a guard's failing
/// lookup would be.
struct Vault;

impl FromConnect for Vault {
    type Rejection = String;

    async fn from_connect(ctx: &ConnectContext) -> Result<Self, String> {
        match ctx.query().get("key") {
            Some("open") => Ok(Vault),
            other => Err(format!("the key store cannot check {other:?}")),
        }
    }
}

/// How many times the vault's connect handler ran.
static VAULT_OPENED: Mutex<u32> = Mutex::new(0);

#[websocket("vault", on = "connect")]
async fn vault_connect(_ctx: ConnectContext, _vault: Vault) {
    *VAULT_OPENED.lock().unwrap() += 1;
}

#[websocket("vault", on = "disconnect")]
async fn vault_disconnect() {}

#[websocket("vault", on = "message")]
async fn vault_message() {}

/// What the runtime logs while a test runs on this thread; `#[tokio::test]`
/// runs the app's tasks on the test's one thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Captures what is logged at `level` and above until the guard drops.
    fn capture(&self, level: &str) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(format!("nitric_runtime={level}"))
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_json_message_reaches_the_handler_typed() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app
        .connect_with_query("members", &[("token", "secret-ada")])
        .await?;
    ada.send_json(&serde_json::json!({ "text": "hello", "shout": true }))
        .await?;
    let heard: Heard = ada.recv_json().await?;
    assert_eq!(heard.text, "HELLO");
    // Binary frames holding JSON are read the same way.
    ada.send_binary(br#"{"text": "quiet"}"#.to_vec()).await?;
    assert_eq!(ada.recv_json::<Heard>().await?.text, "quiet");
    ada.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_bad_payload_skips_the_handler_logs_why_and_keeps_the_connection() -> Result<(), TestError>
{
    let logs = Logs::default();
    let _capture = logs.capture("warn");
    let app = TestApp::start().await?;
    let mut ada = app
        .connect_with_query("members", &[("token", "secret-ada")])
        .await?;

    // Not JSON, then JSON of the wrong shape: the handler (which would
    // answer) does not run, and the client is told nothing.
    ada.send_text("hello").await?;
    ada.send_json(&serde_json::json!({ "text": 5 })).await?;
    ada.expect_silence(Duration::from_millis(300)).await?;

    // The connection still works.
    ada.send_json(&serde_json::json!({ "text": "still here" }))
        .await?;
    assert_eq!(ada.recv_json::<Heard>().await?.text, "still here");

    let logs = logs.text();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("the handler did not run"))
        .collect();
    assert_eq!(lines.len(), 2, "{logs}");
    for line in &lines {
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("members_message"), "{line}");
        assert!(line.contains("socket=\"members\""), "{line}");
        assert!(line.contains("connection_id="), "{line}");
        assert!(line.contains("typed_handlers::Chat"), "{line}");
    }
    assert!(
        lines[0].contains("expected value at line 1 column 1"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1]
            .contains("at `text`: invalid type: integer `5`, expected a string at line 1 column 9"),
        "{}",
        lines[1]
    );
    ada.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_handler_taking_a_result_answers_a_bad_payload_itself() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut bob = app
        .connect_with_query("moves", &[("room", "lobby"), ("seat", "3")])
        .await?;
    bob.send_json(&serde_json::json!({ "x": 1, "y": 2 }))
        .await?;
    assert_eq!(bob.recv_text().await?, "played 1,2");
    bob.send_json(&serde_json::json!({ "x": 1, "y": 300 }))
        .await?;
    assert_eq!(bob.recv_text().await?, "not a move: y");
    bob.send_text("not json").await?;
    assert_eq!(bob.recv_text().await?, "not a move: (whole message)");
    bob.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_text_payload_must_be_utf8() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut client = app.connect("text").await?;
    client.send_text("héllo").await?;
    assert_eq!(client.recv_text().await?, "5 chars");
    client.send_binary(vec![0xff, 0xfe]).await?;
    client.expect_silence(Duration::from_millis(200)).await?;
    client.send_binary(b"ok".to_vec()).await?;
    // A reply to a binary message goes out binary (see the gateway's frame
    // types in the README).
    assert_eq!(client.recv().await?, Received::Binary(b"2 chars".to_vec()));
    client.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_guard_refuses_or_hands_its_value_to_the_handler() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    // Refused by the guard: the handshake fails with the local gateway's 403.
    assert_eq!(app.connect_refused("members").await?, 403);
    let refused = app
        .connect_refused_with_query("members", &[("token", "forged")])
        .await?;
    assert_eq!(refused, 403);
    // Accepted by the guard, refused by the handler using its value.
    let refused = app
        .connect_refused_with_query("members", &[("token", "secret-mallory")])
        .await?;
    assert_eq!(refused, 403);

    let grace = app
        .connect_with_query("members", &[("token", "secret-grace")])
        .await?;
    let names = NAMES.lock().unwrap().clone();
    assert!(names.contains(&"grace".to_owned()), "{names:?}");
    assert!(!names.contains(&"mallory".to_owned()), "{names:?}");
    grace.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_query_guard_refuses_a_missing_or_malformed_parameter() -> Result<(), TestError> {
    let logs = Logs::default();
    let _capture = logs.capture("info");
    let app = TestApp::start().await?;
    for query in [
        &[("room", "lobby")][..],
        &[("room", "lobby"), ("seat", "third")],
        &[("room", "attic"), ("seat", "1")],
    ] {
        let refused = app.connect_refused_with_query("moves", query).await?;
        assert_eq!(refused, 403, "{query:?}");
    }
    let client = app
        .connect_with_query("moves", &[("room", "lobby"), ("seat", "9")])
        .await?;
    client.close().await?;

    // Each refusal is logged at info with its reason, naming the parameter.
    let logs = logs.text();
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("connection refused"))
        .collect();
    assert_eq!(refusals.len(), 3, "{logs}");
    assert!(refusals.iter().all(|line| line.contains("INFO")), "{logs}");
    assert!(
        refusals[0].contains("missing field `seat`"),
        "{}",
        refusals[0]
    );
    assert!(
        refusals[1].contains("parameter `seat`: invalid digit"),
        "{}",
        refusals[1]
    );
    assert!(refusals[2].contains("no such seat"), "{}", refusals[2]);
    app.stop().await
}

#[tokio::test]
async fn a_guard_that_fails_is_logged_as_the_guard_not_the_handler() -> Result<(), TestError> {
    let logs = Logs::default();
    let _capture = logs.capture("warn");
    let app = TestApp::start().await?;
    let refused = app
        .connect_refused_with_query("vault", &[("key", "bent")])
        .await?;
    assert_eq!(refused, 403);
    assert_eq!(*VAULT_OPENED.lock().unwrap(), 0);
    let client = app.connect_with_query("vault", &[("key", "open")]).await?;
    assert_eq!(*VAULT_OPENED.lock().unwrap(), 1);
    client.close().await?;

    let logs = logs.text();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("vault_connect"))
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    assert!(
        lines[0].contains("the connect guard failed; the handler did not run"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("the key store cannot check Some(\"bent\")"),
        "{}",
        lines[0]
    );
    assert!(!logs.contains("connect handler failed"), "{logs}");
    app.stop().await
}

//! An app exercising topics, for the end-to-end tests.
//!
//! Every connection is welcomed through the `welcome` topic. A connect with
//! `?send_in_connect=1` first sends "too early" through the socket's
//! client from inside the connect handler (held until the connection
//! opens) and remembers what that returned. Messages: `outcome` answers that
//! record; `flaky` publishes to a topic whose subscriber fails twice, then
//! succeeds, reporting each attempt; `delay <ms>` publishes with that delay
//! and the subscriber answers `delayed`.

use nitric_runtime::kv::KvStore;
use nitric_runtime::topic::Topic;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{kv_store, subscribe, topic, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct ForConnection {
    connection_id: String,
}

#[derive(Serialize, Deserialize)]
struct Outcome {
    typed: bool,
    message: String,
}

#[kv_store("outcomes", allow = [get, set])]
static OUTCOMES: KvStore<Outcome>;

#[topic("welcome", allow = [publish])]
static WELCOME: Topic<ForConnection>;

#[topic("flaky", allow = [publish])]
static FLAKY: Topic<ForConnection>;

#[topic("delayed", allow = [publish])]
static DELAYED: Topic<ForConnection>;

fn public() -> Websocket {
    Websocket::new("public")
}

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    if ctx.query().get("send_in_connect").is_some() {
        let outcome = match ctx.socket().send(ctx.connection_id(), "too early").await {
            Ok(()) => Outcome {
                typed: false,
                message: "the send succeeded".into(),
            },
            Err(error) => Outcome {
                typed: matches!(error, Error::ConnectionNotReady { .. }),
                message: error.to_string(),
            },
        };
        OUTCOMES.set(ctx.connection_id(), &outcome).await?;
    }
    let welcome = ForConnection {
        connection_id: ctx.connection_id().to_owned(),
    };
    WELCOME.publish(&welcome).await
}

#[subscribe("welcome")]
async fn welcome(message: ForConnection) -> Result<(), Error> {
    public().send(&message.connection_id, "welcome!").await
}

#[websocket("public", on = "disconnect")]
async fn disconnect(_ctx: DisconnectContext) {}

#[websocket("public", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), BoxError> {
    let for_me = ForConnection {
        connection_id: ctx.connection_id().to_owned(),
    };
    let text = ctx.text()?;
    if text == "outcome" {
        let outcome = OUTCOMES.get(ctx.connection_id()).await?;
        ctx.socket()
            .send(
                ctx.connection_id(),
                serde_json::to_string(&outcome.map(|o| (o.typed, o.message)))?,
            )
            .await?;
    } else if text == "flaky" {
        FLAKY.publish(&for_me).await?;
    } else if let Some(millis) = text.strip_prefix("delay ") {
        DELAYED
            .publish_after(&for_me, Duration::from_millis(millis.parse()?))
            .await?;
    }
    Ok(())
}

static FLAKY_ATTEMPTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

#[subscribe("flaky")]
async fn flaky(message: ForConnection) -> Result<(), BoxError> {
    let attempt = {
        let mut attempts = FLAKY_ATTEMPTS.lock().unwrap();
        let count = attempts
            .get_or_insert_with(HashMap::new)
            .entry(message.connection_id.clone())
            .or_default();
        *count += 1;
        *count
    };
    public()
        .send(&message.connection_id, format!("attempt {attempt}"))
        .await?;
    if attempt < 3 {
        return Err(format!("failing attempt {attempt} on purpose").into());
    }
    Ok(())
}

#[subscribe("delayed")]
async fn delayed(message: ForConnection) -> Result<(), Error> {
    public().send(&message.connection_id, "delayed").await
}

fn main() {
    nitric_runtime::run();
}

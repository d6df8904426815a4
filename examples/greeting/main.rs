//! Greeting each new connection, the way that works everywhere Nitric runs.
//!
//! On AWS a connection exists only once its connect handler has answered.
//! `ctx.send` in the connect handler is held by the runtime until then
//! (see docs/users-and-presence.md); this example shows Nitric's other way,
//! which also suits work that should not hold up the connect: the connect
//! handler publishes to a topic, and the topic's subscriber sends the
//! greeting. A send to a connection this service is still accepting waits
//! for it to open; on another instance, which has not seen it open, the
//! send fails as for a gone connection, the subscriber returns the error,
//! and the membrane delivers the message again a moment later.
//!
//! Run it with `cargo run --example greeting`, then connect to
//! ws://127.0.0.1:4001/?name=ada.

use nitric_runtime::topic::Topic;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{subscribe, topic, websocket, Error};
use serde::{Deserialize, Serialize};

/// A connection to greet.
#[derive(Serialize, Deserialize)]
struct Arrival {
    connection_id: String,
    name: Option<String>,
}

#[topic("arrivals", allow = [publish])]
static ARRIVALS: Topic<Arrival>;

#[websocket("lobby", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    let arrival = Arrival {
        connection_id: ctx.connection_id().to_owned(),
        name: ctx.query().get("name").map(str::to_owned),
    };
    ARRIVALS.publish(&arrival).await
}

#[subscribe("arrivals")]
async fn greet(arrival: Arrival) -> Result<(), Error> {
    let name = arrival.name.as_deref().unwrap_or("stranger");
    Websocket::new("lobby")
        .send(&arrival.connection_id, format!("welcome, {name}!"))
        .await
}

#[websocket("lobby", on = "message")]
async fn echo(ctx: MessageContext) -> Result<(), Error> {
    ctx.socket().send(ctx.connection_id(), ctx.body()).await
}

#[websocket("lobby", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) {
    tracing::info!(connection_id = ctx.connection_id(), "left the lobby");
}

fn main() {
    nitric_runtime::run();
}

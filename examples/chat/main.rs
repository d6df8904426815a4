//! A broadcast chat: every message a client sends reaches every connected
//! client. Connection ids live in a key/value store, so any instance of the
//! service (and a restarted one) knows who is connected.
//!
//! Run it with `cargo run --example chat`, then connect websocket clients to
//! ws://127.0.0.1:4001 (for example `websocat ws://127.0.0.1:4001/?name=ada`).

use futures_util::TryStreamExt;
use nitric_runtime::kv::KvStore;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};
use nitric_runtime::{kv_store, websocket, Error};
use serde::{Deserialize, Serialize};

/// What the chat remembers about a connection.
#[derive(Serialize, Deserialize)]
struct Member {
    /// From the `?name=` query parameter, if the client gave one.
    name: Option<String>,
}

#[kv_store("connections", allow = [get, set, delete])]
static CONNECTIONS: KvStore<Member>;

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    let member = Member {
        name: ctx.query().get("name").map(str::to_owned),
    };
    CONNECTIONS.set(ctx.connection_id(), &member).await
}

#[websocket("public", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) -> Result<(), Error> {
    CONNECTIONS.delete(ctx.connection_id()).await
}

#[websocket("public", on = "message")]
async fn broadcast(ctx: MessageContext) -> Result<(), Error> {
    let members: Vec<String> = CONNECTIONS.keys("").try_collect().await?;
    // Members whose disconnect never arrived (best effort on AWS) are gone:
    // the broadcast forgets them, and one failed send does not stop the rest.
    let report = ctx
        .socket()
        .broadcast(members, ctx.body())
        .remove_gone_from(&CONNECTIONS)
        .await?;
    for (member, error) in &report.failed {
        tracing::warn!(member, %error, "the broadcast did not reach a member");
    }
    Ok(())
}

fn main() {
    nitric_runtime::run();
}

//! Rooms and connection state: the static's type picks the client, with
//! every permission they need, from the handlers of one socket (which has
//! no disconnect handler: the runtime brings its own for the cleanup).

use nitric_runtime::connection::{ConnectionState, Rooms};
use nitric_runtime::kv_store;
use nitric_runtime::websocket::{ConnectContext, MessageContext};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Member {
    name: String,
}

#[kv_store("rooms", allow = [get, set, delete])]
static ROOMS: Rooms;

/// Permissions in any order, and public.
#[kv_store("members", allow = [delete, get, set])]
pub static MEMBER: ConnectionState<Member>;

#[nitric_runtime::websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    MEMBER.set(&ctx, &Member { name: "ada".into() }).await?;
    ROOMS.join(&ctx, "lobby").await
}

#[nitric_runtime::websocket("public", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    let name = MEMBER.get(&ctx).await?.map(|member| member.name);
    ROOMS.broadcast_json(ctx.socket(), "lobby", &name).await?;
    Ok(())
}

fn main() {}

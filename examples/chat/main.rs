//! A chat in rooms: every message a client sends reaches every client in
//! its room. Clients pick a room with `?room=` and are in the "lobby"
//! otherwise. Rooms live in a key/value store, so any instance of the
//! service (and a restarted one) knows who is in them.
//!
//! Run it with `cargo run --example chat`, then connect websocket clients to
//! ws://127.0.0.1:4001 (for example `websocat ws://127.0.0.1:4001/?room=kitchen`).

use nitric_runtime::connection::Rooms;
use nitric_runtime::websocket::{ConnectContext, MessageContext};
use nitric_runtime::{kv_store, websocket, Error};

#[kv_store("connections", allow = [get, set, delete])]
static ROOMS: Rooms;

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    ROOMS
        .join(&ctx, ctx.query().get("room").unwrap_or("lobby"))
        .await
}

// No disconnect handler: the runtime takes a connection that leaves out
// of its rooms.

#[websocket("public", on = "message")]
async fn broadcast(ctx: MessageContext) -> Result<(), Error> {
    for room in ROOMS.rooms_of(&ctx).await? {
        // Members whose disconnect never arrived (best effort on AWS) are
        // gone: they leave the room, and one failed send does not stop the
        // rest.
        let report = ROOMS.broadcast(ctx.socket(), &room, ctx.body()).await?;
        for (member, error) in &report.failed {
            tracing::warn!(member, %error, "the broadcast did not reach a member");
        }
    }
    Ok(())
}

fn main() {
    nitric_runtime::run();
}

//! Each event with its own context, and handlers without a parameter.

use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};
use nitric_runtime::websocket;

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) {
    let _ = (ctx.connection_id(), ctx.query().get("name"));
}

#[websocket("public", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) {
    let _ = ctx.socket_name();
}

#[websocket("public", on = "message")]
async fn message(ctx: MessageContext) {
    let _ = ctx.body();
}

#[websocket("quiet", on = "connect")]
async fn connect_without_context() {}

#[websocket("quiet", on = "disconnect")]
async fn disconnect_without_context() {}

#[websocket("quiet", on = "message")]
async fn message_without_context() {}

fn main() {}

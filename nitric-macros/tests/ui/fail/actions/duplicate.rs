// Two handlers of one action on one socket (socket names match whatever
// their case).

use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message", action = "join")]
async fn join(_ctx: MessageContext) {}

#[websocket("Public", on = "message", action = "join")]
async fn enter(_ctx: MessageContext) {}

fn main() {}

//! An invalid app: socket "public" has two message handlers.

use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};

#[nitric_runtime::websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext) {}

#[nitric_runtime::websocket("public", on = "disconnect")]
async fn disconnect(_ctx: DisconnectContext) {}

#[nitric_runtime::websocket("public", on = "message")]
async fn echo(_ctx: MessageContext) {}

#[nitric_runtime::websocket("Public", on = "message")]
async fn shout(_ctx: MessageContext) {}

fn main() {
    nitric_runtime::run();
}

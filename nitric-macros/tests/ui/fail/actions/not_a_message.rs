// Only message handlers take an action, and it must not be empty.

use nitric_runtime::websocket;
use nitric_runtime::websocket::{ConnectContext, MessageContext};

#[websocket("public", on = "connect", action = "join")]
async fn connect(_ctx: ConnectContext) {}

#[websocket("public", on = "message", action = "")]
async fn nameless(_ctx: MessageContext) {}

#[websocket("public", on = "message", action = join)]
async fn bare(_ctx: MessageContext) {}

fn main() {}

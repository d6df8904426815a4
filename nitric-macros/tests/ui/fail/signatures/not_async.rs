use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message")]
fn handler(_ctx: MessageContext) {}

fn main() {}

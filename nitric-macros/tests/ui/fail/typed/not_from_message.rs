use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message")]
async fn handler(_ctx: MessageContext, _retries: u32) {}

fn main() {}

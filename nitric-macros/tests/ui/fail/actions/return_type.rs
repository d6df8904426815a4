// An action handler's return value is the reply: `Json<T>`, `()` or a
// `Result` of either.

use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message", action = "count")]
async fn count(_ctx: MessageContext) -> u32 {
    3
}

fn main() {}

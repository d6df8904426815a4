use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

struct Chat;

impl Chat {
    #[websocket("public", on = "message")]
    async fn handler(&self, _ctx: MessageContext) {}
}

fn main() {}

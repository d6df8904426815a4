use nitric_runtime::websocket;

#[websocket("public", on = "message")]
async fn handler<C: Send>(_ctx: C) {}

fn main() {}

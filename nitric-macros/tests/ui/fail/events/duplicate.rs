use nitric_runtime::websocket;

#[websocket("public", on = "connect", on = "message")]
async fn handler() {}

fn main() {}

use nitric_runtime::websocket;

#[websocket("public", on = "message", crate = "nitric runtime")]
async fn handler() {}

fn main() {}

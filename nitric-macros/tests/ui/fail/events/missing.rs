use nitric_runtime::websocket;

#[websocket("public")]
async fn handler() {}

fn main() {}

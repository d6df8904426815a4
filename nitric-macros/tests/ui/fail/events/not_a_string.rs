use nitric_runtime::websocket;

#[websocket("public", on = message)]
async fn handler() {}

fn main() {}

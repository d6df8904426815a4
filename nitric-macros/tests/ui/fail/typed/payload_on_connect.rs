use nitric_runtime::websocket;
use nitric_runtime::websocket::{ConnectContext, Json};

#[derive(serde::Deserialize)]
struct Hello {
    name: String,
}

// A payload belongs on a message handler; a connect handler takes a guard.
#[websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext, Json(hello): Json<Hello>) {
    let _ = hello.name;
}

fn main() {}

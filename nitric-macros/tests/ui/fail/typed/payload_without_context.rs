use nitric_runtime::websocket;
use nitric_runtime::websocket::Json;

// The payload comes second, after the context.
#[websocket("public", on = "message")]
async fn message(Json(text): Json<String>) {
    let _ = text;
}

fn main() {}

use nitric_runtime::websocket;
use nitric_runtime::websocket::{Json, MessageContext};

/// No `Deserialize`.
struct Chat {
    text: String,
}

#[websocket("public", on = "message")]
async fn message(_ctx: MessageContext, Json(chat): Json<Chat>) {
    let _ = chat.text;
}

fn main() {}

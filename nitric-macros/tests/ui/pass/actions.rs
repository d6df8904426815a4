//! Action handlers: every return form, beside a fallback, in two modules
//! (handlers of different actions never meet).

use nitric_runtime::websocket;
use nitric_runtime::websocket::{Json, MessageContext};
use serde::Deserialize;

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[websocket("public", on = "message", action = "join")]
async fn join(_ctx: MessageContext, Json(join): Json<Join>) -> Json<String> {
    Json(join.room)
}

#[websocket("public", on = "message", action = "leave", timeout = "2s")]
async fn leave(_ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    Ok(())
}

#[websocket("public", on = "message", action = "room:list")]
async fn list(_ctx: MessageContext) -> Result<Json<Vec<String>>, String> {
    Ok(Json(Vec::new()))
}

#[websocket("public", on = "message")]
async fn everything_else(_ctx: MessageContext) {}

mod other {
    use nitric_runtime::websocket::MessageContext;

    // The same action on another socket is another action.
    #[nitric_runtime::websocket("private", on = "message", action = "join")]
    async fn join(_ctx: MessageContext) {}
}

fn main() {}

//! Typed second parameters: a message handler's payload, a connect
//! handler's guard, in every form the runtime offers, and from a
//! `macro_rules!` macro.

use nitric_runtime::websocket;
use nitric_runtime::websocket::{
    ConnectContext, FromConnect, FromMessage, Json, MessageContext, PayloadError, Query, Reject,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Chat {
    text: String,
}

#[websocket("public", on = "message")]
async fn destructured(ctx: MessageContext, Json(chat): Json<Chat>) -> Result<(), nitric_runtime::Error> {
    ctx.socket().send(ctx.connection_id(), chat.text).await
}

#[websocket("plain", on = "message")]
async fn bound(_ctx: MessageContext, chat: Json<Chat>) {
    let _: &str = &chat.text;
}

#[websocket("checked", on = "message")]
async fn checked(_ctx: MessageContext, chat: Result<Json<Chat>, PayloadError>) {
    let _ = chat.map(Json::into_inner).map(|chat| chat.text);
}

#[websocket("text", on = "message")]
async fn text(_ctx: MessageContext, text: String) {
    let _ = text.len();
}

/// A payload of the app's own.
struct Shouted(String);

impl FromMessage for Shouted {
    type Rejection = nitric_runtime::Error;

    fn from_message(ctx: &MessageContext) -> Result<Self, nitric_runtime::Error> {
        Ok(Shouted(ctx.text()?.to_uppercase()))
    }
}

#[websocket("loud", on = "message")]
async fn loud(_ctx: MessageContext, Shouted(text): Shouted) {
    let _ = text;
}

/// A guard of the app's own, refusing with any error.
struct User {
    name: String,
}

impl FromConnect for User {
    type Rejection = nitric_runtime::BoxError;

    async fn from_connect(ctx: &ConnectContext) -> Result<Self, Self::Rejection> {
        let name = ctx.query().get("name").ok_or_else(|| Reject::new("no name"))?;
        Ok(User { name: name.to_owned() })
    }
}

#[websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext, user: User) -> Result<(), Reject> {
    let _ = user.name;
    Ok(())
}

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[websocket("plain", on = "connect")]
async fn joins(_ctx: ConnectContext, Query(Join { room }): Query<Join>) {
    let _ = room;
}

/// A socket whose handlers take typed parameters, from one line.
macro_rules! typed_socket {
    ($socket:literal, $connect:ident, $message:ident) => {
        #[websocket($socket, on = "connect")]
        async fn $connect(ctx: ConnectContext, Query(join): Query<Join>) {
            println!("{} joins {}", ctx.connection_id(), join.room);
        }

        #[websocket($socket, on = "message")]
        async fn $message(ctx: MessageContext, Json(chat): Json<Chat>) {
            println!("{} said {}", ctx.connection_id(), chat.text);
        }
    };
}

typed_socket!("lobby", lobby_connect, lobby_message);

fn main() {}

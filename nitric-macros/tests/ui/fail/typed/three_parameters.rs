use nitric_runtime::websocket;
use nitric_runtime::websocket::{ConnectContext, Json, MessageContext, Query};

#[websocket("public", on = "message")]
async fn message(_ctx: MessageContext, Json(_text): Json<String>, _retries: u32) {}

#[websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext, _query: Query<String>, _extra: String, _more: String) {}

fn main() {}

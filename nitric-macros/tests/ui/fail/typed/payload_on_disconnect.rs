use nitric_runtime::websocket;
use nitric_runtime::websocket::{DisconnectContext, Json};

#[websocket("public", on = "disconnect")]
async fn disconnect(_ctx: DisconnectContext, Json(_last): Json<String>) {}

fn main() {}

use nitric_runtime::websocket;
use nitric_runtime::websocket::{MessageContext, Query};

// A guard belongs on a connect handler.
#[websocket("public", on = "message")]
async fn message(_ctx: MessageContext, Query(_room): Query<String>) {}

fn main() {}

// `field` names where an action handler's action is read from: it goes
// with `action`, is not empty, and is not "ref" (which replies echo).

use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message", field = "type")]
async fn no_action(_ctx: MessageContext) {}

#[websocket("public", on = "message", action = "join", field = "")]
async fn empty(_ctx: MessageContext) {}

#[websocket("public", on = "message", action = "leave", field = "ref")]
async fn by_ref(_ctx: MessageContext) {}

fn main() {}

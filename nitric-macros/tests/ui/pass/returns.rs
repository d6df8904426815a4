//! Every accepted return type: `()` (written or not) and `Result<(), E>` for
//! any `E` that converts into `Box<dyn Error + Send + Sync>`.

use nitric_runtime::websocket::{ConnectContext, MessageContext, Reject};
use nitric_runtime::websocket;
use std::error::Error;

#[websocket("public", on = "message")]
#[allow(clippy::unused_unit)]
async fn unit(_ctx: MessageContext) -> () {}

#[websocket("public", on = "message")]
async fn runtime_error(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ctx.text()?;
    Ok(())
}

#[websocket("public", on = "message")]
async fn string_error(ctx: MessageContext) -> Result<(), String> {
    match ctx.body().is_empty() {
        true => Err("empty message".to_owned()),
        false => Ok(()),
    }
}

#[websocket("public", on = "message")]
async fn boxed_error(ctx: MessageContext) -> Result<(), Box<dyn Error + Send + Sync>> {
    let _: serde_json::Value = serde_json::from_slice(ctx.body())?;
    Ok(())
}

#[websocket("public", on = "connect")]
async fn rejecting(ctx: ConnectContext) -> Result<(), Reject> {
    match ctx.query().get("name") {
        Some(_) => Ok(()),
        None => Err(Reject::new("connect with ?name=...")),
    }
}

fn main() {}

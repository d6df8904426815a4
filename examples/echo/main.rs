//! An echo: every message a client sends goes back to that client alone.
//! The smallest app that crosses the whole stack (gateway, event stream,
//! handler, `SendMessage`), so the benchmarks measure it.
//!
//! Run it with `cargo run --example echo`, then connect a websocket client to
//! ws://127.0.0.1:4001 (for example `websocat ws://127.0.0.1:4001`).

use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};
use nitric_runtime::{websocket, Error};

#[websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext) {}

#[websocket("public", on = "disconnect")]
async fn disconnect(_ctx: DisconnectContext) {}

#[websocket("public", on = "message")]
async fn echo(ctx: MessageContext) -> Result<(), Error> {
    ctx.socket().send(ctx.connection_id(), ctx.body()).await
}

fn main() {
    nitric_runtime::run();
}

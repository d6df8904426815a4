//! An HTTP API and a schedule around a socket: the Rust side of the
//! interop app `routes` (`tests/interop/node/routes.js` and
//! `tests/interop/python/routes.py` are the same app with the official
//! SDKs; the Node file describes what it does). The equivalence test
//! compares what the three declare and register.

use futures_util::TryStreamExt;
use nitric_runtime::api::{HttpContext, Response};
use nitric_runtime::kv::KvStore;
use nitric_runtime::schedule::ScheduleContext;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{api, kv_store, schedule, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize)]
struct Member {
    name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Ticks {
    count: u64,
}

#[kv_store("connections", allow = [get, set, delete])]
static CONNECTIONS: KvStore<Member>;

#[kv_store("ticks", allow = [get, set])]
static TICKS: KvStore<Ticks>;

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    let name = ctx.query().get("name").map(str::to_owned);
    CONNECTIONS.set(ctx.connection_id(), &Member { name }).await
}

#[websocket("public", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) -> Result<(), Error> {
    CONNECTIONS.delete(ctx.connection_id()).await
}

#[websocket("public", on = "message")]
async fn echo(ctx: MessageContext) -> Result<(), Error> {
    ctx.socket().send(ctx.connection_id(), ctx.body()).await
}

/// Sends `data` to every stored connection; returns how many it reached.
async fn send_to_all(data: &[u8]) -> Result<usize, Error> {
    let ids: Vec<String> = CONNECTIONS.keys("").try_collect().await?;
    let report = Websocket::new("public").broadcast(ids, data).await?;
    Ok(report.sent)
}

#[api("main", get = "/hello/:name")]
async fn hello(ctx: HttpContext) -> Response {
    let greeting = ctx
        .query("greeting")
        .or_else(|| ctx.header("x-greeting"))
        .unwrap_or("hello");
    let name = ctx.param("name").unwrap_or_default();
    Response::text(format!("{greeting}, {name}!")).with_header("x-route", "hello")
}

#[api("main", options = "/hello/:name")]
async fn preflight() -> Response {
    Response::new(204).with_header("access-control-allow-methods", "GET, OPTIONS")
}

#[api("main", post = "/broadcast")]
async fn broadcast(ctx: HttpContext) -> Result<Response, Error> {
    let sent = send_to_all(ctx.body()).await?;
    Ok(Response::json(&json!({ "sent": sent })).with_status(202))
}

#[api("main", get = "/url")]
async fn url() -> Result<String, Error> {
    nitric_runtime::api::url("main").await
}

#[api("main", get = "/boom")]
async fn boom() -> Result<(), BoxError> {
    Err("boom".into())
}

#[schedule("tick", every = "5 minutes")]
async fn tick(_ctx: ScheduleContext) -> Result<(), BoxError> {
    let count = TICKS.get("count").await?.map_or(0, |ticks| ticks.count) + 1;
    TICKS.set("count", &Ticks { count }).await?;
    send_to_all(format!("tick {count}").as_bytes()).await?;
    if count % 2 == 0 {
        return Err(format!("run {count} fails after its work").into());
    }
    Ok(())
}

fn main() {
    nitric_runtime::run();
}

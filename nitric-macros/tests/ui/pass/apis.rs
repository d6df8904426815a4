//! Routes of every method, returning each kind of response.

use nitric_runtime::api::{HttpContext, Json, Response};
use nitric_runtime::{api, BoxError, Error};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Room {
    name: String,
}

#[api("main", get = "/")]
async fn home() -> &'static str {
    "home"
}

#[api("main", get = "/rooms/:room")]
async fn room(ctx: HttpContext) -> Json<Room> {
    Json(Room { name: ctx.param("room").unwrap_or_default().to_owned() })
}

#[api("main", post = "/rooms", timeout = "5s")]
async fn create(_ctx: HttpContext, Json(room): Json<Room>) -> Result<(u16, Json<Room>), Error> {
    Ok((201, Json(room)))
}

#[api("main", put = "/rooms/:room/topic")]
async fn topic(_ctx: HttpContext, text: String) -> Result<Response, BoxError> {
    Ok(Response::text(text))
}

#[api("main", patch = "/rooms/:room", crate = "::nitric_runtime")]
async fn rename(_ctx: HttpContext) -> String {
    String::new()
}

#[api("main", delete = "/rooms/:room")]
async fn remove(_ctx: HttpContext) {}

fn main() {}

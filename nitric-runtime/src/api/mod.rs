//! HTTP APIs: routes registered with [`#[api]`](macro@crate::api), the
//! request a route's handler reads ([`HttpContext`]) and the responses it
//! returns ([`Response`], anything [`IntoResponse`]).
//!
//! ```
//! use nitric_runtime::api::{HttpContext, Json, Response};
//! use nitric_runtime::{api, Error};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Room {
//!     name: String,
//! }
//!
//! #[api("main", get = "/rooms/:room")]
//! async fn room(ctx: HttpContext) -> Json<Room> {
//!     Json(Room { name: ctx.param("room").unwrap_or_default().to_owned() })
//! }
//!
//! // A body that is not a JSON `Room` is answered 400; the handler does not run.
//! #[api("main", post = "/rooms")]
//! async fn create(_ctx: HttpContext, Json(room): Json<Room>) -> Result<Response, Error> {
//!     Ok(Response::text(format!("created {}", room.name)).with_status(201))
//! }
//! # fn main() {}
//! ```

mod body;
mod context;
mod details;
mod response;

pub use crate::websocket::{Json, PayloadError};
pub use body::FromRequest;
pub use context::HttpContext;
pub use details::url;
pub(crate) use response::internal_error;
pub use response::{ApiResult, IntoApiResult, IntoResponse, Response};

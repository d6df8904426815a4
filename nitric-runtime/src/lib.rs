//! Write [Nitric](https://nitric.io) websocket applications in Rust.
//!
//! Annotate `async fn`s with [`#[websocket]`](macro@websocket),
//! [`#[subscribe]`](macro@subscribe) and [`#[schedule]`](macro@schedule),
//! declare key/value stores and topics with
//! [`#[kv_store]`](macro@kv_store) and [`#[topic]`](macro@topic); [`run`] does
//! the rest. It declares every resource and the
//! permissions this service needs with the Nitric membrane (the sidecar at
//! `SERVICE_ADDRESS`), opens one event stream per handler and runs handlers
//! concurrently. Without `SERVICE_ADDRESS` it starts a local membrane in the
//! process and serves real websockets on `ws://127.0.0.1:4001`.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use nitric_runtime::kv::KvStore;
//! use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};
//! use nitric_runtime::{kv_store, websocket, Error};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Connection {}
//!
//! #[kv_store("connections", allow = [get, set, delete])]
//! static CONNECTIONS: KvStore<Connection>;
//!
//! #[websocket("public", on = "connect")]
//! async fn connect(ctx: ConnectContext) -> Result<(), Error> {
//!     CONNECTIONS.set(ctx.connection_id(), &Connection {}).await
//! }
//!
//! #[websocket("public", on = "disconnect")]
//! async fn disconnect(ctx: DisconnectContext) -> Result<(), Error> {
//!     CONNECTIONS.delete(ctx.connection_id()).await
//! }
//!
//! #[websocket("public", on = "message")]
//! async fn broadcast(ctx: MessageContext) -> Result<(), Error> {
//!     let ids: Vec<String> = CONNECTIONS.keys("").try_collect().await?;
//!     for id in ids {
//!         ctx.socket().send(&id, ctx.body()).await?;
//!     }
//!     Ok(())
//! }
//!
//! fn main() {
//!     nitric_runtime::run();
//! }
//! ```
//!
//! # Features
//!
//! - `local` (default): start the local membrane in-process when
//!   `SERVICE_ADDRESS` is unset. Turn it off for deployed builds to leave
//!   the gateway and database out of the binary.
//! - `testing`: `nitric_runtime::testing`, the test kit; it turns on `local`.

#![warn(missing_docs)]

// From the bottom up: no module uses one listed after it
// (tests/tests/end_to_end/layers.rs checks).
mod error;
mod handler;
mod declaration;
// The embedded membrane's types: nitric-local's, or uninhabited stand-ins
// when the `local` feature leaves it out, so no other module needs a cfg.
#[cfg(feature = "local")]
use nitric_local as local;
#[cfg(not(feature = "local"))]
mod local;
mod transport;
mod handle;
pub mod kv;
pub mod topic;
pub mod schedule;
pub mod websocket;
pub mod connection;
pub mod api;
mod registry;
mod dispatch;
mod settings;
mod service;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use error::{BoxError, Error, InvalidService};
pub use handle::{spawn, ServiceHandle};
pub use handler::{FromContext, HandlerResult, IntoHandlerResult};
/// The embedded local membrane's settings ([`MembraneLocation::Embedded`]).
#[cfg(feature = "local")]
pub use nitric_local::Config as LocalConfig;
pub use nitric_macros::{api, kv_store, schedule, subscribe, topic, websocket};
pub use registry::Registry;
pub use service::{run, serve, serve_with};
pub use settings::{
    Environment, MembraneLocation, Settings, DEFAULT_EVENT_TIMEOUT, DEFAULT_SERVICE_ADDRESS,
    DEFAULT_SHUTDOWN_TIMEOUT,
};

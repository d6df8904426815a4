//! Websockets: the contexts handlers receive, and the client that sends to
//! and closes connections.

pub(crate) mod action;
pub(crate) mod broadcast;
mod client;
mod context;
pub(crate) mod guard;
pub(crate) mod outbox;
pub(crate) mod payload;

pub use action::{ActionResult, IntoActionResult, ACTION_FIELD, REF_FIELD};
pub use broadcast::{Broadcast, BroadcastReport, DEFAULT_BROADCAST_CONCURRENCY};
pub use client::Websocket;
pub use context::{ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject};
pub use guard::{FromConnect, Query};
/// The event a websocket handler answers: connect, disconnect or message,
/// displayed as written in `on = "..."`. The contract's own enum, shared
/// by the runtime and the local membrane.
///
/// ```
/// use nitric_runtime::websocket::WebsocketEventType;
///
/// assert_eq!(WebsocketEventType::Message.to_string(), "message");
/// ```
pub use nitric_protocol::websockets::v1::WebsocketEventType;
pub use payload::{FromMessage, Json, PayloadError};

//! Websockets: the contexts handlers receive, and the client that sends to
//! and closes connections.

pub(crate) mod broadcast;
mod client;
mod context;
mod event;
pub(crate) mod guard;
pub(crate) mod payload;

pub use broadcast::{Broadcast, BroadcastReport, DEFAULT_BROADCAST_CONCURRENCY};
pub use client::Websocket;
pub use context::{ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject};
pub use event::WebsocketEvent;
pub use guard::{FromConnect, Query};
pub use payload::{FromMessage, Json, PayloadError};

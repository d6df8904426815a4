//! Websockets: the contexts handlers receive, and the client that sends to
//! and closes connections.

pub(crate) mod broadcast;
mod client;
mod context;
mod event;

pub use broadcast::{Broadcast, BroadcastReport, DEFAULT_BROADCAST_CONCURRENCY};
pub use client::Websocket;
pub use context::{ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject};
pub use event::WebsocketEvent;

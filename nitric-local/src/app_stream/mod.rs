//! Application streams: the two gRPC streams the application opens so the
//! membrane can send it work, and the pairing of each piece of work with
//! its answer.
//!
//! - `WebsocketHandler.HandleEvents`: one stream per (socket, event type);
//!   the membrane sends websocket events down it.
//! - `Subscriber.Subscribe`: one stream per topic subscription; the
//!   membrane sends topic messages down it.
//!
//! Both work alike: the stream's first message registers it; then the
//! membrane sends requests under fresh ids and the application answers each
//! by id, any number outstanding, in any order.
//!
//! The path of one websocket event: the gateway's connection
//! ([`crate::websocket`]) asks the [`HandlerRouter`] to dispatch it; the
//! router sends it down the registered stream ([`PairedStream`]) and waits;
//! the application's answer arrives on that stream, served by
//! [`route_answers`], and is handed to the waiting dispatch by id.
//!
//! - [`pairing`]: requests sent down a stream, paired with their answers by
//!   id ([`PairedStream`]); topic subscriber streams
//!   ([`crate::topics`]) use it too.
//! - [`router`]: the websocket handler streams by socket and event type,
//!   and the dispatch of one event to its handler.
//! - [`serve`]: serving a stream over gRPC: its registration, then its
//!   answers until it ends.
//!
//! The gRPC services themselves, which tie a registered stream to the
//! gateway or to a topic, are in [`crate::services`].

mod pairing;
mod router;
mod serve;

pub(crate) use pairing::{PairedStream, Unanswered};
pub(crate) use router::{DispatchError, EventSender, HandlerRouter, Registration};
pub(crate) use serve::{
    app_message, open, registration, route_answers, AppMessage, ClientContent, Note, ServerStream,
};

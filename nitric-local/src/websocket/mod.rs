//! Websockets: clients connect to a socket's gateway, and each of their
//! events goes to the application stream that handles it.
//!
//! - [`gateway`]: one HTTP listener per socket, started when an application
//!   first registers a handler for it.
//! - [`socket`]: what one socket's requests and connections share, and how
//!   they send its events to the application (through
//!   [`crate::app_stream`]).
//! - [`upgrade`]: the HTTP side of a gateway, which asks the application's
//!   connect handler before accepting a websocket.
//! - [`host`]: the `Host` header every request to a gateway must carry.
//! - [`page`]: the HTML page a plain `GET` gets, for trying the socket in a
//!   browser.
//! - [`origin`]: which browser pages may open a websocket.
//! - [`connection`]: one accepted websocket, its frames in and out, its
//!   clocks (pings, idle timeout, lifetime).
//! - [`outbox`]: what waits to be written to one client, bounded in bytes.
//! - [`frame_type`]: whether a message the application sends goes out as a
//!   text or a binary frame.
//! - [`connections`]: the live connections, reachable by id for the
//!   `Websocket` gRPC service.

mod connection;
mod connections;
mod frame_type;
mod gateway;
mod host;
mod origin;
mod outbox;
mod page;
mod socket;
mod upgrade;

pub(crate) use connections::ConnectionError;
pub(crate) use gateway::{reachable, wait_for_url, Gateways};

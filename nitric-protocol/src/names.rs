//! How both sides of the contract spell and compare names, so the
//! application and the membrane agree on them.
//!
//! - Socket names are case-insensitive, as in the Nitric membranes:
//!   `"Public"` and `"public"` are one socket. Compare and key them by
//!   [`socket_key`].
//! - Websocket event types are written `connect`, `disconnect` and
//!   `message` in attributes, logs and error messages: [`event_name`],
//!   which is also how [`WebsocketEventType`] displays. It is the one
//!   websocket event enum of every crate here.

use crate::websockets::v1::WebsocketEventType;
use std::fmt;

/// The key a socket name is compared and looked up by: the name in lower
/// case, since socket names are case-insensitive.
///
/// ```
/// use nitric_protocol::names::socket_key;
///
/// assert_eq!(socket_key("Public"), "public");
/// assert_eq!(socket_key("PUBLIC"), socket_key("public"));
/// ```
pub fn socket_key(name: &str) -> String {
    name.to_lowercase()
}

/// The name of a websocket event type as people write it, in
/// `#[websocket("public", on = "message")]` and in messages.
///
/// ```
/// use nitric_protocol::names::event_name;
/// use nitric_protocol::websockets::v1::WebsocketEventType;
///
/// assert_eq!(event_name(WebsocketEventType::Connect), "connect");
/// assert_eq!(event_name(WebsocketEventType::Disconnect), "disconnect");
/// assert_eq!(event_name(WebsocketEventType::Message), "message");
/// ```
pub fn event_name(event: WebsocketEventType) -> &'static str {
    match event {
        WebsocketEventType::Connect => "connect",
        WebsocketEventType::Disconnect => "disconnect",
        WebsocketEventType::Message => "message",
    }
}

/// Every websocket event type, in protocol order.
///
/// ```
/// use nitric_protocol::names::EVENT_TYPES;
///
/// let names: Vec<String> = EVENT_TYPES.iter().map(ToString::to_string).collect();
/// assert_eq!(names, ["connect", "disconnect", "message"]);
/// ```
pub const EVENT_TYPES: [WebsocketEventType; 3] = [
    WebsocketEventType::Connect,
    WebsocketEventType::Disconnect,
    WebsocketEventType::Message,
];

/// Writes the event's [`event_name`].
impl fmt::Display for WebsocketEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(event_name(*self))
    }
}

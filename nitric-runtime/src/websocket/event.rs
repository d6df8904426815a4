//! The three websocket events.

use nitric_protocol::names::event_name;
use nitric_protocol::websockets::v1::WebsocketEventType;
use std::fmt;

/// The event a websocket handler answers.
///
/// ```
/// use nitric_runtime::websocket::WebsocketEvent;
///
/// assert_eq!(WebsocketEvent::Message.to_string(), "message");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebsocketEvent {
    /// A client asks to connect; the handler may refuse.
    Connect,
    /// A connection closed.
    Disconnect,
    /// A connection sent a message.
    Message,
}

impl WebsocketEvent {
    /// Every event, in protocol order.
    pub const ALL: [Self; 3] = [Self::Connect, Self::Disconnect, Self::Message];

    /// The event type on the wire.
    pub(crate) fn wire_type(self) -> WebsocketEventType {
        match self {
            Self::Connect => WebsocketEventType::Connect,
            Self::Disconnect => WebsocketEventType::Disconnect,
            Self::Message => WebsocketEventType::Message,
        }
    }
}

impl fmt::Display for WebsocketEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(event_name(self.wire_type()))
    }
}

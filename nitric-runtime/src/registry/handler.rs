//! What `#[websocket]` and `#[subscribe]` register, built in const context:
//! the user's function behind its adapter, and where it was written.

use crate::declaration::Source;
use crate::handler::{BoxFuture, HandlerResult};
use crate::topic::TopicEvent;
use crate::websocket::{
    ActionResult, ConnectContext, DisconnectContext, MessageContext, WebsocketEventType,
};
use std::fmt;
use std::time::Duration;

/// The adapter the macro generates, by event: it takes the event's context
/// and drives the user's function to a result.
#[derive(Clone, Copy)]
pub enum WebsocketAdapter {
    /// For `on = "connect"`.
    Connect(fn(ConnectContext) -> BoxFuture<HandlerResult>),
    /// For `on = "disconnect"`.
    Disconnect(fn(DisconnectContext) -> BoxFuture<HandlerResult>),
    /// For `on = "message"`.
    Message(fn(MessageContext) -> BoxFuture<HandlerResult>),
    /// For `on = "message", action = "..."`: its result is the reply.
    Action(fn(MessageContext) -> BoxFuture<ActionResult>),
}

impl fmt::Debug for WebsocketAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebsocketAdapter::{:?}", self.event())
    }
}

impl WebsocketAdapter {
    /// The event this adapter handles.
    pub const fn event(&self) -> WebsocketEventType {
        match self {
            Self::Connect(_) => WebsocketEventType::Connect,
            Self::Disconnect(_) => WebsocketEventType::Disconnect,
            Self::Message(_) | Self::Action(_) => WebsocketEventType::Message,
        }
    }
}

/// One `#[websocket(...)]` function.
#[derive(Debug)]
pub struct WebsocketFunction {
    /// The socket name.
    pub socket: &'static str,
    /// The adapter, which also tells the event.
    pub adapter: WebsocketAdapter,
    /// Where the function is.
    pub source: Source,
    /// How long one run may take (`timeout = "..."`); past it, the run is
    /// abandoned and counts as failed.
    pub timeout: Option<Duration>,
    /// The action it handles (`action = "..."`), for a message handler
    /// routed by the messages' `"action"` field; `None` for the others.
    pub action: Option<&'static str>,
    /// The JSON field the action is read from (`field = "..."`);
    /// `"action"` unless set.
    pub action_field: &'static str,
}

impl WebsocketFunction {
    /// A registration; `const` so `inventory::submit!` can hold it.
    pub const fn new(socket: &'static str, adapter: WebsocketAdapter, source: Source) -> Self {
        Self {
            socket,
            adapter,
            source,
            timeout: None,
            action: None,
            action_field: crate::websocket::action::ACTION_FIELD,
        }
    }

    /// The registration of an action handler: `on = "message", action =
    /// "join"` registers `new(socket, WebsocketAdapter::Action(adapter),
    /// source).with_action("join")`.
    pub const fn with_action(mut self, action: &'static str) -> Self {
        self.action = Some(action);
        self
    }

    /// The registration of an action handler whose action is read from
    /// another JSON field: `field = "type"` adds `.with_action_field("type")`.
    pub const fn with_action_field(mut self, field: &'static str) -> Self {
        self.action_field = field;
        self
    }

    /// The registration with a time limit per run; `timeout = "..."` adds it.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The event handled.
    pub const fn event(&self) -> WebsocketEventType {
        self.adapter.event()
    }
}

/// One `#[subscribe(...)]` function.
#[derive(Debug)]
pub struct SubscribeFunction {
    /// The topic subscribed to.
    pub topic: &'static str,
    /// The adapter: reads the payload and drives the user's function.
    pub adapter: fn(TopicEvent) -> BoxFuture<HandlerResult>,
    /// Where the function is.
    pub source: Source,
    /// How long one run may take (`timeout = "..."`); past it, the run is
    /// abandoned and the message delivered again.
    pub timeout: Option<Duration>,
}

impl SubscribeFunction {
    /// A registration; `const` so `inventory::submit!` can hold it.
    pub const fn new(
        topic: &'static str,
        adapter: fn(TopicEvent) -> BoxFuture<HandlerResult>,
        source: Source,
    ) -> Self {
        Self {
            topic,
            adapter,
            source,
            timeout: None,
        }
    }

    /// The registration with a time limit per run; `timeout = "..."` adds it.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

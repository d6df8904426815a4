//! A socket's message handlers behind its one message stream: the membrane
//! sends all of a socket's messages to one registered stream, so the
//! runtime registers one per socket and picks the handler of each message
//! by its `"action"` field (or the one the socket's action handlers name
//! with `field = "..."`).

use super::WebsocketFunction;
use crate::websocket::action::Envelope;
use nitric_protocol::names::socket_key;
use nitric_protocol::websockets::v1::WebsocketEventType;
use serde_json::Value;
use std::collections::BTreeMap;

/// The message handlers of one socket.
#[derive(Debug)]
pub(crate) struct MessageRoutes {
    /// The socket, as its first handler spells it.
    pub(crate) socket: &'static str,
    /// The handler without an action: plain messages and unknown actions.
    pub(crate) fallback: Option<&'static WebsocketFunction>,
    /// The action handlers, by action.
    pub(crate) actions: BTreeMap<&'static str, &'static WebsocketFunction>,
    /// The JSON field the actions are read from (one per socket, which
    /// validation checks).
    pub(crate) field: &'static str,
}

/// Which handler a message goes to.
#[derive(Debug)]
pub(crate) enum Route {
    /// Run this handler; reply to `reference` if it is an action handler.
    Run(&'static WebsocketFunction, Option<Value>),
    /// No handler takes it: an unknown action (or none) and no fallback.
    Unrouted {
        action: Option<String>,
        reference: Option<Value>,
    },
}

impl MessageRoutes {
    /// The routes of every socket with message handlers, in name order; a
    /// second handler of one action (refused by validation) is left out.
    pub(crate) fn of(handlers: &[&'static WebsocketFunction]) -> Vec<Self> {
        let mut by_socket: BTreeMap<String, Self> = BTreeMap::new();
        for &handler in handlers {
            if handler.event() != WebsocketEventType::Message {
                continue;
            }
            let routes = by_socket
                .entry(socket_key(handler.socket))
                .or_insert_with(|| Self {
                    socket: handler.socket,
                    fallback: None,
                    actions: BTreeMap::new(),
                    field: crate::websocket::action::ACTION_FIELD,
                });
            match handler.action {
                Some(action) => {
                    if routes.actions.is_empty() {
                        routes.field = handler.action_field;
                    }
                    routes.actions.entry(action).or_insert(handler);
                }
                None => {
                    routes.fallback.get_or_insert(handler);
                }
            }
        }
        by_socket.into_values().collect()
    }

    /// The handler of a message with this body.
    pub(crate) fn route(&self, body: &[u8]) -> Route {
        if self.actions.is_empty() {
            // A socket without actions reads no envelope.
            if let Some(fallback) = self.fallback {
                return Route::Run(fallback, None);
            }
        }
        let Envelope { action, reference } = Envelope::read(body, self.field);
        if let Some(handler) = action
            .as_deref()
            .and_then(|action| self.actions.get(action))
        {
            return Route::Run(handler, reference);
        }
        match self.fallback {
            Some(fallback) => Route::Run(fallback, None),
            None => Route::Unrouted { action, reference },
        }
    }

    /// Every handler behind the stream, fallback first.
    pub(crate) fn handlers(&self) -> impl Iterator<Item = &'static WebsocketFunction> + '_ {
        self.fallback
            .into_iter()
            .chain(self.actions.values().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::Source;
    use crate::handler::{BoxFuture, HandlerResult};
    use crate::registry::WebsocketAdapter;
    use crate::websocket::{ActionResult, MessageContext};
    use serde_json::json;

    fn plain(_: MessageContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn action(_: MessageContext) -> BoxFuture<ActionResult> {
        Box::pin(async { Ok(Value::Null) })
    }

    fn handler(
        socket: &'static str,
        action_name: Option<&'static str>,
    ) -> &'static WebsocketFunction {
        let source = Source::new(action_name.unwrap_or("fallback"), "src/main.rs", 1);
        let function = match action_name {
            Some(name) => WebsocketFunction::new(socket, WebsocketAdapter::Action(action), source)
                .with_action(name),
            None => WebsocketFunction::new(socket, WebsocketAdapter::Message(plain), source),
        };
        Box::leak(Box::new(function))
    }

    fn routed(routes: &MessageRoutes, body: &str) -> (Option<&'static str>, Option<Value>) {
        match routes.route(body.as_bytes()) {
            Route::Run(handler, reference) => (Some(handler.source.item), reference),
            Route::Unrouted { reference, .. } => (None, reference),
        }
    }

    #[test]
    fn one_route_table_per_socket_whatever_the_case() {
        let routes = MessageRoutes::of(&[
            handler("chat", Some("join")),
            handler("Chat", Some("leave")),
            handler("chat", None),
            handler("other", None),
        ]);
        assert_eq!(routes.len(), 2);
        assert_eq!(
            routes[0].actions.keys().copied().collect::<Vec<_>>(),
            ["join", "leave"]
        );
        assert!(routes[0].fallback.is_some());
        assert_eq!(routes[0].handlers().count(), 3);
    }

    #[test]
    fn a_known_action_goes_to_its_handler_with_its_ref() {
        let routes = &MessageRoutes::of(&[handler("chat", Some("join")), handler("chat", None)])[0];
        assert_eq!(
            routed(routes, r#"{"action":"join","ref":"1"}"#),
            (Some("join"), Some(json!("1")))
        );
        // Unknown actions and plain messages go to the fallback, which
        // replies itself if it wants to.
        assert_eq!(
            routed(routes, r#"{"action":"jump","ref":"2"}"#),
            (Some("fallback"), None)
        );
        assert_eq!(routed(routes, "hello"), (Some("fallback"), None));
    }

    #[test]
    fn actions_are_read_from_the_field_their_handlers_name() {
        let source = Source::new("join", "src/main.rs", 1);
        let join = WebsocketFunction::new("chat", WebsocketAdapter::Action(action), source)
            .with_action("join")
            .with_action_field("type");
        let routes = &MessageRoutes::of(&[Box::leak(Box::new(join)), handler("chat", None)])[0];
        assert_eq!(
            routed(routes, r#"{"type":"join","ref":"1"}"#),
            (Some("join"), Some(json!("1")))
        );
        assert_eq!(
            routed(routes, r#"{"action":"join"}"#),
            (Some("fallback"), None)
        );
    }

    #[test]
    fn without_a_fallback_an_unknown_action_is_unrouted() {
        let routes = &MessageRoutes::of(&[handler("chat", Some("join"))])[0];
        assert_eq!(
            routed(routes, r#"{"action":"jump","ref":3}"#),
            (None, Some(json!(3)))
        );
        assert_eq!(routed(routes, "hello"), (None, None));
    }
}

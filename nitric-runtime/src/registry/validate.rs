//! The checks a registry must pass before the service connects anywhere.

use super::{ResourceDeclaration, WebsocketHandler};
use crate::websocket::WebsocketEvent;
use std::collections::BTreeMap;

/// Every problem with these registrations, one sentence each.
pub(super) fn problems(
    handlers: &[&WebsocketHandler],
    resources: &[&ResourceDeclaration],
) -> Vec<String> {
    let mut problems = Vec::new();
    if handlers.is_empty() && resources.is_empty() {
        problems.push(
            "no handlers or resources are registered; annotate an async fn with #[websocket(\"name\", on = \"...\")]".to_owned(),
        );
    }

    // The membrane compares socket names case-insensitively, so do we.
    // Earliest in the source first, so messages read in the order written.
    let mut handlers = handlers.to_vec();
    handlers.sort_by_key(|handler| handler.source);
    let mut by_socket: BTreeMap<String, Vec<&WebsocketHandler>> = BTreeMap::new();
    for handler in handlers {
        by_socket
            .entry(handler.socket.to_lowercase())
            .or_default()
            .push(handler);
    }
    for socket_handlers in by_socket.values() {
        let socket = socket_handlers[0].socket;
        for event in WebsocketEvent::ALL {
            let for_event: Vec<_> = socket_handlers
                .iter()
                .filter(|h| h.event() == event)
                .collect();
            match for_event.as_slice() {
                [] => problems.push(format!(
                    "socket \"{socket}\" has no {event} handler; add #[websocket(\"{socket}\", on = \"{event}\")] to an async fn (every socket needs connect, disconnect and message handlers)"
                )),
                [_] => {}
                [first, rest @ ..] => {
                    for other in rest {
                        // Names match case-insensitively; show the spelling
                        // that hides the clash.
                        let spelled = if other.socket == first.socket {
                            String::new()
                        } else {
                            format!(" for \"{}\"", other.socket)
                        };
                        problems.push(format!(
                            "socket \"{socket}\" has two {event} handlers, {} and {}{spelled}; keep one",
                            first.source, other.source
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{BoxFuture, HandlerResult};
    use crate::registry::{Source, WebsocketHandlerFn};
    use crate::websocket::{ConnectContext, DisconnectContext, MessageContext};

    fn on_connect(_: ConnectContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn on_disconnect(_: DisconnectContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn on_message(_: MessageContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }

    fn handler(
        socket: &'static str,
        function: WebsocketHandlerFn,
        item: &'static str,
        line: u32,
    ) -> &'static WebsocketHandler {
        Box::leak(Box::new(WebsocketHandler::new(
            socket,
            function,
            Source::new(item, "src/main.rs", line),
        )))
    }

    fn complete(socket: &'static str) -> Vec<&'static WebsocketHandler> {
        vec![
            handler(
                socket,
                WebsocketHandlerFn::Connect(on_connect),
                "connect",
                1,
            ),
            handler(
                socket,
                WebsocketHandlerFn::Disconnect(on_disconnect),
                "disconnect",
                2,
            ),
            handler(
                socket,
                WebsocketHandlerFn::Message(on_message),
                "message",
                3,
            ),
        ]
    }

    #[test]
    fn a_complete_socket_passes() {
        assert_eq!(problems(&complete("public"), &[]), Vec::<String>::new());
    }

    #[test]
    fn names_the_missing_handlers() {
        let handlers = &complete("public")[..1];
        let problems = problems(handlers, &[]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("socket \"public\" has no disconnect handler"));
        assert!(problems[1].contains("socket \"public\" has no message handler"));
    }

    #[test]
    fn names_both_duplicates_with_their_locations() {
        let mut handlers = complete("public");
        handlers.push(handler(
            "Public",
            WebsocketHandlerFn::Message(on_message),
            "shout",
            9,
        ));
        let problems = problems(&handlers, &[]);
        assert_eq!(
            problems,
            vec!["socket \"public\" has two message handlers, `message` (src/main.rs:3) and `shout` (src/main.rs:9) for \"Public\"; keep one"]
        );
    }

    #[test]
    fn an_empty_service_is_refused() {
        assert!(problems(&[], &[])[0].contains("no handlers or resources"));
    }
}

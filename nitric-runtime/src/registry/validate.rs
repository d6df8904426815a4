//! The checks a registry must pass before the service connects anywhere.

use super::{Registry, ResourceDeclaration, Source, WebsocketFunction};
use nitric_protocol::names::socket_key;
use nitric_protocol::names::EVENT_TYPES;
use std::collections::BTreeMap;

/// Every problem with these registrations, one sentence each.
pub(super) fn problems(registry: &Registry) -> Vec<String> {
    let mut problems = Vec::new();
    if registry.websocket_functions.is_empty()
        && registry.subscribe_functions.is_empty()
        && registry.schedule_functions.is_empty()
        && registry.resources.is_empty()
        && registry.api_functions.is_empty()
    {
        problems.push(
            "no handlers or resources are registered; annotate an async fn with #[websocket(\"name\", on = \"...\")], #[subscribe(\"topic\")] or #[api(\"name\", get = \"/path\")]".to_owned(),
        );
    }
    websocket_problems(&registry.websocket_functions, &mut problems);

    // One subscriber per topic in a service, as one handler per socket event.
    let mut by_topic: BTreeMap<&str, Vec<Source>> = BTreeMap::new();
    for subscription in &registry.subscribe_functions {
        by_topic
            .entry(subscription.topic)
            .or_default()
            .push(subscription.source);
    }
    for (topic, sources) in by_topic {
        duplicates(
            &sources,
            &format!("topic \"{topic}\" has two subscribers"),
            &mut problems,
        );
    }
    for (name, sources) in super::schedule::shared_names(&registry.schedule_functions) {
        duplicates(
            &sources,
            &format!("schedule \"{name}\" has two handlers"),
            &mut problems,
        );
    }
    state_problems(&registry.resources, &mut problems);
    super::api::problems(&registry.api_functions, &mut problems);
    problems
}

/// Two statics of a client that owns keys of its store (two
/// `ConnectionState`s, `Presence`s or `History`s on one store) would read
/// and overwrite each other's keys: each connection's value, each room's
/// members, each room's entries. Different clients on one store use keys
/// of their own.
fn state_problems(resources: &[&ResourceDeclaration], problems: &mut Vec<String>) {
    let mut by_store: BTreeMap<(&str, &str), Vec<Source>> = BTreeMap::new();
    for resource in resources {
        if let ResourceDeclaration::KvStore(store) = resource {
            if let Some(client) = store.owns_state {
                by_store
                    .entry((store.name, client))
                    .or_default()
                    .push(store.source);
            }
        }
    }
    for ((store, client), sources) in by_store {
        let shared = match client {
            "ConnectionState" => "each connection's value (the same key)",
            "Presence" => "each room's members (with metadata of either type)",
            "History" => "each room's numbered entries (trimmed by either's bounds)",
            _ => "the same keys",
        };
        duplicates(
            &sources,
            &format!("key/value store \"{store}\" has two `{client}` statics, which would share {shared}"),
            problems,
        );
    }
}

fn websocket_problems(handlers: &[&WebsocketFunction], problems: &mut Vec<String>) {
    // The membrane compares socket names case-insensitively, so do we.
    let mut by_socket: BTreeMap<String, Vec<&WebsocketFunction>> = BTreeMap::new();
    for handler in handlers {
        by_socket
            .entry(socket_key(handler.socket))
            .or_default()
            .push(handler);
    }
    for socket_handlers in by_socket.values() {
        let socket = socket_handlers[0].socket;
        for event in EVENT_TYPES {
            let for_event: Vec<&WebsocketFunction> = socket_handlers
                .iter()
                .copied()
                .filter(|h| h.event() == event)
                .collect();
            if for_event.is_empty() {
                problems.push(format!(
                    "socket \"{socket}\" has no {event} handler; add #[websocket(\"{socket}\", on = \"{event}\")] to an async fn (every socket needs connect, disconnect and message handlers)"
                ));
            }
            // Action handlers share the message stream with at most one
            // handler without an action; each action has one handler.
            let mut by_action: BTreeMap<Option<&str>, Vec<&WebsocketFunction>> = BTreeMap::new();
            for &handler in &for_event {
                by_action.entry(handler.action).or_default().push(handler);
            }
            // One message stream reads one field for every action.
            let mut by_field: BTreeMap<&str, Vec<&WebsocketFunction>> = BTreeMap::new();
            for &handler in &for_event {
                if handler.action.is_some() {
                    by_field
                        .entry(handler.action_field)
                        .or_default()
                        .push(handler);
                }
            }
            if by_field.len() > 1 {
                let fields: Vec<String> = by_field
                    .iter()
                    .map(|(field, handlers)| {
                        let named: Vec<String> = handlers
                            .iter()
                            .map(|handler| {
                                format!("`{}` ({})", handler.source.item, handler.source.location())
                            })
                            .collect();
                        format!("\"{field}\" by {}", named.join(", "))
                    })
                    .collect();
                problems.push(format!(
                    "socket \"{socket}\" reads its actions from {} fields: {}; give every action handler of the socket the same `field = \"...\"` (or none, for \"action\")",
                    by_field.len(),
                    fields.join("; ")
                ));
            }
            for (action, for_action) in by_action {
                let problem = match action {
                    None => format!("socket \"{socket}\" has two {event} handlers"),
                    Some(action) => {
                        format!("socket \"{socket}\" has two handlers for action \"{action}\"")
                    }
                };
                same_socket_duplicates(socket, &for_action, problem, problems);
            }
        }
    }
}

/// [`duplicates`], noting when the names differ only in case.
fn same_socket_duplicates(
    socket: &str,
    for_event: &[&WebsocketFunction],
    mut problem: String,
    problems: &mut Vec<String>,
) {
    let sources: Vec<Source> = for_event.iter().map(|handler| handler.source).collect();
    // Names match case-insensitively; show a spelling that hides a clash.
    if let Some(other) = for_event.iter().find(|handler| handler.socket != socket) {
        problem = format!(
            "{problem} (\"{socket}\" and \"{}\" are the same socket)",
            other.socket
        );
    }
    duplicates(&sources, &problem, problems);
}

/// One problem per registration after the first, naming both; earliest in
/// the source first, so messages read in the order written.
fn duplicates(sources: &[Source], problem: &str, problems: &mut Vec<String>) {
    let mut sources = sources.to_vec();
    sources.sort();
    if let [first, rest @ ..] = sources.as_slice() {
        for other in rest {
            problems.push(format!("{problem}, {first} and {other}; keep one"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{BoxFuture, HandlerResult};
    use crate::registry::{KvStoreDeclaration, SubscribeFunction, WebsocketAdapter};
    use crate::topic::TopicEvent;
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
    fn on_topic(_: TopicEvent) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }

    fn source(item: &'static str, line: u32) -> Source {
        Source::new(item, "src/main.rs", line)
    }

    fn handler(
        socket: &'static str,
        function: WebsocketAdapter,
        item: &'static str,
        line: u32,
    ) -> &'static WebsocketFunction {
        Box::leak(Box::new(WebsocketFunction::new(
            socket,
            function,
            source(item, line),
        )))
    }

    fn complete(socket: &'static str) -> Vec<&'static WebsocketFunction> {
        vec![
            handler(socket, WebsocketAdapter::Connect(on_connect), "connect", 1),
            handler(
                socket,
                WebsocketAdapter::Disconnect(on_disconnect),
                "disconnect",
                2,
            ),
            handler(socket, WebsocketAdapter::Message(on_message), "message", 3),
        ]
    }

    fn problems_of(
        websocket_functions: Vec<&'static WebsocketFunction>,
        subscribe_functions: Vec<&'static SubscribeFunction>,
    ) -> Vec<String> {
        problems(&Registry {
            websocket_functions,
            subscribe_functions,
            ..Registry::default()
        })
    }

    #[test]
    fn a_complete_socket_passes() {
        assert_eq!(
            problems_of(complete("public"), vec![]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn names_the_missing_handlers() {
        let problems = problems_of(complete("public")[..1].to_vec(), vec![]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("socket \"public\" has no disconnect handler"));
        assert!(problems[1].contains("socket \"public\" has no message handler"));
    }

    #[test]
    fn names_both_duplicates_with_their_locations() {
        let mut handlers = complete("public");
        handlers.insert(
            0,
            handler("Public", WebsocketAdapter::Message(on_message), "shout", 9),
        );
        assert_eq!(
            problems_of(handlers, vec![]),
            vec!["socket \"Public\" has two message handlers (\"Public\" and \"public\" are the same socket), `message` (src/main.rs:3) and `shout` (src/main.rs:9); keep one"]
        );
    }

    #[test]
    fn actions_share_the_message_stream_one_handler_each() {
        fn on_action(_: MessageContext) -> BoxFuture<crate::websocket::ActionResult> {
            Box::pin(async { Ok(serde_json::Value::Null) })
        }
        let action = |socket, name, item, line| {
            &*Box::leak(Box::new(
                WebsocketFunction::new(
                    socket,
                    WebsocketAdapter::Action(on_action),
                    source(item, line),
                )
                .with_action(name),
            ))
        };
        let mut handlers = complete("public");
        handlers.push(action("public", "join", "join", 10));
        handlers.push(action("public", "leave", "leave", 11));
        assert_eq!(problems_of(handlers.clone(), vec![]), Vec::<String>::new());
        handlers.push(action("PUBLIC", "join", "enter", 12));
        assert_eq!(
            problems_of(handlers, vec![]),
            vec!["socket \"public\" has two handlers for action \"join\" (\"public\" and \"PUBLIC\" are the same socket), `join` (src/main.rs:10) and `enter` (src/main.rs:12); keep one"]
        );
        // Every action of a socket is read from one field.
        let mut handlers = complete("typed");
        handlers.push(action("typed", "join", "join", 10));
        let by_type = WebsocketFunction::new(
            "typed",
            WebsocketAdapter::Action(on_action),
            source("leave", 11),
        )
        .with_action("leave")
        .with_action_field("type");
        handlers.push(Box::leak(Box::new(by_type)));
        assert_eq!(
            problems_of(handlers, vec![]),
            vec!["socket \"typed\" reads its actions from 2 fields: \"action\" by `join` (src/main.rs:10); \"type\" by `leave` (src/main.rs:11); give every action handler of the socket the same `field = \"...\"` (or none, for \"action\")"]
        );
        // Actions alone are enough: no fallback is needed.
        let mut handlers = complete("chat")[..2].to_vec();
        handlers.push(action("chat", "join", "join", 10));
        assert_eq!(problems_of(handlers, vec![]), Vec::<String>::new());
    }

    #[test]
    fn one_subscriber_per_topic() {
        let subscriber = |item, line| {
            &*Box::leak(Box::new(SubscribeFunction::new(
                "welcome",
                on_topic,
                source(item, line),
            )))
        };
        assert_eq!(
            problems_of(vec![], vec![subscriber("greet", 7), subscriber("wave", 4)]),
            vec!["topic \"welcome\" has two subscribers, `wave` (src/main.rs:4) and `greet` (src/main.rs:7); keep one"]
        );
    }

    /// A `#[kv_store]` static on `store` whose client owns keys there.
    fn owning(
        store: &'static str,
        client: &'static str,
        item: &'static str,
        line: u32,
    ) -> &'static ResourceDeclaration {
        let mut declaration = KvStoreDeclaration::new(store, &[], source(item, line));
        declaration.owns_state = Some(client);
        let declaration: &'static KvStoreDeclaration = Box::leak(Box::new(declaration));
        Box::leak(Box::new(ResourceDeclaration::KvStore(declaration)))
    }

    #[test]
    fn two_connection_states_on_one_store_are_refused() {
        let state = |store, item, line| owning(store, "ConnectionState", item, line);
        let problems = problems(&Registry {
            websocket_functions: complete("public"),
            resources: vec![
                state("users", "USER", 12),
                state("users", "PROFILE", 5),
                state("other", "OTHER", 20),
                // A plain store of the same name owns no state keys.
                &*Box::leak(Box::new(ResourceDeclaration::KvStore(Box::leak(Box::new(
                    KvStoreDeclaration::new("users", &[], source("PLAIN", 30)),
                ))))),
            ],
            ..Registry::default()
        });
        assert_eq!(
            problems,
            vec!["key/value store \"users\" has two `ConnectionState` statics, which would share each connection's value (the same key), `PROFILE` (src/main.rs:5) and `USER` (src/main.rs:12); keep one"]
        );
    }

    #[test]
    fn two_presences_or_histories_on_one_store_are_refused_but_different_clients_may_share_it() {
        let owning = |client, item, line| owning("people", client, item, line);
        let problems = problems(&Registry {
            websocket_functions: complete("public"),
            resources: vec![
                owning("Presence", "LOBBY", 3),
                owning("Presence", "KITCHEN", 9),
                owning("History", "LINES", 4),
                owning("History", "SHORT", 8),
                // One of each other client: no conflict.
                owning("ConnectionState", "STATE", 20),
            ],
            ..Registry::default()
        });
        assert_eq!(
            problems,
            vec![
                "key/value store \"people\" has two `History` statics, which would share each room's numbered entries (trimmed by either's bounds), `LINES` (src/main.rs:4) and `SHORT` (src/main.rs:8); keep one",
                "key/value store \"people\" has two `Presence` statics, which would share each room's members (with metadata of either type), `LOBBY` (src/main.rs:3) and `KITCHEN` (src/main.rs:9); keep one",
            ]
        );
    }

    #[test]
    fn an_empty_service_is_refused() {
        assert!(problems_of(vec![], vec![])[0].contains("no handlers or resources"));
    }
}

//! What the macros registered at compile time: handlers and resource
//! declarations, collected through `inventory` when the service starts.

mod api;
mod handler;
mod routes;
mod schedule;
mod validate;

pub use api::ApiFunction;
pub use handler::{SubscribeFunction, WebsocketAdapter, WebsocketFunction};
pub(crate) use routes::{MessageRoutes, Route};
pub use schedule::{Cadence, ScheduleFunction};

use crate::declaration::{KvStoreDeclaration, ResourceDeclaration, Source};
use crate::error::InvalidService;
use crate::handler::{BoxFuture, HandlerResult};
use crate::websocket::{DisconnectContext, WebsocketEventType};
use nitric_protocol::names::socket_key;
use std::collections::BTreeSet;
use std::sync::OnceLock;

inventory::collect!(WebsocketFunction);
inventory::collect!(SubscribeFunction);
inventory::collect!(ScheduleFunction);
inventory::collect!(ResourceDeclaration);
inventory::collect!(ApiFunction);

/// Everything the macros registered in this binary, checked to form a
/// valid service: the `#[websocket]` and `#[subscribe]` handlers and the
/// `#[kv_store]` and `#[topic]` resources. [`serve_with`](crate::serve_with)
/// serves one, as axum serves a `Router`; [`run`](crate::run) and
/// [`serve`](crate::serve) collect it themselves.
///
/// ```no_run
/// use nitric_runtime::{Registry, Settings};
///
/// # async fn example() -> Result<(), nitric_runtime::Error> {
/// // Fails, naming every problem, if a socket lacks a handler or a name
/// // is declared twice.
/// let registry = Registry::collect()?;
/// let settings = Settings::from_env()?;
/// nitric_runtime::serve_with(settings, registry, tokio::signal::ctrl_c().map(drop)).await
/// # }
/// # use futures_util::FutureExt;
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(test, derive(Default))]
pub struct Registry {
    pub(crate) websocket_functions: Vec<&'static WebsocketFunction>,
    pub(crate) subscribe_functions: Vec<&'static SubscribeFunction>,
    pub(crate) schedule_functions: Vec<&'static ScheduleFunction>,
    pub(crate) resources: Vec<&'static ResourceDeclaration>,
    /// The `#[api]` routes.
    pub(crate) api_functions: Vec<&'static ApiFunction>,
    /// The key/value declarations whose clients keep data per connection
    /// (rooms, connection state): cleaned up after every disconnect and
    /// refused connect.
    pub(crate) cleanups: &'static [&'static KvStoreDeclaration],
    /// Each socket's message handlers, behind its one message stream.
    pub(crate) message_routes: &'static [MessageRoutes],
}

impl Registry {
    /// Collects every registration linked into this binary, in a stable
    /// order (by source location) so declarations are reproducible.
    ///
    /// The registrations are fixed for the process, so they are gathered
    /// once (with the runtime's cleanup-only handlers, which must be
    /// `'static`); each call only checks a copy of the list.
    ///
    /// ```
    /// let problems = nitric_runtime::Registry::collect().unwrap_err().problems;
    /// // This doctest registers nothing.
    /// assert!(problems[0].contains("no handlers or resources"), "{problems:?}");
    /// ```
    pub fn collect() -> Result<Self, InvalidService> {
        collected().clone().checked()
    }

    /// What [`collect`](Self::collect) gathers, before the checks.
    fn gather() -> Self {
        let mut registry = Self {
            websocket_functions: inventory::iter::<WebsocketFunction>().collect(),
            subscribe_functions: inventory::iter::<SubscribeFunction>().collect(),
            schedule_functions: inventory::iter::<ScheduleFunction>().collect(),
            resources: inventory::iter::<ResourceDeclaration>().collect(),
            api_functions: inventory::iter::<ApiFunction>().collect(),
            cleanups: &[],
            message_routes: &[],
        };
        registry
            .websocket_functions
            .sort_by_key(|handler| handler.source);
        registry
            .subscribe_functions
            .sort_by_key(|subscription| subscription.source);
        registry
            .schedule_functions
            .sort_by_key(|schedule| schedule.source);
        registry.resources.sort_by_key(|resource| resource.source());
        registry.api_functions.sort_by_key(|route| route.source);
        registry.add_cleanup_handlers();
        // Gathered once per process, so leaked once.
        registry.message_routes =
            Box::leak(MessageRoutes::of(&registry.websocket_functions).into_boxed_slice());
        registry
    }

    /// Finds the declarations that need a cleanup after each disconnect,
    /// and gives every socket without a disconnect handler one that only
    /// cleans up: the membrane sends a socket's disconnects to one stream,
    /// so the runtime opens it when the app does not. The few bytes are
    /// leaked to be `'static`, as the event streams need; the process
    /// gathers its registry once, so this runs once.
    fn add_cleanup_handlers(&mut self) {
        let cleanups: Vec<&'static KvStoreDeclaration> = self
            .resources
            .iter()
            .filter_map(|resource| match resource {
                ResourceDeclaration::KvStore(store) if store.cleanup.is_some() => Some(*store),
                _ => None,
            })
            .collect();
        if cleanups.is_empty() {
            return;
        }
        self.cleanups = Box::leak(cleanups.into_boxed_slice());
        let handled: BTreeSet<String> = self
            .websocket_functions
            .iter()
            .filter(|handler| handler.event() == WebsocketEventType::Disconnect)
            .map(|handler| socket_key(handler.socket))
            .collect();
        let mut added = BTreeSet::new();
        let mut cleanup_only = Vec::new();
        for handler in &self.websocket_functions {
            let key = socket_key(handler.socket);
            if !handled.contains(&key) && added.insert(key) {
                cleanup_only.push(cleanup_only_handler(handler.socket));
            }
        }
        self.websocket_functions.extend(cleanup_only);
    }

    /// The registry if it forms a valid service, else every problem.
    pub(crate) fn checked(self) -> Result<Self, InvalidService> {
        let problems = validate::problems(&self);
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidService { problems })
        }
    }

    /// The sockets that have handlers, each once, in name order.
    pub(crate) fn sockets(&self) -> BTreeSet<&'static str> {
        self.websocket_functions
            .iter()
            .map(|handler| handler.socket)
            .collect()
    }
}

/// Every registration of this process, gathered on first use.
fn collected() -> &'static Registry {
    static COLLECTED: OnceLock<Registry> = OnceLock::new();
    COLLECTED.get_or_init(Registry::gather)
}

/// The disconnect handler of a socket whose app has none: the runtime's
/// cleanup after it is all there is to do.
fn cleanup_only_handler(socket: &'static str) -> &'static WebsocketFunction {
    fn nothing(_: DisconnectContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    let source = Source::new("connection cleanup", file!(), line!());
    Box::leak(Box::new(WebsocketFunction::new(
        socket,
        WebsocketAdapter::Disconnect(nothing),
        source,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::websocket::{ConnectContext, MessageContext};

    fn on_connect(_: ConnectContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn on_message(_: MessageContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn on_disconnect(_: DisconnectContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }
    fn cleanup<'a>(
        _: &'static KvStoreDeclaration,
        _: crate::declaration::Departed<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }

    fn handler(socket: &'static str, adapter: WebsocketAdapter) -> &'static WebsocketFunction {
        let source = Source::new("handler", "src/main.rs", 1);
        Box::leak(Box::new(WebsocketFunction::new(socket, adapter, source)))
    }

    fn store(cleans_up: bool) -> &'static ResourceDeclaration {
        let mut declaration =
            KvStoreDeclaration::new("rooms", &[], Source::new("ROOMS", "src/main.rs", 1));
        if cleans_up {
            declaration.cleanup = Some(cleanup);
        }
        let declaration = Box::leak(Box::new(declaration));
        Box::leak(Box::new(ResourceDeclaration::KvStore(declaration)))
    }

    /// Socket "a" has every handler, "B" has no disconnect handler.
    fn registry(cleans_up: bool) -> Registry {
        let mut registry = Registry {
            websocket_functions: vec![
                handler("a", WebsocketAdapter::Connect(on_connect)),
                handler("a", WebsocketAdapter::Disconnect(on_disconnect)),
                handler("a", WebsocketAdapter::Message(on_message)),
                handler("B", WebsocketAdapter::Connect(on_connect)),
                handler("b", WebsocketAdapter::Message(on_message)),
            ],
            resources: vec![store(cleans_up)],
            ..Registry::default()
        };
        registry.add_cleanup_handlers();
        // Gathered once per process, so leaked once.
        registry.message_routes =
            Box::leak(MessageRoutes::of(&registry.websocket_functions).into_boxed_slice());
        registry
    }

    #[test]
    fn a_socket_without_a_disconnect_handler_gets_one_that_cleans_up() {
        let registry = registry(true);
        assert_eq!(registry.cleanups.len(), 1);
        let added: Vec<_> = registry.websocket_functions[5..]
            .iter()
            .map(|handler| (handler.socket, handler.event(), handler.source.item))
            .collect();
        assert_eq!(
            added,
            [("B", WebsocketEventType::Disconnect, "connection cleanup")]
        );
        assert!(registry.checked().is_ok());
    }

    #[test]
    fn without_cleanups_nothing_is_added_and_the_socket_is_incomplete() {
        let registry = registry(false);
        assert!(registry.cleanups.is_empty());
        assert_eq!(registry.websocket_functions.len(), 5);
        let problems = registry.checked().unwrap_err().problems;
        assert!(
            problems[0].contains("has no disconnect handler"),
            "{problems:?}"
        );
    }
}

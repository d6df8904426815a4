//! What the macros registered at compile time: handlers and resource
//! declarations, collected through `inventory` when the service starts.

mod declaration;
mod handler;
mod validate;

pub use declaration::{
    KvPermission, KvStoreDeclaration, ResourceDeclaration, TopicDeclaration, TopicPermission,
};
pub use handler::{Source, SubscribeFunction, WebsocketAdapter, WebsocketFunction};

use crate::error::InvalidService;
use std::collections::BTreeSet;

inventory::collect!(WebsocketFunction);
inventory::collect!(SubscribeFunction);
inventory::collect!(ResourceDeclaration);

/// Everything this binary registered, checked and ready to declare.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) websocket_functions: Vec<&'static WebsocketFunction>,
    pub(crate) subscribe_functions: Vec<&'static SubscribeFunction>,
    pub(crate) resources: Vec<&'static ResourceDeclaration>,
}

impl Registry {
    /// Collects every registration linked into this binary, in a stable
    /// order (by source location) so declarations are reproducible.
    pub(crate) fn collect() -> Result<Self, InvalidService> {
        let mut registry = Self {
            websocket_functions: inventory::iter::<WebsocketFunction>().collect(),
            subscribe_functions: inventory::iter::<SubscribeFunction>().collect(),
            resources: inventory::iter::<ResourceDeclaration>().collect(),
        };
        registry
            .websocket_functions
            .sort_by_key(|handler| handler.source);
        registry
            .subscribe_functions
            .sort_by_key(|subscription| subscription.source);
        registry.resources.sort_by_key(|resource| resource.source());
        registry.checked()
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

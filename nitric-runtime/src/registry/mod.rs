//! What the macros registered at compile time: handlers and resource
//! declarations, collected through `inventory` when the service starts.

mod declaration;
mod handler;
mod validate;

pub use declaration::{KvPermission, KvStoreDeclaration, ResourceDeclaration};
pub use handler::{Source, WebsocketHandler, WebsocketHandlerFn};

use crate::error::InvalidService;
use std::collections::BTreeSet;

inventory::collect!(WebsocketHandler);
inventory::collect!(ResourceDeclaration);

/// Everything this binary registered, checked and ready to declare.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) websocket_handlers: Vec<&'static WebsocketHandler>,
    pub(crate) resources: Vec<&'static ResourceDeclaration>,
}

impl Registry {
    /// Collects every registration linked into this binary, in a stable
    /// order (by source location) so declarations are reproducible.
    pub(crate) fn collect() -> Result<Self, InvalidService> {
        let mut websocket_handlers: Vec<_> = inventory::iter::<WebsocketHandler>().collect();
        websocket_handlers.sort_by_key(|handler| (handler.socket, handler.event(), handler.source));
        let mut resources: Vec<_> = inventory::iter::<ResourceDeclaration>().collect();
        resources.sort_by_key(|resource| resource.source());
        Self::checked(websocket_handlers, resources)
    }

    /// Validates registrations that were gathered some other way.
    pub(crate) fn checked(
        websocket_handlers: Vec<&'static WebsocketHandler>,
        resources: Vec<&'static ResourceDeclaration>,
    ) -> Result<Self, InvalidService> {
        let problems = validate::problems(&websocket_handlers, &resources);
        if problems.is_empty() {
            Ok(Self {
                websocket_handlers,
                resources,
            })
        } else {
            Err(InvalidService { problems })
        }
    }

    /// The sockets that have handlers, each once, in name order.
    pub(crate) fn sockets(&self) -> BTreeSet<&'static str> {
        self.websocket_handlers
            .iter()
            .map(|handler| handler.socket)
            .collect()
    }
}

//! What every request and connection of one socket's gateway shares: the
//! [`Socket`], the slots counting its connections, and the sending of its
//! events to the application.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nitric_protocol::websockets::v1::{
    websocket_event_request::WebsocketEvent, WebsocketDisconnectionEvent, WebsocketEventResponse,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connections::Connections;
use super::origin::AllowedOrigins;
use crate::app_stream::{DispatchError, HandlerRouter};
use crate::Config;

/// How long an event waits for its handler to register, so clients arriving
/// while the application restarts are served instead of refused.
const HANDLER_WAIT: Duration = Duration::from_secs(5);

/// One socket's gateway, as its requests and connections see it.
pub(super) struct Socket {
    /// The socket's name as the application registered it.
    pub(super) name: String,
    pub(super) router: Arc<HandlerRouter>,
    pub(super) connections: Arc<Connections>,
    pub(super) shutdown: CancellationToken,
    /// Cancelled once the gateway takes no more connections.
    pub(super) draining: CancellationToken,
    /// Each connection from its upgrade request until its disconnect event
    /// is answered.
    pub(super) connection_tasks: TaskTracker,
    /// The membrane's settings: the gateway's limits are fields of it.
    pub(super) config: Arc<Config>,
    pub(super) origins: AllowedOrigins,
    /// Connections open or being decided, for [`Config::max_connections`].
    pub(super) open: Arc<AtomicUsize>,
}

impl Socket {
    /// Sends `event` of `connection_id` to the application's handler and
    /// waits for the answer: up to [`HANDLER_WAIT`] for a handler to
    /// register, then up to [`Config::event_timeout`] for its answer.
    pub(super) async fn dispatch(
        &self,
        connection_id: &str,
        event: WebsocketEvent,
    ) -> Result<WebsocketEventResponse, DispatchError> {
        self.router
            .dispatch(
                &self.name,
                connection_id,
                event,
                HANDLER_WAIT,
                self.config.event_timeout,
            )
            .await
    }

    /// Sends the disconnect event of a connection the application had
    /// accepted.
    pub(super) async fn report_disconnect(&self, connection_id: &str) {
        let disconnect = WebsocketEvent::Disconnection(WebsocketDisconnectionEvent {});
        match self.dispatch(connection_id, disconnect).await {
            Ok(_) | Err(DispatchError::ShuttingDown) => {}
            Err(error) => {
                tracing::warn!(socket = %self.name, connection_id, %error, "disconnect event failed");
            }
        }
    }
}

/// One of a socket's [`Config::max_connections`], held by a connection from
/// its upgrade request until it closes.
pub(super) struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    /// A free slot of `socket`, if it has one.
    pub(super) fn take(socket: &Socket) -> Option<Self> {
        let max = socket.config.max_connections;
        socket
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| Self(socket.open.clone()))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

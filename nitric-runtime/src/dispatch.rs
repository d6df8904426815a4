//! One event stream per websocket handler: register, then run every event's
//! handler concurrently and answer each by its id.

use crate::error::Error;
use crate::handler::HandlerResult;
use crate::registry::{WebsocketHandler, WebsocketHandlerFn};
use crate::websocket::{
    ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject, Websocket,
};
use futures_util::FutureExt;
use nitric_protocol::websockets::v1::{
    client_message, server_message, websocket_event_request::WebsocketEvent as Event,
    websocket_event_response::WebsocketResponse, websocket_handler_client::WebsocketHandlerClient,
    ClientMessage, RegistrationRequest, ServerMessage, WebsocketConnectionResponse,
    WebsocketEventRequest, WebsocketEventResponse,
};
use std::panic::AssertUnwindSafe;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::Channel;

/// Why a stream stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The service asked it to stop; in-flight events were answered.
    Stopped,
    /// The membrane ended the stream.
    ClosedByMembrane,
}

/// Answers waiting to be sent; more than this and handlers wait for the
/// membrane to read.
const OUTBOX: usize = 256;

/// Registers `handler` and dispatches its events until `stop` is cancelled
/// or the membrane ends the stream. Returns once every event it took was
/// answered.
pub(crate) async fn handle_events(
    channel: Channel,
    handler: &'static WebsocketHandler,
    stop: CancellationToken,
) -> Result<StreamEnd, Error> {
    let operation = || {
        format!(
            "register {} as the {} handler of socket \"{}\"",
            handler.source,
            handler.event(),
            handler.socket
        )
    };
    let (outbox, outgoing) = mpsc::channel(OUTBOX);
    let registration = ClientMessage {
        id: String::new(),
        content: Some(client_message::Content::RegistrationRequest(
            RegistrationRequest {
                socket_name: handler.socket.to_owned(),
                event_type: handler.event().wire_type() as i32,
            },
        )),
    };
    outbox
        .send(registration)
        .await
        .expect("the receiver is alive until the call is made");

    let mut client = WebsocketHandlerClient::new(channel);
    let mut incoming = client
        .handle_events(ReceiverStream::new(outgoing))
        .await
        .map_err(|status| Error::from_status(operation(), status))?
        .into_inner();
    match incoming.message().await {
        Ok(Some(ServerMessage {
            content: Some(server_message::Content::RegistrationResponse(_)),
            ..
        })) => {}
        Ok(other) => {
            return Err(Error::Startup(format!(
                "{}: the membrane answered {other:?} instead of a registration response",
                operation()
            )))
        }
        Err(status) => return Err(Error::from_status(operation(), status)),
    }
    tracing::info!(socket = handler.socket, event = %handler.event(), handler = %handler.source, "handler registered");

    let in_flight = TaskTracker::new();
    let end = loop {
        let message = tokio::select! {
            _ = stop.cancelled() => break Ok(StreamEnd::Stopped),
            message = incoming.message() => message,
        };
        match message {
            Ok(Some(ServerMessage {
                id,
                content: Some(server_message::Content::WebsocketEventRequest(request)),
            })) => {
                let outbox = outbox.clone();
                in_flight.spawn(async move {
                    let response = answer(handler, request).await;
                    let reply = ClientMessage {
                        id,
                        content: Some(client_message::Content::WebsocketEventResponse(response)),
                    };
                    // A closed outbox means the stream is gone; the membrane
                    // fails the event on its side.
                    let _ = outbox.send(reply).await;
                });
            }
            Ok(Some(other)) => {
                tracing::warn!(message = ?other, "ignoring an unexpected message from the membrane")
            }
            Ok(None) => break Ok(StreamEnd::ClosedByMembrane),
            Err(status) => {
                break Err(Error::from_status(
                    format!("receive events for {}", handler.source),
                    status,
                ))
            }
        }
    };
    // Keep the stream open until every taken event is answered; dropping the
    // outbox afterwards half-closes it.
    in_flight.close();
    in_flight.wait().await;
    drop(outbox);
    end
}

/// Runs the handler on one event and builds the answer. Never fails: errors
/// and panics are logged and, for a connect, refuse the connection.
async fn answer(
    handler: &'static WebsocketHandler,
    request: WebsocketEventRequest,
) -> WebsocketEventResponse {
    let connection_id = request.connection_id.clone();
    let run = match start(handler, request) {
        Some(run) => run,
        None => {
            tracing::warn!(handler = %handler.source, connection_id, "the membrane sent an event of another type to this handler; answering it without running the handler");
            return response_for(handler, false);
        }
    };
    let rejected = match AssertUnwindSafe(run).catch_unwind().await {
        Ok(Ok(())) => false,
        Ok(Err(error)) => {
            log_failure(handler, &connection_id, &*error);
            true
        }
        Err(panic) => {
            let reason = panic_message(&*panic);
            tracing::error!(
                handler = %handler.source,
                socket = handler.socket,
                connection_id,
                panic = reason,
                "{} handler panicked; the service keeps running",
                handler.event()
            );
            true
        }
    };
    response_for(handler, rejected)
}

/// The handler's future for this event, or `None` if the event does not
/// match the handler.
fn start(
    handler: &'static WebsocketHandler,
    request: WebsocketEventRequest,
) -> Option<crate::handler::BoxFuture<HandlerResult>> {
    let socket = Websocket::new(&request.socket_name);
    let connection_id = request.connection_id;
    Some(match (handler.function, request.websocket_event?) {
        (WebsocketHandlerFn::Connect(function), Event::Connection(event)) => {
            let query = event
                .query_params
                .into_iter()
                .map(|(name, values)| (name, values.value))
                .collect::<QueryParams>();
            function(ConnectContext {
                socket,
                connection_id,
                query,
            })
        }
        (WebsocketHandlerFn::Disconnect(function), Event::Disconnection(_)) => {
            function(DisconnectContext {
                socket,
                connection_id,
            })
        }
        (WebsocketHandlerFn::Message(function), Event::Message(event)) => {
            function(MessageContext {
                socket,
                connection_id,
                body: event.body,
            })
        }
        _ => return None,
    })
}

fn response_for(handler: &WebsocketHandler, failed: bool) -> WebsocketEventResponse {
    match handler.function {
        WebsocketHandlerFn::Connect(_) => WebsocketEventResponse {
            websocket_response: Some(WebsocketResponse::ConnectionResponse(
                WebsocketConnectionResponse { reject: failed },
            )),
        },
        _ => WebsocketEventResponse {
            websocket_response: None,
        },
    }
}

fn log_failure(
    handler: &WebsocketHandler,
    connection_id: &str,
    error: &(dyn std::error::Error + 'static),
) {
    let event = handler.event();
    if let Some(reject) = error.downcast_ref::<Reject>() {
        tracing::info!(handler = %handler.source, socket = handler.socket, connection_id, reason = reject.reason(), "connection refused");
    } else if matches!(handler.function, WebsocketHandlerFn::Connect(_)) {
        tracing::warn!(handler = %handler.source, socket = handler.socket, connection_id, error = %error, "connect handler failed; the connection is refused");
    } else {
        tracing::warn!(handler = %handler.source, socket = handler.socket, connection_id, error = %error, "{event} handler failed");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload")
}

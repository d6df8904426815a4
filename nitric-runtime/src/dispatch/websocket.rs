//! Websocket event streams (`WebsocketHandler.HandleEvents`).

use super::{guarded, EventStream, Outcome, ServerContent};
use crate::declaration::Departed;
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::registry::{MessageRoutes, Registry, Route, WebsocketAdapter, WebsocketFunction};
use crate::transport::Channel;
use crate::websocket::action::{self, ACTION_FIELD};
use crate::websocket::guard::GuardFailed;
use crate::websocket::outbox::Outbox;
use crate::websocket::payload::MessageNotRead;
use crate::websocket::{
    ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject, Websocket,
};
use nitric_protocol::websockets::v1::{
    client_message, server_message, websocket_event_request::WebsocketEvent as Event,
    websocket_event_response::WebsocketResponse, websocket_handler_client::WebsocketHandlerClient,
    ClientMessage, RegistrationRequest, ServerMessage, WebsocketConnectionResponse,
    WebsocketEventRequest, WebsocketEventResponse, WebsocketEventType,
};
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};
use tokio_stream::wrappers::ReceiverStream;

/// A websocket event stream: one connect or disconnect handler, or every
/// message handler of a socket, routed by action.
#[derive(Clone, Copy)]
pub(crate) enum WebsocketStream {
    /// A connect or disconnect handler.
    Handler(&'static WebsocketFunction),
    /// A socket's message handlers.
    Messages(&'static MessageRoutes),
}

impl WebsocketStream {
    /// The websocket streams a session opens: one per connect and
    /// disconnect handler, and one per socket for all its message handlers.
    pub(crate) fn all(registry: &Registry) -> Vec<Self> {
        let handlers = registry
            .websocket_functions
            .iter()
            .filter(|handler| handler.event() != WebsocketEventType::Message)
            .map(|&handler| Self::Handler(handler));
        handlers
            .chain(registry.message_routes.iter().map(Self::Messages))
            .collect()
    }

    fn socket(&self) -> &'static str {
        match self {
            Self::Handler(handler) => handler.socket,
            Self::Messages(routes) => routes.socket,
        }
    }

    fn event(&self) -> WebsocketEventType {
        match self {
            Self::Handler(handler) => handler.event(),
            Self::Messages(_) => WebsocketEventType::Message,
        }
    }

    /// The handler of this event, and the `"ref"` to reply to.
    fn route(&self, request: &WebsocketEventRequest) -> Route {
        match (self, &request.websocket_event) {
            (Self::Messages(routes), Some(Event::Message(message))) => routes.route(&message.body),
            // Not a message: any handler refuses it in `start`.
            (Self::Messages(routes), _) => Route::Run(
                routes.handlers().next().expect("routes hold a handler"),
                None,
            ),
            (Self::Handler(handler), _) => Route::Run(handler, None),
        }
    }
}

impl EventStream for WebsocketStream {
    type ClientMessage = ClientMessage;
    type ServerMessage = ServerMessage;
    type Event = WebsocketEventRequest;
    type Answer = WebsocketEventResponse;

    fn describe(&self) -> String {
        match self {
            Self::Handler(handler) => format!(
                "{}, the {} handler of socket \"{}\"",
                handler.source,
                handler.event(),
                handler.socket
            ),
            Self::Messages(routes) => {
                let handlers: Vec<String> = routes
                    .handlers()
                    .map(|handler| match handler.action {
                        Some(action) => format!("{} for action \"{action}\"", handler.source),
                        None => handler.source.to_string(),
                    })
                    .collect();
                format!(
                    "{}, the message handlers of socket \"{}\"",
                    handlers.join(", "),
                    routes.socket
                )
            }
        }
    }

    event_stream_plumbing! {
        client: WebsocketHandlerClient::handle_events,
        registration: |stream: &Self| RegistrationRequest {
            socket_name: stream.socket().to_owned(),
            event_type: stream.event() as i32,
        },
        event: WebsocketEventRequest,
        answer: WebsocketEventResponse,
    }

    fn answer(
        &self,
        service: &ServiceHandle,
        request: WebsocketEventRequest,
    ) -> BoxFuture<WebsocketEventResponse> {
        let stream = *self;
        let service = service.clone();
        Box::pin(async move {
            let connection_id = request.connection_id.clone();
            let socket = request.socket_name.clone();
            let (handler, reference) = match stream.route(&request) {
                Route::Run(handler, reference) => (handler, reference),
                Route::Unrouted { action, reference } => {
                    let reason = match &action {
                        Some(action) => format!("unknown action \"{action}\""),
                        None => format!("the message has no \"{ACTION_FIELD}\" field naming one of this socket's actions"),
                    };
                    tracing::warn!(socket, connection_id, action, "{reason}, and the socket has no message handler without an action to take it; the message is dropped");
                    if let Some(reference) = reference {
                        send_reply(
                            &service,
                            &socket,
                            &connection_id,
                            action::error_reply(&reference, &reason),
                        )
                        .await;
                    }
                    return WebsocketEventResponse::default();
                }
            };
            let reply = Arc::new(Mutex::new(Value::Null));
            // What a connect handler sends its own connection waits here.
            let outbox = matches!(handler.adapter, WebsocketAdapter::Connect(_)).then(Outbox::new);
            let Some(run) = start(handler, &service, request, &reply) else {
                tracing::warn!(handler = %handler.source, connection_id, "the membrane sent an event of another type to this handler; answering it without running the handler");
                return response(handler, false);
            };
            // While a connect handler runs, the connection cannot be sent to.
            let connecting = outbox.as_ref().map(|outbox| {
                let opening: Arc<dyn crate::handle::Opening> = outbox.clone();
                service.begin_connecting(&socket, &connection_id, opening)
            });
            let deadline = service.deadlines().websocket_event;
            // Why the run failed, for the log and an error reply.
            let failure = match guarded(run, handler.timeout, deadline).await {
                Outcome::Done => None,
                Outcome::Failed(error) => {
                    log_failure(handler, &connection_id, &*error);
                    Some(error.to_string())
                }
                Outcome::Panicked(panic) => {
                    tracing::error!(handler = %handler.source, socket, connection_id, panic, "{} handler panicked; the service keeps running", handler.event());
                    Some("the handler failed".to_owned())
                }
                Outcome::TimedOut(limit) => {
                    tracing::warn!(handler = %handler.source, socket, connection_id, timeout = ?limit, "{} handler timed out and was abandoned", handler.event());
                    Some(format!("timed out after {limit:?}"))
                }
                Outcome::PastDeadline(deadline) => {
                    tracing::warn!(handler = %handler.source, socket, connection_id, deadline = ?deadline, "{} handler cancelled: the membrane stopped waiting for its answer (NITRIC_EVENT_TIMEOUT; give the handler a `timeout` to choose another limit)", handler.event());
                    Some(format!("timed out after {deadline:?}"))
                }
            };
            let failed = failure.is_some();
            if let Some(reference) =
                reference.filter(|_| matches!(handler.adapter, WebsocketAdapter::Action(_)))
            {
                let reply = match failure {
                    None => action::ok_reply(&reference, take(&reply)),
                    Some(reason) => action::error_reply(&reference, &reason),
                };
                send_reply(&service, &socket, &connection_id, reply).await;
            }
            // After a disconnect's handler, which may still read what is
            // deleted, and after a refused connect, whose handler may have
            // written before refusing (no disconnect follows one); before
            // answering, as a cloud instance may be frozen once it answers.
            let cleans_up = match handler.adapter {
                WebsocketAdapter::Disconnect(_) => true,
                WebsocketAdapter::Connect(_) => failed,
                WebsocketAdapter::Message(_) | WebsocketAdapter::Action(_) => false,
            };
            if matches!(handler.adapter, WebsocketAdapter::Disconnect(_)) {
                // Nothing sent to it waits for it to open any more.
                service.forget_connection(&socket, &connection_id);
            }
            if cleans_up {
                let connection = Departed {
                    socket: &socket,
                    connection_id: &connection_id,
                };
                // Failures and timeouts are logged there.
                let _ =
                    crate::connection::clean_up(service.cleanups(), connection, handler.timeout)
                        .await;
            }
            // The connection is no longer connecting: a send that finds it
            // unknown now is taken as racing its opening.
            drop(connecting);
            if let Some(outbox) = outbox {
                if failed {
                    outbox.refuse(&service, &socket, &connection_id);
                } else {
                    // Spawned before the answer is written: its first
                    // sends may race the membrane opening the connection,
                    // and are tried again until it has.
                    let client = Websocket::in_service(&socket, service.clone());
                    outbox.accept(&service, client, connection_id);
                }
            }
            response(handler, failed)
        })
    }
}

/// The handler's future for this event, or `None` if the event does not
/// match the handler.
fn start(
    handler: &'static WebsocketFunction,
    service: &ServiceHandle,
    request: WebsocketEventRequest,
    reply: &Arc<Mutex<Value>>,
) -> Option<BoxFuture<crate::HandlerResult>> {
    let socket = Websocket::in_service(&request.socket_name, service.clone());
    let connection_id = request.connection_id;
    Some(match (handler.adapter, request.websocket_event?) {
        (WebsocketAdapter::Connect(function), Event::Connection(event)) => {
            let query: QueryParams = event
                .query_params
                .into_iter()
                .map(|(name, values)| (name, values.value))
                .collect();
            function(ConnectContext {
                socket,
                connection_id,
                query,
            })
        }
        (WebsocketAdapter::Disconnect(function), Event::Disconnection(_)) => {
            function(DisconnectContext {
                socket,
                connection_id,
            })
        }
        (WebsocketAdapter::Message(function), Event::Message(event)) => function(MessageContext {
            socket,
            connection_id,
            body: event.body,
        }),
        (WebsocketAdapter::Action(function), Event::Message(event)) => {
            let run = function(MessageContext {
                socket,
                connection_id,
                body: event.body,
            });
            let reply = reply.clone();
            Box::pin(async move {
                *reply.lock().unwrap_or_else(PoisonError::into_inner) = run.await?;
                Ok(())
            })
        }
        _ => return None,
    })
}

/// The response an action handler left in `reply`.
fn take(reply: &Mutex<Value>) -> Value {
    std::mem::take(&mut *reply.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Sends a reply to the connection that asked; a connection gone since is
/// only logged.
async fn send_reply(service: &ServiceHandle, socket: &str, connection_id: &str, reply: Value) {
    let socket_client = Websocket::in_service(socket, service.clone());
    if let Err(error) = socket_client.send_json(connection_id, &reply).await {
        tracing::warn!(socket, connection_id, error = %error, "could not send the reply to an action");
    }
}

/// A connect is refused when its handler failed; other events are answered
/// with an empty response, as the official SDKs do.
fn response(handler: &WebsocketFunction, failed: bool) -> WebsocketEventResponse {
    let websocket_response = matches!(handler.adapter, WebsocketAdapter::Connect(_)).then_some(
        WebsocketResponse::ConnectionResponse(WebsocketConnectionResponse { reject: failed }),
    );
    WebsocketEventResponse { websocket_response }
}

fn log_failure(
    handler: &WebsocketFunction,
    connection_id: &str,
    error: &(dyn std::error::Error + 'static),
) {
    let (source, socket) = (&handler.source, handler.socket);
    if let Some(reject) = error.downcast_ref::<Reject>() {
        tracing::info!(handler = %source, socket, connection_id, reason = reject.reason(), "connection refused");
    } else if let Some(not_read) = error.downcast_ref::<MessageNotRead>() {
        tracing::warn!(handler = %source, socket, connection_id, error = %not_read, "the message does not fit the handler's payload parameter; the handler did not run");
    } else if let Some(guard) = error.downcast_ref::<GuardFailed>() {
        tracing::warn!(handler = %source, socket, connection_id, error = %guard, "the connect guard failed; the handler did not run and the connection is refused");
    } else if matches!(handler.adapter, WebsocketAdapter::Connect(_)) {
        tracing::warn!(handler = %source, socket, connection_id, error = %error, "connect handler failed; the connection is refused");
    } else {
        tracing::warn!(handler = %source, socket, connection_id, error = %error, "{} handler failed", handler.event());
    }
}

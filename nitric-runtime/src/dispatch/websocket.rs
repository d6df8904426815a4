//! Websocket event streams (`WebsocketHandler.HandleEvents`).

use super::{guarded, EventStream, Outcome, ServerContent};
use crate::declaration::Departed;
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::registry::{WebsocketAdapter, WebsocketFunction};
use crate::transport::Channel;
use crate::websocket::guard::GuardFailed;
use crate::websocket::payload::MessageNotRead;
use crate::websocket::{
    ConnectContext, DisconnectContext, MessageContext, QueryParams, Reject, Websocket,
};
use nitric_protocol::websockets::v1::{
    client_message, server_message, websocket_event_request::WebsocketEvent as Event,
    websocket_event_response::WebsocketResponse, websocket_handler_client::WebsocketHandlerClient,
    ClientMessage, RegistrationRequest, ServerMessage, WebsocketConnectionResponse,
    WebsocketEventRequest, WebsocketEventResponse,
};
use tokio_stream::wrappers::ReceiverStream;

/// The stream of one `#[websocket]` handler.
#[derive(Clone, Copy)]
pub(crate) struct WebsocketStream(pub(crate) &'static WebsocketFunction);

impl EventStream for WebsocketStream {
    type ClientMessage = ClientMessage;
    type ServerMessage = ServerMessage;
    type Event = WebsocketEventRequest;
    type Answer = WebsocketEventResponse;

    fn describe(&self) -> String {
        let handler = self.0;
        format!(
            "{}, the {} handler of socket \"{}\"",
            handler.source,
            handler.event(),
            handler.socket
        )
    }

    fn registration(&self) -> ClientMessage {
        let request = RegistrationRequest {
            socket_name: self.0.socket.to_owned(),
            event_type: self.0.event() as i32,
        };
        ClientMessage {
            id: String::new(),
            content: Some(client_message::Content::RegistrationRequest(request)),
        }
    }

    fn open(
        &self,
        channel: Channel,
        outgoing: ReceiverStream<ClientMessage>,
    ) -> BoxFuture<Result<tonic::Streaming<ServerMessage>, tonic::Status>> {
        Box::pin(async move {
            let response = WebsocketHandlerClient::new(channel)
                .max_decoding_message_size(crate::transport::MAX_DECODED_MESSAGE)
                .handle_events(outgoing)
                .await?;
            Ok(response.into_inner())
        })
    }

    fn read(message: ServerMessage) -> ServerContent<WebsocketEventRequest> {
        match message.content {
            Some(server_message::Content::RegistrationResponse(_)) => ServerContent::Registered,
            Some(server_message::Content::WebsocketEventRequest(event)) => ServerContent::Event {
                id: message.id,
                event,
            },
            None => ServerContent::Unexpected(format!(
                "a message with no content (id {:?})",
                message.id
            )),
        }
    }

    fn answer(
        &self,
        service: &ServiceHandle,
        request: WebsocketEventRequest,
    ) -> BoxFuture<WebsocketEventResponse> {
        let handler = self.0;
        let service = service.clone();
        Box::pin(async move {
            let connection_id = request.connection_id.clone();
            let socket = request.socket_name.clone();
            let Some(run) = start(handler, &service, request) else {
                tracing::warn!(handler = %handler.source, connection_id, "the membrane sent an event of another type to this handler; answering it without running the handler");
                return response(handler, false);
            };
            // While a connect handler runs, the connection cannot be sent to.
            let _connecting = matches!(handler.adapter, WebsocketAdapter::Connect(_))
                .then(|| service.begin_connecting(&socket, &connection_id));
            let deadline = service.deadlines().websocket_event;
            let failed = match guarded(run, handler.timeout, deadline).await {
                Outcome::Done => false,
                Outcome::Failed(error) => {
                    log_failure(handler, &connection_id, &*error);
                    true
                }
                Outcome::Panicked(panic) => {
                    tracing::error!(handler = %handler.source, socket, connection_id, panic, "{} handler panicked; the service keeps running", handler.event());
                    true
                }
                Outcome::TimedOut(limit) => {
                    tracing::warn!(handler = %handler.source, socket, connection_id, timeout = ?limit, "{} handler timed out and was abandoned", handler.event());
                    true
                }
                Outcome::PastDeadline(deadline) => {
                    tracing::warn!(handler = %handler.source, socket, connection_id, deadline = ?deadline, "{} handler cancelled: the membrane stopped waiting for its answer (NITRIC_EVENT_TIMEOUT; give the handler a `timeout` to choose another limit)", handler.event());
                    true
                }
            };
            // After a disconnect's handler, which may still read what is
            // deleted, and after a refused connect, whose handler may have
            // written before refusing (no disconnect follows one); before
            // answering, as a cloud instance may be frozen once it answers.
            let cleans_up = match handler.adapter {
                WebsocketAdapter::Disconnect(_) => true,
                WebsocketAdapter::Connect(_) => failed,
                WebsocketAdapter::Message(_) => false,
            };
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
            response(handler, failed)
        })
    }

    fn reply(id: String, answer: WebsocketEventResponse) -> ClientMessage {
        ClientMessage {
            id,
            content: Some(client_message::Content::WebsocketEventResponse(answer)),
        }
    }
}

/// The handler's future for this event, or `None` if the event does not
/// match the handler.
fn start(
    handler: &'static WebsocketFunction,
    service: &ServiceHandle,
    request: WebsocketEventRequest,
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
        _ => return None,
    })
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

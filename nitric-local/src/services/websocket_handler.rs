//! `WebsocketHandler.HandleEvents`: an application stream that handles one
//! (socket, event type). The first message registers it; from then on the
//! membrane sends events down the stream and the application answers them
//! by id.
//!
//! The response headers go out at once and every refusal travels as the
//! stream's status, so a client may open the stream and send its
//! registration in either order.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use nitric_protocol::websockets::v1::websocket_handler_server::WebsocketHandler;
use nitric_protocol::websockets::v1::{
    client_message, server_message, ClientMessage, RegistrationRequest, RegistrationResponse,
    ServerMessage, WebsocketEventType,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Parts;
use crate::registry::{EventName, EventSender, Registration};

/// Events queued for one application stream before dispatchers wait.
const EVENT_QUEUE: usize = 64;

pub(super) struct WebsocketHandlerService {
    parts: Parts,
}

impl WebsocketHandlerService {
    pub(super) fn new(parts: Parts) -> Self {
        Self { parts }
    }
}

#[tonic::async_trait]
impl WebsocketHandler for WebsocketHandlerService {
    type HandleEventsStream =
        Pin<Box<dyn Stream<Item = Result<ServerMessage, Status>> + Send + 'static>>;

    async fn handle_events(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::HandleEventsStream>, Status> {
        let incoming = request.into_inner();
        let (events, outgoing) = mpsc::channel(EVENT_QUEUE);
        self.parts
            .tasks
            .spawn(serve_stream(self.parts.clone(), incoming, events));
        // Ending the response stream on shutdown lets the gRPC server finish
        // even while applications keep their streams open.
        let outgoing =
            ReceiverStream::new(outgoing).take_until(self.parts.shutdown.clone().cancelled_owned());
        Ok(Response::new(Box::pin(outgoing)))
    }
}

/// Registers the stream, then routes the application's answers until the
/// stream ends; the registration (and with it every unanswered event) ends
/// with this function.
async fn serve_stream(parts: Parts, mut incoming: Streaming<ClientMessage>, events: EventSender) {
    let first = tokio::select! {
        first = incoming.message() => first,
        () = parts.shutdown.cancelled() => return,
    };
    let (id, request) = match first {
        Ok(Some(ClientMessage {
            id,
            content: Some(client_message::Content::RegistrationRequest(request)),
        })) => (id, request),
        Ok(Some(_)) => {
            let refusal = Status::invalid_argument(
                "the first message of a HandleEvents stream must be a registration_request",
            );
            let _ = events.send(Err(refusal)).await;
            return;
        }
        Ok(None) => return,
        Err(status) => {
            tracing::debug!(%status, "handler stream failed before registering");
            return;
        }
    };
    let registered = ServerMessage {
        id,
        content: Some(server_message::Content::RegistrationResponse(
            RegistrationResponse {},
        )),
    };
    let registration = match register(&parts, &request, &events, registered).await {
        Ok(registration) => registration,
        Err(refusal) => {
            tracing::warn!(socket = %request.socket_name, status = %refusal.message(), "handler registration refused");
            let _ = events.send(Err(refusal)).await;
            return;
        }
    };
    route_answers(&parts, incoming, &events, &registration, &request).await;
    tracing::info!(
        socket = %request.socket_name,
        event = %event_name(&request),
        "websocket handler unregistered"
    );
}

async fn register(
    parts: &Parts,
    request: &RegistrationRequest,
    events: &EventSender,
    registered: ServerMessage,
) -> Result<Registration, Status> {
    if request.socket_name.is_empty() {
        return Err(Status::invalid_argument(
            "registration_request.socket_name is empty: name the websocket to handle",
        ));
    }
    let event_type = WebsocketEventType::try_from(request.event_type).map_err(|_| {
        Status::invalid_argument(format!(
            "registration_request.event_type {} is not a websocket event type (0 connect, 1 disconnect, 2 message)",
            request.event_type
        ))
    })?;
    // The gateway first: once registered, the stream must be able to
    // receive events, and clients need somewhere to connect.
    parts
        .gateways
        .ensure_running(&request.socket_name)
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let registration = parts
        .registry
        .register(&request.socket_name, event_type, events.clone(), registered)
        .map_err(|refused| Status::already_exists(refused.to_string()))?;
    tracing::info!(
        socket = %request.socket_name,
        event = %EventName(event_type),
        "websocket handler registered"
    );
    Ok(registration)
}

async fn route_answers(
    parts: &Parts,
    mut incoming: Streaming<ClientMessage>,
    events: &EventSender,
    registration: &Registration,
    request: &RegistrationRequest,
) {
    loop {
        let message = tokio::select! {
            message = incoming.message() => message,
            // The application stopped reading our events.
            () = events.closed() => return,
            () = parts.shutdown.cancelled() => return,
        };
        match message {
            Ok(Some(ClientMessage {
                id,
                content: Some(client_message::Content::WebsocketEventResponse(response)),
            })) => {
                if !registration.answer(&id, response) {
                    tracing::warn!(socket = %request.socket_name, id, "answer to an unknown event id ignored");
                }
            }
            Ok(Some(ClientMessage {
                content: Some(client_message::Content::RegistrationRequest(_)),
                ..
            })) => {
                tracing::warn!(socket = %request.socket_name, "a second registration_request on a registered stream is ignored; open one stream per socket and event type");
            }
            Ok(Some(ClientMessage { id, content: None })) => {
                tracing::warn!(socket = %request.socket_name, id, "empty message from the application ignored");
            }
            // The application closed its side: it will answer nothing more.
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(socket = %request.socket_name, %status, "handler stream failed");
                return;
            }
        }
    }
}

fn event_name(request: &RegistrationRequest) -> String {
    WebsocketEventType::try_from(request.event_type)
        .map(|event| EventName(event).to_string())
        .unwrap_or_else(|_| request.event_type.to_string())
}

//! `WebsocketHandler.HandleEvents`: an application stream that handles one
//! (socket, event type). The first message registers it; from then on the
//! membrane sends events down the stream and the application answers them
//! by id (the stream itself is served as described in [`crate::app_stream`]).

use nitric_protocol::names::event_name;
use nitric_protocol::websockets::v1::websocket_handler_server::WebsocketHandler;
use nitric_protocol::websockets::v1::{
    client_message, server_message, ClientMessage, RegistrationRequest, RegistrationResponse,
    ServerMessage, WebsocketEventResponse, WebsocketEventType,
};
use tonic::{Request, Response, Status, Streaming};

use super::MembraneState;
use crate::app_stream::{self, Note, ServerStream};
use crate::app_stream::{EventSender, Registration};

/// Events queued for one application stream before dispatchers wait.
const EVENT_QUEUE: usize = 64;

pub(super) struct WebsocketHandlerService {
    state: MembraneState,
}

impl WebsocketHandlerService {
    pub(super) fn new(state: MembraneState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl WebsocketHandler for WebsocketHandlerService {
    type HandleEventsStream = ServerStream<ServerMessage>;

    async fn handle_events(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::HandleEventsStream>, Status> {
        Ok(self
            .state
            .open_app_stream(request, EVENT_QUEUE, serve_stream))
    }
}

app_stream::app_message!(
    WebsocketEventResponse,
    not_a_registration: "the first message of a HandleEvents stream must be a registration_request",
    failed_before_registering: "handler stream failed before registering",
);

/// Registers the stream, then routes the application's answers until the
/// stream ends; the registration (and with it every unanswered event) ends
/// with this function.
async fn serve_stream(
    state: MembraneState,
    mut from_app: Streaming<ClientMessage>,
    events: EventSender,
) {
    let Some((request, registered)) =
        app_stream::registration(&state.shutdown, &mut from_app, &events).await
    else {
        return;
    };
    let registration = match register(&state, &request, &events, registered).await {
        Ok(registration) => registration,
        Err(refusal) => {
            tracing::warn!(socket = %request.socket_name, status = %refusal.message(), "handler registration refused");
            let _ = events.send(Err(refusal)).await;
            return;
        }
    };
    let socket = &request.socket_name;
    app_stream::route_answers(
        &state.shutdown,
        from_app,
        &events,
        |id, response| registration.answer(id, response),
        |note| match note {
            Note::UnknownId(id) => {
                tracing::warn!(%socket, id, "answer to an unknown event id ignored");
            }
            Note::SecondRegistration => {
                tracing::warn!(%socket, "a second registration_request on a registered stream is ignored; open one stream per socket and event type");
            }
            Note::Empty(id) => {
                tracing::warn!(%socket, id, "empty message from the application ignored");
            }
            Note::Failed(status) => {
                tracing::debug!(%socket, %status, "handler stream failed");
            }
        },
    )
    .await;
    tracing::info!(
        socket = %request.socket_name,
        event = %event_of(&request),
        "websocket handler unregistered"
    );
}

async fn register(
    state: &MembraneState,
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
            "registration_request.event_type {} is not a websocket event type ({})",
            request.event_type,
            known_event_types()
        ))
    })?;
    // The gateway first: once registered, the stream must be able to
    // receive events, and clients need somewhere to connect.
    state
        .gateways
        .ensure_running(&request.socket_name)
        .await
        .map_err(|error| {
            // Retrying cannot free a port another program holds: say so,
            // and how to pick another, rather than look briefly unavailable.
            Status::failed_precondition(format!(
                "{error}; stop what holds the port, or give the gateways another first port (NITRIC_LOCAL_WS_PORT for an app's embedded membrane, --ws-port for nitric-local; 0 picks free ports)"
            ))
        })?;
    let registration = state
        .router
        .register(&request.socket_name, event_type, events.clone(), registered)
        .map_err(|refused| Status::already_exists(refused.to_string()))?;
    tracing::info!(
        socket = %request.socket_name,
        event = event_name(event_type),
        "websocket handler registered"
    );
    Ok(registration)
}

/// The event type `request` registers for, by name (or number if unknown).
fn event_of(request: &RegistrationRequest) -> String {
    WebsocketEventType::try_from(request.event_type)
        .map(|event| event_name(event).to_owned())
        .unwrap_or_else(|_| request.event_type.to_string())
}

/// The event types with their numbers: "0 connect, 1 disconnect, 2 message".
fn known_event_types() -> String {
    [
        WebsocketEventType::Connect,
        WebsocketEventType::Disconnect,
        WebsocketEventType::Message,
    ]
    .map(|event| format!("{} {}", event as i32, event_name(event)))
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_of_an_unknown_event_type_lists_the_known_ones() {
        assert_eq!(known_event_types(), "0 connect, 1 disconnect, 2 message");
    }
}

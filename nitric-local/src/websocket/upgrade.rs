//! The HTTP side of a socket's gateway: a websocket upgrade request on `/`
//! becomes a connect event, and only the application's answer decides whether
//! the upgrade completes. Refusals are plain HTTP statuses, so a client sees
//! them as a failed handshake, as it would on a cloud gateway.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use nitric_protocol::websockets::v1::{
    websocket_event_request::WebsocketEvent, websocket_event_response::WebsocketResponse,
    QueryValue, WebsocketConnectionEvent, WebsocketEventResponse,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection;
use super::connections::Connections;
use super::gateway::HANDLER_WAIT;
use super::router::{DispatchError, HandlerRouter};

/// The largest message (and frame) a client may send. A bigger one closes
/// that connection with "message too big" instead of filling memory.
pub(super) const MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// What every request and connection of one socket's gateway shares.
pub(super) struct Socket {
    /// The socket's name as the application registered it.
    pub(super) name: String,
    pub(super) router: Arc<HandlerRouter>,
    pub(super) connections: Arc<Connections>,
    pub(super) shutdown: CancellationToken,
    pub(super) tasks: TaskTracker,
}

/// The HTTP endpoint of one socket's gateway.
pub(super) fn endpoint(socket: Socket) -> Router {
    Router::new()
        .route("/", get(upgrade))
        .with_state(Arc::new(socket))
}

async fn upgrade(
    State(socket): State<Arc<Socket>>,
    Query(query): Query<Vec<(String, String)>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let connection_id = uuid::Uuid::new_v4().to_string();
    let connect = WebsocketEvent::Connection(WebsocketConnectionEvent {
        query_params: group_query(query),
    });
    let answer = socket
        .router
        .dispatch(&socket.name, &connection_id, connect, HANDLER_WAIT)
        .await;
    match answer {
        Ok(answer) if rejects(&answer) => {
            tracing::info!(socket = %socket.name, connection_id, "connect handler refused the connection");
            refuse(
                StatusCode::FORBIDDEN,
                "the application refused this connection",
            )
        }
        Ok(_) => accept(socket, connection_id, upgrade),
        Err(error @ (DispatchError::NoHandler { .. } | DispatchError::HandlerGone { .. })) => {
            tracing::warn!(socket = %socket.name, connection_id, %error, "refusing a websocket connection");
            refuse(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())
        }
        Err(DispatchError::ShuttingDown) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the membrane is shutting down",
        ),
    }
}

fn accept(socket: Arc<Socket>, connection_id: String, upgrade: WebSocketUpgrade) -> Response {
    tracing::info!(socket = %socket.name, connection_id, "websocket client connected");
    let on_failure = {
        let socket = socket.clone();
        let connection_id = connection_id.clone();
        move |error: axum::Error| {
            // The application already accepted this client, so it must hear
            // that the client is gone.
            tracing::warn!(socket = %socket.name, connection_id, %error, "websocket upgrade failed after the connect handler accepted");
            let tasks = socket.tasks.clone();
            tasks.spawn(connection::report_disconnect(socket, connection_id));
        }
    };
    let tasks = socket.tasks.clone();
    upgrade
        .max_message_size(MAX_MESSAGE_SIZE)
        .max_frame_size(MAX_MESSAGE_SIZE)
        .on_failed_upgrade(on_failure)
        .on_upgrade(move |websocket: WebSocket| {
            tasks.track_future(connection::run(websocket, socket, connection_id))
        })
}

fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, format!("{reason}\n")).into_response()
}

/// An answer without a connection response accepts, like the official
/// membrane: only an explicit `reject = true` refuses.
fn rejects(answer: &WebsocketEventResponse) -> bool {
    matches!(
        &answer.websocket_response,
        Some(WebsocketResponse::ConnectionResponse(response)) if response.reject
    )
}

/// Groups decoded query pairs by name, keeping each name's values in the
/// order they appeared.
fn group_query(pairs: Vec<(String, String)>) -> HashMap<String, QueryValue> {
    let mut grouped: HashMap<String, QueryValue> = HashMap::new();
    for (name, value) in pairs {
        grouped.entry(name).or_default().value.push(value);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_names_keep_every_value_in_order() {
        let grouped = group_query(vec![
            ("tag".into(), "b".into()),
            ("user".into(), "ann".into()),
            ("tag".into(), "a".into()),
        ]);
        assert_eq!(grouped["tag"].value, ["b", "a"]);
        assert_eq!(grouped["user"].value, ["ann"]);
    }

    #[test]
    fn only_an_explicit_reject_refuses() {
        use nitric_protocol::websockets::v1::WebsocketConnectionResponse;
        let answer = |response| WebsocketEventResponse {
            websocket_response: response,
        };
        assert!(!rejects(&answer(None)));
        assert!(!rejects(&answer(Some(
            WebsocketResponse::ConnectionResponse(WebsocketConnectionResponse { reject: false })
        ))));
        assert!(rejects(&answer(Some(
            WebsocketResponse::ConnectionResponse(WebsocketConnectionResponse { reject: true })
        ))));
    }
}

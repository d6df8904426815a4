//! The HTTP side of a socket's gateway: a websocket upgrade request on `/`
//! becomes a connect event, and only the application's answer decides whether
//! the upgrade completes. Refusals are plain HTTP statuses, so a client sees
//! them as a failed handshake, as it would on a cloud gateway:
//!
//! - 400 for a request without one valid `Host` header (see [`super::host`]);
//! - 403 for a foreign `Origin` (see [`super::origin`]) or a connect
//!   handler's refusal;
//! - 503 when the socket holds its maximum number of connections, or no
//!   connect handler is there to ask;
//! - 504 when the connect handler does not answer in time.
//!
//! A client the process has no file descriptor for never gets here: the
//! gateway's accept loop answers it 503 itself
//! ([`crate::descriptors::accept`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use nitric_protocol::websockets::v1::{
    websocket_event_request::WebsocketEvent, websocket_event_response::WebsocketResponse,
    QueryValue, WebsocketConnectionEvent, WebsocketEventResponse,
};
use tokio::sync::oneshot;

use super::connection;
use super::host;
use super::page;
use super::socket::{ConnectionSlot, Socket};
use crate::app_stream::DispatchError;

/// What tungstenite reads from the socket at a time. Small, because every
/// idle connection holds one; a bigger message grows the buffer while it
/// arrives.
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// The HTTP endpoint of one socket's gateway: `GET /` upgrades to a
/// websocket, or, without an `Upgrade` header, serves the page for trying
/// the socket. `HEAD` gets the page's headers; other methods get 405. Any
/// request with a missing, repeated or malformed `Host` gets 400 first
/// ([`host`]).
pub(super) fn endpoint(socket: Socket) -> Router {
    Router::new()
        .route("/", get(page_or_upgrade))
        .layer(middleware::from_fn(host::require_valid))
        .with_state(Arc::new(socket))
}

async fn page_or_upgrade(State(socket): State<Arc<Socket>>, request: Request) -> Response {
    if page::is_plain(request.headers()) {
        let host = request.headers().get(header::HOST);
        return page::serve(host.and_then(|host| host.to_str().ok()));
    }
    upgrade.call(request, socket).await
}

async fn upgrade(
    State(socket): State<Arc<Socket>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .map(|origin| String::from_utf8_lossy(origin.as_bytes()).into_owned());
    // At most one, checked by `host::require_valid`.
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    if !socket.origins.allows(origin.as_deref(), host) {
        let origin = origin.unwrap_or_default();
        tracing::warn!(socket = %socket.name, origin, host, "refusing a websocket from a page of another origin (allow it with --allowed-origins or NITRIC_LOCAL_ALLOWED_ORIGINS)");
        return refuse(
            StatusCode::FORBIDDEN,
            &format!("websocket connections from origin {origin} are not allowed"),
        );
    }
    if socket.draining.is_cancelled() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the membrane is shutting down",
        );
    }
    let Some(slot) = ConnectionSlot::take(&socket) else {
        let max = socket.config.max_connections;
        tracing::warn!(socket = %socket.name, max_connections = max, "refusing a websocket connection: the socket is full");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "websocket \"{}\" already has its maximum of {max} connections",
                socket.name
            ),
        );
    };

    let connection_id = uuid::Uuid::new_v4().to_string();
    let connect = WebsocketEvent::Connection(WebsocketConnectionEvent {
        query_params: group_query(query),
    });
    // Decided in a task of its own: a client that leaves while the connect
    // handler runs drops this request, not the decision, and when the
    // handler accepts, the application still hears of the disconnect.
    let (decided, decision) = oneshot::channel();
    let deciding = socket.clone();
    let id = connection_id.clone();
    socket.connection_tasks.spawn(async move {
        let answer = deciding.dispatch(&id, connect).await;
        let accepted = matches!(&answer, Ok(answer) if !rejects(answer));
        if decided.send(answer).is_err() && accepted {
            tracing::info!(socket = %deciding.name, connection_id = id, "websocket client left while its connect handler ran");
            deciding.report_disconnect(&id).await;
        }
    });
    let Ok(answer) = decision.await else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the connect event could not be decided",
        );
    };
    match answer {
        Ok(answer) if rejects(&answer) => {
            tracing::info!(socket = %socket.name, connection_id, "connect handler refused the connection");
            refuse(
                StatusCode::FORBIDDEN,
                "the application refused this connection",
            )
        }
        Ok(_) => accept(socket, connection_id, upgrade, slot),
        Err(error @ DispatchError::Unanswered { .. }) => {
            tracing::warn!(socket = %socket.name, connection_id, %error, "refusing a websocket connection: its connect event was not answered in time");
            refuse(StatusCode::GATEWAY_TIMEOUT, &error.to_string())
        }
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

fn accept(
    socket: Arc<Socket>,
    connection_id: String,
    upgrade: WebSocketUpgrade,
    slot: ConnectionSlot,
) -> Response {
    tracing::info!(socket = %socket.name, connection_id, "websocket client connected");
    let on_failure = {
        let socket = socket.clone();
        let connection_id = connection_id.clone();
        move |error: axum::Error| {
            // The application already accepted this client, so it must hear
            // that the client is gone.
            tracing::warn!(socket = %socket.name, connection_id, %error, "websocket upgrade failed after the connect handler accepted");
            let tasks = socket.connection_tasks.clone();
            tasks.spawn(async move { socket.report_disconnect(&connection_id).await });
        }
    };
    let tasks = socket.connection_tasks.clone();
    let config = socket.config.clone();
    upgrade
        .read_buffer_size(READ_BUFFER_SIZE)
        // Every frame goes out as it is sent: nothing waits in a buffer.
        .write_buffer_size(0)
        // One message being written, plus the control frames that may
        // queue behind it while the client is slow to read.
        .max_write_buffer_size(config.max_message_size + READ_BUFFER_SIZE)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_frame_size)
        .on_failed_upgrade(on_failure)
        .on_upgrade(move |websocket: WebSocket| {
            tasks.track_future(connection::run(websocket, socket, connection_id, slot))
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

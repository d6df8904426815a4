//! One accepted websocket: a writer task fed by the connection's queue, and a
//! reader that turns each text or binary frame into a message event.
//!
//! The reader asks for the next frame only after the application answered
//! the previous message event, so a connection's messages are handled in
//! order; every connection has its own reader, so a slow answer on one never
//! holds up another.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use nitric_protocol::websockets::v1::{
    websocket_event_request::WebsocketEvent, WebsocketDisconnectionEvent, WebsocketMessageEvent,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connections::ToClient;
use super::gateway::HANDLER_WAIT;
use super::router::DispatchError;
use super::upgrade::Socket;

/// How long we wait for the client to answer our close frame (or for our
/// reply to its close frame to go out) before dropping the TCP connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Frames queued for one client; senders wait when it is full, so a client
/// that stops reading slows its senders down instead of growing memory.
const TO_CLIENT_QUEUE: usize = 64;

/// Serves one accepted connection until it closes, then tells the
/// application it is gone.
pub(super) async fn run(websocket: WebSocket, socket: Arc<Socket>, connection_id: String) {
    let (sink, mut frames) = websocket.split();
    let (to_client_tx, to_client_rx) = mpsc::channel(TO_CLIENT_QUEUE);
    socket
        .connections
        .insert(&socket.name, &connection_id, to_client_tx.clone());

    let writer_done = CancellationToken::new();
    let reader_done = CancellationToken::new();
    let writer = write_frames(
        sink,
        to_client_rx,
        socket.shutdown.clone(),
        reader_done.clone(),
        writer_done.clone(),
    );
    let reader = async {
        read_frames(
            &mut frames,
            &socket,
            &connection_id,
            &to_client_tx,
            &writer_done,
        )
        .await;
        reader_done.cancel();
    };
    tokio::join!(writer, reader);

    socket.connections.remove(&socket.name, &connection_id);
    tracing::info!(socket = %socket.name, connection_id, "websocket client disconnected");
    report_disconnect(socket, connection_id).await;
}

/// Sends the disconnect event of a connection the application had accepted.
pub(super) async fn report_disconnect(socket: Arc<Socket>, connection_id: String) {
    let disconnect = WebsocketEvent::Disconnection(WebsocketDisconnectionEvent {});
    match socket
        .router
        .dispatch(&socket.name, &connection_id, disconnect, HANDLER_WAIT)
        .await
    {
        Ok(_) | Err(DispatchError::ShuttingDown) => {}
        Err(error) => {
            tracing::warn!(socket = %socket.name, connection_id, %error, "disconnect event skipped");
        }
    }
}

async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    mut to_client: mpsc::Receiver<ToClient>,
    shutdown: CancellationToken,
    reader_done: CancellationToken,
    writer_done: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => ToClient::Close(CloseFrame {
                code: close_code::AWAY,
                reason: "the membrane is shutting down".into(),
            }),
            () = reader_done.cancelled() => break,
            next = to_client.recv() => match next {
                Some(next) => next,
                None => break,
            },
        };
        let (frame, last) = match next {
            ToClient::Frame(frame) => (frame, false),
            ToClient::Close(close) => (Message::Close(Some(close)), true),
        };
        let sent = tokio::select! {
            sent = sink.send(frame) => sent,
            // The client is gone; what is left to write has no reader.
            () = reader_done.cancelled() => break,
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "websocket write failed");
            break;
        }
        if last {
            break;
        }
    }
    writer_done.cancel();
}

async fn read_frames(
    frames: &mut SplitStream<WebSocket>,
    socket: &Socket,
    connection_id: &str,
    to_client: &mpsc::Sender<ToClient>,
    writer_done: &CancellationToken,
) {
    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            // We sent a close frame (or can no longer write): give the
            // client a moment to answer it.
            () = writer_done.cancelled() => return finish_closing(frames).await,
        };
        match frame {
            Some(Ok(Message::Text(text))) => {
                deliver(socket, connection_id, text.as_bytes().to_vec()).await;
            }
            Some(Ok(Message::Binary(bytes))) => {
                deliver(socket, connection_id, bytes.to_vec()).await;
            }
            // Pings are answered by the websocket layer itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            // Reading on lets our automatic close reply go out.
            Some(Ok(Message::Close(_))) => return finish_closing(frames).await,
            None => return,
            Some(Err(error)) => {
                let description = error.to_string();
                match close_frame_for(error) {
                    // A bad frame: the client hears why before the close.
                    Some(close) => {
                        tracing::warn!(socket = %socket.name, connection_id, error = description, "bad websocket frame; closing the connection");
                        if to_client.send(ToClient::Close(close)).await.is_ok() {
                            let _ =
                                tokio::time::timeout(CLOSE_GRACE, writer_done.cancelled()).await;
                        }
                    }
                    // The client went away without a close frame: routine.
                    None => {
                        tracing::info!(socket = %socket.name, connection_id, error = description, "connection dropped without a closing handshake");
                    }
                }
                return;
            }
        }
    }
}

/// Reads until the closing handshake completes, for a bounded time.
async fn finish_closing(frames: &mut SplitStream<WebSocket>) {
    let until_closed = async { while let Some(Ok(_)) = frames.next().await {} };
    let _ = tokio::time::timeout(CLOSE_GRACE, until_closed).await;
}

async fn deliver(socket: &Socket, connection_id: &str, body: Vec<u8>) {
    let message = WebsocketEvent::Message(WebsocketMessageEvent { body });
    match socket
        .router
        .dispatch(&socket.name, connection_id, message, HANDLER_WAIT)
        .await
    {
        Ok(_) | Err(DispatchError::ShuttingDown) => {}
        Err(error) => {
            tracing::warn!(socket = %socket.name, connection_id, %error, "websocket message dropped");
        }
    }
}

/// The close frame that tells the client why its connection failed, or
/// `None` when the connection is already beyond reach.
fn close_frame_for(error: axum::Error) -> Option<CloseFrame> {
    use tungstenite::error::{Error, ProtocolError};

    let error = error.into_inner();
    let (code, reason) = match error.downcast_ref::<Error>()? {
        Error::Capacity(_) => (close_code::SIZE, "message too big"),
        Error::Utf8(_) => (close_code::INVALID, "text frame is not valid UTF-8"),
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => return None,
        Error::Protocol(_) => (close_code::PROTOCOL, "websocket protocol error"),
        _ => return None,
    };
    Some(CloseFrame {
        code,
        reason: reason.into(),
    })
}

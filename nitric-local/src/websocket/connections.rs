//! The accepted websocket connections, by socket and connection id: what the
//! `Websocket` gRPC service sends to and closes.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::ws::{close_code, CloseFrame, Message};
use nitric_protocol::names::socket_key;
use tokio::sync::mpsc;

use crate::lock;

/// What a connection's writer task is asked to do.
#[derive(Debug)]
pub(super) enum ToClient {
    Frame(Message),
    /// Send this close frame and stop writing.
    Close(CloseFrame),
}

/// The live connections of every socket.
#[derive(Default)]
pub(crate) struct Connections {
    live: Mutex<HashMap<ConnectionKey, mpsc::Sender<ToClient>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnectionKey {
    socket: String,
    id: String,
}

impl ConnectionKey {
    fn new(socket: &str, id: &str) -> Self {
        Self {
            socket: socket_key(socket),
            id: id.to_owned(),
        }
    }
}

/// The connection asked for does not exist (any more).
#[derive(Debug, thiserror::Error)]
#[error("websocket \"{socket}\" has no open connection \"{connection_id}\"")]
pub(crate) struct ConnectionError {
    pub(crate) socket: String,
    pub(crate) connection_id: String,
}

impl Connections {
    pub(super) fn insert(&self, socket: &str, id: &str, writer: mpsc::Sender<ToClient>) {
        lock(&self.live).insert(ConnectionKey::new(socket, id), writer);
    }

    pub(super) fn remove(&self, socket: &str, id: &str) {
        lock(&self.live).remove(&ConnectionKey::new(socket, id));
    }

    /// Sends `data` to the client: a text frame if it is UTF-8, else binary.
    pub(crate) async fn send(
        &self,
        socket: &str,
        id: &str,
        data: Vec<u8>,
    ) -> Result<(), ConnectionError> {
        let frame = match String::from_utf8(data) {
            Ok(text) => Message::Text(text.into()),
            Err(not_text) => Message::Binary(not_text.into_bytes().into()),
        };
        let writer = self.writer(socket, id)?;
        writer
            .send(ToClient::Frame(frame))
            .await
            .map_err(|_| not_found(socket, id))
    }

    /// Closes the connection normally. It is gone for senders at once; its
    /// disconnect event follows when the close completes.
    pub(crate) async fn close(&self, socket: &str, id: &str) -> Result<(), ConnectionError> {
        let writer = lock(&self.live)
            .remove(&ConnectionKey::new(socket, id))
            .ok_or_else(|| not_found(socket, id))?;
        let frame = CloseFrame {
            code: close_code::NORMAL,
            reason: "closed by the application".into(),
        };
        writer
            .send(ToClient::Close(frame))
            .await
            .map_err(|_| not_found(socket, id))
    }

    fn writer(&self, socket: &str, id: &str) -> Result<mpsc::Sender<ToClient>, ConnectionError> {
        lock(&self.live)
            .get(&ConnectionKey::new(socket, id))
            .cloned()
            .ok_or_else(|| not_found(socket, id))
    }
}

fn not_found(socket: &str, id: &str) -> ConnectionError {
    ConnectionError {
        socket: socket.to_owned(),
        connection_id: id.to_owned(),
    }
}

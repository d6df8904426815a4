//! The accepted websocket connections, by socket and connection id: what the
//! `Websocket` gRPC service sends to and closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{close_code, CloseFrame};
use nitric_protocol::names::socket_key;

use super::frame_type::frame_for;
use super::outbox::{Outbox, Refused};
use crate::lock;
use crate::memory::Churn;
use crate::Config;

/// The live connections of every socket.
pub(crate) struct Connections {
    live: Mutex<HashMap<ConnectionKey, Arc<Outbox>>>,
    /// Connections opened and closed, to give memory back after a burst.
    churn: Arc<Churn>,
    /// Set by [`close_all`](Self::close_all): a connection accepted after
    /// it is closed as soon as it is inserted.
    closing_all: AtomicBool,
    /// The largest message a `SendMessage` may carry.
    max_message_size: usize,
    /// The most bytes queued for one client.
    max_queued_bytes: usize,
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

/// Why a message was not sent, or a connection not closed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// The connection asked for does not exist (any more).
    #[error("websocket \"{socket}\" has no open connection \"{connection_id}\"")]
    NotFound {
        socket: String,
        connection_id: String,
    },
    /// The client does not read what is sent to it: it was closed.
    #[error("connection \"{connection_id}\" of websocket \"{socket}\" was closed because its client is not reading: {queued} bytes were still queued for it and this message of {size} bytes would exceed the limit of {limit} bytes per connection (max_queued_bytes); the message was not sent")]
    TooSlow {
        socket: String,
        connection_id: String,
        queued: usize,
        size: usize,
        limit: usize,
    },
    /// The message is bigger than a websocket message may be.
    #[error("the message of {size} bytes is over the limit of {limit} bytes for one websocket message (max_message_size; AWS API Gateway allows 128 KiB)")]
    TooBig { size: usize, limit: usize },
}

impl Connections {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
            churn: Arc::new(Churn::new(config.trim_memory)),
            closing_all: AtomicBool::new(false),
            max_message_size: config.max_message_size,
            max_queued_bytes: config.max_queued_bytes,
        }
    }

    pub(super) fn insert(&self, socket: &str, id: &str, outbox: Arc<Outbox>) {
        let mut live = lock(&self.live);
        if self.closing_all.load(Ordering::Acquire) {
            outbox.close(shutting_down(), false);
        }
        live.insert(ConnectionKey::new(socket, id), outbox);
        drop(live);
        self.churn.note();
    }

    /// Closes every connection with 1001 (going away), after what is queued
    /// for it, and every connection inserted from now on; each one's
    /// disconnect event follows as it closes.
    pub(super) fn close_all(&self) {
        let live = lock(&self.live);
        self.closing_all.store(true, Ordering::Release);
        for outbox in live.values() {
            outbox.close(shutting_down(), false);
        }
    }

    /// Forgets the connection.
    pub(super) fn remove(&self, socket: &str, id: &str) {
        lock(&self.live).remove(&ConnectionKey::new(socket, id));
    }

    /// Notes that a removed connection's disconnect event was handled, so
    /// everything it held is freed.
    pub(super) fn note_finished(&self) {
        self.churn.note();
    }

    /// Queues `data` for the client, as a text or binary frame by the rule
    /// of [`super::frame_type`]. Never waits: a client with too much queued
    /// is closed with 1008 instead, and the send fails as for a connection
    /// that is gone.
    pub(crate) fn send(
        &self,
        socket: &str,
        id: &str,
        data: Vec<u8>,
    ) -> Result<(), ConnectionError> {
        let size = data.len();
        if size > self.max_message_size {
            return Err(ConnectionError::TooBig {
                size,
                limit: self.max_message_size,
            });
        }
        let outbox = lock(&self.live)
            .get(&ConnectionKey::new(socket, id))
            .cloned()
            .ok_or_else(|| not_found(socket, id))?;
        let frame = frame_for(data, outbox.last_received());
        match outbox.push(frame, self.max_queued_bytes) {
            Ok(()) => Ok(()),
            Err(Refused::Closing) => Err(not_found(socket, id)),
            Err(Refused::Full { queued }) => {
                self.remove(socket, id);
                let frame = CloseFrame {
                    code: close_code::POLICY,
                    reason: "too slow: the client does not read its messages".into(),
                };
                outbox.close(frame, true);
                tracing::warn!(
                    socket,
                    connection_id = id,
                    queued,
                    limit = self.max_queued_bytes,
                    "client does not read its messages; closing it (1008)"
                );
                Err(ConnectionError::TooSlow {
                    socket: socket.to_owned(),
                    connection_id: id.to_owned(),
                    queued,
                    size,
                    limit: self.max_queued_bytes,
                })
            }
        }
    }

    /// Closes the connection normally, after what is queued for it. It is
    /// gone for senders at once; its disconnect event follows when the
    /// close completes. Never waits for the client.
    pub(crate) fn close(&self, socket: &str, id: &str) -> Result<(), ConnectionError> {
        let outbox = lock(&self.live)
            .remove(&ConnectionKey::new(socket, id))
            .ok_or_else(|| not_found(socket, id))?;
        let frame = CloseFrame {
            code: close_code::NORMAL,
            reason: "closed by the application".into(),
        };
        if outbox.close(frame, false) {
            Ok(())
        } else {
            Err(not_found(socket, id))
        }
    }
}

fn shutting_down() -> CloseFrame {
    CloseFrame {
        code: close_code::AWAY,
        reason: "the membrane is shutting down".into(),
    }
}

fn not_found(socket: &str, id: &str) -> ConnectionError {
    ConnectionError::NotFound {
        socket: socket.to_owned(),
        connection_id: id.to_owned(),
    }
}

//! One accepted websocket: a writer that empties the connection's
//! [`Outbox`], and a reader that turns each text or binary frame into a
//! message event (noting its type, which the replies follow: see
//! [`super::frame_type`]).
//!
//! The reader asks for the next frame only after the application answered
//! the previous message event (or the answer timed out), so a connection's
//! messages are handled in order; every connection has its own reader, so a
//! slow answer on one never holds up another.
//!
//! The writer also keeps the connection's clocks: it pings the client, and
//! closes the connection when it has been idle too long or open too long.
//! Every write has a deadline, so a client that stops reading is dropped
//! instead of holding its connection (and what is queued for it) forever.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use nitric_protocol::websockets::v1::{
    websocket_event_request::WebsocketEvent, WebsocketMessageEvent,
};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::frame_type::DataType;
use super::outbox::{Next, Outbox};
use super::socket::{ConnectionSlot, Socket};
use crate::app_stream::DispatchError;

/// How long we wait for the client to answer our close frame (or for our
/// close frame, and what was queued before it, to go out) before dropping
/// the TCP connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Serves one accepted connection until it closes, then tells the
/// application it is gone. `slot` counts it against the socket's limit
/// until then.
pub(super) async fn run(
    websocket: WebSocket,
    socket: Arc<Socket>,
    connection_id: String,
    slot: ConnectionSlot,
) {
    let (sink, mut frames) = websocket.split();
    let outbox = Arc::new(Outbox::new());
    socket
        .connections
        .insert(&socket.name, &connection_id, outbox.clone());

    let writer_done = CancellationToken::new();
    let reader_done = CancellationToken::new();
    // The writer gave up on the client: no closing handshake to wait for.
    let dropped = CancellationToken::new();
    let writer = async {
        if let WriterEnd::Dropped =
            write_frames(sink, &outbox, &socket, &connection_id, &reader_done).await
        {
            // Nothing more goes to this client; senders hear it is gone.
            outbox.close(going_away("dropped"), true);
            dropped.cancel();
        }
        writer_done.cancel();
    };
    let reader = async {
        let ends = (&writer_done, &dropped);
        read_frames(&mut frames, &socket, &connection_id, &outbox, ends).await;
        reader_done.cancel();
    };
    tokio::join!(writer, reader);
    drop(frames);

    socket.connections.remove(&socket.name, &connection_id);
    drop(slot);
    tracing::info!(socket = %socket.name, connection_id, "websocket client disconnected");
    // Boxed here and below: what only runs for a moment (an event on its
    // way, a write) would otherwise make every idle connection's task as
    // big as its largest step.
    Box::pin(socket.report_disconnect(&connection_id)).await;
    socket.connections.note_finished();
}

fn going_away(reason: &str) -> CloseFrame {
    CloseFrame {
        code: close_code::AWAY,
        reason: reason.into(),
    }
}

/// How the writer ended.
enum WriterEnd {
    /// Its close frame went out, or the reader ended first.
    Finished,
    /// The client could not be written to: the closing handshake is off.
    Dropped,
}

/// How one write ended.
enum Written {
    Done,
    Failed(axum::Error),
    /// The reader is done: nobody is on the other side any more.
    Gone,
    TimedOut,
}

async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    outbox: &Outbox,
    socket: &Socket,
    connection_id: &str,
    reader_done: &CancellationToken,
) -> WriterEnd {
    let config = &socket.config;
    let lifetime_ends = Instant::from_std(outbox.opened()) + config.max_connection_lifetime;
    let mut next_ping = Instant::now() + config.ping_interval;
    // Set once a close is asked for: everything still to write must be out
    // by then.
    let mut close_by: Option<Instant> = None;
    loop {
        if close_by.is_none() && outbox.is_closing() {
            close_by = Some(Instant::now() + CLOSE_GRACE);
        }
        let now = Instant::now();
        let next = if close_by.is_none() && now >= next_ping {
            next_ping = now + config.ping_interval;
            Next::Frame(Message::Ping(Default::default()))
        } else if let Some(next) = outbox.next() {
            next
        } else {
            let idle_ends = Instant::from_std(outbox.last_activity()) + config.idle_timeout;
            // One timer for the three clocks (each costs every idle
            // connection its room): whichever is due first.
            let mut wake_at = lifetime_ends.min(idle_ends);
            if close_by.is_none() {
                wake_at = wake_at.min(next_ping);
            }
            tokio::select! {
                biased;
                () = reader_done.cancelled() => return WriterEnd::Finished,
                () = socket.shutdown.cancelled() => {
                    outbox.close(going_away("the membrane is shutting down"), true);
                }
                () = sleep_until(wake_at) => {
                    let now = Instant::now();
                    if now >= lifetime_ends {
                        tracing::info!(socket = %socket.name, connection_id, lifetime = ?config.max_connection_lifetime, "connection reached its maximum lifetime; closing it (1001)");
                        outbox.close(going_away("the connection reached its maximum lifetime"), true);
                    // A message may have gone either way meanwhile.
                    } else if Instant::from_std(outbox.last_activity()) + config.idle_timeout <= now {
                        tracing::info!(socket = %socket.name, connection_id, idle = ?config.idle_timeout, "connection idle too long; closing it (1001)");
                        outbox.close(going_away("the connection was idle too long"), true);
                    }
                    // A ping that is due goes out at the top of the loop.
                }
                () = outbox.changed() => {}
            }
            continue;
        };
        let (message, last) = match next {
            Next::Frame(message) => (message, false),
            Next::Close(close) => (Message::Close(Some(close)), true),
        };
        let data = matches!(message, Message::Text(_) | Message::Binary(_));
        let deadline = Instant::now() + config.write_timeout;
        match Box::pin(write(
            &mut sink,
            message,
            deadline,
            &mut close_by,
            outbox,
            socket,
            reader_done,
        ))
        .await
        {
            Written::Done => {
                if data {
                    outbox.touch();
                }
                if last {
                    return WriterEnd::Finished;
                }
            }
            Written::Failed(error) => {
                tracing::debug!(socket = %socket.name, connection_id, %error, "websocket write failed");
                return WriterEnd::Dropped;
            }
            Written::Gone => return WriterEnd::Finished,
            Written::TimedOut if close_by.is_some() => {
                tracing::info!(socket = %socket.name, connection_id, "client did not take its close frame in time; dropping the connection");
                return WriterEnd::Dropped;
            }
            Written::TimedOut => {
                tracing::warn!(socket = %socket.name, connection_id, write_timeout = ?config.write_timeout, "client has not read anything for longer than the write timeout; dropping the connection");
                return WriterEnd::Dropped;
            }
        }
    }
}

/// Writes one frame by `deadline`, or by `close_by` once a close is asked
/// for (which may happen while the client holds the write up).
async fn write(
    sink: &mut SplitSink<WebSocket, Message>,
    message: Message,
    deadline: Instant,
    close_by: &mut Option<Instant>,
    outbox: &Outbox,
    socket: &Socket,
    reader_done: &CancellationToken,
) -> Written {
    let send = sink.send(message);
    tokio::pin!(send);
    loop {
        let until = close_by.map_or(deadline, |close_by| close_by.min(deadline));
        tokio::select! {
            biased;
            sent = &mut send => {
                return match sent {
                    Ok(()) => Written::Done,
                    Err(error) => Written::Failed(error),
                };
            }
            () = reader_done.cancelled() => return Written::Gone,
            () = sleep_until(until) => return Written::TimedOut,
            () = socket.shutdown.cancelled(), if close_by.is_none() => {
                outbox.close(going_away("the membrane is shutting down"), true);
                *close_by = Some(Instant::now() + CLOSE_GRACE);
            }
            () = outbox.changed(), if close_by.is_none() => {
                if outbox.is_closing() {
                    *close_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
        }
    }
}

async fn read_frames(
    frames: &mut SplitStream<WebSocket>,
    socket: &Socket,
    connection_id: &str,
    outbox: &Outbox,
    (writer_done, dropped): (&CancellationToken, &CancellationToken),
) {
    let config = &socket.config;
    // A live client answers the pings the writer sends every
    // `ping_interval` within `pong_timeout`, so while we read, something
    // arrives at least this often.
    let silence_limit = config.ping_interval + config.pong_timeout;
    loop {
        let heard = Instant::now();
        let frame = tokio::select! {
            biased;
            frame = frames.next() => frame,
            // We sent a close frame (or can no longer write): give the
            // client a moment to answer it.
            () = writer_done.cancelled() => {
                if !dropped.is_cancelled() {
                    finish_closing(frames).await;
                }
                return;
            }
            () = sleep_until(heard + silence_limit) => {
                tracing::info!(socket = %socket.name, connection_id, silence = ?silence_limit, "client answered no ping; dropping the half-open connection");
                return;
            }
        };
        match frame {
            // The membrane is stopping: the application finishes what it
            // has, and takes nothing new.
            Some(Ok(Message::Text(_) | Message::Binary(_))) if socket.draining.is_cancelled() => {
                tracing::info!(socket = %socket.name, connection_id, "a message arrived while the membrane shuts down; not delivered");
            }
            Some(Ok(Message::Text(text))) => {
                outbox.received(DataType::Text);
                Box::pin(deliver(socket, connection_id, text.as_bytes().to_vec())).await;
            }
            Some(Ok(Message::Binary(bytes))) => {
                outbox.received(DataType::Binary);
                Box::pin(deliver(socket, connection_id, bytes.to_vec())).await;
            }
            // Pings are answered by the websocket layer itself; pongs and
            // pings show the client is there.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            // Reading on lets our automatic close reply go out.
            Some(Ok(Message::Close(_))) => return finish_closing(frames).await,
            None => return,
            Some(Err(error)) => {
                let description = error.to_string();
                match close_frame_for(error) {
                    // A bad frame: the client hears why in the close frame,
                    // after what was queued for it before the bad frame
                    // (replies to its earlier, valid messages are owed).
                    Some(close) => {
                        tracing::warn!(socket = %socket.name, connection_id, error = description, "bad websocket frame; closing the connection");
                        outbox.close(close, false);
                        let _ = tokio::time::timeout(CLOSE_GRACE, writer_done.cancelled()).await;
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
    match socket.dispatch(connection_id, message).await {
        Ok(_) | Err(DispatchError::ShuttingDown) => {}
        Err(error @ DispatchError::Unanswered { .. }) => {
            tracing::warn!(socket = %socket.name, connection_id, %error, "message event failed; reading the connection's next frame");
        }
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

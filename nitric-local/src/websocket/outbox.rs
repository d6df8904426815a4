//! What is waiting to be written to one client: its messages, bounded in
//! bytes, and the close frame that ends the connection; and what the
//! client's own messages were like, which decides how the next message to
//! it is framed (see [`super::frame_type`]).
//!
//! A send never waits for the client. Over the bound, the client is closed
//! instead (see [`Outbox::push`]): one client that stops reading must not
//! slow down the application handler sending to everyone, which is what
//! AWS API Gateway does to slow clients too. A close request never waits
//! either: it has its own slot, ahead of the queued messages when they are
//! to be discarded.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use tokio::sync::Notify;

use super::frame_type::DataType;
use crate::lock;

/// The queue of one connection, shared by its writer task and every sender.
pub(super) struct Outbox {
    state: Mutex<State>,
    /// Woken on every push and close request. Only the writer waits.
    changed: Notify,
    /// When the connection opened; activity is measured from it.
    opened: Instant,
}

#[derive(Default)]
struct State {
    frames: VecDeque<Message>,
    /// Payload bytes of `frames`.
    bytes: usize,
    close: Option<Closing>,
    /// When the last message went either way, since `opened`.
    last_activity_ms: u64,
    /// The type of the last message from the client that was delivered.
    last_received: Option<DataType>,
}

struct Closing {
    frame: CloseFrame,
    /// Drop what is queued instead of writing it first.
    discard: bool,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The connection is closing.
    Closing,
    /// Queuing it would exceed the bound; `queued` bytes wait already.
    Full { queued: usize },
}

/// The writer's next job.
pub(super) enum Next {
    Frame(Message),
    /// Send this close frame, then stop writing.
    Close(CloseFrame),
}

impl Outbox {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            opened: Instant::now(),
        }
    }

    /// Queues `frame` unless the connection is closing or the queue would
    /// then hold more than `bound` bytes (a message always fits an empty
    /// queue).
    pub(super) fn push(&self, frame: Message, bound: usize) -> Result<(), Refused> {
        let size = payload_len(&frame);
        {
            let mut state = lock(&self.state);
            if state.close.is_some() {
                return Err(Refused::Closing);
            }
            if state.bytes > 0 && state.bytes.saturating_add(size) > bound {
                return Err(Refused::Full {
                    queued: state.bytes,
                });
            }
            state.bytes += size;
            state.frames.push_back(frame);
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Asks the writer to send `frame` and stop; `discard` drops what is
    /// still queued instead of writing it first. Only the first request
    /// counts. Returns whether this one did.
    pub(super) fn close(&self, frame: CloseFrame, discard: bool) -> bool {
        {
            let mut state = lock(&self.state);
            if state.close.is_some() {
                return false;
            }
            if discard {
                state.frames = VecDeque::new();
                state.bytes = 0;
            }
            state.close = Some(Closing { frame, discard });
        }
        self.changed.notify_one();
        true
    }

    /// Whether a close was requested.
    pub(super) fn is_closing(&self) -> bool {
        lock(&self.state).close.is_some()
    }

    /// The writer's next job, if any: the queued messages in order, then
    /// the close frame.
    pub(super) fn next(&self) -> Option<Next> {
        let mut state = lock(&self.state);
        let discard = state.close.as_ref().is_some_and(|closing| closing.discard);
        if !discard {
            if let Some(frame) = state.frames.pop_front() {
                state.bytes -= payload_len(&frame);
                if state.frames.is_empty() {
                    // Give back what a burst made it grow to.
                    state.frames = VecDeque::new();
                }
                return Some(Next::Frame(frame));
            }
        }
        state
            .close
            .as_ref()
            .map(|closing| Next::Close(closing.frame.clone()))
    }

    /// Resolves after the next push or close request (or at once if one
    /// came since the last wait).
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Notes that a message went to the client.
    pub(super) fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        lock(&self.state).last_activity_ms = now;
    }

    /// Notes that a message of type `data_type` came from the client and is
    /// being delivered to the application.
    pub(super) fn received(&self, data_type: DataType) {
        let now = self.opened.elapsed().as_millis() as u64;
        let mut state = lock(&self.state);
        state.last_activity_ms = now;
        state.last_received = Some(data_type);
    }

    /// The type of the last message from the client that was delivered,
    /// `None` before the first.
    pub(super) fn last_received(&self) -> Option<DataType> {
        lock(&self.state).last_received
    }

    /// When the last message went either way (the opening counts as one).
    pub(super) fn last_activity(&self) -> Instant {
        let ms = lock(&self.state).last_activity_ms;
        self.opened + std::time::Duration::from_millis(ms)
    }

    pub(super) fn opened(&self) -> Instant {
        self.opened
    }
}

/// What a queued message counts for: its payload, plus a frame's overhead
/// so that even empty messages fill the queue.
pub(super) fn payload_len(message: &Message) -> usize {
    const FRAME_OVERHEAD: usize = 16;
    FRAME_OVERHEAD
        + match message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
            Message::Close(_) => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::close_code;

    fn text(size: usize) -> Message {
        Message::Text("x".repeat(size).into())
    }

    fn close_frame(code: u16) -> CloseFrame {
        CloseFrame {
            code,
            reason: "".into(),
        }
    }

    #[test]
    fn the_bound_is_in_bytes_and_a_message_always_fits_an_empty_queue() {
        let outbox = Outbox::new();
        // Each message counts 16 bytes more than its payload.
        outbox.push(text(100), 50).unwrap();
        assert_eq!(outbox.push(text(1), 50), Err(Refused::Full { queued: 116 }));
        assert!(matches!(outbox.next(), Some(Next::Frame(_))));
        outbox.push(text(4), 50).unwrap();
        outbox.push(text(14), 50).unwrap();
        assert_eq!(outbox.push(text(0), 50), Err(Refused::Full { queued: 50 }));
    }

    #[test]
    fn a_close_goes_after_the_queue_unless_it_discards_it() {
        let outbox = Outbox::new();
        outbox.push(text(1), 100).unwrap();
        assert!(outbox.close(close_frame(close_code::NORMAL), false));
        assert_eq!(outbox.push(text(1), 100), Err(Refused::Closing));
        assert!(!outbox.close(close_frame(close_code::AWAY), true));
        assert!(matches!(outbox.next(), Some(Next::Frame(_))));
        assert!(
            matches!(outbox.next(), Some(Next::Close(frame)) if frame.code == close_code::NORMAL)
        );

        let discarding = Outbox::new();
        discarding.push(text(1), 100).unwrap();
        discarding.close(close_frame(close_code::POLICY), true);
        assert!(
            matches!(discarding.next(), Some(Next::Close(frame)) if frame.code == close_code::POLICY)
        );
    }
}

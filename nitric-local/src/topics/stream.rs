//! One subscriber stream: the application's side of `Subscriber.Subscribe`
//! for one topic. Messages go down the stream under fresh ids; the answers
//! come back in any order and are paired with their message by id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use nitric_protocol::topics::v1::{server_message, MessageRequest, ServerMessage};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::{lock, Published};

/// The sending half of a `Subscribe` response stream.
pub(crate) type MessageSender = mpsc::Sender<Result<ServerMessage, Status>>;

/// Messages sent down one stream and not answered yet, at most. The answer
/// timeout of a message starts when it is sent, so the rest wait here
/// instead of timing out in a queue the application has not read yet.
const MAX_UNANSWERED: usize = 256;

/// The capacity a `Subscribe` response channel needs: every unanswered
/// message plus the registration answer, so sending never waits.
pub(crate) const SUBSCRIBER_CHANNEL: usize = MAX_UNANSWERED + 1;

/// Why one attempt to deliver a message failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    #[error("the subscriber answered success = false")]
    Refused,
    #[error("the subscriber stream ended before answering")]
    StreamEnded,
    #[error("the subscriber did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("the membrane is shutting down")]
    ShuttingDown,
}

pub(super) struct SubscriberStream {
    topic: String,
    messages: MessageSender,
    unanswered: Semaphore,
    pending: Mutex<Pending>,
}

/// Messages waiting for their answer, by id.
#[derive(Default)]
struct Pending {
    /// Set once the stream has ended: nothing may wait on it any more.
    closed: bool,
    waiting: HashMap<String, oneshot::Sender<bool>>,
}

impl SubscriberStream {
    pub(super) fn new(topic: &str, messages: MessageSender) -> Self {
        Self {
            topic: topic.to_owned(),
            messages,
            unanswered: Semaphore::new(MAX_UNANSWERED),
            pending: Mutex::new(Pending::default()),
        }
    }

    pub(super) fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues the registration answer; call before any message is offered.
    pub(super) fn welcome(&self, welcome: ServerMessage) {
        // A fresh channel has room for it; a closed one means the stream is
        // already gone, which its owner notices on its own.
        let _ = self.messages.try_send(Ok(welcome));
    }

    /// Whether the stream may still receive messages.
    pub(super) fn is_open(&self) -> bool {
        !self.messages.is_closed() && !lock(&self.pending).closed
    }

    /// Sends `message` under a fresh id and waits for the answer, at most
    /// `timeout` once sent.
    pub(super) async fn offer(
        &self,
        message: &Published,
        timeout: Duration,
        shutdown: &CancellationToken,
    ) -> Result<(), Failure> {
        let _slot = tokio::select! {
            slot = self.unanswered.acquire() => slot.map_err(|_closed| Failure::StreamEnded)?,
            () = shutdown.cancelled() => return Err(Failure::ShuttingDown),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let (answer_tx, answer_rx) = oneshot::channel();
        let _waiting = self
            .await_answer(&id, answer_tx)
            .ok_or(Failure::StreamEnded)?;
        tracing::debug!(topic = %self.topic, id, "message sent to a subscriber");
        let request = ServerMessage {
            id,
            content: Some(server_message::Content::MessageRequest(MessageRequest {
                topic_name: message.topic.clone(),
                message: Some(message.message.clone()),
            })),
        };
        tokio::select! {
            sent = self.messages.send(Ok(request)) => sent.map_err(|_| Failure::StreamEnded)?,
            () = shutdown.cancelled() => return Err(Failure::ShuttingDown),
        }
        tokio::select! {
            answer = tokio::time::timeout(timeout, answer_rx) => match answer {
                Ok(Ok(true)) => Ok(()),
                Ok(Ok(false)) => Err(Failure::Refused),
                Ok(Err(_)) => Err(Failure::StreamEnded),
                Err(_) => Err(Failure::TimedOut(timeout)),
            },
            () = shutdown.cancelled() => Err(Failure::ShuttingDown),
        }
    }

    /// Records that `id` waits for an answer; `None` once the stream has
    /// ended. The guard forgets the id when the waiting side gives up, so a
    /// late answer counts as one to an unknown id.
    fn await_answer(&self, id: &str, answer: oneshot::Sender<bool>) -> Option<WaitingGuard<'_>> {
        let mut pending = lock(&self.pending);
        if pending.closed {
            return None;
        }
        pending.waiting.insert(id.to_owned(), answer);
        Some(WaitingGuard {
            stream: self,
            id: id.to_owned(),
        })
    }

    /// Settles the message sent under `id`; `false` if none waits for it.
    pub(super) fn answer(&self, id: &str, success: bool) -> bool {
        let waiting = lock(&self.pending).waiting.remove(id);
        match waiting {
            Some(waiter) => {
                // The waiter may have just given up (shutdown); the id was
                // still a known one.
                let _ = waiter.send(success);
                true
            }
            None => false,
        }
    }

    /// Fails every message waiting for an answer, and refuses new ones.
    pub(super) fn close(&self) {
        let mut pending = lock(&self.pending);
        pending.closed = true;
        // Dropping the senders wakes each waiter with an error.
        pending.waiting.clear();
        self.unanswered.close();
    }
}

struct WaitingGuard<'a> {
    stream: &'a SubscriberStream,
    id: String,
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.stream.pending).waiting.remove(&self.id);
    }
}

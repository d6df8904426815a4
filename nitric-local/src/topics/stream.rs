//! One subscriber stream: the application's side of `Subscriber.Subscribe`
//! for one topic. Messages go down the stream under fresh ids; the answers
//! come back in any order and are paired with their message by id (see
//! [`crate::app_stream`]).

use std::time::Duration;

use nitric_protocol::topics::v1::{server_message, MessageRequest, ServerMessage};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::Published;
use crate::app_stream::{PairedStream, Unanswered};

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

impl From<Unanswered> for Failure {
    fn from(why: Unanswered) -> Self {
        match why {
            Unanswered::StreamEnded => Failure::StreamEnded,
            Unanswered::ShuttingDown => Failure::ShuttingDown,
        }
    }
}

pub(super) struct SubscriberStream {
    topic: String,
    /// The messages sent, paired with their answers (`success`).
    stream: PairedStream<ServerMessage, bool>,
    unanswered: Semaphore,
}

impl SubscriberStream {
    pub(super) fn new(topic: &str, messages: MessageSender) -> Self {
        Self {
            topic: topic.to_owned(),
            stream: PairedStream::new(messages),
            unanswered: Semaphore::new(MAX_UNANSWERED),
        }
    }

    pub(super) fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues the registration answer; call before any message is offered.
    pub(super) fn welcome(&self, welcome: ServerMessage) {
        self.stream.welcome(welcome);
    }

    /// Whether the stream may still receive messages.
    pub(super) fn is_open(&self) -> bool {
        self.stream.is_open()
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
        let request = |id| {
            tracing::debug!(topic = %self.topic, id, "message sent to a subscriber");
            ServerMessage {
                id,
                content: Some(server_message::Content::MessageRequest(MessageRequest {
                    topic_name: message.topic.clone(),
                    message: Some(message.message.clone()),
                })),
            }
        };
        let sent = self.stream.send(request, shutdown).await?;
        match tokio::time::timeout(timeout, sent.answer(shutdown)).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(Failure::Refused),
            Ok(Err(why)) => Err(why.into()),
            Err(_) => Err(Failure::TimedOut(timeout)),
        }
    }

    /// Settles the message sent under `id`; `false` if none waits for it.
    pub(super) fn answer(&self, id: &str, success: bool) -> bool {
        self.stream.answer(id, success)
    }

    /// Fails every message waiting for an answer, and refuses new ones.
    pub(super) fn close(&self) {
        self.stream.close();
        self.unanswered.close();
    }
}

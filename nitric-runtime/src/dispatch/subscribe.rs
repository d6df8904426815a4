//! Topic subscription streams (`Subscriber.Subscribe`).

use super::{guarded, EventStream, Outcome, ServerContent};
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::registry::SubscribeFunction;
use crate::topic::TopicEvent;
use crate::transport::Channel;
use nitric_protocol::topics::v1::{
    client_message, server_message, subscriber_client::SubscriberClient, ClientMessage,
    MessageRequest, MessageResponse, RegistrationRequest, ServerMessage,
};
use tokio_stream::wrappers::ReceiverStream;

/// The stream of one `#[subscribe]` function.
#[derive(Clone, Copy)]
pub(crate) struct SubscribeStream(pub(crate) &'static SubscribeFunction);

impl EventStream for SubscribeStream {
    type ClientMessage = ClientMessage;
    type ServerMessage = ServerMessage;
    type Event = MessageRequest;
    type Answer = MessageResponse;

    fn describe(&self) -> String {
        format!(
            "{}, a subscriber of topic \"{}\"",
            self.0.source, self.0.topic
        )
    }

    event_stream_plumbing! {
        client: SubscriberClient::subscribe,
        registration: |subscription: &Self| RegistrationRequest {
            topic_name: subscription.0.topic.to_owned(),
        },
        event: MessageRequest,
        answer: MessageResponse,
    }

    /// `success = false` asks the membrane to deliver the message again.
    fn answer(
        &self,
        service: &ServiceHandle,
        request: MessageRequest,
    ) -> BoxFuture<MessageResponse> {
        let subscription = self.0;
        let deadline = service.deadlines().topic_message;
        Box::pin(async move {
            let message = TopicEvent::from_request(request);
            let topic = message.topic.clone();
            let run = (subscription.adapter)(message);
            let success = match guarded(run, subscription.timeout, deadline).await {
                Outcome::Done => true,
                Outcome::Failed(error) => {
                    tracing::warn!(handler = %subscription.source, topic, error = %error, "subscriber failed; the message will be delivered again");
                    false
                }
                Outcome::Panicked(panic) => {
                    tracing::error!(handler = %subscription.source, topic, panic, "subscriber panicked; the service keeps running and the message will be delivered again");
                    false
                }
                Outcome::TimedOut(limit) => {
                    tracing::warn!(handler = %subscription.source, topic, timeout = ?limit, "subscriber timed out and was abandoned; the message will be delivered again");
                    false
                }
                Outcome::PastDeadline(deadline) => {
                    tracing::warn!(handler = %subscription.source, topic, deadline = ?deadline, "subscriber cancelled: the membrane stopped waiting for its answer and delivers the message again");
                    false
                }
            };
            MessageResponse { success }
        })
    }
}

//! `Subscriber.Subscribe`: an application stream that receives one topic's
//! messages. The first message registers it; from then on the membrane sends
//! messages down the stream and the application answers each by id, with
//! `success = false` asking for redelivery.
//!
//! Any number of streams may subscribe to a topic, and each receives every
//! message (see [`crate::topics`]). As with websocket handlers, the stream
//! is served as described in [`crate::app_stream`].

use nitric_protocol::topics::v1::subscriber_server::Subscriber;
use nitric_protocol::topics::v1::{
    client_message, server_message, ClientMessage, MessageResponse, RegistrationRequest,
    RegistrationResponse, ServerMessage,
};
use tonic::{Request, Response, Status, Streaming};

use super::MembraneState;
use crate::app_stream::{self, Note, ServerStream};
use crate::topics::{MessageSender, SUBSCRIBER_CHANNEL};

pub(super) struct SubscriberService {
    state: MembraneState,
}

impl SubscriberService {
    pub(super) fn new(state: MembraneState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Subscriber for SubscriberService {
    type SubscribeStream = ServerStream<ServerMessage>;

    async fn subscribe(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        Ok(self
            .state
            .open_app_stream(request, SUBSCRIBER_CHANNEL, serve_stream))
    }
}

app_stream::app_message!(
    MessageResponse,
    not_a_registration: "the first message of a Subscribe stream must be a registration_request naming the topic",
    failed_before_registering: "subscriber stream failed before registering",
);

/// Subscribes the stream, then routes the application's answers until the
/// stream ends; the subscription (and with it every unanswered message,
/// which is then retried elsewhere or queued) ends with this function.
async fn serve_stream(
    state: MembraneState,
    mut from_app: Streaming<ClientMessage>,
    messages: MessageSender,
) {
    let Some((request, welcome)) =
        app_stream::registration(&state.shutdown, &mut from_app, &messages).await
    else {
        return;
    };
    let topic = request.topic_name;
    if topic.is_empty() {
        let refusal = Status::invalid_argument(
            "registration_request.topic_name is empty: name the topic to subscribe to",
        );
        let _ = messages.send(Err(refusal)).await;
        return;
    }
    let subscription = state.topics.subscribe(&topic, messages.clone(), welcome);
    app_stream::route_answers(
        &state.shutdown,
        from_app,
        &messages,
        |id, response| subscription.answer(id, response.success),
        |note| match note {
            Note::UnknownId(id) => {
                tracing::warn!(%topic, id, "answer to an unknown message id ignored (already answered, timed out, or never sent)");
            }
            Note::SecondRegistration => {
                tracing::warn!(%topic, "a second registration_request on a subscribed stream is ignored; open one stream per topic");
            }
            Note::Empty(id) => {
                tracing::warn!(%topic, id, "empty message from the application ignored");
            }
            Note::Failed(status) => {
                tracing::debug!(%topic, %status, "subscriber stream failed");
            }
        },
    )
    .await;
}

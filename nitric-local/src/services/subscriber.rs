//! `Subscriber.Subscribe`: an application stream that receives one topic's
//! messages. The first message registers it; from then on the membrane sends
//! messages down the stream and the application answers each by id, with
//! `success = false` asking for redelivery.
//!
//! Any number of streams may subscribe to a topic, and each receives every
//! message (see [`crate::topics`]). As with websocket handlers, the
//! response headers go out at once and a refusal travels as the stream's
//! status.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use nitric_protocol::topics::v1::subscriber_server::Subscriber;
use nitric_protocol::topics::v1::{
    client_message, server_message, ClientMessage, RegistrationResponse, ServerMessage,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Parts;
use crate::topics::{MessageSender, Subscription, SUBSCRIBER_CHANNEL};

pub(super) struct SubscriberService {
    parts: Parts,
}

impl SubscriberService {
    pub(super) fn new(parts: Parts) -> Self {
        Self { parts }
    }
}

#[tonic::async_trait]
impl Subscriber for SubscriberService {
    type SubscribeStream =
        Pin<Box<dyn Stream<Item = Result<ServerMessage, Status>> + Send + 'static>>;

    async fn subscribe(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let incoming = request.into_inner();
        let (messages, outgoing) = mpsc::channel(SUBSCRIBER_CHANNEL);
        self.parts
            .tasks
            .spawn(serve_stream(self.parts.clone(), incoming, messages));
        // Ending the response stream on shutdown lets the gRPC server finish
        // even while applications keep their streams open.
        let outgoing =
            ReceiverStream::new(outgoing).take_until(self.parts.shutdown.clone().cancelled_owned());
        Ok(Response::new(Box::pin(outgoing)))
    }
}

/// Subscribes the stream, then routes the application's answers until the
/// stream ends; the subscription (and with it every unanswered message,
/// which is then retried elsewhere or queued) ends with this function.
async fn serve_stream(
    parts: Parts,
    mut incoming: Streaming<ClientMessage>,
    messages: MessageSender,
) {
    let first = tokio::select! {
        first = incoming.message() => first,
        () = parts.shutdown.cancelled() => return,
    };
    let (id, topic) = match first {
        Ok(Some(ClientMessage {
            id,
            content: Some(client_message::Content::RegistrationRequest(request)),
        })) => (id, request.topic_name),
        Ok(Some(_)) => {
            let refusal = Status::invalid_argument(
                "the first message of a Subscribe stream must be a registration_request naming the topic",
            );
            let _ = messages.send(Err(refusal)).await;
            return;
        }
        Ok(None) => return,
        Err(status) => {
            tracing::debug!(%status, "subscriber stream failed before registering");
            return;
        }
    };
    if topic.is_empty() {
        let refusal = Status::invalid_argument(
            "registration_request.topic_name is empty: name the topic to subscribe to",
        );
        let _ = messages.send(Err(refusal)).await;
        return;
    }
    let welcome = ServerMessage {
        id,
        content: Some(server_message::Content::RegistrationResponse(
            RegistrationResponse {},
        )),
    };
    let subscription = parts.topics.subscribe(&topic, messages.clone(), welcome);
    route_answers(&parts, incoming, &messages, &subscription, &topic).await;
}

async fn route_answers(
    parts: &Parts,
    mut incoming: Streaming<ClientMessage>,
    messages: &MessageSender,
    subscription: &Subscription,
    topic: &str,
) {
    loop {
        let message = tokio::select! {
            message = incoming.message() => message,
            // The application stopped reading our messages.
            () = messages.closed() => return,
            () = parts.shutdown.cancelled() => return,
        };
        match message {
            Ok(Some(ClientMessage {
                id,
                content: Some(client_message::Content::MessageResponse(response)),
            })) => {
                if !subscription.answer(&id, response.success) {
                    tracing::warn!(%topic, id, "answer to an unknown message id ignored (already answered, timed out, or never sent)");
                }
            }
            Ok(Some(ClientMessage {
                content: Some(client_message::Content::RegistrationRequest(_)),
                ..
            })) => {
                tracing::warn!(%topic, "a second registration_request on a subscribed stream is ignored; open one stream per topic");
            }
            Ok(Some(ClientMessage { id, content: None })) => {
                tracing::warn!(%topic, id, "empty message from the application ignored");
            }
            // The application closed its side: it will answer nothing more.
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(%topic, %status, "subscriber stream failed");
                return;
            }
        }
    }
}

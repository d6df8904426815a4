//! Topics: publish typed messages, and the payloads subscribers receive.

use crate::declaration::{TopicDeclaration, TopicPermission};
use crate::error::Error;
use crate::handle::ServiceHandle;
use crate::transport::Channel;
use nitric_protocol::json;
use nitric_protocol::topics::v1::{
    topic_message, topics_client::TopicsClient, MessageRequest, TopicPublishRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// A topic whose messages are `T`, serialized as JSON objects.
///
/// Declare one with [`#[topic]`](macro@crate::topic); publishing needs
/// `allow = [publish]`. Subscribe with [`#[subscribe]`](macro@crate::subscribe).
///
/// ```
/// use nitric_runtime::topic::Topic;
/// use serde::{Deserialize, Serialize};
/// use std::time::Duration;
///
/// #[derive(Serialize, Deserialize)]
/// struct Welcome {
///     connection_id: String,
/// }
///
/// #[nitric_runtime::topic("welcome", allow = [publish])]
/// static WELCOME: Topic<Welcome>;
///
/// async fn greet_soon(connection_id: &str) -> Result<(), nitric_runtime::Error> {
///     let welcome = Welcome { connection_id: connection_id.to_owned() };
///     WELCOME.publish_after(&welcome, Duration::from_millis(100)).await
/// }
/// # fn main() {}
/// ```
pub struct Topic<T> {
    declaration: &'static TopicDeclaration,
    payloads: PhantomData<fn(T)>,
}

impl<T> Topic<T> {
    /// The client for a declared topic; `#[topic]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static TopicDeclaration) -> Self {
        Self {
            declaration,
            payloads: PhantomData,
        }
    }

    /// The topic's name.
    pub fn name(&self) -> &'static str {
        self.declaration.name
    }
}

impl<T: Serialize> Topic<T> {
    /// Publishes `payload` to every subscriber.
    pub async fn publish(&self, payload: &T) -> Result<(), Error> {
        self.send(payload, None).await
    }

    /// Publishes `payload`, delivered no earlier than `delay` from now.
    pub async fn publish_after(&self, payload: &T, delay: Duration) -> Result<(), Error> {
        self.send(payload, Some(delay)).await
    }

    async fn send(&self, payload: &T, delay: Option<Duration>) -> Result<(), Error> {
        self.declaration.require(TopicPermission::Publish)?;
        let service = ServiceHandle::current_for(|| publish_operation(self.name()))?;
        publish(service.channel(), self.name(), payload, delay).await
    }
}

fn publish_operation(topic: &str) -> String {
    format!("publish to topic \"{topic}\"")
}

/// Publishes `payload` to `topic` through `channel`, permission checks
/// aside; what [`Topic`] does once its declaration allows it, and what the
/// test kit uses directly.
pub(crate) async fn publish<T: Serialize + ?Sized>(
    channel: Channel,
    topic: &str,
    payload: &T,
    delay: Option<Duration>,
) -> Result<(), Error> {
    let operation = || publish_operation(topic);
    let content = json::to_struct(payload).map_err(|reason| Error::Value {
        operation: operation(),
        reason: reason.to_string(),
    })?;
    let delay = delay
        .map(prost_types::Duration::try_from)
        .transpose()
        .map_err(|error| Error::Value {
            operation: operation(),
            reason: format!("the delay does not fit: {error}"),
        })?;
    let request = TopicPublishRequest {
        topic_name: topic.to_owned(),
        message: Some(nitric_protocol::topics::v1::TopicMessage {
            content: Some(topic_message::Content::StructPayload(content)),
        }),
        delay,
    };
    TopicsClient::new(channel)
        .publish(request)
        .await
        .map_err(|status| Error::from_status(operation(), status))?;
    Ok(())
}

impl<T> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.declaration.name)
            .field("permissions", &self.declaration.permissions)
            .finish()
    }
}

/// The event a subscriber handles: a message delivered from a topic, before
/// it is read as the subscriber's payload type. `#[subscribe]` adapters
/// receive it and read it with [`FromTopicEvent`]. (On the wire it is a
/// `MessageRequest` carrying the contract's `TopicMessage`.)
#[derive(Debug, Clone)]
pub struct TopicEvent {
    pub(crate) topic: String,
    pub(crate) payload: prost_types::Struct,
}

impl TopicEvent {
    /// The message a subscriber stream delivered; no payload reads as an
    /// empty object.
    pub(crate) fn from_request(request: MessageRequest) -> Self {
        let payload = match request.message.and_then(|message| message.content) {
            Some(topic_message::Content::StructPayload(payload)) => payload,
            None => prost_types::Struct::default(),
        };
        Self {
            topic: request.topic_name,
            payload,
        }
    }

    /// The topic it was published to.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// The parameter of a `#[subscribe]` function, read from a [`TopicEvent`].
///
/// Implemented for every type that serde can deserialize.
///
/// ```compile_fail
/// struct Order; // no `Deserialize`
///
/// // error: `Order` cannot be read from a topic message
/// #[nitric_runtime::subscribe("orders")]
/// async fn ship(order: Order) {}
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a topic message",
    label = "a subscriber's parameter must implement `serde::Deserialize`",
    note = "derive `serde::Deserialize` for the payload type, or take `serde_json::Value`"
)]
pub trait FromTopicEvent: Sized {
    /// Reads the payload.
    fn from_topic_event(message: TopicEvent) -> Result<Self, Error>;
}

impl<T: DeserializeOwned> FromTopicEvent for T {
    fn from_topic_event(message: TopicEvent) -> Result<Self, Error> {
        json::from_struct(message.payload).map_err(|reason| Error::Value {
            operation: format!("read a message of topic \"{}\"", message.topic),
            reason: reason.to_string(),
        })
    }
}

//! Direct clients of the app's key/value stores and topics, for setting up
//! and checking what the app does.

use super::TestError;
use crate::handle::ServiceHandle;
use crate::kv::StoreCalls;
use crate::topic::{self, TopicEvent};
use futures_util::TryStreamExt;
use nitric_protocol::json;
use nitric_protocol::topics::v1::{
    client_message, server_message, subscriber_client::SubscriberClient, ClientMessage,
    MessageResponse, RegistrationRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// A key/value store of the app under test, with every permission.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// let members = app.kv_store::<serde_json::Value>("connections");
/// members.set("seeded", &serde_json::json!({ "name": "ada" })).await?;
/// assert_eq!(members.keys("").await?, ["seeded"]);
/// # Ok(())
/// # }
/// ```
pub struct TestKvStore<T> {
    service: ServiceHandle,
    name: String,
    values: PhantomData<fn() -> T>,
}

impl<T> TestKvStore<T> {
    pub(super) fn new(service: ServiceHandle, name: &str) -> Self {
        Self {
            service,
            name: name.to_owned(),
            values: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> TestKvStore<T> {
    fn calls(&self) -> StoreCalls<'_> {
        StoreCalls::new(&self.name, self.service.channel())
    }

    /// The value at `key`, `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<T>, TestError> {
        Ok(self.calls().get(key).await?)
    }

    /// Stores `value` at `key`.
    pub async fn set(&self, key: &str, value: &T) -> Result<(), TestError> {
        Ok(self.calls().set(key, value).await?)
    }

    /// Deletes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), TestError> {
        Ok(self.calls().delete(key).await?)
    }

    /// Every key starting with `prefix`, sorted.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, TestError> {
        let mut keys: Vec<String> = self.calls().keys(prefix).try_collect().await?;
        keys.sort();
        Ok(keys)
    }
}

/// A topic of the app under test: publish to its subscribers, or watch what
/// the app publishes.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// let arrivals = app.topic::<serde_json::Value>("arrivals");
/// let mut seen = arrivals.subscribe().await?;
/// let _client = app.connect("lobby").await?; // its connect handler publishes
/// let arrival = seen.recv().await?;
/// arrivals.publish(&serde_json::json!({ "connection_id": "test" })).await?;
/// # Ok(())
/// # }
/// ```
pub struct TestTopic<T> {
    service: ServiceHandle,
    name: String,
    timeout: Duration,
    payloads: PhantomData<fn(T) -> T>,
}

impl<T> TestTopic<T> {
    pub(super) fn new(service: ServiceHandle, name: &str, timeout: Duration) -> Self {
        Self {
            service,
            name: name.to_owned(),
            timeout,
            payloads: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> TestTopic<T> {
    /// Publishes `payload` to every subscriber of the topic.
    pub async fn publish(&self, payload: &T) -> Result<(), TestError> {
        Ok(topic::publish(self.service.channel(), &self.name, payload, None).await?)
    }

    /// Subscribes beside the app: from now on, every message published to
    /// the topic reaches the returned subscriber too.
    pub async fn subscribe(&self) -> Result<TestSubscriber<T>, TestError> {
        let operation = format!("subscribe to topic \"{}\"", self.name);
        let (answers, outgoing) = mpsc::channel(16);
        let registration = ClientMessage {
            id: String::new(),
            content: Some(client_message::Content::RegistrationRequest(
                RegistrationRequest {
                    topic_name: self.name.clone(),
                },
            )),
        };
        answers
            .send(registration)
            .await
            .expect("the receiver is held below");
        let mut incoming = SubscriberClient::new(self.service.channel())
            .subscribe(ReceiverStream::new(outgoing))
            .await
            .map_err(|status| TestError::new(format!("{operation}: {status}")))?
            .into_inner();
        match tokio::time::timeout(self.timeout, incoming.message()).await {
            Ok(Ok(Some(message)))
                if matches!(
                    message.content,
                    Some(server_message::Content::RegistrationResponse(_))
                ) => {}
            Ok(Ok(other)) => {
                return Err(TestError::new(format!(
                    "{operation}: expected a registration response, got {other:?}"
                )))
            }
            Ok(Err(status)) => return Err(TestError::new(format!("{operation}: {status}"))),
            Err(_) => {
                return Err(TestError::new(format!(
                    "{operation}: not registered within {:?}",
                    self.timeout
                )))
            }
        }
        Ok(TestSubscriber {
            topic: self.name.clone(),
            incoming,
            answers,
            timeout: self.timeout,
            payloads: PhantomData,
        })
    }
}

/// Messages published to a topic, as [`TestTopic::subscribe`] receives them;
/// each is acknowledged as delivered.
pub struct TestSubscriber<T> {
    topic: String,
    incoming: tonic::Streaming<nitric_protocol::topics::v1::ServerMessage>,
    answers: mpsc::Sender<ClientMessage>,
    timeout: Duration,
    payloads: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> TestSubscriber<T> {
    /// The next message, waiting at most the app's timeout.
    pub async fn recv(&mut self) -> Result<T, TestError> {
        let topic = &self.topic;
        loop {
            let message = tokio::time::timeout(self.timeout, self.incoming.message())
                .await
                .map_err(|_| {
                    TestError::new(format!(
                        "topic \"{topic}\": no message within {:?}",
                        self.timeout
                    ))
                })?
                .map_err(|status| TestError::new(format!("topic \"{topic}\": {status}")))?
                .ok_or_else(|| TestError::new(format!("topic \"{topic}\": the stream ended")))?;
            let Some(server_message::Content::MessageRequest(request)) = message.content else {
                continue;
            };
            // Acknowledged whatever it holds: the test sees it either way.
            let answer = ClientMessage {
                id: message.id,
                content: Some(client_message::Content::MessageResponse(MessageResponse {
                    success: true,
                })),
            };
            let _ = self.answers.send(answer).await;
            let payload = TopicEvent::from_request(request).payload;
            return json::from_struct(payload).map_err(|reason| {
                TestError::new(format!(
                    "topic \"{topic}\": the message is not the expected type: {reason}"
                ))
            });
        }
    }
}

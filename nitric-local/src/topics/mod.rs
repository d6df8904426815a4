//! Topics: messages the application publishes, delivered to every
//! subscriber stream of their topic.
//!
//! - **Fan-out.** Each message goes to every stream subscribed to its topic
//!   when it is published (or when its delay ends), each copy on its own.
//!   Topic names match exactly (case-sensitive).
//! - **At least once, with retries.** A copy is delivered when its stream
//!   answers `success = true`. An answer `success = false`, no answer within
//!   [`ANSWER_TIMEOUT`], or the stream ending first is a failed attempt: the
//!   copy is tried again after a backoff that starts at [`FIRST_BACKOFF`]
//!   and doubles up to [`MAX_BACKOFF`], [`MAX_ATTEMPTS`] attempts in all.
//!   Then the message is dropped, and an error log shows its topic and its
//!   payload as JSON. A retry goes to the same stream while it is
//!   subscribed, else to the newest stream of the topic (an application
//!   that restarted subscribes again on a new stream).
//! - **Nobody subscribed.** A message for a topic without subscribers (or a
//!   retry whose streams have all ended) waits in that topic's queue, at
//!   most [`MAX_QUEUED_PER_TOPIC`] messages; beyond that `Publish` is
//!   refused with RESOURCE_EXHAUSTED. The queue is delivered to the first
//!   stream that subscribes. Messages that already failed keep their count
//!   of attempts.
//! - **Memory only.** Queued, delayed and undelivered messages live in the
//!   membrane's memory: they are lost when it stops, and shutdown logs how
//!   many were dropped.
//!
//! Inside:
//! - [`stream`]: one subscriber stream, its answers paired with messages by id.
//! - [`delivery`]: one copy of a message on its way to one subscriber, retries included.
//! - [`payload`]: a payload as JSON, for the logs.

mod delivery;
mod payload;
mod stream;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nitric_protocol::topics::v1::{ServerMessage, TopicMessage};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::TopicDelivery;
use crate::lock;
use stream::SubscriberStream;
pub(crate) use stream::{MessageSender, SUBSCRIBER_CHANNEL};

/// Attempts to deliver a message to one subscriber before it is dropped.
pub(crate) const MAX_ATTEMPTS: u32 = 8;
/// The wait after the first failed attempt; each further failure doubles it.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts. With the values above, the
/// attempts of one message span about 13 seconds of backoff.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long a subscriber may take to answer a message.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages a topic keeps in memory while it has no subscriber.
pub(crate) const MAX_QUEUED_PER_TOPIC: usize = 10_000;

/// Every topic with subscribers or queued messages, and the deliveries in
/// progress (as tasks).
pub(crate) struct TopicBroker {
    topics: Mutex<HashMap<String, Topic>>,
    settings: TopicDelivery,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Copies of messages given up because the membrane is stopping.
    abandoned: AtomicUsize,
}

/// One topic's subscribers and the messages waiting for one.
#[derive(Default)]
struct Topic {
    /// Live subscriber streams, oldest first.
    subscribers: Vec<Arc<SubscriberStream>>,
    /// Messages waiting for a first subscriber, oldest first.
    queued: VecDeque<Delivery>,
}

impl Topic {
    fn is_unused(&self) -> bool {
        self.subscribers.is_empty() && self.queued.is_empty()
    }
}

/// A message accepted by `Publish`, shared by all its copies.
struct Published {
    topic: String,
    message: TopicMessage,
}

/// One copy of a message, on its way to one subscriber.
struct Delivery {
    message: Arc<Published>,
    /// Attempts that failed so far.
    failed: u32,
}

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PublishError {
    #[error("topic \"{topic}\" has no subscriber and already holds {limit} undelivered messages in memory; start a service that subscribes to it, or publish less")]
    QueueFull { topic: String, limit: usize },
    #[error("the membrane is shutting down")]
    ShuttingDown,
}

/// Proof that a stream subscribes to a topic. Dropping it unsubscribes the
/// stream and fails every delivery still waiting for its answer (they are
/// retried elsewhere or queued).
pub(crate) struct Subscription {
    broker: Arc<TopicBroker>,
    stream: Arc<SubscriberStream>,
}

impl TopicBroker {
    pub(crate) fn new(
        settings: TopicDelivery,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            topics: Mutex::new(HashMap::new()),
            settings,
            shutdown,
            tasks,
            abandoned: AtomicUsize::new(0),
        }
    }

    /// Accepts `message` for `topic`: sends it to the topic's subscribers
    /// now, or once `delay` has passed, or queues it while nobody
    /// subscribes. Returns as soon as the message is accepted.
    pub(crate) fn publish(
        self: &Arc<Self>,
        topic: String,
        message: TopicMessage,
        delay: Duration,
    ) -> Result<(), PublishError> {
        if self.shutdown.is_cancelled() {
            return Err(PublishError::ShuttingDown);
        }
        let message = Arc::new(Published { topic, message });
        if delay.is_zero() {
            return self.fan_out(message);
        }
        tracing::debug!(topic = %message.topic, ?delay, "message accepted; delivered after its delay");
        let broker = self.clone();
        self.tasks.spawn(async move {
            if !broker.sleep_unless_stopping(delay).await {
                return;
            }
            if let Err(error) = broker.fan_out(message.clone()) {
                delivery::log_dropped(&message, &error);
            }
        });
        Ok(())
    }

    /// Starts a copy of `message` towards every subscriber of its topic, or
    /// queues it when there is none.
    fn fan_out(self: &Arc<Self>, message: Arc<Published>) -> Result<(), PublishError> {
        let mut topics = lock(&self.topics);
        let topic = topics.entry(message.topic.clone()).or_default();
        if topic.subscribers.is_empty() {
            return self
                .enqueue(topic, Delivery { message, failed: 0 })
                .map_err(|delivery| self.queue_full(&delivery));
        }
        for subscriber in &topic.subscribers {
            let delivery = Delivery {
                message: message.clone(),
                failed: 0,
            };
            self.start(delivery, subscriber.clone());
        }
        Ok(())
    }

    /// Queues `delivery` in `topic` until a subscriber registers; gives it
    /// back when the queue is full.
    fn enqueue(&self, topic: &mut Topic, delivery: Delivery) -> Result<(), Delivery> {
        if topic.queued.len() >= self.settings.max_queued_per_topic {
            return Err(delivery);
        }
        tracing::info!(
            topic = %delivery.message.topic,
            queued = topic.queued.len() + 1,
            failed_attempts = delivery.failed,
            "no subscriber for the topic; message queued in memory until one registers"
        );
        topic.queued.push_back(delivery);
        Ok(())
    }

    fn queue_full(&self, delivery: &Delivery) -> PublishError {
        PublishError::QueueFull {
            topic: delivery.message.topic.clone(),
            limit: self.settings.max_queued_per_topic,
        }
    }

    fn start(self: &Arc<Self>, delivery: Delivery, subscriber: Arc<SubscriberStream>) {
        self.tasks
            .spawn(delivery::run(self.clone(), delivery, subscriber));
    }

    /// Subscribes the stream sending into `messages` to `topic_name`.
    /// `welcome` is queued on `messages` before any message can be, and the
    /// messages queued for the topic start towards this stream.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        topic_name: &str,
        messages: MessageSender,
        welcome: ServerMessage,
    ) -> Subscription {
        let stream = Arc::new(SubscriberStream::new(topic_name, messages));
        let mut topics = lock(&self.topics);
        let topic = topics.entry(topic_name.to_owned()).or_default();
        stream.welcome(welcome);
        topic.subscribers.push(stream.clone());
        tracing::info!(
            topic = %topic_name,
            subscribers = topic.subscribers.len(),
            "topic subscriber registered"
        );
        let queued = std::mem::take(&mut topic.queued);
        if !queued.is_empty() {
            tracing::info!(
                topic = %topic_name,
                messages = queued.len(),
                "delivering the messages queued while the topic had no subscriber"
            );
        }
        for delivery in queued {
            self.start(delivery, stream.clone());
        }
        Subscription {
            broker: self.clone(),
            stream,
        }
    }

    fn unsubscribe(&self, stream: &Arc<SubscriberStream>) {
        let mut topics = lock(&self.topics);
        let Some(topic) = topics.get_mut(stream.topic()) else {
            return;
        };
        topic
            .subscribers
            .retain(|other| !Arc::ptr_eq(other, stream));
        tracing::info!(
            topic = %stream.topic(),
            subscribers = topic.subscribers.len(),
            "topic subscriber unregistered"
        );
        if topic.is_unused() {
            topics.remove(stream.topic());
        }
    }

    /// Where the next attempt of `delivery` goes: `previous` while it still
    /// subscribes, else the topic's newest subscriber. With none left, the
    /// delivery waits in the topic's queue (or is dropped if that is full)
    /// and `None` is returned.
    fn next_target(
        &self,
        delivery: Delivery,
        previous: &Arc<SubscriberStream>,
    ) -> Option<(Delivery, Arc<SubscriberStream>)> {
        let name = delivery.message.topic.clone();
        let mut topics = lock(&self.topics);
        let topic = topics.entry(name.clone()).or_default();
        let live = |stream: &&Arc<SubscriberStream>| stream.is_open();
        if topic
            .subscribers
            .iter()
            .filter(live)
            .any(|stream| Arc::ptr_eq(stream, previous))
        {
            return Some((delivery, previous.clone()));
        }
        if let Some(newest) = topic.subscribers.iter().rev().find(live) {
            return Some((delivery, newest.clone()));
        }
        if let Err(delivery) = self.enqueue(topic, delivery) {
            delivery::log_dropped(&delivery.message, &self.queue_full(&delivery));
        }
        if topic.is_unused() {
            topics.remove(&name);
        }
        None
    }

    /// Counts a copy given up because the membrane is stopping.
    fn abandon(&self) {
        self.abandoned.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits `duration` before a copy goes on; `false` (the copy counted as
    /// abandoned) if the membrane stops first.
    async fn sleep_unless_stopping(&self, duration: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => {
                self.abandon();
                false
            }
            () = tokio::time::sleep(duration) => true,
        }
    }

    /// Logs how many messages were still queued or on their way when the
    /// membrane stopped, and forgets the queued ones. Call once the
    /// membrane's tasks have ended.
    pub(crate) fn report_undelivered(&self) {
        let queued: usize = lock(&self.topics)
            .values_mut()
            .map(|topic| std::mem::take(&mut topic.queued).len())
            .sum();
        let in_flight = self.abandoned.swap(0, Ordering::Relaxed);
        let dropped = queued + in_flight;
        if dropped > 0 {
            tracing::warn!(
                queued,
                in_flight,
                "{dropped} topic messages not yet delivered are dropped: topics keep messages in memory only"
            );
        }
    }
}

impl Subscription {
    /// Settles the message sent to this stream under `id` with the
    /// subscriber's answer. Returns `false` if no message waits for `id`.
    pub(crate) fn answer(&self, id: &str, success: bool) -> bool {
        self.stream.answer(id, success)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Unsubscribe first, so the deliveries woken by `close` retry
        // elsewhere instead of here.
        self.broker.unsubscribe(&self.stream);
        self.stream.close();
    }
}

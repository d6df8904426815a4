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
//!   and doubles up to [`MAX_BACKOFF`], each wait jittered (a random part of
//!   it up to half is left out, so retries of many messages spread out),
//!   [`MAX_ATTEMPTS`] attempts in all. Then the message is dropped, and an
//!   error log shows its topic, its size, and the start of its payload as
//!   JSON. A retry goes to the same stream while it is subscribed, else to
//!   the newest stream of the topic (an application that restarted
//!   subscribes again on a new stream).
//! - **Nobody subscribed.** A message for a topic without subscribers (or a
//!   retry whose streams have all ended) waits in that topic's queue, and
//!   is delivered to the first stream that subscribes. Messages that
//!   already failed keep their count of attempts.
//! - **Bounded.** Messages held (queued, delayed, waiting to be retried or
//!   for an answer) are bounded in number and bytes across all topics, and
//!   delays in length ([`TopicLimits`]): `Publish` beyond a bound is refused
//!   with RESOURCE_EXHAUSTED, a longer delay with INVALID_ARGUMENT.
//! - **Memory only.** Queued, delayed and undelivered messages live in the
//!   membrane's memory: they are lost when it stops, and shutdown logs how
//!   many were dropped.
//!
//! Inside:
//! - [`stream`]: one subscriber stream, its answers paired with messages by id.
//! - [`delivery`]: one attempt to deliver a copy of a message, what follows it,
//!   and the settings of both ([`TopicDelivery`]).
//! - [`timer`]: the one task that wakes delayed messages and retries.
//! - [`limits`]: the bounds, and what the held messages use of them.
//! - [`payload`]: a payload as JSON, for the logs.

mod delivery;
mod limits;
mod payload;
mod stream;
mod timer;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nitric_protocol::topics::v1::{ServerMessage, TopicMessage};
use prost::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::lock;
#[doc(hidden)]
pub use delivery::TopicDelivery;
pub(crate) use limits::Exceeded;
pub use limits::TopicLimits;
use limits::{Budget, Reservation};
use stream::SubscriberStream;
pub(crate) use stream::{MessageSender, SUBSCRIBER_CHANNEL};
use timer::{Due, Timer};

/// Attempts to deliver a message to one subscriber before it is dropped.
pub(crate) const MAX_ATTEMPTS: u32 = 8;
/// The wait after the first failed attempt; each further failure doubles it.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts. With the values above, the
/// attempts of one message span at most about 13 seconds of backoff.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long a subscriber may take to answer a message.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Every topic with subscribers or queued messages, the timer of waiting
/// messages, and the deliveries in progress (as tasks, one per copy
/// waiting for a subscriber's answer).
pub(crate) struct TopicBroker {
    topics: Mutex<HashMap<String, Topic>>,
    settings: TopicDelivery,
    budget: Arc<Budget>,
    timer: Timer,
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

/// A message accepted by `Publish`, shared by all its copies. It holds its
/// share of the [`TopicLimits`] until the last copy is done.
struct Published {
    topic: String,
    message: TopicMessage,
    held: Reservation,
}

impl Published {
    /// The payload's size in bytes (protobuf encoding).
    fn bytes(&self) -> usize {
        self.held.bytes()
    }
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
    #[error("cannot accept a message for topic \"{topic}\": the membrane already holds {limit} topic messages not yet delivered (queued, delayed or being retried), its limit on the number of messages across all topics; subscribe to the topics, or publish less")]
    TooManyMessages { topic: String, limit: usize },
    #[error("cannot accept a message of {bytes} bytes for topic \"{topic}\": the membrane already holds {held} bytes of topic messages not yet delivered (queued, delayed or being retried), and its limit on bytes across all topics is {limit}; subscribe to the topics, or publish less")]
    TooManyBytes {
        topic: String,
        bytes: usize,
        held: usize,
        limit: usize,
    },
    #[error("is {delay:?}, longer than the longest delay a topic message may have, {limit:?}")]
    DelayTooLong { delay: Duration, limit: Duration },
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
    /// A broker whose timer task runs on `tasks` until `shutdown`.
    pub(crate) fn start(
        settings: TopicDelivery,
        limits: TopicLimits,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Self> {
        Arc::new_cyclic(|broker| Self {
            topics: Mutex::new(HashMap::new()),
            settings,
            budget: Budget::new(limits),
            timer: Timer::start(broker.clone(), shutdown.clone(), &tasks),
            shutdown,
            tasks,
            abandoned: AtomicUsize::new(0),
        })
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
        let limit = self.budget.limits().longest_delay();
        if delay > limit {
            return Err(PublishError::DelayTooLong { delay, limit });
        }
        let bytes = message.encoded_len();
        let held = self
            .budget
            .reserve(bytes)
            .map_err(|exceeded| match exceeded {
                Exceeded::Messages(limit) => PublishError::TooManyMessages {
                    topic: topic.clone(),
                    limit,
                },
                Exceeded::Bytes { limit, held } => PublishError::TooManyBytes {
                    topic: topic.clone(),
                    bytes,
                    held,
                    limit,
                },
            })?;
        let message = Arc::new(Published {
            topic,
            message,
            held,
        });
        if delay.is_zero() {
            self.fan_out(message);
        } else {
            tracing::debug!(topic = %message.topic, ?delay, "message accepted; delivered after its delay");
            if !self.timer.after(delay, Due::Publish(message)) {
                return Err(PublishError::ShuttingDown);
            }
        }
        Ok(())
    }

    /// Starts a copy of `message` towards every subscriber of its topic, or
    /// queues it when there is none.
    fn fan_out(self: &Arc<Self>, message: Arc<Published>) {
        let mut topics = lock(&self.topics);
        let topic = topics.entry(message.topic.clone()).or_default();
        if topic.subscribers.is_empty() {
            Self::enqueue(topic, Delivery { message, failed: 0 });
            return;
        }
        for subscriber in &topic.subscribers {
            let delivery = Delivery {
                message: message.clone(),
                failed: 0,
            };
            self.send_copy(delivery, subscriber.clone());
        }
    }

    /// Queues `delivery` in `topic` until a subscriber registers.
    fn enqueue(topic: &mut Topic, delivery: Delivery) {
        tracing::info!(
            topic = %delivery.message.topic,
            queued = topic.queued.len() + 1,
            failed_attempts = delivery.failed,
            "no subscriber for the topic; message queued in memory until one registers"
        );
        topic.queued.push_back(delivery);
    }

    /// Starts one attempt to deliver `delivery` to `subscriber`.
    fn send_copy(self: &Arc<Self>, delivery: Delivery, subscriber: Arc<SubscriberStream>) {
        self.tasks
            .spawn(delivery::attempt(self.clone(), delivery, subscriber));
    }

    /// Tries `delivery` again after `backoff`, at `previous` if it still
    /// subscribes then.
    fn retry_after(&self, backoff: Duration, delivery: Delivery, previous: Arc<SubscriberStream>) {
        if !self.timer.after(backoff, Due::Retry(delivery, previous)) {
            self.abandon(1);
        }
    }

    /// Called by the timer when a wait ends.
    fn on_due(self: &Arc<Self>, due: Due) {
        match due {
            Due::Publish(message) => self.fan_out(message),
            Due::Retry(delivery, previous) => {
                if let Some((delivery, target)) = self.next_target(delivery, &previous) {
                    self.send_copy(delivery, target);
                }
            }
        }
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
            self.send_copy(delivery, stream.clone());
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
    /// delivery waits in the topic's queue and `None` is returned.
    fn next_target(
        &self,
        delivery: Delivery,
        previous: &Arc<SubscriberStream>,
    ) -> Option<(Delivery, Arc<SubscriberStream>)> {
        let mut topics = lock(&self.topics);
        let topic = topics.entry(delivery.message.topic.clone()).or_default();
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
        Self::enqueue(topic, delivery);
        None
    }

    /// Counts `copies` given up because the membrane is stopping.
    fn abandon(&self, copies: usize) {
        self.abandoned.fetch_add(copies, Ordering::Relaxed);
    }

    /// Logs how many messages were still queued or on their way when the
    /// membrane stopped, and forgets the queued ones. Call once the
    /// membrane's tasks have ended.
    pub(crate) fn report_undelivered(&self) {
        let queued: usize = lock(&self.topics)
            .values_mut()
            .map(|topic| std::mem::take(&mut topic.queued).len())
            .sum();
        let delayed_or_in_flight = self.abandoned.swap(0, Ordering::Relaxed);
        let dropped = queued + delayed_or_in_flight;
        if dropped > 0 {
            tracing::warn!(
                queued,
                delayed_or_in_flight,
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

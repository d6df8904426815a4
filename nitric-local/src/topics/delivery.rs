//! Delivering a copy of a message to one subscriber: the settings
//! ([`TopicDelivery`], part of [`Config`](crate::Config)), one attempt,
//! what follows a failure (a jittered backoff, then another attempt, or the
//! message dropped), and the log line when the message is dropped.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use super::stream::SubscriberStream;
use super::{payload, Delivery, Published, TopicBroker};

/// How a topic message is delivered to each subscriber stream. Internal:
/// the defaults are the membrane's behaviour; tests shorten them to run
/// fast.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDelivery {
    /// Attempts per subscriber before the message is dropped (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each one.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long a subscriber may take to answer before the attempt fails.
    pub answer_timeout: Duration,
}

impl Default for TopicDelivery {
    fn default() -> Self {
        Self {
            max_attempts: super::MAX_ATTEMPTS,
            first_backoff: super::FIRST_BACKOFF,
            max_backoff: super::MAX_BACKOFF,
            answer_timeout: super::ANSWER_TIMEOUT,
        }
    }
}

impl TopicDelivery {
    /// The wait after the `failed`-th failed attempt (counting from 1):
    /// `first_backoff` doubled `failed - 1` times, at most `max_backoff`
    /// (before jitter).
    pub(crate) fn backoff(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// The dropped-message log shows at most this many characters of the
/// payload's JSON.
pub(super) const LOGGED_PAYLOAD_CHARS: usize = 200;

/// Offers `delivery` to `target` once. On failure, schedules the next
/// attempt after a jittered backoff, or drops the message after the last
/// attempt. The task ends then: a copy waiting for its retry is an entry
/// in the broker's timer, not a task.
pub(super) async fn attempt(
    broker: Arc<TopicBroker>,
    mut delivery: Delivery,
    target: Arc<SubscriberStream>,
) {
    let settings = &broker.settings;
    let max_attempts = settings.max_attempts.max(1);
    let attempt = delivery.failed + 1;
    let failure = match target
        .offer(&delivery.message, settings.answer_timeout, &broker.shutdown)
        .await
    {
        Ok(()) => {
            tracing::debug!(topic = %delivery.message.topic, attempt, "message delivered");
            return;
        }
        Err(_) if broker.shutdown.is_cancelled() => {
            broker.abandon(1);
            return;
        }
        Err(failure) => failure,
    };
    delivery.failed = attempt;
    if attempt >= max_attempts {
        log_dropped(
            &delivery.message,
            &format!("{attempt} delivery attempts failed, the last because {failure}"),
        );
        return;
    }
    let backoff = jittered(settings.backoff(attempt));
    tracing::warn!(
        topic = %delivery.message.topic,
        attempt,
        max_attempts,
        ?backoff,
        "topic message delivery failed ({failure}); retrying"
    );
    broker.retry_after(backoff, delivery, target);
}

/// `backoff` less a random part of up to half of it, so that the retries
/// of messages that failed together do not all come back together.
fn jittered(backoff: Duration) -> Duration {
    // A fresh `RandomState` is randomly keyed: hashing nothing with it
    // gives a random number, without a dependency for it.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = (random >> 11) as f64 / (1u64 << 53) as f64; // in [0, 1)
    backoff.mul_f64(1.0 - fraction / 2.0)
}

/// Logs that `message` is dropped for good, so nothing disappears
/// silently: its topic, its size, and the start of its payload (never the
/// whole of a large one).
pub(super) fn log_dropped(message: &Published, why: &dyn std::fmt::Display) {
    tracing::error!(
        topic = %message.topic,
        bytes = message.bytes(),
        payload = %payload::preview(&message.message, LOGGED_PAYLOAD_CHARS),
        "topic message DROPPED: {why}"
    );
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use nitric_protocol::prost_types::{value::Kind, Struct, Value};
    use nitric_protocol::topics::v1::{topic_message::Content, TopicMessage};
    use prost::Message;

    use super::super::limits::{Budget, TopicLimits};
    use super::super::stream::Failure;
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let delivery = TopicDelivery {
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..TopicDelivery::default()
        };
        let waits: Vec<u128> = (1..=6)
            .map(|failed| delivery.backoff(failed).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(delivery.backoff(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn a_failure_reads_as_a_reason() {
        let failure = Failure::TimedOut(std::time::Duration::from_secs(30));
        assert_eq!(
            format!("8 delivery attempts failed, the last because {failure}"),
            "8 delivery attempts failed, the last because the subscriber did not answer within 30s"
        );
    }

    #[test]
    fn the_jitter_keeps_between_half_and_all_of_the_backoff_and_varies() {
        let backoff = Duration::from_millis(1000);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(backoff)).collect();
        assert!(waits
            .iter()
            .all(|wait| *wait > backoff / 2 && *wait <= backoff));
        let first = waits[0];
        assert!(waits.iter().any(|wait| *wait != first), "{waits:?}");
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_dropped_message_log_shows_topic_size_and_only_the_start_of_the_payload() {
        let text = "x".repeat(10_000);
        let message = TopicMessage {
            content: Some(Content::StructPayload(Struct {
                fields: [(
                    "text".to_owned(),
                    Value {
                        kind: Some(Kind::StringValue(text.clone())),
                    },
                )]
                .into(),
            })),
        };
        let bytes = message.encoded_len();
        let budget = Budget::new(TopicLimits::default());
        let published = Published {
            topic: "jobs".to_owned(),
            message,
            held: budget.reserve(bytes).unwrap(),
        };

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            log_dropped(&published, &"8 delivery attempts failed");
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();

        assert!(
            log.contains("topic message DROPPED: 8 delivery attempts failed"),
            "{log}"
        );
        assert!(log.contains("topic=jobs"), "{log}");
        assert!(log.contains(&format!("bytes={bytes}")), "{log}");
        let shown = format!("{{\"text\":\"{}", "x".repeat(LOGGED_PAYLOAD_CHARS - 9));
        assert!(log.contains(&format!("payload={shown}…")), "{log}");
        assert!(!log.contains(&"x".repeat(LOGGED_PAYLOAD_CHARS)), "{log}");
        assert!(log.len() < 1000, "{} bytes logged", log.len());
    }
}

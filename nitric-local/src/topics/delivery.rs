//! One copy of a message on its way to one subscriber: attempts, the
//! backoff between them, and the log line when the message is dropped.

use std::sync::Arc;

use super::stream::SubscriberStream;
use super::{payload, Delivery, Published, TopicBroker};

/// Offers `delivery` to `target` until it is answered `success = true`,
/// retrying with a backoff. Ends when the message is delivered, dropped,
/// queued for lack of subscribers, or the membrane stops.
pub(super) async fn run(
    broker: Arc<TopicBroker>,
    mut delivery: Delivery,
    mut target: Arc<SubscriberStream>,
) {
    let settings = &broker.settings;
    let max_attempts = settings.max_attempts.max(1);
    loop {
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
                broker.abandon();
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
        let backoff = settings.backoff(attempt);
        tracing::warn!(
            topic = %delivery.message.topic,
            attempt,
            max_attempts,
            ?backoff,
            "topic message delivery failed ({failure}); retrying"
        );
        if !broker.sleep_unless_stopping(backoff).await {
            return;
        }
        match broker.next_target(delivery, &target) {
            Some((next, stream)) => {
                delivery = next;
                target = stream;
            }
            // Queued until the topic has a subscriber again, or dropped.
            None => return,
        }
    }
}

/// Logs that `message` is dropped for good, with its payload, so nothing
/// disappears silently.
pub(super) fn log_dropped(message: &Published, why: &dyn std::fmt::Display) {
    tracing::error!(
        topic = %message.topic,
        payload = %payload::to_json(&message.message),
        "topic message DROPPED: {why}"
    );
}

#[cfg(test)]
mod tests {
    use super::super::stream::Failure;

    #[test]
    fn a_failure_reads_as_a_reason() {
        let failure = Failure::TimedOut(std::time::Duration::from_secs(30));
        assert_eq!(
            format!("8 delivery attempts failed, the last because {failure}"),
            "8 delivery attempts failed, the last because the subscriber did not answer within 30s"
        );
    }
}

//! `Topics.Publish`: the application publishes a message to a topic, now or
//! after a delay. The call returns once the message is accepted; delivery to
//! the topic's subscribers happens in the background (see
//! [`crate::topics`]), and a message for a topic nobody subscribes to yet
//! waits in memory for a subscriber.

use std::sync::Arc;
use std::time::Duration;

use nitric_protocol::resources::v1::Action;
use nitric_protocol::topics::v1::topics_server::Topics;
use nitric_protocol::topics::v1::{
    topic_message::Content, TopicMessage, TopicPublishRequest, TopicPublishResponse,
};
use tonic::{Request, Response, Status};

use crate::policies::Policies;
use crate::topics::{PublishError, TopicBroker};

pub(super) struct TopicsService {
    broker: Arc<TopicBroker>,
    policies: Arc<Policies>,
}

impl TopicsService {
    pub(super) fn new(broker: Arc<TopicBroker>, policies: Arc<Policies>) -> Self {
        Self { broker, policies }
    }
}

#[tonic::async_trait]
impl Topics for TopicsService {
    async fn publish(
        &self,
        request: Request<TopicPublishRequest>,
    ) -> Result<Response<TopicPublishResponse>, Status> {
        let request = request.into_inner();
        if request.topic_name.is_empty() {
            return Err(Status::invalid_argument(
                "TopicPublishRequest.topic_name is empty: name the topic to publish to",
            ));
        }
        self.policies
            .require(Action::TopicPublish, &request.topic_name)?;
        let message = match request.message {
            Some(message @ TopicMessage {
                content: Some(Content::StructPayload(_)),
            }) => message,
            Some(TopicMessage { content: None }) => {
                return Err(Status::invalid_argument(format!(
                    "the message published to topic \"{}\" has no struct_payload: a topic message is a JSON object",
                    request.topic_name
                )))
            }
            None => {
                return Err(Status::invalid_argument(format!(
                    "TopicPublishRequest.message is missing: nothing to publish to topic \"{}\"",
                    request.topic_name
                )))
            }
        };
        let delay = match request.delay {
            Some(delay) => delay_of(delay).map_err(|problem| {
                Status::invalid_argument(format!(
                    "TopicPublishRequest.delay of the message to topic \"{}\" {problem}",
                    request.topic_name
                ))
            })?,
            None => Duration::ZERO,
        };
        let topic = request.topic_name.clone();
        self.broker
            .publish(request.topic_name, message, delay)
            .map_err(|error| refused(&topic, error))?;
        Ok(Response::new(TopicPublishResponse {}))
    }
}

/// The status answering a message for `topic` the broker did not accept.
fn refused(topic: &str, error: PublishError) -> Status {
    let status = match error {
        PublishError::TooManyMessages { .. } | PublishError::TooManyBytes { .. } => {
            Status::resource_exhausted(error.to_string())
        }
        PublishError::DelayTooLong { .. } => Status::invalid_argument(format!(
            "TopicPublishRequest.delay of the message to topic \"{topic}\" {error}"
        )),
        PublishError::ShuttingDown => Status::unavailable(error.to_string()),
    };
    tracing::warn!(error = %status.message(), "publish refused");
    status
}

/// A protobuf `Duration` as a delay, or what is wrong with it (worded to
/// follow "the delay ...").
fn delay_of(delay: nitric_protocol::prost_types::Duration) -> Result<Duration, String> {
    const NANOS_PER_SECOND: i32 = 1_000_000_000;
    let nitric_protocol::prost_types::Duration { seconds, nanos } = delay;
    if nanos <= -NANOS_PER_SECOND || nanos >= NANOS_PER_SECOND {
        return Err(format!(
            "is invalid: nanos {nanos} is not within ±999999999"
        ));
    }
    if (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0) {
        return Err(format!(
            "is invalid: seconds {seconds} and nanos {nanos} have different signs"
        ));
    }
    if seconds < 0 || nanos < 0 {
        return Err(format!(
            "is negative ({seconds}s {nanos}ns): a message cannot be delivered before it is published"
        ));
    }
    // Both are non-negative here, and nanos is below one second.
    Ok(Duration::new(seconds.unsigned_abs(), nanos.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::prost_types;

    fn delay(seconds: i64, nanos: i32) -> Result<Duration, String> {
        delay_of(prost_types::Duration { seconds, nanos })
    }

    #[test]
    fn valid_delays_convert_exactly() {
        assert_eq!(delay(0, 0), Ok(Duration::ZERO));
        assert_eq!(delay(2, 500_000_000), Ok(Duration::from_millis(2500)));
        assert_eq!(delay(0, 999_999_999), Ok(Duration::new(0, 999_999_999)));
    }

    #[test]
    fn negative_and_malformed_delays_are_refused() {
        assert!(delay(-1, 0).unwrap_err().starts_with("is negative"));
        assert!(delay(0, -1).unwrap_err().starts_with("is negative"));
        assert!(delay(0, 1_000_000_000).unwrap_err().contains("nanos"));
        assert!(delay(1, -1).unwrap_err().contains("different signs"));
    }
}

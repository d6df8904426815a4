//! One timer for every topic message that waits: delayed publishes and
//! retries after a backoff. A single task drives a timer wheel
//! ([`DelayQueue`]), so a waiting message costs an entry, not a task.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::time::DelayQueue;

use super::stream::SubscriberStream;
use super::{Delivery, Published, TopicBroker};

/// What is due when its wait ends.
pub(super) enum Due {
    /// A delayed message, to fan out to its topic's subscribers.
    Publish(Arc<Published>),
    /// A copy whose backoff ended, to try again (at the stream it failed on
    /// if that still subscribes).
    Retry(Delivery, Arc<SubscriberStream>),
}

/// The handle the broker schedules with.
pub(super) struct Timer {
    schedule: mpsc::UnboundedSender<(Due, Duration)>,
}

impl Timer {
    /// Starts the timer's task; what falls due goes to `broker`. The task
    /// ends when the membrane stops, counting what still waited as
    /// abandoned.
    pub(super) fn start(
        broker: Weak<TopicBroker>,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let (schedule, scheduled) = mpsc::unbounded_channel();
        tasks.spawn(run(scheduled, broker, shutdown));
        Self { schedule }
    }

    /// Hands `due` to the broker after `wait`. `false` if the timer has
    /// stopped (the membrane is stopping).
    pub(super) fn after(&self, wait: Duration, due: Due) -> bool {
        self.schedule.send((due, wait)).is_ok()
    }
}

async fn run(
    mut scheduled: mpsc::UnboundedReceiver<(Due, Duration)>,
    broker: Weak<TopicBroker>,
    shutdown: CancellationToken,
) {
    let mut wheel = DelayQueue::new();
    loop {
        // Unbiased: a stream of new entries cannot starve the expiries.
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some((due, wait)) = scheduled.recv() => {
                wheel.insert(due, wait);
            }
            Some(expired) = wheel.next(), if !wheel.is_empty() => {
                let Some(broker) = broker.upgrade() else { break };
                broker.on_due(expired.into_inner());
            }
            else => break,
        }
    }
    scheduled.close();
    let mut waiting = wheel.len();
    while scheduled.try_recv().is_ok() {
        waiting += 1;
    }
    if let Some(broker) = broker.upgrade() {
        broker.abandon(waiting);
    }
}

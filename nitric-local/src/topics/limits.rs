//! How much the topics may hold in memory, and the longest delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lock;

/// Bounds on the topic messages a membrane holds in memory, across all
/// topics.
///
/// A message is held from the moment `Publish` accepts it until it is
/// delivered to every subscriber or dropped: while it waits for a
/// subscriber, for its delay, for a retry, or for a subscriber's answer. A
/// `Publish` that would go beyond a bound is refused with
/// RESOURCE_EXHAUSTED naming the bound; one asking for a delay beyond
/// [`max_delay`](Self::max_delay) with INVALID_ARGUMENT.
///
/// ```
/// use std::time::Duration;
/// use nitric_local::TopicLimits;
///
/// let limits = TopicLimits::default();
/// assert_eq!(limits.max_messages, 10_000);
/// assert_eq!(limits.max_bytes, 64 * 1024 * 1024);
/// assert_eq!(limits.max_delay, Duration::from_secs(7 * 24 * 60 * 60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicLimits {
    /// Messages held at once. Default 10 000.
    pub max_messages: usize,
    /// Bytes of payload held at once (each payload counted at its protobuf
    /// size). Default 64 MiB.
    pub max_bytes: usize,
    /// The longest delay a `Publish` may ask for. Default 7 days; values
    /// beyond [`TopicLimits::LONGEST_DELAY`] count as that.
    pub max_delay: Duration,
}

impl TopicLimits {
    /// The longest `max_delay` the membrane's timer supports: 365 days.
    pub const LONGEST_DELAY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// The longest delay a publish may ask for.
    pub(crate) fn longest_delay(&self) -> Duration {
        self.max_delay.min(Self::LONGEST_DELAY)
    }
}

impl Default for TopicLimits {
    fn default() -> Self {
        Self {
            max_messages: 10_000,
            max_bytes: 64 * 1024 * 1024,
            max_delay: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// Which bound a refused message would have gone beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// `max_messages`, with its value.
    Messages(usize),
    /// `max_bytes`, with its value and the bytes already held.
    Bytes { limit: usize, held: usize },
}

/// What the messages held so far use of the [`TopicLimits`].
pub(super) struct Budget {
    limits: TopicLimits,
    /// (messages, bytes) held.
    held: Mutex<(usize, usize)>,
}

/// One message's share of the budget, given back when dropped.
pub(super) struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub(super) fn new(limits: TopicLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            held: Mutex::new((0, 0)),
        })
    }

    pub(super) fn limits(&self) -> &TopicLimits {
        &self.limits
    }

    /// Reserves room for one message of `bytes`, or says which bound it
    /// would exceed.
    pub(super) fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, Exceeded> {
        let mut held = lock(&self.held);
        let (messages, held_bytes) = *held;
        if messages >= self.limits.max_messages {
            return Err(Exceeded::Messages(self.limits.max_messages));
        }
        if held_bytes.saturating_add(bytes) > self.limits.max_bytes {
            return Err(Exceeded::Bytes {
                limit: self.limits.max_bytes,
                held: held_bytes,
            });
        }
        *held = (messages + 1, held_bytes + bytes);
        Ok(Reservation {
            budget: self.clone(),
            bytes,
        })
    }

    /// (messages, bytes) held now.
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize) {
        *lock(&self.held)
    }
}

impl Reservation {
    /// The bytes this message counts for.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = lock(&self.budget.held);
        held.0 -= 1;
        held.1 -= self.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_messages: usize, max_bytes: usize) -> Arc<Budget> {
        Budget::new(TopicLimits {
            max_messages,
            max_bytes,
            ..TopicLimits::default()
        })
    }

    #[test]
    fn the_message_count_is_bounded_and_given_back() {
        let budget = budget(2, 1000);
        let first = budget.reserve(10).unwrap();
        let _second = budget.reserve(10).unwrap();
        assert_eq!(budget.reserve(10).err(), Some(Exceeded::Messages(2)));
        drop(first);
        assert!(budget.reserve(10).is_ok());
    }

    #[test]
    fn the_bytes_are_bounded_and_given_back() {
        let budget = budget(100, 1000);
        let first = budget.reserve(600).unwrap();
        assert_eq!(
            budget.reserve(401).err(),
            Some(Exceeded::Bytes {
                limit: 1000,
                held: 600
            })
        );
        let second = budget.reserve(400).unwrap();
        assert_eq!(budget.held(), (2, 1000));
        drop((first, second));
        assert_eq!(budget.held(), (0, 0));
    }

    #[test]
    fn the_longest_delay_is_capped_by_the_timer() {
        let limits = TopicLimits {
            max_delay: Duration::MAX,
            ..TopicLimits::default()
        };
        assert_eq!(limits.longest_delay(), TopicLimits::LONGEST_DELAY);
    }
}

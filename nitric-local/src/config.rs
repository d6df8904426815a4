//! What a local membrane listens on and where it keeps its data.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::topics::{self, TopicLimits};

/// Settings for [`start`](crate::start).
///
/// Build one from [`Config::default`] and change only what you need:
///
/// ```
/// use nitric_local::Config;
///
/// let config = Config {
///     ws_port: 0, // every websocket gets a free port
///     announce: false,
///     ..Config::default()
/// };
/// assert_eq!(config.grpc_addr.to_string(), "127.0.0.1:50051");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the gRPC services listen; the application's `SERVICE_ADDRESS`.
    /// Port 0 picks a free port (see [`LocalMembrane::grpc_addr`](crate::LocalMembrane::grpc_addr)).
    /// Default `127.0.0.1:50051`, the address the official SDKs assume.
    pub grpc_addr: SocketAddr,
    /// The address the websocket gateways bind to. Default `127.0.0.1`, so
    /// nothing outside this machine can connect unless asked for.
    pub ws_host: IpAddr,
    /// The port of the first websocket's gateway; each further websocket
    /// takes the next port (4001, 4002, ...). 0 gives every websocket a free
    /// port. Default 4001.
    pub ws_port: u16,
    /// The folder holding the key/value database, created if missing.
    /// Default `.nitric`, relative to the working directory.
    pub data_dir: PathBuf,
    /// Print `websocket "NAME" listening on URL` on stdout when a
    /// websocket's gateway starts. Default `true`.
    pub announce: bool,
    /// Refuse, with PERMISSION_DENIED, every key/value, topic and websocket
    /// call that the application's declared policies do not allow, as the
    /// cloud does (see the crate docs, "Policies"). Default `true`; the
    /// binary's `--no-enforce-policies` sets `false`, which allows every
    /// call.
    pub enforce_policies: bool,
    /// How many topic messages, and how many bytes of them, the membrane
    /// holds at most, and the longest delay a message may ask for (see
    /// [`TopicLimits`]). Default 10 000 messages, 64 MiB, 7 days.
    pub topic_limits: TopicLimits,
    /// How messages are delivered to topic subscribers. Internal: tests
    /// shorten the backoff; everyone else keeps the default.
    #[doc(hidden)]
    pub topic_delivery: TopicDelivery,
}

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
            max_attempts: topics::MAX_ATTEMPTS,
            first_backoff: topics::FIRST_BACKOFF,
            max_backoff: topics::MAX_BACKOFF,
            answer_timeout: topics::ANSWER_TIMEOUT,
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

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50051),
            ws_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ws_port: 4001,
            data_dir: PathBuf::from(".nitric"),
            announce: true,
            enforce_policies: true,
            topic_limits: TopicLimits::default(),
            topic_delivery: TopicDelivery::default(),
        }
    }
}

#[cfg(test)]
mod tests {
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
}

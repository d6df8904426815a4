//! What a local membrane listens on, where it keeps its data, and the
//! limits its websocket gateways enforce.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::topics::{self, TopicLimits};

const KIB: usize = 1024;

/// The variable holding extra allowed origins (comma-separated, `*` for
/// any), read by [`Config::from_env`] and the `nitric-local` binary.
pub const ALLOWED_ORIGINS_ENV: &str = "NITRIC_LOCAL_ALLOWED_ORIGINS";

/// A setting that cannot be used, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// [`Config::default`] with what the environment sets:
    /// `NITRIC_LOCAL_ALLOWED_ORIGINS` (comma-separated origins, `*` for any)
    /// becomes [`Config::allowed_origins`].
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Ok(origins) = std::env::var(ALLOWED_ORIGINS_ENV) {
            config.allowed_origins = parse_origins(&origins).map_err(|reason| {
                ConfigError(format!("{ALLOWED_ORIGINS_ENV}={origins:?}: {reason}"))
            })?;
        }
        Ok(config)
    }
}

/// Reads a comma-separated list of origins (`https://example.com`,
/// `http://127.0.0.1:8080`, `null`, or `*`) as [`Config::allowed_origins`]
/// holds them: each lowercased, without a trailing `/`.
///
/// ```
/// assert_eq!(
///     nitric_local::parse_origins("https://App.example/, null").unwrap(),
///     ["https://app.example", "null"]
/// );
/// assert!(nitric_local::parse_origins("app.example").is_err());
/// ```
pub fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for entry in list
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let origin = entry.trim_end_matches('/').to_ascii_lowercase();
        let valid = origin == "*"
            || origin == "null"
            || origin.split_once("://").is_some_and(|(scheme, host)| {
                !scheme.is_empty() && !host.is_empty() && !host.contains('/')
            });
        if !valid {
            return Err(format!(
                "`{entry}` is not an origin: expected scheme://host[:port] (such as https://example.com), null, or *"
            ));
        }
        origins.push(origin);
    }
    Ok(origins)
}

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
    /// Browser origins allowed to open websockets, besides the ones always
    /// allowed: requests without an `Origin` header (non-browser clients)
    /// and loopback origins (`http(s)://localhost`, `127.0.0.0/8` and
    /// `[::1]`, any port), and the gateway's own page served under an IP
    /// address (`Origin` is `http://` + the request's `Host`, an IP address
    /// and port; a host name could be rebound by a foreign page). Each entry is an origin such as
    /// `https://example.com:8443`, `null` (pages opened from `file://`), or
    /// `*` for any origin. Others are refused with HTTP 403. Default: none
    /// besides those; [`Config::from_env`] reads
    /// `NITRIC_LOCAL_ALLOWED_ORIGINS` (comma-separated).
    pub allowed_origins: Vec<String>,
    /// The largest websocket message, in bytes, in either direction: a
    /// client sending a bigger one is closed with 1009 ("message too big"),
    /// and a `SendMessage` with more data is refused with
    /// INVALID_ARGUMENT. Default 128 KiB, as on AWS API Gateway.
    pub max_message_size: usize,
    /// The largest frame a client may send, in bytes; bigger closes the
    /// connection with 1009. Default 32 KiB, as on AWS API Gateway.
    pub max_frame_size: usize,
    /// The most bytes of messages queued for one client. A `SendMessage`
    /// that would queue more closes that client with 1008 ("policy
    /// violation") and fails with NOT_FOUND, as a client that has gone
    /// would, instead of waiting for the client. Default 1 MiB.
    pub max_queued_bytes: usize,
    /// How long one write to a client may take; a client that reads
    /// nothing for longer is disconnected. Default 10 s.
    pub write_timeout: Duration,
    /// A connection without a message in either direction for this long
    /// is closed with 1001 ("going away"). Default 10 minutes, as on AWS
    /// API Gateway.
    pub idle_timeout: Duration,
    /// A connection open this long is closed with 1001 ("going away").
    /// Default 2 hours, as on AWS API Gateway.
    pub max_connection_lifetime: Duration,
    /// The most connections one socket's gateway holds open (connections
    /// waiting for their connect handler included); more are refused with
    /// HTTP 503. Default 10 000.
    pub max_connections: usize,
    /// How long a client may take to send the headers of an HTTP request
    /// before its TCP connection is closed (against "slowloris" clients).
    /// Default 10 s.
    pub header_read_timeout: Duration,
    /// How often the gateway pings each client. Default 30 s.
    pub ping_interval: Duration,
    /// A client from which nothing (not even a pong) arrives for
    /// `ping_interval + pong_timeout` while the gateway reads is taken for
    /// a half-open connection and dropped. Default 10 s.
    pub pong_timeout: Duration,
    /// How long the application has to answer a websocket event. An
    /// unanswered connect refuses the upgrade with HTTP 504; after an
    /// unanswered message the connection's next frame is read. Default
    /// 29 s, the integration timeout of AWS API Gateway.
    pub event_timeout: Duration,
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
            allowed_origins: Vec::new(),
            max_message_size: 128 * KIB,
            max_frame_size: 32 * KIB,
            max_queued_bytes: 1024 * KIB,
            write_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10 * 60),
            max_connection_lifetime: Duration::from_secs(2 * 60 * 60),
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            event_timeout: Duration::from_secs(29),
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

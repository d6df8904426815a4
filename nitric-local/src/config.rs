//! The one [`Config`] of a local membrane: what it listens on, where it
//! keeps its data, and the limits its websocket gateways enforce; and
//! reading it from the environment and from text (`128KiB`, `10s`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::schedules::ScheduleTiming;
use crate::topics::{TopicDelivery, TopicLimits};

const KIB: usize = 1024;

/// The variable holding extra allowed origins (comma-separated, `*` for
/// any), read by [`Config::from_env`] and the `nitric-local` binary.
pub const ALLOWED_ORIGINS_ENV: &str = "NITRIC_LOCAL_ALLOWED_ORIGINS";

/// A setting that cannot be used, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The variables [`Config::with_env`] reads, each setting the field of
/// the same name.
pub const ENV_VARIABLES: [&str; 9] = [
    "NITRIC_LOCAL_GRPC_ADDR",
    "NITRIC_LOCAL_WS_PORT",
    "NITRIC_LOCAL_API_PORT",
    "NITRIC_LOCAL_DATA_DIR",
    ALLOWED_ORIGINS_ENV,
    "NITRIC_LOCAL_MAX_MESSAGE_SIZE",
    "NITRIC_LOCAL_MAX_FRAME_SIZE",
    "NITRIC_LOCAL_MAX_QUEUED_BYTES",
    "NITRIC_LOCAL_SCHEDULE_MINUTE",
];

/// The most bytes a gRPC message can carry: its length prefix has 32 bits.
const GRPC_MESSAGE_CEILING: usize = u32::MAX as usize;

/// Room for what surrounds a websocket message's bytes in a gRPC message
/// (event and connection ids, socket name, field tags).
const ENVELOPE: usize = 16 * KIB;

/// tonic's default limit on a decoded message; the membrane never accepts
/// less, so key/value and topic calls are unaffected by a small
/// `max_message_size`.
const TONIC_DEFAULT_LIMIT: usize = 4 * KIB * KIB;

impl Config {
    /// [`Config::default`] with what the environment sets (see
    /// [`Config::with_env`]).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::default().with_env(|name| std::env::var(name).ok())
    }

    /// The settings of a membrane embedded in an application: as
    /// [`Config::default`], but without a TCP listener for gRPC
    /// ([`Config::grpc_addr`] `None`): the application reaches it
    /// in-process ([`LocalMembrane::in_process`](crate::LocalMembrane::in_process)).
    /// [`Config::trim_memory`] stays off: the process is the application's.
    ///
    /// ```
    /// assert_eq!(nitric_local::Config::embedded().grpc_addr, None);
    /// ```
    pub fn embedded() -> Config {
        Config {
            grpc_addr: None,
            ..Config::default()
        }
    }

    /// This config with what the variables of [`ENV_VARIABLES`] set,
    /// looked up by `lookup`: `NITRIC_LOCAL_GRPC_ADDR` (an address, or
    /// `off` for no listener), `NITRIC_LOCAL_WS_PORT`, `NITRIC_LOCAL_API_PORT`,
    /// `NITRIC_LOCAL_DATA_DIR`, `NITRIC_LOCAL_ALLOWED_ORIGINS`
    /// (comma-separated origins, `*` for any), and the sizes
    /// `NITRIC_LOCAL_MAX_MESSAGE_SIZE`, `NITRIC_LOCAL_MAX_FRAME_SIZE` and
    /// `NITRIC_LOCAL_MAX_QUEUED_BYTES` (`128KiB`, see [`parse_size`]), and
    /// `NITRIC_LOCAL_SCHEDULE_MINUTE` (how long a minute of a schedule's
    /// rate lasts, such as `1s`, see [`parse_duration`]). A bad value is an
    /// error naming the variable.
    ///
    /// ```
    /// use nitric_local::Config;
    ///
    /// let config = Config::embedded().with_env(|name| match name {
    ///     "NITRIC_LOCAL_GRPC_ADDR" => Some("127.0.0.1:6000".into()),
    ///     "NITRIC_LOCAL_MAX_MESSAGE_SIZE" => Some("1MiB".into()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.grpc_addr, Some("127.0.0.1:6000".parse().unwrap()));
    /// assert_eq!(config.max_message_size, 1024 * 1024);
    /// # Ok::<(), nitric_local::ConfigError>(())
    /// ```
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        for name in ENV_VARIABLES {
            let Some(value) = lookup(name) else { continue };
            let invalid = |reason: String| ConfigError(format!("{name}={value:?}: {reason}"));
            let trimmed = value.trim();
            match name {
                "NITRIC_LOCAL_GRPC_ADDR" => {
                    self.grpc_addr = match trimmed {
                        "" | "off" => None,
                        address => Some(address.parse().map_err(|_| {
                            invalid(
                            "expected an IP address and port, such as 127.0.0.1:50051, or `off`"
                                .into(),
                        )
                        })?),
                    }
                }
                "NITRIC_LOCAL_WS_PORT" => {
                    self.ws_port = trimmed
                        .parse()
                        .map_err(|_| invalid("is not a port number (0-65535)".into()))?;
                }
                "NITRIC_LOCAL_API_PORT" => {
                    self.api_port = trimmed
                        .parse()
                        .map_err(|_| invalid("is not a port number (0-65535)".into()))?;
                }
                "NITRIC_LOCAL_DATA_DIR" => {
                    if trimmed.is_empty() {
                        return Err(invalid("expected a directory path".into()));
                    }
                    self.data_dir = PathBuf::from(value.clone());
                }
                ALLOWED_ORIGINS_ENV => {
                    self.allowed_origins = parse_origins(&value).map_err(invalid)?
                }
                "NITRIC_LOCAL_MAX_MESSAGE_SIZE" => {
                    self.max_message_size = parse_size(trimmed).map_err(invalid)?;
                }
                "NITRIC_LOCAL_MAX_FRAME_SIZE" => {
                    self.max_frame_size = parse_size(trimmed).map_err(invalid)?;
                }
                "NITRIC_LOCAL_MAX_QUEUED_BYTES" => {
                    self.max_queued_bytes = parse_size(trimmed).map_err(invalid)?;
                }
                "NITRIC_LOCAL_SCHEDULE_MINUTE" => {
                    self.schedule_timing.minute = parse_duration(trimmed).map_err(invalid)?;
                }
                _ => unreachable!("every name of ENV_VARIABLES is read"),
            }
        }
        Ok(self)
    }

    /// Checks that every setting can be served, naming the first one that
    /// cannot: a message size the gRPC path cannot carry, or one that a
    /// client's queue could never hold. [`start`](crate::start) checks this
    /// first.
    ///
    /// ```
    /// let config = nitric_local::Config {
    ///     max_message_size: 2 * 1024 * 1024,
    ///     max_queued_bytes: 1024 * 1024,
    ///     ..Default::default()
    /// };
    /// let error = config.validate().unwrap_err().to_string();
    /// assert!(error.contains("max_queued_bytes"), "{error}");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let size = self.max_message_size;
        if size == 0 {
            return Err(ConfigError(
                "max_message_size is 0: no message could be sent".into(),
            ));
        }
        if size > GRPC_MESSAGE_CEILING - ENVELOPE {
            return Err(ConfigError(format!(
                "max_message_size of {size} bytes is more than a gRPC message carries: at most {} bytes (4 GiB less {} KiB for the event around it)",
                GRPC_MESSAGE_CEILING - ENVELOPE,
                ENVELOPE / KIB
            )));
        }
        if self.max_queued_bytes < size {
            return Err(ConfigError(format!(
                "max_queued_bytes ({}) is less than max_message_size ({size}): a message of the largest size could never be queued for a client; raise max_queued_bytes (--max-queued-bytes, NITRIC_LOCAL_MAX_QUEUED_BYTES) too",
                self.max_queued_bytes
            )));
        }
        if self.max_frame_size == 0 {
            return Err(ConfigError(
                "max_frame_size is 0: no frame could be read".into(),
            ));
        }
        if self.schedule_timing.minute.is_zero() {
            return Err(ConfigError(
                "schedule_timing.minute is 0: every rate would fire without pause".into(),
            ));
        }
        Ok(())
    }

    /// This config with every timer of the gateways at least 1 ms long: a
    /// zero duration would make a timer fire at once, or never.
    /// [`start`](crate::start) runs the membrane with it.
    pub(crate) fn with_usable_timers(self) -> Config {
        let at_least_1ms = |duration: Duration| duration.max(Duration::from_millis(1));
        Config {
            write_timeout: at_least_1ms(self.write_timeout),
            idle_timeout: at_least_1ms(self.idle_timeout),
            max_connection_lifetime: at_least_1ms(self.max_connection_lifetime),
            header_read_timeout: at_least_1ms(self.header_read_timeout),
            ping_interval: at_least_1ms(self.ping_interval),
            event_timeout: at_least_1ms(self.event_timeout),
            ..self
        }
    }

    /// The largest gRPC message the membrane decodes and encodes: room for
    /// the largest websocket message and its envelope, and never less than
    /// tonic's default.
    pub(crate) fn grpc_message_limit(&self) -> usize {
        self.max_message_size
            .saturating_add(ENVELOPE)
            .clamp(TONIC_DEFAULT_LIMIT, GRPC_MESSAGE_CEILING)
    }
}

/// Reads a size in bytes: `131072`, `128KiB`, `1MiB`; more than 0.
///
/// ```
/// assert_eq!(nitric_local::parse_size("128KiB"), Ok(128 * 1024));
/// assert!(nitric_local::parse_size("0").is_err());
/// ```
pub fn parse_size(value: &str) -> Result<usize, String> {
    let expected = || "expected a size in bytes, such as 131072, 128KiB or 1MiB".to_owned();
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, ""),
    };
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => KIB,
        "mib" => KIB * KIB,
        "gib" => KIB * KIB * KIB,
        _ => return Err(expected()),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .filter(|bytes| *bytes > 0)
        .ok_or_else(expected)
}

/// Reads a duration longer than 0: `500ms`, `10s`, `10m`, `2h`,
/// `1m 30s`, `5 minutes` (any duration [`humantime`] reads), or a bare
/// number of seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(nitric_local::parse_duration("29s"), Ok(Duration::from_secs(29)));
/// assert_eq!(nitric_local::parse_duration("10"), Ok(Duration::from_secs(10)));
/// assert_eq!(nitric_local::parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
/// assert!(nitric_local::parse_duration("0s").is_err());
/// ```
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    const EXAMPLES: &str = "such as 500ms, 10s, 10m, 2h or 1m 30s";
    let value = value.trim();
    let duration = if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds = value
            .parse()
            .map_err(|_| format!("{value} seconds is too long a duration"))?;
        Duration::from_secs(seconds)
    } else {
        humantime::parse_duration(value)
            .map_err(|error| format!("expected a duration, {EXAMPLES} ({error})"))?
    };
    if duration.is_zero() {
        return Err(format!("expected a duration longer than 0, {EXAMPLES}"));
    }
    Ok(duration)
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
/// assert_eq!(config.grpc_addr, Some("127.0.0.1:50051".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the gRPC services listen over TCP; the application's
    /// `SERVICE_ADDRESS`. Port 0 picks a free port (see
    /// [`LocalMembrane::grpc_addr`](crate::LocalMembrane::grpc_addr)).
    /// Default `127.0.0.1:50051`, the address the official SDKs assume.
    ///
    /// `None` opens no listener: only the process that started the
    /// membrane reaches it, through
    /// [`LocalMembrane::in_process`](crate::LocalMembrane::in_process). Any
    /// process of this machine can connect to a loopback listener, and
    /// every call on it acts as the application (declare policies, read
    /// its stores, send to its clients), so an application embedding the
    /// membrane listens only when asked.
    pub grpc_addr: Option<SocketAddr>,
    /// The address the websocket gateways bind to. Default `127.0.0.1`, so
    /// nothing outside this machine can connect unless asked for.
    pub ws_host: IpAddr,
    /// The port of the first websocket's gateway; each further websocket
    /// takes the next port (4001, 4002, ...). 0 gives every websocket a free
    /// port. Default 4001.
    pub ws_port: u16,
    /// The port of the first HTTP API's listener (bound on
    /// [`Config::ws_host`]); each further API takes the next port (4100,
    /// 4101, ...). 0 gives every API a free port. Default 4100.
    pub api_port: u16,
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
    /// HTTP 503. Each HTTP API's listener holds as many TCP connections
    /// at most (idle keep-alive ones included); a request on one more is
    /// answered 503 and its connection closed. Default 10 000.
    pub max_connections: usize,
    /// How long a client may take to send the headers of an HTTP request
    /// before its TCP connection is closed (against "slowloris" clients),
    /// on a websocket gateway and on an API's listener; there, an idle
    /// keep-alive connection gets as long to start its next request.
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
    /// After a burst of websocket connections opened or closed, ask the C
    /// library to give the memory it freed back to the system (glibc's
    /// `malloc_trim`; elsewhere this does nothing). That call works on the
    /// heap of the whole process, the application's allocations included,
    /// so it is for a membrane that has its process to itself: the
    /// `nitric-local` binary turns it on. Default `false`, as in
    /// [`Config::embedded`].
    pub trim_memory: bool,
    /// How many topic messages, and how many bytes of them, the membrane
    /// holds at most, and the longest delay a message may ask for (see
    /// [`TopicLimits`]). Default 10 000 messages, 64 MiB, 7 days.
    pub topic_limits: TopicLimits,
    /// How messages are delivered to topic subscribers. Internal: tests
    /// shorten the backoff; everyone else keeps the default.
    #[doc(hidden)]
    pub topic_delivery: TopicDelivery,
    /// How schedules keep time: how long a minute of a rate lasts (one
    /// minute, unless shortened to watch an "every 5 minutes" schedule fire
    /// while developing, `NITRIC_LOCAL_SCHEDULE_MINUTE=1s`) and how long a
    /// schedule's handler may take. Cron expressions keep the wall clock.
    pub schedule_timing: ScheduleTiming,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50051)),
            ws_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ws_port: 4001,
            api_port: 4100,
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
            trim_memory: false,
            topic_limits: TopicLimits::default(),
            topic_delivery: TopicDelivery::default(),
            schedule_timing: ScheduleTiming::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_sizes_the_path_cannot_carry_are_refused_naming_the_setting() {
        assert_eq!(Config::default().validate(), Ok(()));
        let refused = |config: Config| config.validate().unwrap_err().to_string();
        assert!(refused(Config {
            max_message_size: 0,
            ..Config::default()
        })
        .contains("max_message_size is 0"));
        assert!(refused(Config {
            max_message_size: GRPC_MESSAGE_CEILING,
            max_queued_bytes: usize::MAX,
            ..Config::default()
        })
        .contains("more than a gRPC message carries"));
        assert!(refused(Config {
            max_message_size: 2 * KIB * KIB,
            ..Config::default()
        })
        .contains("max_queued_bytes (1048576) is less than max_message_size (2097152)"));
        // The largest size that fits still works, and sizes the gRPC limit.
        let largest = Config {
            max_message_size: GRPC_MESSAGE_CEILING - ENVELOPE,
            max_queued_bytes: usize::MAX,
            ..Config::default()
        };
        assert_eq!(largest.validate(), Ok(()));
        assert_eq!(largest.grpc_message_limit(), GRPC_MESSAGE_CEILING);
        assert_eq!(Config::default().grpc_message_limit(), TONIC_DEFAULT_LIMIT);
    }

    #[test]
    fn a_schedule_minute_of_zero_is_refused() {
        let config = Config {
            schedule_timing: ScheduleTiming {
                minute: Duration::ZERO,
                ..ScheduleTiming::default()
            },
            ..Config::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("schedule_timing.minute is 0"), "{error}");
    }

    #[test]
    fn durations_take_units_words_and_bare_seconds_but_not_zero() {
        let parsed = |value| parse_duration(value).unwrap().as_millis();
        assert_eq!(parsed("500ms"), 500);
        assert_eq!(parsed("10 s"), 10_000);
        assert_eq!(parsed("10m"), 600_000);
        assert_eq!(parsed("2h"), 7_200_000);
        assert_eq!(parsed("5 minutes"), 300_000);
        assert_eq!(parsed(" 1m 30s "), 90_000);
        assert_eq!(parsed("45"), 45_000);
        for zero in ["0", "0s", "0ms"] {
            assert_eq!(
                parse_duration(zero).unwrap_err(),
                "expected a duration longer than 0, such as 500ms, 10s, 10m, 2h or 1m 30s"
            );
        }
        let unit = parse_duration("12KB").unwrap_err();
        assert!(
            unit.starts_with("expected a duration, such as 500ms") && unit.contains("\"KB\""),
            "{unit}"
        );
        for bad in ["", "soon", "-1s", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn variables_set_their_fields_and_bad_values_name_the_variable() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let config = Config::default()
            .with_env(vars(&[
                ("NITRIC_LOCAL_GRPC_ADDR", "off"),
                ("NITRIC_LOCAL_WS_PORT", "0"),
                ("NITRIC_LOCAL_MAX_FRAME_SIZE", "64KiB"),
                ("NITRIC_LOCAL_MAX_QUEUED_BYTES", "4MiB"),
            ]))
            .unwrap();
        assert_eq!(config.grpc_addr, None);
        assert_eq!(config.ws_port, 0);
        assert_eq!(config.max_frame_size, 64 * KIB);
        assert_eq!(config.max_queued_bytes, 4 * KIB * KIB);
        for (name, value) in [
            ("NITRIC_LOCAL_GRPC_ADDR", "localhost"),
            ("NITRIC_LOCAL_WS_PORT", "70000"),
            ("NITRIC_LOCAL_DATA_DIR", " "),
            ("NITRIC_LOCAL_MAX_MESSAGE_SIZE", "-1"),
        ] {
            let error = Config::default()
                .with_env(|asked| (asked == name).then(|| value.to_owned()))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(&format!("{name}={value:?}: ")), "{error}");
        }
    }
}

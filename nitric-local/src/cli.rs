//! The `nitric-local` command line: flags in, a [`Config`] out.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use nitric_local::{parse_duration, parse_size, Config};

/// Printed for `--help` and after every flag error.
pub(crate) const USAGE: &str = "\
Usage: nitric-local [OPTIONS]

Runs a local Nitric membrane: the gRPC services a Nitric application talks to
(point its SERVICE_ADDRESS here), a websocket gateway per socket, and an
on-disk key/value store.

Options:
  --grpc-addr <addr>  gRPC listen address [default: 127.0.0.1:50051]
  --ws-port <port>    port of the first websocket gateway; later sockets take
                      the next ports; 0 picks free ports [default: 4001]
  --host <ip>         address the websocket gateways bind to [default: 127.0.0.1]
  --data-dir <path>   where the key/value database lives [default: .nitric]
  --no-enforce-policies
                      allow every call, whatever policies the app declared
                      (by default an undeclared permission is refused with
                      PERMISSION_DENIED, as in the cloud)
  -h, --help          print this help

Limits of the websocket gateways (sizes in bytes, or with KiB/MiB; durations
with ms, s, m or h, seconds if bare):
  --allowed-origins <list>        browser origins allowed besides loopback ones,
                                  comma-separated, * for any
                                  [default: $NITRIC_LOCAL_ALLOWED_ORIGINS, or none]
  --max-message-size <size>       largest message either way [default: 128KiB]
  --max-frame-size <size>         largest frame a client sends [default: 32KiB]
  --max-queued-bytes <size>       most queued for one client [default: 1MiB]
  --write-timeout <duration>      longest write to a client [default: 10s]
  --idle-timeout <duration>       close after this long without a message [default: 10m]
  --max-connection-lifetime <duration>
                                  close connections open this long [default: 2h]
  --max-connections <count>       most connections per socket [default: 10000]
  --header-read-timeout <duration>
                                  time to send HTTP request headers [default: 10s]
  --ping-interval <duration>      how often clients are pinged [default: 30s]
  --pong-timeout <duration>       how long a pong may take [default: 10s]
  --event-timeout <duration>      how long the app may take to answer an event
                                  [default: 29s]

Environment variables set the same settings before the flags (which win):
NITRIC_LOCAL_GRPC_ADDR, NITRIC_LOCAL_WS_PORT, NITRIC_LOCAL_DATA_DIR,
NITRIC_LOCAL_ALLOWED_ORIGINS, NITRIC_LOCAL_MAX_MESSAGE_SIZE,
NITRIC_LOCAL_MAX_FRAME_SIZE, NITRIC_LOCAL_MAX_QUEUED_BYTES.
A --max-message-size above --max-queued-bytes is refused at startup: no
client's queue could hold such a message.

Logging follows RUST_LOG (default: info), on stderr.";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Run(Box<Config>),
    Help,
}

/// A command line that cannot be run, with what is wrong in it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FlagError {
    #[error("unknown argument `{0}`")]
    Unknown(String),
    #[error("`{flag}` needs a value")]
    MissingValue { flag: &'static str },
    #[error("`{flag}` was given more than once")]
    Repeated { flag: &'static str },
    #[error("invalid value `{value}` for `{flag}`: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
}

/// The one switch (a flag without a value).
const NO_ENFORCE_POLICIES: &str = "--no-enforce-policies";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flag {
    GrpcAddr,
    WsPort,
    Host,
    DataDir,
    AllowedOrigins,
    MaxMessageSize,
    MaxFrameSize,
    MaxQueuedBytes,
    WriteTimeout,
    IdleTimeout,
    MaxConnectionLifetime,
    MaxConnections,
    HeaderReadTimeout,
    PingInterval,
    PongTimeout,
    EventTimeout,
}

impl Flag {
    const ALL: [Flag; 16] = [
        Flag::GrpcAddr,
        Flag::WsPort,
        Flag::Host,
        Flag::DataDir,
        Flag::AllowedOrigins,
        Flag::MaxMessageSize,
        Flag::MaxFrameSize,
        Flag::MaxQueuedBytes,
        Flag::WriteTimeout,
        Flag::IdleTimeout,
        Flag::MaxConnectionLifetime,
        Flag::MaxConnections,
        Flag::HeaderReadTimeout,
        Flag::PingInterval,
        Flag::PongTimeout,
        Flag::EventTimeout,
    ];

    fn name(self) -> &'static str {
        match self {
            Flag::GrpcAddr => "--grpc-addr",
            Flag::WsPort => "--ws-port",
            Flag::Host => "--host",
            Flag::DataDir => "--data-dir",
            Flag::AllowedOrigins => "--allowed-origins",
            Flag::MaxMessageSize => "--max-message-size",
            Flag::MaxFrameSize => "--max-frame-size",
            Flag::MaxQueuedBytes => "--max-queued-bytes",
            Flag::WriteTimeout => "--write-timeout",
            Flag::IdleTimeout => "--idle-timeout",
            Flag::MaxConnectionLifetime => "--max-connection-lifetime",
            Flag::MaxConnections => "--max-connections",
            Flag::HeaderReadTimeout => "--header-read-timeout",
            Flag::PingInterval => "--ping-interval",
            Flag::PongTimeout => "--pong-timeout",
            Flag::EventTimeout => "--event-timeout",
        }
    }
}

/// Parses the arguments after the program name; flags change `config`
/// (the defaults with what the environment sets).
pub(crate) fn parse<I>(args: I, config: Config) -> Result<Command, FlagError>
where
    I: IntoIterator<Item = String>,
{
    let mut config = config;
    let mut seen: Vec<Flag> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg == NO_ENFORCE_POLICIES {
            if !config.enforce_policies {
                return Err(FlagError::Repeated {
                    flag: NO_ENFORCE_POLICIES,
                });
            }
            config.enforce_policies = false;
            continue;
        }
        // Both `--flag value` and `--flag=value`.
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let flag = Flag::ALL
            .into_iter()
            .find(|flag| flag.name() == name)
            .ok_or_else(|| FlagError::Unknown(arg.clone()))?;
        if seen.contains(&flag) {
            return Err(FlagError::Repeated { flag: flag.name() });
        }
        seen.push(flag);
        let value = match inline_value {
            Some(value) => value,
            None => args
                .next()
                .filter(|value| !value.starts_with("--"))
                .ok_or(FlagError::MissingValue { flag: flag.name() })?,
        };
        apply(&mut config, flag, value)?;
    }
    Ok(Command::Run(Box::new(config)))
}

fn apply(config: &mut Config, flag: Flag, value: String) -> Result<(), FlagError> {
    let invalid = |reason: String| FlagError::Invalid {
        flag: flag.name(),
        value: value.clone(),
        reason,
    };
    match flag {
        Flag::GrpcAddr => {
            config.grpc_addr = Some(value.parse::<SocketAddr>().map_err(|_| {
                invalid("expected an IP address and port, such as 127.0.0.1:50051".into())
            })?);
        }
        Flag::WsPort => {
            config.ws_port = value.parse::<u16>().map_err(|_| {
                invalid("expected a port number from 0 to 65535 (0 picks free ports)".into())
            })?;
        }
        Flag::Host => {
            config.ws_host = value.parse::<IpAddr>().map_err(|_| {
                invalid("expected an IP address, such as 127.0.0.1 or 0.0.0.0".into())
            })?;
        }
        Flag::DataDir => {
            if value.is_empty() {
                return Err(invalid("expected a directory path".into()));
            }
            config.data_dir = PathBuf::from(value);
        }
        Flag::AllowedOrigins => {
            config.allowed_origins = nitric_local::parse_origins(&value).map_err(invalid)?;
        }
        Flag::MaxMessageSize => config.max_message_size = parse_size(&value).map_err(invalid)?,
        Flag::MaxFrameSize => config.max_frame_size = parse_size(&value).map_err(invalid)?,
        Flag::MaxQueuedBytes => config.max_queued_bytes = parse_size(&value).map_err(invalid)?,
        Flag::WriteTimeout => config.write_timeout = parse_duration(&value).map_err(invalid)?,
        Flag::IdleTimeout => config.idle_timeout = parse_duration(&value).map_err(invalid)?,
        Flag::MaxConnectionLifetime => {
            config.max_connection_lifetime = parse_duration(&value).map_err(invalid)?;
        }
        Flag::MaxConnections => {
            config.max_connections = value
                .parse::<usize>()
                .ok()
                .filter(|count| *count > 0)
                .ok_or_else(|| invalid("expected a number of connections, at least 1".into()))?;
        }
        Flag::HeaderReadTimeout => {
            config.header_read_timeout = parse_duration(&value).map_err(invalid)?;
        }
        Flag::PingInterval => config.ping_interval = parse_duration(&value).map_err(invalid)?,
        Flag::PongTimeout => config.pong_timeout = parse_duration(&value).map_err(invalid)?,
        Flag::EventTimeout => config.event_timeout = parse_duration(&value).map_err(invalid)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse_args(args: &[&str]) -> Result<Command, FlagError> {
        parse(args.iter().map(|arg| arg.to_string()), Config::default())
    }

    fn config(args: &[&str]) -> Config {
        match parse_args(args) {
            Ok(Command::Run(config)) => *config,
            other => panic!("expected a config, got {other:?}"),
        }
    }

    #[test]
    fn no_flags_give_the_defaults() {
        assert_eq!(config(&[]), Config::default());
    }

    #[test]
    fn every_flag_sets_its_field_in_both_spellings() {
        let parsed = config(&[
            "--grpc-addr",
            "0.0.0.0:6000",
            "--ws-port=0",
            "--host",
            "::1",
            "--data-dir=/tmp/state",
        ]);
        assert_eq!(parsed.grpc_addr, Some("0.0.0.0:6000".parse().unwrap()));
        assert_eq!(parsed.ws_port, 0);
        assert_eq!(parsed.ws_host, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(parsed.data_dir, PathBuf::from("/tmp/state"));
        assert!(parsed.announce);
    }

    #[test]
    fn every_limit_has_a_flag() {
        let parsed = config(&[
            "--allowed-origins",
            "https://App.example/, null",
            "--max-message-size=64KiB",
            "--max-frame-size",
            "1024",
            "--max-queued-bytes=2MiB",
            "--write-timeout=500ms",
            "--idle-timeout=5m",
            "--max-connection-lifetime=1h",
            "--max-connections=7",
            "--header-read-timeout=2",
            "--ping-interval=15s",
            "--pong-timeout=3s",
            "--event-timeout=100ms",
        ]);
        assert_eq!(parsed.allowed_origins, ["https://app.example", "null"]);
        assert_eq!(parsed.max_message_size, 64 * 1024);
        assert_eq!(parsed.max_frame_size, 1024);
        assert_eq!(parsed.max_queued_bytes, 2 * 1024 * 1024);
        assert_eq!(parsed.write_timeout, Duration::from_millis(500));
        assert_eq!(parsed.idle_timeout, Duration::from_secs(300));
        assert_eq!(parsed.max_connection_lifetime, Duration::from_secs(3600));
        assert_eq!(parsed.max_connections, 7);
        assert_eq!(parsed.header_read_timeout, Duration::from_secs(2));
        assert_eq!(parsed.ping_interval, Duration::from_secs(15));
        assert_eq!(parsed.pong_timeout, Duration::from_secs(3));
        assert_eq!(parsed.event_timeout, Duration::from_millis(100));
    }

    #[test]
    fn flags_override_what_the_environment_set() {
        let from_env = Config {
            allowed_origins: vec!["https://env.example".into()],
            ..Config::default()
        };
        let kept = parse(std::iter::empty(), from_env.clone()).unwrap();
        assert_eq!(kept, Command::Run(Box::new(from_env.clone())));
        let Ok(Command::Run(replaced)) = parse(["--allowed-origins=*".to_owned()], from_env) else {
            panic!("expected a config");
        };
        assert_eq!(replaced.allowed_origins, ["*"]);
    }

    #[test]
    fn bad_limits_say_what_was_expected() {
        for args in [
            ["--max-message-size", "0"],
            ["--max-frame-size", "12KB"],
            ["--idle-timeout", "0s"],
            ["--event-timeout", "soon"],
            ["--max-connections", "0"],
            ["--allowed-origins", "example.com"],
        ] {
            assert!(
                matches!(parse_args(&args), Err(FlagError::Invalid { .. })),
                "{args:?}"
            );
        }
        assert_eq!(
            parse_args(&["--allowed-origins", "example.com"])
                .unwrap_err()
                .to_string(),
            "invalid value `example.com` for `--allowed-origins`: `example.com` is not an origin: expected scheme://host[:port] (such as https://example.com), null, or *"
        );
    }

    #[test]
    fn help_wins_over_everything_else() {
        assert_eq!(parse_args(&["--ws-port", "1", "--help"]), Ok(Command::Help));
        assert_eq!(parse_args(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn unknown_arguments_are_named() {
        assert_eq!(
            parse_args(&["--port", "1"]),
            Err(FlagError::Unknown("--port".into()))
        );
        assert_eq!(
            parse_args(&["serve"]).unwrap_err().to_string(),
            "unknown argument `serve`"
        );
    }

    #[test]
    fn a_flag_without_its_value_is_refused() {
        assert_eq!(
            parse_args(&["--ws-port"]),
            Err(FlagError::MissingValue { flag: "--ws-port" })
        );
        assert_eq!(
            parse_args(&["--data-dir", "--ws-port", "1"]),
            Err(FlagError::MissingValue { flag: "--data-dir" })
        );
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        assert_eq!(
            parse_args(&["--ws-port", "70000"]).unwrap_err().to_string(),
            "invalid value `70000` for `--ws-port`: expected a port number from 0 to 65535 (0 picks free ports)"
        );
        assert!(matches!(
            parse_args(&["--grpc-addr", "localhost"]),
            Err(FlagError::Invalid {
                flag: "--grpc-addr",
                ..
            })
        ));
        assert!(matches!(
            parse_args(&["--host", "127.0.0.1:80"]),
            Err(FlagError::Invalid { flag: "--host", .. })
        ));
        assert!(matches!(
            parse_args(&["--data-dir="]),
            Err(FlagError::Invalid {
                flag: "--data-dir",
                ..
            })
        ));
    }

    #[test]
    fn policies_are_enforced_unless_switched_off() {
        assert!(config(&[]).enforce_policies);
        assert!(!config(&["--no-enforce-policies", "--ws-port", "0"]).enforce_policies);
        assert_eq!(
            parse_args(&["--no-enforce-policies", "--no-enforce-policies"]),
            Err(FlagError::Repeated {
                flag: "--no-enforce-policies"
            })
        );
    }

    #[test]
    fn repeating_a_flag_is_refused() {
        assert_eq!(
            parse_args(&["--ws-port", "1", "--ws-port", "2"]),
            Err(FlagError::Repeated { flag: "--ws-port" })
        );
    }
}

//! The `nitric-local` command line: flags in, a [`Config`] out.
//!
//! clap parses the flags. The environment variables are not clap `env`
//! fallbacks: [`Config::from_env`] reads them before the flags, because
//! - an embedded membrane reads the same variables through
//!   [`Config::with_env`], so one reader keeps their meaning the same in
//!   both places (`NITRIC_LOCAL_GRPC_ADDR=off` for no listener, trimmed
//!   values);
//! - its errors name the variable (`NITRIC_LOCAL_WS_PORT="x": ...`), where
//!   clap's would name the flag, which the person never typed.
//!
//! The help lists each flag's variable.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

// Through the library, so that this file also builds where the binary is a
// target of another package (the workspace's test crate).
use nitric_local::__cli::clap::{self, Parser};
use nitric_local::{parse_duration, parse_origins, parse_size, Config, ENV_VARIABLES};

/// The websocket limits' section of the help.
const LIMITS: &str = "Limits of the websocket gateways";

/// The command line of `nitric-local`; each flag given replaces its
/// setting.
#[derive(Debug, Parser)]
#[command(
    name = "nitric-local",
    about = "Runs a local Nitric membrane: the gRPC services a Nitric application talks to\n\
             (point its SERVICE_ADDRESS here), a websocket gateway per socket, and an\n\
             on-disk key/value store.",
    after_help = after_help()
)]
pub(crate) struct Flags {
    /// gRPC listen address [default: 127.0.0.1:50051] [env: NITRIC_LOCAL_GRPC_ADDR]
    #[arg(long, value_name = "addr", value_parser = socket_addr)]
    grpc_addr: Option<SocketAddr>,
    /// Port of the first websocket gateway; later sockets take the next
    /// ports; 0 picks free ports [default: 4001] [env: NITRIC_LOCAL_WS_PORT]
    #[arg(long, value_name = "port", value_parser = port)]
    ws_port: Option<u16>,
    /// Port of the first HTTP API; later APIs take the next ports; 0 picks
    /// free ports [default: 4100] [env: NITRIC_LOCAL_API_PORT]
    #[arg(long, value_name = "port", value_parser = port)]
    api_port: Option<u16>,
    /// Address the websocket gateways bind to [default: 127.0.0.1]
    #[arg(long, value_name = "ip", value_parser = ip_addr)]
    host: Option<IpAddr>,
    /// Where the key/value database lives [default: .nitric] [env: NITRIC_LOCAL_DATA_DIR]
    #[arg(long, value_name = "path", value_parser = directory)]
    data_dir: Option<PathBuf>,
    /// Allow every call, whatever policies the app declared (by default an
    /// undeclared permission is refused with PERMISSION_DENIED, as in the
    /// cloud)
    #[arg(long)]
    no_enforce_policies: bool,
    /// How long a minute of a schedule's rate lasts: 1s makes "5 minutes"
    /// fire every 5 seconds while developing; cron expressions keep the
    /// wall clock [default: 1m] [env: NITRIC_LOCAL_SCHEDULE_MINUTE]
    #[arg(long, value_name = "duration", value_parser = parse_duration)]
    schedule_minute: Option<Duration>,

    /// Browser origins allowed besides loopback ones, comma-separated, * for
    /// any [default: none] [env: NITRIC_LOCAL_ALLOWED_ORIGINS]
    #[arg(long, value_name = "list", value_parser = parse_origins, help_heading = LIMITS)]
    allowed_origins: Option<Origins>,
    /// Largest message either way [default: 128KiB] [env: NITRIC_LOCAL_MAX_MESSAGE_SIZE]
    #[arg(long, value_name = "size", value_parser = parse_size, help_heading = LIMITS)]
    max_message_size: Option<usize>,
    /// Largest frame a client sends [default: 32KiB] [env: NITRIC_LOCAL_MAX_FRAME_SIZE]
    #[arg(long, value_name = "size", value_parser = parse_size, help_heading = LIMITS)]
    max_frame_size: Option<usize>,
    /// Most bytes queued for one client [default: 1MiB] [env: NITRIC_LOCAL_MAX_QUEUED_BYTES]
    #[arg(long, value_name = "size", value_parser = parse_size, help_heading = LIMITS)]
    max_queued_bytes: Option<usize>,
    /// Longest write to a client [default: 10s]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    write_timeout: Option<Duration>,
    /// Close after this long without a message [default: 10m]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    idle_timeout: Option<Duration>,
    /// Close connections open this long [default: 2h]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    max_connection_lifetime: Option<Duration>,
    /// Most connections per socket or API [default: 10000]
    #[arg(long, value_name = "count", value_parser = connection_count, help_heading = LIMITS)]
    max_connections: Option<usize>,
    /// Time to send HTTP request headers [default: 10s]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    header_read_timeout: Option<Duration>,
    /// How often clients are pinged [default: 30s]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    ping_interval: Option<Duration>,
    /// How long a pong may take [default: 10s]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    pong_timeout: Option<Duration>,
    /// How long the app may take to answer an event [default: 29s]
    #[arg(long, value_name = "duration", value_parser = parse_duration, help_heading = LIMITS)]
    event_timeout: Option<Duration>,
}

/// One value holding a list: an alias, because clap takes a field typed
/// `Vec<_>` for a flag given once per item.
type Origins = Vec<String>;

/// The config `args` (the program name first) ask for: `config` (the
/// defaults with what the environment sets) with each flag given. An
/// error is clap's, to [`exit`](clap::Error::exit) with: the usage and
/// status 2, or the help (`-h`, `--help`) and status 0.
pub(crate) fn config<I, T>(args: I, config: Config) -> Result<Config, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Ok(Flags::try_parse_from(args)?.apply(config))
}

impl Flags {
    fn apply(self, mut config: Config) -> Config {
        fn set<T>(field: &mut T, flag: Option<T>) {
            if let Some(value) = flag {
                *field = value;
            }
        }
        set(&mut config.grpc_addr, self.grpc_addr.map(Some));
        set(&mut config.ws_port, self.ws_port);
        set(&mut config.api_port, self.api_port);
        set(&mut config.ws_host, self.host);
        set(&mut config.data_dir, self.data_dir);
        if self.no_enforce_policies {
            config.enforce_policies = false;
        }
        set(&mut config.schedule_timing.minute, self.schedule_minute);
        set(&mut config.allowed_origins, self.allowed_origins);
        set(&mut config.max_message_size, self.max_message_size);
        set(&mut config.max_frame_size, self.max_frame_size);
        set(&mut config.max_queued_bytes, self.max_queued_bytes);
        set(&mut config.write_timeout, self.write_timeout);
        set(&mut config.idle_timeout, self.idle_timeout);
        set(
            &mut config.max_connection_lifetime,
            self.max_connection_lifetime,
        );
        set(&mut config.max_connections, self.max_connections);
        set(&mut config.header_read_timeout, self.header_read_timeout);
        set(&mut config.ping_interval, self.ping_interval);
        set(&mut config.pong_timeout, self.pong_timeout);
        set(&mut config.event_timeout, self.event_timeout);
        config
    }
}

fn after_help() -> String {
    format!(
        "Sizes are in bytes, or with KiB, MiB or GiB; durations have a unit (500ms, 10s,\n\
         10m, 2h, 1m 30s) or are seconds if bare.\n\
         \n\
         Environment variables set the same settings before the flags (which win):\n  \
         {}\n\
         NITRIC_LOCAL_GRPC_ADDR=off opens no gRPC listener.\n\
         A --max-message-size above --max-queued-bytes is refused at startup: no\n\
         client's queue could hold such a message.\n\
         \n\
         Logging follows RUST_LOG (default: info), on stderr.",
        ENV_VARIABLES.join("\n  ")
    )
}

fn socket_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| "expected an IP address and port, such as 127.0.0.1:50051".into())
}

fn port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| "expected a port number from 0 to 65535 (0 picks free ports)".into())
}

fn ip_addr(value: &str) -> Result<IpAddr, String> {
    value
        .parse()
        .map_err(|_| "expected an IP address, such as 127.0.0.1 or 0.0.0.0".into())
}

fn directory(value: &str) -> Result<PathBuf, String> {
    if value.is_empty() {
        return Err("expected a directory path".into());
    }
    Ok(PathBuf::from(value))
}

fn connection_count(value: &str) -> Result<usize, String> {
    value
        .parse()
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| "expected a number of connections, at least 1".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let args = std::iter::once("nitric-local").chain(args.iter().copied());
        super::config(args, Config::default())
    }

    fn parsed(args: &[&str]) -> Config {
        parse(args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }

    /// The error's message, without clap's styling.
    fn refusal(args: &[&str]) -> (ErrorKind, String) {
        let error = parse(args).expect_err("refused");
        (error.kind(), error.render().to_string())
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Flags::command().debug_assert();
    }

    #[test]
    fn no_flags_give_the_defaults() {
        assert_eq!(parsed(&[]), Config::default());
    }

    #[test]
    fn every_flag_sets_its_field_in_both_spellings() {
        let config = parsed(&[
            "--grpc-addr",
            "0.0.0.0:6000",
            "--ws-port=0",
            "--host",
            "::1",
            "--data-dir=/tmp/state",
        ]);
        assert_eq!(config.grpc_addr, Some("0.0.0.0:6000".parse().unwrap()));
        assert_eq!(config.ws_port, 0);
        assert_eq!(config.ws_host, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/tmp/state"));
        assert!(config.announce);
    }

    #[test]
    fn every_limit_has_a_flag() {
        let config = parsed(&[
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
        assert_eq!(config.allowed_origins, ["https://app.example", "null"]);
        assert_eq!(config.max_message_size, 64 * 1024);
        assert_eq!(config.max_frame_size, 1024);
        assert_eq!(config.max_queued_bytes, 2 * 1024 * 1024);
        assert_eq!(config.write_timeout, Duration::from_millis(500));
        assert_eq!(config.idle_timeout, Duration::from_secs(300));
        assert_eq!(config.max_connection_lifetime, Duration::from_secs(3600));
        assert_eq!(config.max_connections, 7);
        assert_eq!(config.header_read_timeout, Duration::from_secs(2));
        assert_eq!(config.ping_interval, Duration::from_secs(15));
        assert_eq!(config.pong_timeout, Duration::from_secs(3));
        assert_eq!(config.event_timeout, Duration::from_millis(100));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        let config = parsed(&["--idle-timeout", "1m 30s", "--event-timeout=5 minutes"]);
        assert_eq!(config.idle_timeout, Duration::from_secs(90));
        assert_eq!(config.event_timeout, Duration::from_secs(300));
    }

    #[test]
    fn flags_override_what_the_environment_set() {
        let from_env = Config {
            allowed_origins: vec!["https://env.example".into()],
            grpc_addr: None,
            ..Config::default()
        };
        let kept = super::config(["nitric-local"], from_env.clone()).unwrap();
        assert_eq!(kept, from_env);
        let replaced = super::config(
            [
                "nitric-local",
                "--allowed-origins=*",
                "--grpc-addr=127.0.0.1:1",
            ],
            from_env,
        )
        .unwrap();
        assert_eq!(replaced.allowed_origins, ["*"]);
        assert_eq!(replaced.grpc_addr, Some("127.0.0.1:1".parse().unwrap()));
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        for args in [
            ["--max-message-size", "0"],
            ["--max-frame-size", "12KB"],
            ["--idle-timeout", "0s"],
            ["--event-timeout", "soon"],
            ["--max-connections", "0"],
            ["--allowed-origins", "example.com"],
            ["--grpc-addr", "localhost"],
            ["--host", "127.0.0.1:80"],
        ] {
            assert_eq!(refusal(&args).0, ErrorKind::ValueValidation, "{args:?}");
        }
        let (_, message) = refusal(&["--allowed-origins", "example.com"]);
        assert!(
            message.contains("invalid value 'example.com' for '--allowed-origins <list>': `example.com` is not an origin: expected scheme://host[:port] (such as https://example.com), null, or *"),
            "{message}"
        );
        let (_, message) = refusal(&["--ws-port", "70000"]);
        assert!(
            message.contains("expected a port number from 0 to 65535 (0 picks free ports)"),
            "{message}"
        );
        let (_, message) = refusal(&["--data-dir="]);
        assert!(message.contains("expected a directory path"), "{message}");
    }

    #[test]
    fn help_wins_over_the_other_flags() {
        assert_eq!(
            refusal(&["--ws-port", "1", "--help"]).0,
            ErrorKind::DisplayHelp
        );
        let (kind, help) = refusal(&["-h"]);
        assert_eq!(kind, ErrorKind::DisplayHelp);
        for shown in [
            "--data-dir <path>",
            "--allowed-origins <list>",
            "Limits of the websocket gateways",
            "NITRIC_LOCAL_MAX_QUEUED_BYTES",
        ] {
            assert!(help.contains(shown), "{shown} missing from\n{help}");
        }
    }

    #[test]
    fn unknown_arguments_missing_values_and_repeats_are_refused() {
        assert_eq!(refusal(&["--port", "1"]).0, ErrorKind::UnknownArgument);
        assert_eq!(refusal(&["serve"]).0, ErrorKind::UnknownArgument);
        assert_eq!(refusal(&["--ws-port"]).0, ErrorKind::InvalidValue);
        assert_eq!(
            refusal(&["--data-dir", "--ws-port", "1"]).0,
            ErrorKind::InvalidValue
        );
        assert_eq!(
            refusal(&["--ws-port", "1", "--ws-port", "2"]).0,
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            refusal(&["--no-enforce-policies", "--no-enforce-policies"]).0,
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn a_schedule_minute_can_be_shortened() {
        assert_eq!(parsed(&[]).schedule_timing.minute, Duration::from_secs(60));
        assert_eq!(
            parsed(&["--schedule-minute", "250ms"])
                .schedule_timing
                .minute,
            Duration::from_millis(250)
        );
        let (_, message) = refusal(&["--schedule-minute", "0s"]);
        assert!(message.contains("longer than 0"), "{message}");
    }

    #[test]
    fn policies_are_enforced_unless_switched_off() {
        assert!(parsed(&[]).enforce_policies);
        assert!(!parsed(&["--no-enforce-policies", "--ws-port", "0"]).enforce_policies);
    }

    #[test]
    fn the_defaults_in_the_help_are_the_config_defaults() {
        let defaults = Config::default();
        let help = Flags::command().render_help().to_string();
        for default in [
            defaults.grpc_addr.unwrap().to_string(),
            defaults.ws_port.to_string(),
            defaults.ws_host.to_string(),
            defaults.data_dir.display().to_string(),
            defaults.max_connections.to_string(),
        ] {
            assert!(
                help.contains(&format!("[default: {default}]")),
                "{default}\n{help}"
            );
        }
    }
}

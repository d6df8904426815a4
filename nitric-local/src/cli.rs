//! The `nitric-local` command line: flags in, a [`Config`] out.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use nitric_local::Config;

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

Logging follows RUST_LOG (default: info), on stderr.";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Run(Config),
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
}

impl Flag {
    const ALL: [Flag; 4] = [Flag::GrpcAddr, Flag::WsPort, Flag::Host, Flag::DataDir];

    fn name(self) -> &'static str {
        match self {
            Flag::GrpcAddr => "--grpc-addr",
            Flag::WsPort => "--ws-port",
            Flag::Host => "--host",
            Flag::DataDir => "--data-dir",
        }
    }
}

/// Parses the arguments after the program name.
pub(crate) fn parse<I>(args: I) -> Result<Command, FlagError>
where
    I: IntoIterator<Item = String>,
{
    let mut config = Config::default();
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
    Ok(Command::Run(config))
}

fn apply(config: &mut Config, flag: Flag, value: String) -> Result<(), FlagError> {
    let invalid = |reason: String| FlagError::Invalid {
        flag: flag.name(),
        value: value.clone(),
        reason,
    };
    match flag {
        Flag::GrpcAddr => {
            config.grpc_addr = value.parse::<SocketAddr>().map_err(|_| {
                invalid("expected an IP address and port, such as 127.0.0.1:50051".into())
            })?;
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
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, FlagError> {
        parse(args.iter().map(|arg| arg.to_string()))
    }

    fn config(args: &[&str]) -> Config {
        match parse_args(args) {
            Ok(Command::Run(config)) => config,
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
        assert_eq!(parsed.grpc_addr, "0.0.0.0:6000".parse().unwrap());
        assert_eq!(parsed.ws_port, 0);
        assert_eq!(parsed.ws_host, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(parsed.data_dir, PathBuf::from("/tmp/state"));
        assert!(parsed.announce);
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

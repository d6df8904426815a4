//! Where the membrane is and what kind of environment this is, read from the
//! variables Nitric sets.

use crate::error::Error;
use std::time::Duration;

/// The address the official SDKs use when `SERVICE_ADDRESS` is unset.
pub const DEFAULT_SERVICE_ADDRESS: &str = "127.0.0.1:50051";

/// The kind of environment, from `NITRIC_ENVIRONMENT`.
///
/// ```
/// use nitric_runtime::{Environment, Settings};
///
/// let settings = Settings::from_lookup(|name| (name == "NITRIC_ENVIRONMENT").then(|| "build".to_owned()))?;
/// assert_eq!(settings.environment, Environment::Build);
/// # Ok::<(), nitric_runtime::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Not set: a developer running the binary directly.
    Local,
    /// `build`: the Nitric CLI is collecting requirements. The service
    /// declares and registers everything, then exits 0 when the streams end.
    Build,
    /// `run`: under `nitric start`.
    Run,
    /// `cloud`: deployed.
    Cloud,
}

impl Environment {
    fn parse(value: Option<&str>) -> Result<Self, Error> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(Self::Local),
            Some("build") => Ok(Self::Build),
            Some("run") => Ok(Self::Run),
            Some("cloud") => Ok(Self::Cloud),
            Some(other) => Err(Error::Startup(format!(
                "NITRIC_ENVIRONMENT={other:?} is not one of build, run, cloud"
            ))),
        }
    }
}

/// Where the service finds its membrane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembraneLocation {
    /// A membrane already running at `host:port` (the Nitric CLI's, a
    /// cloud's, or a standalone `nitric-local`).
    Remote(String),
    /// Start the local membrane in this process (the `local` feature), on
    /// threads of its own, with these settings. [`Settings::from_lookup`]
    /// starts from [`nitric_local::Config::embedded`]
    /// (no gRPC listener) with the `NITRIC_LOCAL_*` variables applied
    /// ([`nitric_local::Config::with_env`]); its `event_timeout` is
    /// [`Settings::event_timeout`].
    #[cfg(feature = "local")]
    Embedded(Box<nitric_local::Config>),
}

/// Everything a service needs to know before it starts.
///
/// ```
/// use nitric_runtime::{Environment, MembraneLocation, Settings};
///
/// let settings = Settings::from_lookup(|name| match name {
///     "SERVICE_ADDRESS" => Some("127.0.0.1:50051".to_owned()),
///     "NITRIC_ENVIRONMENT" => Some("run".to_owned()),
///     _ => None,
/// })?;
/// assert_eq!(settings.membrane, MembraneLocation::Remote("127.0.0.1:50051".into()));
/// assert_eq!(settings.environment, Environment::Run);
/// # Ok::<(), nitric_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Where the membrane is.
    pub membrane: MembraneLocation,
    /// The kind of environment.
    pub environment: Environment,
    /// How long a stopping service waits for handlers in flight before it
    /// gives up and fails naming them (`NITRIC_SHUTDOWN_TIMEOUT`, seconds
    /// such as `2.5` or a duration such as `500ms`; default
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub shutdown_timeout: Duration,
    /// How long the membrane waits for a websocket event's answer
    /// (`NITRIC_EVENT_TIMEOUT`, seconds or a duration such as `10s`; default
    /// [`DEFAULT_EVENT_TIMEOUT`], AWS API Gateway's integration timeout).
    /// A handler without a `timeout` of its own is cancelled once it
    /// passes, since no one awaits its answer any more; the embedded
    /// membrane waits this long.
    pub event_timeout: Duration,
}

/// A duration as the variables take it: bare seconds, fractions allowed
/// (`2.5`), as they always have, or with units as the `timeout = "..."`
/// of the macros and the local membrane's variables take them (`500ms`,
/// `1m 30s`).
fn read_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    match value.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        Err(_) => humantime::parse_duration(value).ok(),
    }
}

/// The default [`Settings::event_timeout`]: the 29 s AWS API Gateway waits
/// for a websocket route's integration, which the local membrane keeps too.
pub const DEFAULT_EVENT_TIMEOUT: Duration = Duration::from_secs(29);

/// The default [`Settings::shutdown_timeout`]: inside the 30 s a container
/// gets between SIGTERM and SIGKILL on ECS, Kubernetes and Cloud Run, with
/// room to exit.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(25);

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which maps a variable name to its value.
    ///
    /// `SERVICE_ADDRESS` set: that membrane. Unset: the embedded local
    /// membrane (with the `local` feature, outside `build`), else
    /// [`DEFAULT_SERVICE_ADDRESS`] like the official SDKs.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let environment = Environment::parse(lookup("NITRIC_ENVIRONMENT").as_deref())?;
        let address = lookup("SERVICE_ADDRESS").filter(|address| !address.trim().is_empty());
        let duration = |name: &str, default: Duration| {
            match lookup(name) {
            None => Ok(default),
            Some(value) => read_duration(&value).ok_or_else(|| {
                Error::Startup(format!(
                    "{name}={value:?} is not a duration: write seconds (2.5) or a duration with units (500ms, 10s, 1m 30s)"
                ))
            }),
        }
        };
        let shutdown_timeout = duration("NITRIC_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT)?;
        let event_timeout = duration("NITRIC_EVENT_TIMEOUT", DEFAULT_EVENT_TIMEOUT)?;
        if event_timeout.is_zero() {
            return Err(Error::Startup(
                "NITRIC_EVENT_TIMEOUT=0: every handler would be cancelled as it starts".to_owned(),
            ));
        }
        // The Nitric CLI and every cloud set SERVICE_ADDRESS; without it
        // there, a silently embedded membrane would hide the misconfiguration.
        if address.is_none() && matches!(environment, Environment::Run | Environment::Cloud) {
            let name = if environment == Environment::Run {
                "run"
            } else {
                "cloud"
            };
            return Err(Error::Startup(format!(
                "NITRIC_ENVIRONMENT={name} but SERVICE_ADDRESS is unset: the membrane's address is missing. Under `nitric start` and in the cloud, Nitric sets it; to run on the embedded local membrane, unset NITRIC_ENVIRONMENT"
            )));
        }
        let membrane = match address {
            Some(address) => MembraneLocation::Remote(address),
            #[cfg(feature = "local")]
            None if environment != Environment::Build => {
                let config = nitric_local::Config {
                    event_timeout,
                    ..nitric_local::Config::embedded()
                }
                .with_env(&lookup)
                .map_err(|error| Error::Startup(error.to_string()))?;
                MembraneLocation::Embedded(Box::new(config))
            }
            None => MembraneLocation::Remote(DEFAULT_SERVICE_ADDRESS.to_owned()),
        };
        Ok(Self {
            membrane,
            environment,
            shutdown_timeout,
            event_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[cfg(feature = "local")]
    #[test]
    fn nothing_set_embeds_on_port_4001_with_data_in_dot_nitric() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.environment, Environment::Local);
        assert_eq!(
            settings.membrane,
            MembraneLocation::Embedded(Box::new(nitric_local::Config::embedded()))
        );
    }

    #[test]
    fn build_mode_never_embeds() {
        let settings = settings(&[("NITRIC_ENVIRONMENT", "build")]).unwrap();
        assert_eq!(
            settings.membrane,
            MembraneLocation::Remote(DEFAULT_SERVICE_ADDRESS.into())
        );
    }

    #[cfg(feature = "local")]
    #[test]
    fn embeds_when_no_address_is_given() {
        let embedded = settings(&[
            ("NITRIC_LOCAL_WS_PORT", "0"),
            ("NITRIC_LOCAL_DATA_DIR", "/tmp/x"),
        ])
        .unwrap();
        assert_eq!(
            embedded.membrane,
            MembraneLocation::Embedded(Box::new(nitric_local::Config {
                ws_port: 0,
                data_dir: "/tmp/x".into(),
                ..nitric_local::Config::embedded()
            }))
        );
        let listening = settings(&[
            ("NITRIC_LOCAL_GRPC_ADDR", "127.0.0.1:0"),
            ("NITRIC_EVENT_TIMEOUT", "3"),
        ])
        .unwrap();
        assert_eq!(
            listening.membrane,
            MembraneLocation::Embedded(Box::new(nitric_local::Config {
                grpc_addr: Some("127.0.0.1:0".parse().unwrap()),
                event_timeout: Duration::from_secs(3),
                ..nitric_local::Config::embedded()
            }))
        );
    }

    #[test]
    fn run_and_cloud_need_the_membranes_address() {
        for environment in ["run", "cloud"] {
            let error = settings(&[("NITRIC_ENVIRONMENT", environment)])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("SERVICE_ADDRESS is unset"),
                "{environment}: {error}"
            );
        }
        let settings = settings(&[
            ("NITRIC_ENVIRONMENT", "cloud"),
            ("SERVICE_ADDRESS", "10.0.0.1:50051"),
        ])
        .unwrap();
        assert_eq!(
            settings.membrane,
            MembraneLocation::Remote("10.0.0.1:50051".into())
        );
    }

    #[test]
    fn timeouts_are_read_in_seconds_or_with_units() {
        assert_eq!(
            settings(&[]).unwrap().shutdown_timeout,
            DEFAULT_SHUTDOWN_TIMEOUT
        );
        let seconds = settings(&[("NITRIC_SHUTDOWN_TIMEOUT", "2.5")]).unwrap();
        assert_eq!(seconds.shutdown_timeout, Duration::from_millis(2500));
        let with_units = settings(&[
            ("NITRIC_SHUTDOWN_TIMEOUT", "1m 30s"),
            ("NITRIC_EVENT_TIMEOUT", " 500ms "),
        ])
        .unwrap();
        assert_eq!(with_units.shutdown_timeout, Duration::from_secs(90));
        assert_eq!(with_units.event_timeout, Duration::from_millis(500));
    }

    #[test]
    fn bad_values_are_named() {
        let error = settings(&[("NITRIC_SHUTDOWN_TIMEOUT", "soon")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("NITRIC_SHUTDOWN_TIMEOUT=\"soon\" is not a duration"),
            "{error}"
        );
        let error = settings(&[("NITRIC_ENVIRONMENT", "prod")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("NITRIC_ENVIRONMENT=\"prod\""), "{error}");
        #[cfg(feature = "local")]
        {
            let error = settings(&[("NITRIC_LOCAL_WS_PORT", "http")])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("NITRIC_LOCAL_WS_PORT=\"http\": is not a port"),
                "{error}"
            );
        }
    }
}

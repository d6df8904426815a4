//! Running a service: validate the registry, find or start the membrane,
//! declare everything, dispatch events until shutdown, and reconnect when the
//! membrane goes away.

use crate::declare;
use crate::dispatch::{self, StreamEnd, SubscriptionStream, WebsocketStream};
use crate::error::Error;
use crate::membrane;
use crate::registry::Registry;
use crate::settings::{Environment, MembraneLocation, Settings};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Runs this binary's Nitric service until SIGINT or SIGTERM; the one call a
/// `main` needs.
///
/// It reads the settings from the environment (see [`Settings::from_env`]),
/// logs through `tracing` to stderr (filtered by `RUST_LOG`, default
/// `info`), and on failure prints the error and exits with status 1.
///
/// ```no_run
/// # use nitric_runtime::websocket::MessageContext;
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn echo(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     ctx.socket().send(ctx.connection_id(), ctx.body()).await
/// }
/// # // connect and disconnect handlers omitted
///
/// fn main() {
///     nitric_runtime::run();
/// }
/// ```
pub fn run() {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| {
            exit_with(&Error::Startup(format!(
                "cannot start the tokio runtime: {error}"
            )))
        });
    if let Err(error) = runtime.block_on(serve()) {
        exit_with(&error);
    }
}

fn exit_with(error: &Error) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A subscriber the application installed itself wins.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Serves with settings from the environment until SIGINT or SIGTERM.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), nitric_runtime::Error> {
///     nitric_runtime::serve().await
/// }
/// ```
pub async fn serve() -> Result<(), Error> {
    serve_with(Settings::from_env()?, shutdown_signal()).await
}

/// Serves with explicit settings until `shutdown` completes, then stops
/// taking events, lets in-flight handlers finish and returns.
///
/// ```no_run
/// use nitric_runtime::{Environment, MembraneLocation, Settings};
///
/// # async fn example() -> Result<(), nitric_runtime::Error> {
/// let settings = Settings {
///     membrane: MembraneLocation::Remote("127.0.0.1:50051".into()),
///     environment: Environment::Run,
/// };
/// nitric_runtime::serve_with(settings, tokio::time::sleep(std::time::Duration::from_secs(60))).await
/// # }
/// ```
pub async fn serve_with(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let registry = Registry::collect().map_err(Error::InvalidService)?;
    let membrane = start_membrane(&settings.membrane).await?;
    let channel = membrane::connect_lazy(&membrane.address)?;
    membrane::install(channel.clone());

    let stop = CancellationToken::new();
    let serving = serve_registry(channel, &registry, settings.environment, &stop);
    tokio::pin!(serving);
    let served = tokio::select! {
        served = &mut serving => served,
        () = shutdown => {
            tracing::info!("shutting down: finishing in-flight events");
            stop.cancel();
            serving.await
        }
    };
    membrane::clear();
    membrane.stop().await;
    served
}

/// The longest wait between attempts to reach a membrane that went away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

async fn serve_registry(
    channel: Channel,
    registry: &Registry,
    environment: Environment,
    stop: &CancellationToken,
) -> Result<(), Error> {
    let mut backoff = Duration::from_millis(100);
    let mut reconnecting = false;
    loop {
        match session(channel.clone(), registry, environment, stop).await {
            Ok(SessionEnd::Stopped) => return Ok(()),
            Ok(SessionEnd::Closed) if environment == Environment::Build => {
                tracing::info!("requirements collected; exiting");
                return Ok(());
            }
            Ok(SessionEnd::Closed) => {
                tracing::warn!("the membrane ended the event streams; reconnecting");
                backoff = Duration::from_millis(100);
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(%error, retry_in = ?backoff, "membrane unreachable; retrying");
            }
            // While reconnecting, the membrane may not yet have noticed that
            // our previous streams ended; at startup it means another
            // instance holds the registration, which retrying cannot fix.
            Err(error) if reconnecting && is_registration_conflict(&error) => {
                tracing::warn!(%error, retry_in = ?backoff, "previous registration still held; retrying");
            }
            Err(error) => return Err(error),
        }
        reconnecting = true;
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return Ok(()),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum SessionEnd {
    Stopped,
    Closed,
}

/// One connection's worth of work: declare, open every stream, run until
/// they end. In `build` the membrane ends every stream once it has recorded
/// them; elsewhere one stream ending means the membrane went away, so all of
/// them are ended and the caller reconnects.
async fn session(
    channel: Channel,
    registry: &Registry,
    environment: Environment,
    stop: &CancellationToken,
) -> Result<SessionEnd, Error> {
    declare::declare_all(channel.clone(), registry).await?;
    let session_stop = stop.child_token();
    let websocket_streams = registry.websocket_handlers.iter().map(|handler| {
        dispatch::handle_events(
            channel.clone(),
            WebsocketStream(handler),
            session_stop.clone(),
        )
        .boxed()
    });
    let subscription_streams = registry.subscriptions.iter().map(|subscription| {
        dispatch::handle_events(
            channel.clone(),
            SubscriptionStream(subscription),
            session_stop.clone(),
        )
        .boxed()
    });
    let mut streams: FuturesUnordered<_> = websocket_streams.chain(subscription_streams).collect();

    let mut first_failure = None;
    let mut closed = false;
    while let Some(end) = streams.next().await {
        match end {
            Ok(StreamEnd::Stopped) => {}
            Ok(StreamEnd::ClosedByMembrane) => {
                closed = true;
                if environment != Environment::Build {
                    session_stop.cancel();
                }
            }
            Err(error) => {
                session_stop.cancel();
                first_failure.get_or_insert(error);
            }
        }
    }
    match first_failure {
        Some(error) => Err(error),
        None if stop.is_cancelled() && !closed => Ok(SessionEnd::Stopped),
        None => Ok(SessionEnd::Closed),
    }
}

/// Errors worth retrying: the membrane is restarting or briefly unreachable.
fn is_transient(error: &Error) -> bool {
    error.status().is_some_and(|status| {
        matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::Unknown
                | tonic::Code::Cancelled
                | tonic::Code::Aborted
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Internal
        )
    })
}

fn is_registration_conflict(error: &Error) -> bool {
    error
        .status()
        .is_some_and(|status| status.code() == tonic::Code::AlreadyExists)
}

/// Completes on SIGINT or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The membrane this service talks to, and how to stop it if it is ours.
struct RunningMembrane {
    address: String,
    #[cfg(feature = "local")]
    embedded: Option<nitric_local::LocalMembrane>,
}

impl RunningMembrane {
    async fn stop(self) {
        #[cfg(feature = "local")]
        if let Some(embedded) = self.embedded {
            embedded.shutdown().await;
        }
    }
}

async fn start_membrane(location: &MembraneLocation) -> Result<RunningMembrane, Error> {
    match location {
        MembraneLocation::Remote(address) => Ok(RunningMembrane {
            address: address.clone(),
            #[cfg(feature = "local")]
            embedded: None,
        }),
        #[cfg(feature = "local")]
        MembraneLocation::Embedded(local) => {
            let config = nitric_local::Config {
                grpc_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ws_port: local.ws_port,
                data_dir: local.data_dir.clone(),
                announce: true,
                ..nitric_local::Config::default()
            };
            let embedded = nitric_local::start(config).await.map_err(|error| {
                Error::Startup(format!("cannot start the local membrane: {error}"))
            })?;
            tracing::info!(grpc = %embedded.grpc_addr(), "local membrane started (SERVICE_ADDRESS is unset)");
            Ok(RunningMembrane {
                address: embedded.grpc_addr().to_string(),
                embedded: Some(embedded),
            })
        }
    }
}

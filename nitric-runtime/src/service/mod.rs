//! Running a service: validate the registry, find or start the membrane,
//! declare everything, dispatch events until shutdown, and reconnect when the
//! membrane goes away. Everything a running service holds is in its
//! [`ServiceHandle`]; nothing is process-global.

mod declare;
mod embedded;
mod session;
mod signal;

use crate::error::Error;
use crate::handle::{Deadlines, ServiceHandle};
use crate::registry::Registry;
use crate::settings::{Environment, Settings};
use crate::transport;
use embedded::RunningMembrane;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// Runs this binary's Nitric service until SIGINT or SIGTERM; the one call a
/// `main` needs.
///
/// It reads the settings from the environment (see [`Settings::from_env`]),
/// logs through `tracing` to stderr (filtered by `RUST_LOG`, default
/// `info`), and on failure prints the error and exits with status 1.
///
/// As the one call of a `main`, it also sets what belongs to the process:
/// the global `tracing` subscriber (unless the app installed one first)
/// and, with the embedded membrane, the open-file limit raised to its
/// hard limit, since each websocket client holds a descriptor. [`serve`]
/// and [`serve_with`] change neither.
///
/// It serves on a worker thread per core (`TOKIO_WORKER_THREADS` sets
/// how many), each event's handler a task of its own, so a handler that
/// blocks its thread holds up only the workers it blocks; the embedded
/// membrane runs on threads of its own, so its gateway, page and
/// handshakes never wait for the app's. Blocking work (file or CPU-bound
/// work, a blocking client library) belongs in
/// `tokio::task::spawn_blocking`, which keeps the workers free. For a
/// runtime of your own, call [`serve`] in it.
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
    #[cfg(feature = "local")] // Each websocket client of the embedded gateway holds a descriptor.
    let _ = nitric_local::raise_fd_limit();
    let settings = Settings::from_env().unwrap_or_else(|error| exit_with(&error));
    let runtime = new_runtime().unwrap_or_else(|error| {
        exit_with(&Error::Startup(format!(
            "cannot start the tokio runtime: {error}"
        )))
    });
    // Serving runs as a task on the workers, not on this thread, so an
    // event read from the membrane is handled where it was read.
    let served = runtime.block_on(async { tokio::spawn(serve_until_signalled(settings)).await });
    match served {
        Ok(Ok(())) => {}
        Ok(Err(error)) => exit_with(&error),
        Err(panic) => exit_with(&Error::Startup(format!("the service panicked: {panic}"))),
    }
}

/// The runtime [`run`] serves on: a worker per core (or
/// `TOKIO_WORKER_THREADS`), so no one handler can stall every event.
/// One thread would cost about a third less CPU per event against a
/// membrane elsewhere (no event crosses threads), but then a handler
/// that blocks its thread stops every connection's events.
fn new_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
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
    serve_until_signalled(Settings::from_env()?).await
}

async fn serve_until_signalled(settings: Settings) -> Result<(), Error> {
    let registry = Registry::collect()?;
    let mut signals = signal::StopSignals::listen();
    let stopping = async move {
        signals.next().await;
        // Waiting for handlers can be cut short: a second signal exits.
        tokio::spawn(async move {
            signals.next().await;
            eprintln!("second signal: exiting without waiting for handlers in flight");
            std::process::exit(130);
        });
    };
    serve_with(settings, registry, stopping).await
}

/// Serves `registry` with explicit settings until `shutdown` completes, then stops
/// taking events, lets in-flight handlers finish and returns. Handlers still
/// running after [`Settings::shutdown_timeout`] make it fail with
/// [`Error::ShutdownTimeout`], naming them.
///
/// ```no_run
/// use nitric_runtime::{Environment, MembraneLocation, Registry, Settings, DEFAULT_EVENT_TIMEOUT};
///
/// # async fn example() -> Result<(), nitric_runtime::Error> {
/// let registry = Registry::collect()?;
/// let settings = Settings {
///     membrane: MembraneLocation::Remote("127.0.0.1:50051".into()),
///     environment: Environment::Run,
///     shutdown_timeout: std::time::Duration::from_secs(10),
///     event_timeout: DEFAULT_EVENT_TIMEOUT,
/// };
/// let shutdown = tokio::time::sleep(std::time::Duration::from_secs(60));
/// nitric_runtime::serve_with(settings, registry, shutdown).await
/// # }
/// ```
pub async fn serve_with(
    settings: Settings,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let shutdown_timeout = settings.shutdown_timeout;
    let started = Started::start(settings, registry).await?;
    let service = started.service().clone();
    let stop = CancellationToken::new();
    let serving = started.serve(stop.clone());
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => served,
        () = shutdown => {
            tracing::info!(timeout = ?shutdown_timeout, "shutting down: finishing in-flight events");
            stop.cancel();
            match tokio::time::timeout(shutdown_timeout, serving).await {
                Ok(served) => served,
                Err(_) => Err(Error::ShutdownTimeout {
                    waited: shutdown_timeout,
                    running: service
                        .running_handlers()
                        .into_iter()
                        .map(|(handler, events)| format!("{handler} ({events} running)"))
                        .collect(),
                }),
            }
        }
    }
}

/// How long an embedded membrane's shutdown waits for handlers in flight
/// before it closes its clients.
const HANDLERS_BEFORE_CLOSING: std::time::Duration = std::time::Duration::from_secs(5);

/// A service whose registry is checked and whose membrane is found or
/// started, ready to serve.
pub(crate) struct Started {
    registry: Registry,
    environment: Environment,
    membrane: RunningMembrane,
    service: ServiceHandle,
}

impl Started {
    pub(crate) async fn start(settings: Settings, registry: Registry) -> Result<Self, Error> {
        let cleanups = registry.cleanups;
        let deadlines = Deadlines {
            websocket_event: settings.event_timeout,
            topic_message: embedded::topic_answer_timeout(&settings.membrane),
            schedule_interval: embedded::schedule_answer_timeout(&settings.membrane),
        };
        let membrane = RunningMembrane::start(&settings.membrane).await?;
        let channel = match transport::connect_lazy(&membrane.address, membrane.dial()) {
            Ok(channel) => channel,
            Err(error) => {
                membrane.stop().await;
                return Err(error);
            }
        };
        Ok(Self {
            registry,
            environment: settings.environment,
            membrane,
            service: ServiceHandle::new(channel, deadlines, cleanups),
        })
    }

    /// The running service's handle.
    pub(crate) fn service(&self) -> &ServiceHandle {
        &self.service
    }

    /// How many event streams a session opens.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn streams(&self) -> usize {
        crate::dispatch::WebsocketStream::all(&self.registry).len()
            + self.registry.subscribe_functions.len()
            + self.registry.schedule_functions.len()
            + self.registry.api_functions.len()
    }

    /// Serves until `stop` is cancelled or serving ends, then stops the
    /// embedded membrane, if any. On `stop`, an embedded membrane takes no
    /// new connections or messages; handlers in flight finish (what they
    /// send still reaches clients); then the membrane closes its clients,
    /// whose disconnect events are handled; then the streams stop.
    pub(crate) async fn serve(self, stop: CancellationToken) -> Result<(), Error> {
        let streams_stop = CancellationToken::new();
        let serving = session::serve_registry(
            &self.service,
            &self.registry,
            self.environment,
            &streams_stop,
        );
        tokio::pin!(serving);
        let served = tokio::select! {
            served = &mut serving => served,
            () = stop.cancelled() => {
                // The streams keep being served while the clients close, so
                // their disconnect events are handled.
                let closing = async {
                    if self.membrane.is_embedded() {
                        self.membrane.stop_accepting();
                        // Topic messages may still arrive: the wait is
                        // bounded, and the streams' own stop still lets
                        // what runs then finish.
                        let _ = tokio::time::timeout(
                            HANDLERS_BEFORE_CLOSING,
                            self.service.handlers_finished(),
                        )
                        .await;
                        self.membrane.close_connections().await;
                    }
                    streams_stop.cancel();
                };
                tokio::join!(serving, closing).0
            }
        };
        self.membrane.stop().await;
        served
    }
}

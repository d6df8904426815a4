//! The lifecycle of a local membrane: [`start`] brings every part up,
//! [`LocalMembrane::shutdown`] (or dropping the handle) stops them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nitric_protocol::resources::v1::ResourceDeclareRequest;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::apis::Apis;
use crate::app_stream::HandlerRouter;
use crate::config::Config;
use crate::descriptors::accept::Acceptor;
use crate::in_process::{InProcessChannel, StoppableRoutes};
use crate::policies::Policies;
use crate::services::{self, Declarations, MembraneState};
use crate::store::{self, OpenError, Store};
use crate::topics::TopicBroker;
use crate::websocket::Gateways;

/// How long shutdown waits for each group of tasks (websocket connections,
/// then the gRPC server) before it stops waiting for them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why [`start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory does not exist and cannot be created.
    #[error("cannot create the data directory {}: {error}", path.display())]
    DataDir {
        /// The directory asked for.
        path: PathBuf,
        /// Why it could not be created.
        error: std::io::Error,
    },
    /// The key/value database file is already open, by another membrane in
    /// this process or another process.
    #[error("the key/value database {} is already in use (is another nitric-local running on this data directory?)", path.display())]
    StoreInUse {
        /// The database file.
        path: PathBuf,
    },
    /// The key/value database file cannot be opened or created.
    #[error("cannot open the key/value database {}: {error}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// Why it could not be opened.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A setting cannot be served (see [`Config::validate`]).
    #[error("invalid setting: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The membrane's own runtime cannot be started
    /// ([`start_on_own_runtime`]).
    #[error("cannot start the local membrane's threads: {0}")]
    Runtime(std::io::Error),
    /// The gRPC address cannot be bound (in use, not local, no permission).
    #[error("cannot listen for gRPC on {addr}: {error}")]
    GrpcBind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it could not be bound.
        error: std::io::Error,
    },
}

/// A running local membrane, returned by [`start`].
///
/// Dropping it stops everything in the background; call
/// [`shutdown`](LocalMembrane::shutdown) to wait until ports and the data
/// directory are free again.
pub struct LocalMembrane {
    grpc_addr: Option<SocketAddr>,
    in_process: InProcessChannel,
    /// What in-process calls reach, until shutdown.
    routes: StoppableRoutes,
    gateways: Arc<Gateways>,
    apis: Arc<Apis>,
    declarations: Arc<Declarations>,
    topics: Arc<TopicBroker>,
    store: Store,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    grpc: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    /// The runtime of [`start_on_own_runtime`], shut down last.
    own_runtime: Option<tokio::runtime::Runtime>,
}

/// Starts a local membrane on the current tokio runtime: opens (or
/// creates) the key/value database in `config.data_dir` and starts serving
/// gRPC on `config.grpc_addr`, if set. Everything is bound when this
/// returns. A websocket's gateway starts when an application first
/// registers a handler for it. An application embedding the membrane
/// starts it with [`start_on_own_runtime`] instead.
///
/// ```no_run
/// # async fn example() -> Result<(), nitric_local::StartError> {
/// let membrane = nitric_local::start(nitric_local::Config::default()).await?;
/// println!("SERVICE_ADDRESS={}", membrane.grpc_addr().unwrap());
/// let url = membrane.wait_for_socket("public").await;
/// println!("clients connect to {url}");
/// membrane.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn start(config: Config) -> Result<LocalMembrane, StartError> {
    config.validate()?;
    let store = open_store(config.data_dir.clone()).await?;
    let listener = match config.grpc_addr {
        Some(addr) => Some(bind_grpc(addr).await?),
        None => None,
    };
    let grpc_addr = listener.as_ref().map(|(_, addr)| *addr);

    let config = Arc::new(config.with_usable_timers());
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let router = Arc::new(HandlerRouter::new(shutdown.clone()));
    let gateways = Arc::new(Gateways::new(
        config.clone(),
        router.clone(),
        shutdown.clone(),
        tasks.clone(),
    ));
    let topics = TopicBroker::start(
        config.topic_delivery.clone(),
        config.topic_limits.clone(),
        shutdown.clone(),
        tasks.clone(),
    );
    let apis = Arc::new(Apis::new(config.clone(), shutdown.clone(), tasks.clone()));
    let state = MembraneState {
        router,
        gateways: gateways.clone(),
        store: store.clone(),
        declarations: Arc::new(Declarations::default()),
        policies: Arc::new(Policies::new(config.enforce_policies)),
        topics: topics.clone(),
        schedules: Arc::default(),
        schedule_timing: config.schedule_timing.clone(),
        apis: apis.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
    };

    let routes = services::grpc_routes(&state, config.grpc_message_limit());
    let in_process_routes = StoppableRoutes::new(routes.clone());
    let in_process = InProcessChannel::new(in_process_routes.clone(), tasks.clone());
    let grpc = listener.map(|(listener, _)| {
        // tonic's own accept loop retries at once when descriptors run
        // out, so a client then makes it spin: connections come through an
        // `Acceptor`, which closes the ones it has no descriptor for.
        let incoming = futures_util::stream::unfold(
            Acceptor::new(listener, b"", "gRPC"),
            |mut acceptor| async move {
                let stream = acceptor.accept().await;
                // Small messages both ways: latency matters more than packets.
                let _ = stream.set_nodelay(true);
                Some((Ok::<_, std::io::Error>(stream), acceptor))
            },
        );
        tokio::spawn(
            services::grpc_server(routes)
                .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
        )
    });
    match grpc_addr {
        Some(grpc_addr) => {
            tracing::info!(%grpc_addr, data_dir = %config.data_dir.display(), "local membrane started")
        }
        None => tracing::info!(
            data_dir = %config.data_dir.display(),
            "local membrane started, reachable in this process only (no gRPC listener)"
        ),
    }
    Ok(LocalMembrane {
        grpc_addr,
        in_process,
        routes: in_process_routes,
        gateways,
        apis,
        declarations: state.declarations,
        topics,
        store,
        shutdown,
        tasks,
        grpc,
        own_runtime: None,
    })
}

/// The membrane's threads when it runs on a runtime of its own.
const OWN_RUNTIME_THREADS: usize = 2;

/// Starts a local membrane as [`start`] does, but on a tokio runtime of its
/// own (two worker threads named `nitric-local`), which it shuts down
/// when it stops.
///
/// This is how an application embeds it: the gateways, the store and the
/// topic broker then run on threads the application's tasks never take,
/// so a handler that blocks its thread (or a runtime with every worker
/// busy) cannot stall the page, the handshakes, the pings or the frames of
/// other clients. In-process calls ([`LocalMembrane::in_process`]) run
/// the membrane's part of each call where the caller polls it, and
/// whatever that part starts (tasks, timers) on the membrane's runtime.
///
/// ```no_run
/// # async fn example() -> Result<(), nitric_local::StartError> {
/// let membrane = nitric_local::start_on_own_runtime(nitric_local::Config::embedded()).await?;
/// let channel = membrane.in_process();
/// # drop(channel);
/// membrane.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn start_on_own_runtime(config: Config) -> Result<LocalMembrane, StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(OWN_RUNTIME_THREADS)
        .thread_name("nitric-local")
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let handle = runtime.handle().clone();
    let started = match handle.spawn(start(config)).await {
        Ok(started) => started,
        Err(join) => Err(StartError::Runtime(std::io::Error::other(join.to_string()))),
    };
    match started {
        Ok(mut membrane) => {
            membrane.in_process = membrane.in_process.clone().entering(handle);
            membrane.own_runtime = Some(runtime);
            Ok(membrane)
        }
        Err(error) => {
            runtime.shutdown_background();
            Err(error)
        }
    }
}

/// Binds the gRPC listener, with the address it got (the real port for
/// port 0).
async fn bind_grpc(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let bind_error = |error| StartError::GrpcBind { addr, error };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    Ok((listener, bound))
}

/// Creates the data directory if needed and opens the database in it, on
/// the blocking pool (both are blocking file-system calls).
async fn open_store(data_dir: PathBuf) -> Result<Store, StartError> {
    let path = data_dir.join(store::FILE_NAME);
    let file = path.clone();
    let opened = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&data_dir).map_err(|error| StartError::DataDir {
            path: data_dir.clone(),
            error,
        })?;
        Store::open(&file).map_err(|error| match error {
            OpenError::InUse => StartError::StoreInUse { path: file },
            OpenError::Database(error) => StartError::Store {
                path: file,
                error: error.into(),
            },
        })
    })
    .await;
    opened.unwrap_or_else(|join| {
        Err(StartError::Store {
            path,
            error: join.into(),
        })
    })
}

impl LocalMembrane {
    /// The address the gRPC services listen on (with the real port when
    /// [`Config::grpc_addr`] asked for port 0): the application's
    /// `SERVICE_ADDRESS`. `None` when it opened no listener.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// An in-process gRPC channel to this membrane (no HTTP/2, no socket):
    /// what an application embedding it uses instead of connecting to
    /// [`grpc_addr`](Self::grpc_addr).
    ///
    /// ```no_run
    /// # async fn example(membrane: nitric_local::LocalMembrane) {
    /// use nitric_protocol::resources::v1::resources_client::ResourcesClient;
    ///
    /// let resources = ResourcesClient::new(membrane.in_process());
    /// # drop(resources);
    /// # }
    /// ```
    pub fn in_process(&self) -> InProcessChannel {
        self.in_process.clone()
    }

    /// The URL clients connect to for `socket` (case-insensitive), such as
    /// `ws://127.0.0.1:4001`, once an application registered a handler for it.
    pub fn socket_url(&self, socket: &str) -> Option<String> {
        self.gateways.url(socket)
    }

    /// Resolves with the URL of `socket`'s gateway once it runs.
    pub async fn wait_for_socket(&self, socket: &str) -> String {
        self.gateways.wait_for(socket).await
    }

    /// The URL of `api`'s HTTP listener (case-insensitive), such as
    /// `http://127.0.0.1:4100`, once an application registered a route of it.
    pub fn api_url(&self, api: &str) -> Option<String> {
        self.apis.url(api)
    }

    /// Resolves with the URL of `api`'s HTTP listener once it runs.
    pub async fn wait_for_api(&self, api: &str) -> String {
        self.apis.wait_for(api).await
    }

    /// Every resource and policy declaration received, in arrival order.
    pub fn declarations(&self) -> Vec<ResourceDeclareRequest> {
        self.declarations.all()
    }

    /// Stops taking websocket connections (upgrades get 503) and messages
    /// (a message a client sends from now on is not delivered), while open
    /// connections stay open: what the application still sends reaches
    /// them. An application that embeds the membrane calls this first when
    /// it stops, lets its handlers finish, then calls
    /// [`close_connections`](Self::close_connections).
    pub fn stop_accepting(&self) {
        self.gateways.stop_accepting();
    }

    /// Closes every websocket client connection (1001, going away) and
    /// waits, a few seconds at most, until the application has handled
    /// their disconnect events; from then on upgrades get 503.
    /// [`shutdown`](Self::shutdown) does this first; an application that
    /// embeds the membrane calls it before it stops handling events, so no
    /// disconnect is lost.
    ///
    /// ```no_run
    /// # async fn example(membrane: nitric_local::LocalMembrane) {
    /// membrane.close_connections().await;
    /// // ... stop the application's event streams, then:
    /// membrane.shutdown().await;
    /// # }
    /// ```
    pub async fn close_connections(&self) {
        self.gateways.close_connections(SHUTDOWN_GRACE).await;
    }

    /// Stops gracefully: the gateways stop accepting, open websockets get a
    /// close frame ("going away") and their disconnect events reach the
    /// application ([`close_connections`](Self::close_connections)), then
    /// application streams end, topic messages not delivered yet (delayed,
    /// queued, or awaiting an answer) are dropped with a log of how many,
    /// the gRPC server stops, and the database file is closed. When this
    /// returns, the ports are free and a new membrane can open the same data
    /// directory.
    pub async fn shutdown(mut self) {
        tracing::info!("local membrane shutting down");
        self.close_connections().await;
        self.shutdown.cancel();
        self.routes.stop();
        self.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "websocket connections, topic deliveries or in-process calls still busy after {SHUTDOWN_GRACE:?}; leaving them behind"
            );
        }
        self.topics.report_undelivered();
        if let Some(grpc) = &mut self.grpc {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut *grpc).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => tracing::warn!(%error, "gRPC server ended with an error"),
                Ok(Err(error)) => tracing::warn!(%error, "gRPC server task failed"),
                Err(_) => {
                    tracing::warn!("gRPC server still busy after {SHUTDOWN_GRACE:?}; stopping it");
                    grpc.abort();
                    let _ = grpc.await;
                }
            }
        }
        self.store.close().await;
        tracing::info!("local membrane stopped");
        // Drop shuts the membrane's own runtime down, if it has one.
    }
}

impl Drop for LocalMembrane {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.routes.stop();
        if let Some(runtime) = self.own_runtime.take() {
            // Without waiting: this may run on another runtime's thread,
            // where blocking is not allowed. After `shutdown`, nothing is
            // left running on it.
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for LocalMembrane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMembrane")
            .field("grpc_addr", &self.grpc_addr)
            .finish_non_exhaustive()
    }
}

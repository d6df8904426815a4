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

use crate::config::Config;
use crate::descriptors::accept::Acceptor;
use crate::in_process::{InProcessChannel, StoppableRoutes};
use crate::policies::Policies;
use crate::services::{self, Declarations, MembraneState};
use crate::store::{self, OpenError, Store};
use crate::topics::TopicBroker;
use crate::websocket::{GatewaySettings, Gateways, HandlerRouter, Limits};

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
    grpc_addr: SocketAddr,
    in_process: InProcessChannel,
    /// What in-process calls reach, until shutdown.
    routes: StoppableRoutes,
    gateways: Arc<Gateways>,
    declarations: Arc<Declarations>,
    topics: Arc<TopicBroker>,
    store: Store,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    grpc: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// Starts a local membrane: opens (or creates) the key/value database in
/// `config.data_dir` and starts serving gRPC on `config.grpc_addr`.
/// Everything is bound when this returns. A websocket's gateway starts when
/// an application first registers a handler for it.
///
/// ```no_run
/// # async fn example() -> Result<(), nitric_local::StartError> {
/// let membrane = nitric_local::start(nitric_local::Config::default()).await?;
/// println!("SERVICE_ADDRESS={}", membrane.grpc_addr());
/// let url = membrane.wait_for_socket("public").await;
/// println!("clients connect to {url}");
/// membrane.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn start(config: Config) -> Result<LocalMembrane, StartError> {
    let store = open_store(config.data_dir.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|error| StartError::GrpcBind {
            addr: config.grpc_addr,
            error,
        })?;
    let grpc_addr = listener
        .local_addr()
        .map_err(|error| StartError::GrpcBind {
            addr: config.grpc_addr,
            error,
        })?;

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let router = Arc::new(HandlerRouter::new(shutdown.clone()));
    let gateways = Arc::new(Gateways::new(
        GatewaySettings {
            host: config.ws_host,
            first_port: config.ws_port,
            announce: config.announce,
            limits: Limits::of(&config),
        },
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
    let state = MembraneState {
        router,
        gateways: gateways.clone(),
        store: store.clone(),
        declarations: Arc::new(Declarations::default()),
        policies: Arc::new(Policies::new(config.enforce_policies)),
        topics: topics.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
    };

    let routes = services::grpc_routes(&state);
    let in_process_routes = StoppableRoutes::new(routes.clone());
    let in_process = InProcessChannel::new(in_process_routes.clone(), tasks.clone());
    // tonic's own accept loop retries at once when descriptors run out, so
    // a client then makes it spin: connections come through an `Acceptor`,
    // which closes the ones it has no descriptor for.
    let incoming = futures_util::stream::unfold(
        Acceptor::new(listener, b"", "gRPC"),
        |mut acceptor| async move {
            let stream = acceptor.accept().await;
            // Small messages both ways: latency matters more than packets.
            let _ = stream.set_nodelay(true);
            Some((Ok::<_, std::io::Error>(stream), acceptor))
        },
    );
    let grpc = tokio::spawn(
        services::grpc_server(routes)
            .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
    );
    tracing::info!(%grpc_addr, data_dir = %config.data_dir.display(), "local membrane started");
    Ok(LocalMembrane {
        grpc_addr,
        in_process,
        routes: in_process_routes,
        gateways,
        declarations: state.declarations,
        topics,
        store,
        shutdown,
        tasks,
        grpc,
    })
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
    /// `SERVICE_ADDRESS`.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// A gRPC channel to this membrane that stays inside the process: what
    /// an application embedding it uses instead of connecting to
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
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.grpc).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "gRPC server ended with an error"),
            Ok(Err(error)) => tracing::warn!(%error, "gRPC server task failed"),
            Err(_) => {
                tracing::warn!("gRPC server still busy after {SHUTDOWN_GRACE:?}; stopping it");
                self.grpc.abort();
                let _ = (&mut self.grpc).await;
            }
        }
        self.store.close().await;
        tracing::info!("local membrane stopped");
    }
}

impl Drop for LocalMembrane {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.routes.stop();
    }
}

impl std::fmt::Debug for LocalMembrane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMembrane")
            .field("grpc_addr", &self.grpc_addr)
            .finish_non_exhaustive()
    }
}

//! The websocket gateway: one HTTP listener per socket, started the first
//! time an application registers a handler for that socket, and kept running
//! after the application disconnects so a restarted application finds its
//! clients on the same port.
//!
//! Each gateway serves HTTP/1.1 as the API listeners do ([`listener`]): a
//! client has [`Config::header_read_timeout`] to send a request's headers
//! before its TCP connection is closed, and one the process has no file
//! descriptor for is answered 503 at once.
//!
//! [`listener`]: crate::listener

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use nitric_protocol::names::socket_key;
use tokio::sync::{watch, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connections::Connections;
use super::origin::AllowedOrigins;
use super::socket::Socket;
use super::upgrade;
use crate::app_stream::HandlerRouter;
use crate::listener::{self, Serving};
use crate::Config;

/// Why a socket's gateway could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error("the gateway of websocket \"{socket}\" cannot listen on {addr}: {error}")]
    Bind {
        socket: String,
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("no port is left for the gateway of websocket \"{socket}\" after {last}")]
    NoPortLeft { socket: String, last: u16 },
}

/// Every socket's gateway.
pub(crate) struct Gateways {
    /// The membrane's settings: where gateways listen ([`Config::ws_host`],
    /// [`Config::ws_port`] for the first), and the limits they enforce.
    config: Arc<Config>,
    /// Serialises gateway starts, and remembers the next port to hand out.
    next_port: Mutex<Option<u16>>,
    /// Running gateways' URLs by [`socket_key`]; watched by
    /// [`Gateways::wait_for`].
    urls: watch::Sender<HashMap<String, String>>,
    connections: Arc<Connections>,
    router: Arc<HandlerRouter>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Cancelled when the gateways stop taking connections, before shutdown.
    draining: CancellationToken,
    /// Each connection from its upgrade request until its disconnect event
    /// is answered.
    connection_tasks: TaskTracker,
}

impl Gateways {
    pub(crate) fn new(
        config: Arc<Config>,
        router: Arc<HandlerRouter>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let next_port = Some(config.ws_port);
        let connections = Connections::new(&config);
        Self {
            config,
            next_port: Mutex::new(next_port),
            urls: watch::Sender::new(HashMap::new()),
            connections: Arc::new(connections),
            router,
            shutdown,
            tasks,
            draining: CancellationToken::new(),
            connection_tasks: TaskTracker::new(),
        }
    }

    /// Stops taking connections (upgrades get 503) and messages (a message
    /// a client sends from now on is not delivered); open connections stay
    /// open, so what the application sends still reaches them.
    pub(crate) fn stop_accepting(&self) {
        self.draining.cancel();
    }

    /// Stops taking connections (upgrades get 503), closes every open one
    /// with 1001 and waits, at most `grace`, until the application has
    /// answered their disconnect events. Shutdown does this first, while
    /// the application's streams are still open, so no disconnect is lost.
    pub(crate) async fn close_connections(&self, grace: Duration) {
        self.stop_accepting();
        self.connections.close_all();
        self.connection_tasks.close();
        if tokio::time::timeout(grace, self.connection_tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = self.connection_tasks.len(),
                "websocket connections still closing after {grace:?}; their disconnect events may be lost"
            );
        }
    }

    /// Starts the gateway of `socket` unless it runs already; returns its URL.
    pub(crate) async fn ensure_running(&self, socket: &str) -> Result<String, GatewayError> {
        let mut next_port = self.next_port.lock().await;
        if let Some(url) = self.url(socket) {
            return Ok(url);
        }
        let port = next_port.ok_or_else(|| GatewayError::NoPortLeft {
            socket: socket.to_owned(),
            last: u16::MAX,
        })?;
        let addr = SocketAddr::new(self.config.ws_host, port);
        let listener =
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|error| GatewayError::Bind {
                    socket: socket.to_owned(),
                    addr,
                    error,
                })?;
        let bound = listener.local_addr().map_err(|error| GatewayError::Bind {
            socket: socket.to_owned(),
            addr,
            error,
        })?;
        // Only a successful start uses up a port; with port 0 every gateway
        // asks the system again.
        if port != 0 {
            *next_port = port.checked_add(1);
        }

        let url = format!("ws://{}", reachable(bound));
        let endpoint = upgrade::endpoint(Socket {
            name: socket.to_owned(),
            router: self.router.clone(),
            connections: self.connections.clone(),
            shutdown: self.shutdown.clone(),
            draining: self.draining.clone(),
            connection_tasks: self.connection_tasks.clone(),
            origins: AllowedOrigins::new(&self.config.allowed_origins),
            config: self.config.clone(),
            open: Arc::default(),
        });
        let serving = Serving {
            what: "websocket gateway",
            name: socket.to_owned(),
            header_read_timeout: self.config.header_read_timeout,
            upgrades: true,
            // The socket counts its websocket connections itself
            // (`Config::max_connections`), once upgraded.
            cap: None,
        };
        self.tasks.spawn(listener::serve(
            listener,
            endpoint,
            serving,
            self.shutdown.clone(),
            self.tasks.clone(),
        ));

        let page = format!("http://{}/", reachable(bound));
        tracing::info!(socket, %url, %page, "websocket gateway listening (open the page in a browser to try it)");
        if self.config.announce {
            announce(socket, &url);
        }
        self.urls.send_modify(|urls| {
            urls.insert(socket_key(socket), url.clone());
        });
        Ok(url)
    }

    /// The URL of `socket`'s gateway, if it runs.
    pub(crate) fn url(&self, socket: &str) -> Option<String> {
        self.urls.borrow().get(&socket_key(socket)).cloned()
    }

    /// Resolves with the URL of `socket`'s gateway once it runs.
    pub(crate) async fn wait_for(&self, socket: &str) -> String {
        wait_for_url(&self.urls, &socket_key(socket)).await
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }
}

/// Resolves with the URL under `key` in `urls` once it is there; the
/// gateways' and the APIs' listeners publish their URLs this way.
pub(crate) async fn wait_for_url(
    urls: &watch::Sender<HashMap<String, String>>,
    key: &str,
) -> String {
    let mut urls = urls.subscribe();
    let found = urls
        .wait_for(|urls| urls.contains_key(key))
        .await
        .map(|urls| urls[key].clone());
    match found {
        Ok(url) => url,
        // The caller borrows the sender, so it lives.
        Err(_) => unreachable!("listener URLs dropped while borrowed"),
    }
}

/// The address a client on this machine can dial: a gateway bound to every
/// interface is announced on loopback.
pub(crate) fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// Tells the person running the membrane where to point clients; tools parse
/// this exact line.
fn announce(socket: &str, url: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "websocket \"{socket}\" listening on {url}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_announced_on_loopback() {
        assert_eq!(
            reachable("0.0.0.0:4001".parse().unwrap()).to_string(),
            "127.0.0.1:4001"
        );
        assert_eq!(
            reachable("[::]:4001".parse().unwrap()).to_string(),
            "[::1]:4001"
        );
        assert_eq!(
            reachable("192.0.2.7:4001".parse().unwrap()).to_string(),
            "192.0.2.7:4001"
        );
    }
}

//! The websocket gateway: one HTTP listener per socket, started the first
//! time an application registers a handler for that socket, and kept running
//! after the application disconnects so a restarted application finds its
//! clients on the same port.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use nitric_protocol::names::socket_key;
use tokio::sync::{watch, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connections::Connections;
use super::router::HandlerRouter;
use super::upgrade;

/// How long an event waits for its handler to register, so clients arriving
/// while the application restarts are served instead of refused.
pub(super) const HANDLER_WAIT: Duration = Duration::from_secs(5);

/// Where gateways listen.
#[derive(Debug, Clone)]
pub(crate) struct GatewaySettings {
    pub(crate) host: IpAddr,
    /// Port of the first socket's gateway; 0 lets each pick a free port.
    pub(crate) first_port: u16,
    pub(crate) announce: bool,
}

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
    settings: GatewaySettings,
    /// Serialises gateway starts, and remembers the next port to hand out.
    next_port: Mutex<Option<u16>>,
    /// Running gateways' URLs by [`socket_key`]; watched by
    /// [`Gateways::wait_for`].
    urls: watch::Sender<HashMap<String, String>>,
    connections: Arc<Connections>,
    router: Arc<HandlerRouter>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Gateways {
    pub(crate) fn new(
        settings: GatewaySettings,
        router: Arc<HandlerRouter>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let next_port = Some(settings.first_port);
        Self {
            settings,
            next_port: Mutex::new(next_port),
            urls: watch::Sender::new(HashMap::new()),
            connections: Arc::new(Connections::default()),
            router,
            shutdown,
            tasks,
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
        let addr = SocketAddr::new(self.settings.host, port);
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
        let endpoint = upgrade::endpoint(upgrade::Socket {
            name: socket.to_owned(),
            router: self.router.clone(),
            connections: self.connections.clone(),
            shutdown: self.shutdown.clone(),
            tasks: self.tasks.clone(),
        });
        let listener = listener.tap_io(|stream| {
            // Frames are small and latency matters more than packet count.
            let _ = stream.set_nodelay(true);
        });
        let serve = axum::serve(listener, endpoint)
            .with_graceful_shutdown(self.shutdown.clone().cancelled_owned());
        let name = socket.to_owned();
        self.tasks.spawn(async move {
            if let Err(error) = serve.await {
                tracing::error!(socket = %name, %error, "websocket gateway stopped");
            }
        });

        tracing::info!(socket, %url, "websocket gateway listening");
        if self.settings.announce {
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
        let key = socket_key(socket);
        let mut urls = self.urls.subscribe();
        let found = urls
            .wait_for(|urls| urls.contains_key(&key))
            .await
            .map(|urls| urls[&key].clone());
        match found {
            Ok(url) => url,
            // The sender lives as long as `self`, which we borrow.
            Err(_) => unreachable!("gateway URLs dropped while borrowed"),
        }
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }
}

/// The address a client on this machine can dial: a gateway bound to every
/// interface is announced on loopback.
fn reachable(bound: SocketAddr) -> SocketAddr {
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

//! Serving HTTP/1.1 on a TCP listener, as every websocket gateway and every
//! API's listener does.
//!
//! Both serve with hyper's connection builder rather than `axum::serve`,
//! which has no limits of its own, so that:
//!
//! - a client has [`Config::header_read_timeout`](crate::Config::header_read_timeout)
//!   to send a request's headers, and a keep-alive connection as long to
//!   start its next request, before its TCP connection is closed: a client
//!   that connects and sends nothing, or trickles its headers ("slowloris"),
//!   cannot hold a connection for ever;
//! - a client the process has no file descriptor for is answered 503 at
//!   once ([`Acceptor`]) instead of waiting in the listen queue, and the
//!   listener neither spins nor stops;
//! - with a [`Cap`], connections beyond it are answered 503 and closed
//!   rather than served. (A gateway counts its websocket connections
//!   itself, after the upgrade, so it has no cap here.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::descriptors::accept::Acceptor;

/// How long an HTTP connection still being served gets to finish when the
/// membrane stops.
const HTTP_GRACE: Duration = Duration::from_secs(1);

/// The answer to a client the listener has no file descriptor for
/// ([`Acceptor`]): 503, as for a listener that is full.
const OUT_OF_DESCRIPTORS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
content-length: 54\r\n\
connection: close\r\n\
\r\n\
the membrane has no file descriptor left for a client\n";

/// How one listener serves its connections.
pub(crate) struct Serving {
    /// What the listener is, in logs: `websocket gateway`, `api`.
    pub(crate) what: &'static str,
    /// The socket's or API's name, in logs.
    pub(crate) name: String,
    /// How long a client may take to send a request's headers, the first
    /// on a connection or the next on a keep-alive one.
    pub(crate) header_read_timeout: Duration,
    /// Whether a response may switch the connection to another protocol:
    /// a gateway's websocket upgrade.
    pub(crate) upgrades: bool,
    /// The most connections served at once, if any.
    pub(crate) cap: Option<Cap>,
}

/// A bound on the connections a listener serves at once.
pub(crate) struct Cap {
    /// How many.
    pub(crate) max: usize,
    /// What answers a request on a connection beyond `max` (a 503); the
    /// connection is closed after that one answer.
    pub(crate) full: Router,
}

/// Accepts TCP connections until `shutdown` and serves HTTP/1.1 on each
/// with `endpoint`, as [`Serving`] says; each connection's task runs on
/// `tasks`.
pub(crate) async fn serve(
    listener: TcpListener,
    endpoint: Router,
    serving: Serving,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(serving.header_read_timeout);
    // One answer, then the connection is closed, so a refused client does
    // not keep a descriptor it was refused.
    let mut refusing = http.clone();
    refusing.keep_alive(false);
    let open = serving
        .cap
        .as_ref()
        .map(|cap| Arc::new(Semaphore::new(cap.max)));
    let mut full_since_logged = false;
    let mut acceptor = Acceptor::new(listener, OUT_OF_DESCRIPTORS, serving.what);
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => return,
            stream = acceptor.accept() => stream,
        };
        // Requests and frames are small; latency matters more than packets.
        let _ = stream.set_nodelay(true);
        let (builder, service, permit) = match (&serving.cap, &open) {
            (Some(cap), Some(open)) => match open.clone().try_acquire_owned() {
                Ok(permit) => {
                    full_since_logged = false;
                    (&http, endpoint.clone(), Some(permit))
                }
                Err(_) => {
                    // Once per time it fills up, not once per client.
                    if !full_since_logged {
                        full_since_logged = true;
                        tracing::warn!(
                            listener = serving.what,
                            name = %serving.name,
                            max_connections = cap.max,
                            "refusing connections with 503: the most connections are open"
                        );
                    }
                    (&refusing, cap.full.clone(), None)
                }
            },
            _ => (&http, endpoint.clone(), None),
        };
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let shutdown = shutdown.clone();
        let what = serving.what;
        if serving.upgrades {
            // Ends once the connection is upgraded (the websocket lives on
            // in its own task), closed, or timed out.
            tasks.spawn(drive(connection.with_upgrades(), permit, shutdown, what));
        } else {
            tasks.spawn(drive(connection, permit, shutdown, what));
        }
    }
}

/// A connection hyper serves, which can be asked to finish.
trait Served: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

type Service = TowerToHyperService<Router>;

impl Served for http1::Connection<TokioIo<TcpStream>, Service> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::Connection::graceful_shutdown(self);
    }
}

impl Served for http1::UpgradeableConnection<TokioIo<TcpStream>, Service> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

/// Serves `connection` until it ends, or until `shutdown` and then at most
/// [`HTTP_GRACE`] more; `permit` (its place under the cap) is held until
/// then.
async fn drive(
    connection: impl Served,
    permit: Option<OwnedSemaphorePermit>,
    shutdown: CancellationToken,
    what: &'static str,
) {
    let _permit = permit;
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(HTTP_GRACE, connection).await {
                Ok(served) => served,
                Err(_) => return,
            }
        }
    };
    if let Err(error) = served {
        // A header read timeout among them: the client's doing, not ours.
        tracing::debug!(listener = what, %error, "HTTP connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_out_of_descriptors_answer_is_whole() {
        let answer = std::str::from_utf8(OUT_OF_DESCRIPTORS).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
    }
}

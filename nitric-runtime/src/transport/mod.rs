//! The gRPC channel to the membrane: one HTTP/2 connection (h2c), spoken
//! to directly.
//!
//! tonic's own `Channel` puts two tasks between a call and the connection
//! (a `Buffer` worker, then hyper's dispatcher, plus a task piping each
//! request body), and every event's answer and send crossed them. Here a
//! call opens its HTTP/2 stream itself, from the task that makes it, and
//! hands the request's bytes to h2, whose connection task writes them: the
//! only other task on the way. Streaming request bodies (the event streams'
//! answers) get a task of their own that feeds them to h2 as they come.
//!
//! The connection is made on first use and made again on the first call
//! after it closed (the membrane restarted), so clients never hold a dead
//! one. A failed connect answers `UNAVAILABLE`, as tonic's channel does.
//!
//! A membrane embedded in this process is not reached over HTTP/2 at all:
//! each call is handed to its services ([`Dial::InProcess`]), which saves
//! the framing, the kernel and the wake-ups on both sides of every event.

mod body;
mod unary;

use crate::error::Error;
use body::{pump, ResponseBody};
use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tonic::Status;

/// HTTP/2 flow-control window of one stream.
const STREAM_WINDOW: u32 = 1 << 20;
/// HTTP/2 flow-control window of the whole connection.
const CONNECTION_WINDOW: u32 = 8 << 20;
/// The largest message the service decodes from the membrane: any. The
/// membrane is the peer that bounds what clients send (AWS API Gateway at
/// 128 KiB, the local membrane at its `max_message_size`), so the service
/// takes whatever it forwards; tonic's default of 4 MiB would fail every
/// event carrying a larger message a membrane was set to allow.
pub(crate) const MAX_DECODED_MESSAGE: usize = usize::MAX;
/// How long a connect may take before the call fails as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily connected channel to the membrane; cheap to clone, and every
/// clone shares the one connection.
#[derive(Clone)]
pub(crate) struct Channel {
    shared: Arc<Shared>,
}

struct Shared {
    /// `host:port`, as given.
    address: Box<str>,
    authority: Authority,
    dial: Dial,
    /// The open connection's request handle, with the connection's number.
    current: Mutex<Option<(u64, h2::client::SendRequest<Bytes>)>>,
    /// Held while connecting, so concurrent first calls share one connect.
    connecting: tokio::sync::Mutex<u64>,
}

/// How calls reach the membrane.
pub(crate) enum Dial {
    /// Over HTTP/2 on a TCP connection to the address.
    Tcp,
    /// Handed to the services of the membrane embedded in this process,
    /// without HTTP/2 or the kernel in between.
    InProcess(crate::local::InProcessChannel),
}

/// A channel to the membrane at `address`, reached as `dial` says; nothing
/// is sent until first use.
pub(crate) fn connect_lazy(address: &str, dial: Dial) -> Result<Channel, Error> {
    let authority: Authority = address.parse().map_err(|error| {
        Error::Startup(format!(
            "SERVICE_ADDRESS {address:?} is not a host:port address: {error}"
        ))
    })?;
    Ok(Channel {
        shared: Arc::new(Shared {
            address: address.into(),
            authority,
            dial,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(0),
        }),
    })
}

impl Channel {
    /// The open connection's handle, connecting first when there is none.
    async fn sender(&self) -> Result<h2::client::SendRequest<Bytes>, Status> {
        if let Some(sender) = self.open_sender() {
            return Ok(sender);
        }
        let mut connections = self.shared.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(sender) = self.open_sender() {
            return Ok(sender);
        }
        *connections += 1;
        let number = *connections;
        let sender = self.connect(number).await?;
        *self.current() = Some((number, sender.clone()));
        Ok(sender)
    }

    fn open_sender(&self) -> Option<h2::client::SendRequest<Bytes>> {
        self.current().as_ref().map(|(_, sender)| sender.clone())
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<(u64, h2::client::SendRequest<Bytes>)>> {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens connection `number` over TCP, whose task forgets it once it
    /// closes.
    async fn connect(&self, number: u64) -> Result<h2::client::SendRequest<Bytes>, Status> {
        let address = &*self.shared.address;
        let unavailable = |error: &dyn std::fmt::Display| {
            Status::unavailable(format!("cannot reach the membrane at {address}: {error}"))
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address))
            .await
            .map_err(|_| unavailable(&format_args!("no connection within {CONNECT_TIMEOUT:?}")))?
            .map_err(|error| unavailable(&error))?;
        tcp.set_nodelay(true).map_err(|error| unavailable(&error))?;
        let (sender, connection) = h2::client::Builder::new()
            // Answers, sends and broadcasts all share this connection:
            // windows wide enough that flow control never holds a burst
            // back. No keep-alive pings: the Nitric membranes are Go gRPC
            // servers, whose default enforcement closes a connection pinged
            // more often than every 5 minutes ("too_many_pings").
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .enable_push(false)
            .handshake(tcp)
            .await
            .map_err(|error| unavailable(&error))?;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "the connection to the membrane ended");
            }
            let mut current = shared
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|(open, _)| *open == number) {
                *current = None;
            }
        });
        Ok(sender)
    }

    /// Sends one gRPC request and waits for the response's headers.
    async fn request(
        self,
        request: http::Request<tonic::body::Body>,
    ) -> Result<http::Response<ResponseBody>, Status> {
        if let Dial::InProcess(membrane) = &self.shared.dial {
            return Ok(membrane.call(request).await.map(ResponseBody::in_process));
        }
        let sender = self.sender().await?;
        let mut sender = sender.ready().await.map_err(body::status_from_h2)?;
        let (mut parts, mut request_body) = request.into_parts();
        parts.uri = self.uri_for(&parts.uri)?;
        parts.version = http::Version::HTTP_2;
        // What the body has ready now: all of it for a unary call, the
        // first message for a stream.
        let (ready, ended) = ready_frames(&mut request_body)?;
        let only_headers = ended && ready.is_empty();
        let (response, mut stream) = sender
            .send_request(http::Request::from_parts(parts, ()), only_headers)
            .map_err(body::status_from_h2)?;
        let last = ready.len().wrapping_sub(1);
        for (index, frame) in ready.into_iter().enumerate() {
            let ends = ended && index == last;
            let sent = match frame.into_data() {
                Ok(data) => stream.send_data(data, ends),
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => stream.send_trailers(trailers),
                    Err(_) => Ok(()),
                },
            };
            sent.map_err(body::status_from_h2)?;
        }
        if !ended {
            tokio::spawn(pump(request_body, stream));
        }
        let response = response.await.map_err(body::status_from_h2)?;
        Ok(response.map(ResponseBody::new))
    }

    /// `http://host:port/path`: h2 needs the scheme and authority, and
    /// tonic's clients give only the path.
    fn uri_for(&self, uri: &Uri) -> Result<Uri, Status> {
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.shared.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|error| Status::internal(format!("cannot make the request's URI: {error}")))
    }
}

/// The body's frames that are ready without waiting, and whether the body
/// ended among them.
fn ready_frames(
    request_body: &mut tonic::body::Body,
) -> Result<(Vec<http_body::Frame<Bytes>>, bool), Status> {
    use http_body::Body;
    let mut context = Context::from_waker(Waker::noop());
    let mut ready = Vec::new();
    loop {
        match Pin::new(&mut *request_body).poll_frame(&mut context) {
            Poll::Ready(Some(Ok(frame))) => ready.push(frame),
            Poll::Ready(Some(Err(status))) => return Err(status),
            Poll::Ready(None) => return Ok((ready, true)),
            Poll::Pending => return Ok((ready, false)),
        }
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Channel {
    type Response = http::Response<ResponseBody>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Status>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        // Waiting for a stream slot happens in the call itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.clone().request(request))
    }
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("address", &self.shared.address)
            .finish_non_exhaustive()
    }
}

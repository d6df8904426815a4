//! gRPC calls from inside the membrane's own process.
//!
//! An application that embeds the membrane would otherwise reach it over
//! loopback TCP: every event and every send would be framed as HTTP/2,
//! cross the kernel twice each way (a system call per write, a wake-up per
//! read on both sides) and be parsed again. An [`InProcessChannel`] hands
//! each gRPC request, as tonic's clients make it, to the same services the
//! TCP server routes to, and their responses straight back: the messages,
//! metadata and statuses are the same gRPC, without HTTP/2 and the kernel
//! in between.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::Status;

/// A gRPC channel to a membrane running in this process; cheap to clone.
/// tonic's generated clients take it as they take a
/// [`tonic::transport::Channel`]. Get one from
/// [`LocalMembrane::in_process`](crate::LocalMembrane::in_process).
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use nitric_protocol::kvstore::v1::kv_store_client::KvStoreClient;
///
/// let membrane = nitric_local::start(nitric_local::Config::default()).await?;
/// let mut kv = KvStoreClient::new(membrane.in_process());
/// # drop(kv);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct InProcessChannel {
    routes: Routes,
    stopped: CancellationToken,
}

impl InProcessChannel {
    pub(crate) fn new(routes: Routes, stopped: CancellationToken) -> Self {
        Self { routes, stopped }
    }

    /// Calls the service the request's path names, as the TCP server would.
    /// Once the membrane has stopped, every call answers `UNAVAILABLE`, as
    /// a refused connection does over TCP.
    pub fn call(
        &self,
        request: http::Request<Body>,
    ) -> impl Future<Output = http::Response<Body>> + Send + 'static {
        let stopped = self.stopped.is_cancelled();
        let mut routes = self.routes.clone();
        async move {
            if stopped {
                return Status::unavailable("the local membrane has stopped").into_http();
            }
            match tower_service::Service::call(&mut routes, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}

impl tower_service::Service<http::Request<Body>> for InProcessChannel {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The routes are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        InProcessChannel::call(self, request).map(Ok).boxed()
    }
}

impl std::fmt::Debug for InProcessChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessChannel")
            .field("stopped", &self.stopped.is_cancelled())
            .finish_non_exhaustive()
    }
}

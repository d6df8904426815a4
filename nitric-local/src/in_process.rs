//! In-process calls: gRPC calls from the process an embedded membrane runs
//! in, without HTTP/2.
//!
//! An application that embeds the membrane would otherwise reach it over
//! loopback TCP: every event and every send would be framed as HTTP/2,
//! cross the kernel twice each way (a system call per write, a wake-up per
//! read on both sides) and be parsed again. An [`InProcessChannel`] hands
//! each gRPC request, as tonic's clients make it, to the same services the
//! TCP server routes to, and their responses straight back: the messages,
//! metadata and statuses are the same gRPC, without HTTP/2 and the kernel
//! in between.
//!
//! What the TCP server does around a call is done here too, so a call
//! behaves the same either way: a `grpc-timeout` is kept, a panic in the
//! membrane fails the call alone (hyper runs each stream on a task of its
//! own), and shutdown waits for calls in flight.
//!
//! A membrane on a runtime of its own ([`crate::start_on_own_runtime`])
//! has each call's future and response body polled inside that runtime's
//! context: what the membrane's code spawns or times while answering (a
//! stream's tasks, a timeout) lives on the membrane's threads, never on
//! the application's.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http_body::{Frame, SizeHint};
use tokio_util::task::TaskTracker;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::Status;

/// An in-process gRPC channel to a membrane embedded in this process;
/// cheap to clone.
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
    routes: StoppableRoutes,
    /// The membrane's tasks: shutdown waits for these calls with them.
    calls: TaskTracker,
    /// The membrane's own runtime, entered while a call is polled.
    runtime: Option<tokio::runtime::Handle>,
}

/// The membrane's services until it stops. Taken out then, so a channel
/// still held afterwards keeps none of the membrane's state alive (its
/// gateways, its database and the database's writer thread).
#[derive(Clone)]
pub(crate) struct StoppableRoutes(Arc<RwLock<Option<Routes>>>);

impl StoppableRoutes {
    pub(crate) fn new(routes: Routes) -> Self {
        Self(Arc::new(RwLock::new(Some(routes))))
    }

    /// From now on, calls answer `UNAVAILABLE`.
    pub(crate) fn stop(&self) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn get(&self) -> Option<Routes> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl InProcessChannel {
    pub(crate) fn new(routes: StoppableRoutes, calls: TaskTracker) -> Self {
        Self {
            routes,
            calls,
            runtime: None,
        }
    }

    /// This channel, polling its calls inside `runtime`'s context.
    pub(crate) fn entering(self, runtime: tokio::runtime::Handle) -> Self {
        Self {
            runtime: Some(runtime),
            ..self
        }
    }

    /// Calls the service the request's path names, as the TCP server would.
    /// Once the membrane is stopping, every call answers `UNAVAILABLE`, as a
    /// refused connection does over TCP.
    ///
    /// ```no_run
    /// # async fn example(membrane: nitric_local::LocalMembrane) {
    /// let request = http::Request::post("/nitric.proto.resources.v1.Resources/Declare")
    ///     .header("content-type", "application/grpc")
    ///     .body(tonic::body::Body::empty())
    ///     .unwrap();
    /// let response = membrane.in_process().call(request).await;
    /// // An empty body is no message: the service says so in the status.
    /// assert_eq!(response.status(), http::StatusCode::OK);
    /// # }
    /// ```
    pub fn call(
        &self,
        request: http::Request<Body>,
    ) -> impl Future<Output = http::Response<Body>> + Send + 'static {
        // Taken now, so a call made before shutdown began is waited for.
        let in_flight = self.calls.token();
        let routes = self.routes.clone();
        let runtime = self.runtime.clone();
        let runtime_of_body = runtime.clone();
        let call = async move {
            let Some(mut routes) = routes.get() else {
                return Status::unavailable("the local membrane has stopped").into_http();
            };
            let timeout = grpc_timeout(request.headers());
            let answered =
                AssertUnwindSafe(tower_service::Service::call(&mut routes, request)).catch_unwind();
            let answered = match timeout {
                Some(timeout) => match tokio::time::timeout(timeout, answered).await {
                    Ok(answered) => answered,
                    // What tonic's server answers when the time is up.
                    Err(_) => return Status::cancelled("Timeout expired").into_http(),
                },
                None => answered.await,
            };
            drop(in_flight);
            match answered {
                Ok(Ok(response)) => response.map(|body| {
                    Body::new(PanicSafe {
                        body: Some(body),
                        runtime: runtime_of_body,
                    })
                }),
                Ok(Err(never)) => match never {},
                Err(panic) => panicked(panic).into_http(),
            }
        };
        Entered {
            runtime,
            inner: call,
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
            .field("stopped", &self.routes.get().is_none())
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// A future polled inside a runtime's context, when there is one, so
    /// that what it spawns and the timers it sets belong to that runtime.
    struct Entered<F> {
        runtime: Option<tokio::runtime::Handle>,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Entered<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.runtime.as_ref().map(tokio::runtime::Handle::enter);
        this.inner.poll(cx)
    }
}

/// A response body whose producer may panic (a streaming service's code
/// runs as the caller polls it): the panic ends the body with an error
/// instead of unwinding into the caller. Polled inside the membrane's own
/// runtime, when it has one, as the call was.
struct PanicSafe {
    body: Option<Body>,
    runtime: Option<tokio::runtime::Handle>,
}

impl http_body::Body for PanicSafe {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Status>>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let _entered = this.runtime.as_ref().map(tokio::runtime::Handle::enter);
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(body).poll_frame(cx))) {
            Ok(frame) => frame,
            Err(panic) => {
                this.body = None;
                Poll::Ready(Some(Err(panicked(panic))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

/// The status of a call the membrane panicked in, which it logs.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Status {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    tracing::error!(
        panic = message,
        "the local membrane panicked answering a call"
    );
    let status = Status::internal(format!("the local membrane failed: {message}"));
    // Dropping a payload runs its code, which may panic again, outside any
    // catch: a few bytes kept per panic are the safer cost.
    std::mem::forget(panic);
    status
}

/// The deadline a client gave the call in `grpc-timeout` (a number of at
/// most 8 digits and a unit), or none when it gave none or an unreadable
/// one, as tonic's server reads it.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (amount, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if amount.len() > 8 {
        return None;
    }
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 60 * 60),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::kvstore::v1::kv_store_client::KvStoreClient;
    use nitric_protocol::kvstore::v1::kv_store_server::{KvStore, KvStoreServer};
    use nitric_protocol::kvstore::v1::{
        KvStoreDeleteKeyRequest, KvStoreDeleteKeyResponse, KvStoreGetValueRequest,
        KvStoreGetValueResponse, KvStoreScanKeysRequest, KvStoreScanKeysResponse,
        KvStoreSetValueRequest, KvStoreSetValueResponse,
    };
    use tokio_stream::StreamExt;
    use tonic::{Code, Request, Response};

    /// A store whose reads panic, whose writes take 1 s, whose scans
    /// panic once streaming and whose deletes succeed.
    struct Faulty;

    #[tonic::async_trait]
    impl KvStore for Faulty {
        async fn get_value(
            &self,
            _: Request<KvStoreGetValueRequest>,
        ) -> Result<Response<KvStoreGetValueResponse>, Status> {
            panic!("boom in get");
        }

        async fn set_value(
            &self,
            _: Request<KvStoreSetValueRequest>,
        ) -> Result<Response<KvStoreSetValueResponse>, Status> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Response::new(KvStoreSetValueResponse {}))
        }

        async fn delete_key(
            &self,
            _: Request<KvStoreDeleteKeyRequest>,
        ) -> Result<Response<KvStoreDeleteKeyResponse>, Status> {
            Ok(Response::new(KvStoreDeleteKeyResponse {}))
        }

        type ScanKeysStream = Pin<
            Box<dyn futures_util::Stream<Item = Result<KvStoreScanKeysResponse, Status>> + Send>,
        >;

        async fn scan_keys(
            &self,
            _: Request<KvStoreScanKeysRequest>,
        ) -> Result<Response<Self::ScanKeysStream>, Status> {
            let stream = tokio_stream::once(()).map(|()| -> Result<_, Status> {
                panic!("boom in scan");
            });
            Ok(Response::new(Box::pin(stream)))
        }
    }

    fn channel() -> (InProcessChannel, StoppableRoutes, TaskTracker) {
        let routes = StoppableRoutes::new(Routes::new(KvStoreServer::new(Faulty)));
        let calls = TaskTracker::new();
        (
            InProcessChannel::new(routes.clone(), calls.clone()),
            routes,
            calls,
        )
    }

    #[tokio::test]
    async fn a_panic_answering_fails_that_call_alone() {
        let (channel, _, _) = channel();
        let mut kv = KvStoreClient::new(channel);
        let failed = kv
            .get_value(KvStoreGetValueRequest::default())
            .await
            .expect_err("the service panicked");
        assert_eq!(failed.code(), Code::Internal, "{failed:?}");
        assert!(failed.message().contains("boom in get"), "{failed:?}");
        // The channel still works.
        kv.delete_key(KvStoreDeleteKeyRequest::default())
            .await
            .expect("a later call succeeds");
    }

    #[tokio::test]
    async fn a_panic_while_streaming_ends_the_stream_with_an_error() {
        let (channel, _, _) = channel();
        let mut keys = KvStoreClient::new(channel)
            .scan_keys(KvStoreScanKeysRequest::default())
            .await
            .expect("the stream opens")
            .into_inner();
        let failed = keys
            .next()
            .await
            .expect("an item")
            .expect_err("the stream panicked");
        assert_eq!(failed.code(), Code::Internal, "{failed:?}");
        assert!(failed.message().contains("boom in scan"), "{failed:?}");
    }

    #[tokio::test]
    async fn a_grpc_timeout_is_kept() {
        let (channel, _, _) = channel();
        let mut request = Request::new(KvStoreSetValueRequest::default());
        request.set_timeout(Duration::from_millis(50));
        let failed = KvStoreClient::new(channel)
            .set_value(request)
            .await
            // The service would have answered Ok after 1 s.
            .expect_err("the deadline passed");
        assert_eq!(failed.code(), Code::Cancelled, "{failed:?}");
    }

    #[tokio::test]
    async fn once_stopped_calls_are_unavailable() {
        let (channel, routes, _) = channel();
        routes.stop();
        let failed = KvStoreClient::new(channel)
            .delete_key(KvStoreDeleteKeyRequest::default())
            .await
            .expect_err("the membrane stopped");
        assert_eq!(failed.code(), Code::Unavailable, "{failed:?}");
    }

    #[tokio::test]
    async fn shutdown_waits_for_calls_in_flight() {
        let (channel, _, calls) = channel();
        let call = tokio::spawn(async move {
            KvStoreClient::new(channel)
                .set_value(KvStoreSetValueRequest::default())
                .await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        calls.close();
        let waited = tokio::time::timeout(Duration::from_millis(300), calls.wait()).await;
        assert!(waited.is_err(), "shutdown did not wait for the call");
        tokio::time::timeout(Duration::from_secs(10), calls.wait())
            .await
            .expect("shutdown waits until the call is answered");
        call.await.unwrap().expect("the call was answered");
    }

    #[test]
    fn grpc_timeouts_read_as_tonic_reads_them() {
        let read = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", value.parse().unwrap());
            grpc_timeout(&headers)
        };
        assert_eq!(read("3H"), Some(Duration::from_secs(3 * 3600)));
        assert_eq!(read("2M"), Some(Duration::from_secs(120)));
        assert_eq!(read("5S"), Some(Duration::from_secs(5)));
        assert_eq!(read("250m"), Some(Duration::from_millis(250)));
        assert_eq!(read("7u"), Some(Duration::from_micros(7)));
        assert_eq!(read("99999999n"), Some(Duration::from_nanos(99_999_999)));
        // As Rust reads a number, which tonic's server uses.
        assert_eq!(read("+5S"), Some(Duration::from_secs(5)));
        for unreadable in ["", "S", "123456789S", "5s", "-5S", "5 S", "5"] {
            assert_eq!(read(unreadable), None, "{unreadable:?}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}

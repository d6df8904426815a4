//! HTTP APIs: one HTTP listener per declared API, started the first time an
//! application registers a route of it (`Api.Serve`), each request routed
//! by method and path (with `:name` parameters) to the stream that
//! registered the route, and answered with that stream's response.
//!
//! Ports: the first API listens on [`Config::api_port`] (default 4100,
//! `NITRIC_LOCAL_API_PORT`), each further one on the next port; 0 picks a
//! free port for each. Like the websocket gateways, a listener keeps
//! running after the application disconnects, so a restarted application
//! is found on the same URL.
//!
//! - [`route`]: route paths and matching a request's path.
//! - [`http`]: the listener and the translation of HTTP requests and
//!   responses to and from the contract's messages.

mod http;
mod route;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nitric_protocol::apis::v1::{server_message, HttpRequest, HttpResponse, ServerMessage};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Status;

use crate::app_stream::{PairedStream, Unanswered};
use crate::{lock, Config};
pub(crate) use route::RoutePath;

/// The sending half of a `Serve` response stream.
pub(crate) type RequestSender = mpsc::Sender<Result<ServerMessage, Status>>;

type RouteStream = PairedStream<ServerMessage, HttpResponse>;

/// One registered route: its path, methods and stream. It stays listed
/// after its stream ends, so a request to it is answered 503 (no handler)
/// rather than 404 (no route) while the application restarts.
struct Route {
    path: RoutePath,
    methods: Vec<String>,
    stream: Arc<RouteStream>,
}

/// Why an API's listener could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ListenError {
    #[error("api \"{api}\" cannot listen on {addr}: {error}")]
    Bind {
        api: String,
        addr: std::net::SocketAddr,
        error: std::io::Error,
    },
    #[error("no port is left for api \"{api}\"")]
    NoPortLeft { api: String },
}

/// Why a request got no response from the application.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unrouted {
    /// No route of the API matches the path: 404.
    NoRoute,
    /// Routes match the path, but none for the method: 405, with the
    /// methods that are allowed.
    WrongMethod(Vec<String>),
    /// The route's handler stream is gone: 503.
    NoHandler,
    /// The handler did not answer in time: 504.
    TimedOut,
    /// The stream ended while the request waited: 502.
    HandlerGone,
    /// The membrane is stopping: 503.
    ShuttingDown,
}

/// Every API's listener and routes.
pub(crate) struct Apis {
    config: Arc<Config>,
    /// Serialises listener starts, and remembers the next port.
    next_port: tokio::sync::Mutex<Option<u16>>,
    /// Routes by API name, lowercase (names compare as socket names do).
    routes: Mutex<HashMap<String, Vec<Route>>>,
    /// Running listeners' URLs by API name, lowercase.
    urls: watch::Sender<HashMap<String, String>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// A route's registration; dropping it (the stream ended) closes the
/// stream, so requests to the route are answered 503.
pub(crate) struct Registration {
    stream: Arc<RouteStream>,
}

impl Registration {
    /// Delivers the application's response to the request sent under `id`.
    pub(crate) fn answer(&self, id: &str, response: HttpResponse) -> bool {
        self.stream.answer(id, response)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.stream.close();
    }
}

fn key(api: &str) -> String {
    nitric_protocol::names::socket_key(api)
}

impl Apis {
    pub(crate) fn new(
        config: Arc<Config>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            next_port: tokio::sync::Mutex::new(Some(config.api_port)),
            config,
            routes: Mutex::new(HashMap::new()),
            urls: watch::Sender::new(HashMap::new()),
            shutdown,
            tasks,
        }
    }

    /// Starts the listener of `api` unless it runs already; returns its URL.
    pub(crate) async fn ensure_running(self: &Arc<Self>, api: &str) -> Result<String, ListenError> {
        let mut next_port = self.next_port.lock().await;
        if let Some(url) = self.url(api) {
            return Ok(url);
        }
        let port = next_port.ok_or_else(|| ListenError::NoPortLeft {
            api: api.to_owned(),
        })?;
        let addr = std::net::SocketAddr::new(self.config.ws_host, port);
        let bind_error = |error| ListenError::Bind {
            api: api.to_owned(),
            addr,
            error,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        if port != 0 {
            *next_port = port.checked_add(1);
        }
        let url = format!("http://{}", crate::websocket::reachable(bound));
        self.tasks
            .spawn(http::serve(listener, self.clone(), api.to_owned()));
        tracing::info!(api, %url, "api listening");
        if self.config.announce {
            http::announce(api, &url);
        }
        self.urls.send_modify(|urls| {
            urls.insert(key(api), url.clone());
        });
        Ok(url)
    }

    /// The URL of `api`'s listener, if it runs.
    pub(crate) fn url(&self, api: &str) -> Option<String> {
        self.urls.borrow().get(&key(api)).cloned()
    }

    /// Resolves with the URL of `api`'s listener once it runs.
    pub(crate) async fn wait_for(&self, api: &str) -> String {
        crate::websocket::wait_for_url(&self.urls, &key(api)).await
    }

    /// Registers a stream for `methods` of `path` on `api`, and queues
    /// `welcome` on it. Refused while another live stream serves one of
    /// these methods on a path of the same shape.
    pub(crate) fn register(
        &self,
        api: &str,
        path: RoutePath,
        methods: Vec<String>,
        requests: RequestSender,
        welcome: ServerMessage,
    ) -> Result<Registration, String> {
        let mut routes = lock(&self.routes);
        let routes = routes.entry(key(api)).or_default();
        for route in routes.iter().filter(|route| route.path.same_shape(&path)) {
            let taken = route.methods.iter().find(|method| methods.contains(method));
            if let (Some(method), true) = (taken, route.stream.is_open()) {
                return Err(format!(
                    "api \"{api}\" already has a handler for {method} {}; only one stream may serve each method and path",
                    route.path.as_str()
                ));
            }
        }
        // Routes of a stream that ended, replaced by this one.
        routes.retain(|route| {
            route.stream.is_open()
                || !(route.path.same_shape(&path)
                    && route.methods.iter().any(|m| methods.contains(m)))
        });
        let stream = Arc::new(PairedStream::new(requests));
        stream.welcome(welcome);
        routes.push(Route {
            path,
            methods,
            stream: stream.clone(),
        });
        Ok(Registration { stream })
    }

    /// The stream serving `method` on `path` of `api`, with the path's
    /// parameters; the most specific route wins (`/rooms/new` over
    /// `/rooms/:id`).
    fn find(
        &self,
        api: &str,
        method: &str,
        path: &str,
    ) -> Result<(Arc<RouteStream>, HashMap<String, String>), Unrouted> {
        let routes = lock(&self.routes);
        let Some(routes) = routes.get(&key(api)) else {
            return Err(Unrouted::NoRoute);
        };
        let mut matching: Vec<(&Route, HashMap<String, String>)> = routes
            .iter()
            .filter_map(|route| route.path.matches(path).map(|params| (route, params)))
            .collect();
        if matching.is_empty() {
            return Err(Unrouted::NoRoute);
        }
        matching.sort_by_key(|(route, _)| std::cmp::Reverse(route.path.specificity()));
        // A live stream before one that ended, among routes of one shape.
        matching.sort_by_key(|(route, _)| !route.stream.is_open());
        match matching
            .iter()
            .find(|(route, _)| route.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
        {
            Some((route, params)) => Ok((route.stream.clone(), params.clone())),
            None => {
                let mut allowed: Vec<String> = matching
                    .iter()
                    .flat_map(|(route, _)| route.methods.iter().cloned())
                    .collect();
                allowed.sort();
                allowed.dedup();
                Err(Unrouted::WrongMethod(allowed))
            }
        }
    }

    /// Sends `request` to the stream serving it and waits, at most the
    /// membrane's `event_timeout`, for the response.
    pub(crate) async fn dispatch(
        &self,
        api: &str,
        mut request: HttpRequest,
    ) -> Result<HttpResponse, Unrouted> {
        let (stream, params) = self.find(api, &request.method, &request.path)?;
        if !stream.is_open() {
            return Err(Unrouted::NoHandler);
        }
        request.path_params = params;
        let message = |id| ServerMessage {
            id,
            content: Some(server_message::Content::HttpRequest(request)),
        };
        let sent =
            stream
                .send(message, &self.shutdown)
                .await
                .map_err(|unanswered| match unanswered {
                    Unanswered::StreamEnded => Unrouted::NoHandler,
                    Unanswered::ShuttingDown => Unrouted::ShuttingDown,
                })?;
        match tokio::time::timeout(self.config.event_timeout, sent.answer(&self.shutdown)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(Unanswered::StreamEnded)) => Err(Unrouted::HandlerGone),
            Ok(Err(Unanswered::ShuttingDown)) => Err(Unrouted::ShuttingDown),
            Err(_) => Err(Unrouted::TimedOut),
        }
    }
}

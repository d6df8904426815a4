//! Test a service's handlers from `#[tokio::test]`, with real websocket
//! clients and the real local membrane, in one call (the `testing` feature).
//!
//! [`TestApp::start`] serves every handler linked into the test binary on a
//! local membrane started in the test's process: free ports on loopback, a
//! temporary data directory, and its own [`ServiceHandle`]. Tests using it
//! run in parallel without seeing each other's connections or data.
//!
//! ```no_run
//! // tests/echo.rs of a crate with
//! // [dev-dependencies] nitric-runtime = { version = "0.1", features = ["testing"] }
//! use nitric_runtime::testing::TestApp;
//! use nitric_runtime::websocket::{ConnectContext, MessageContext, Reject};
//! use nitric_runtime::{websocket, Error};
//!
//! #[websocket("public", on = "connect")]
//! async fn connect(ctx: ConnectContext) -> Result<(), Reject> {
//!     ctx.query().get("name").map(|_| ()).ok_or_else(|| Reject::new("no name"))
//! }
//!
//! #[websocket("public", on = "disconnect")]
//! async fn disconnect() {}
//!
//! #[websocket("public", on = "message")]
//! async fn echo(ctx: MessageContext) -> Result<(), Error> {
//!     ctx.socket().send(ctx.connection_id(), ctx.body()).await
//! }
//!
//! #[tokio::test]
//! async fn echoes_to_the_sender() -> Result<(), nitric_runtime::testing::TestError> {
//!     let app = TestApp::start().await?;
//!     let mut ada = app.connect_with_query("public", &[("name", "ada")]).await?;
//!     ada.send_text("hello").await?;
//!     assert_eq!(ada.recv_text().await?, "hello");
//!     assert_eq!(app.connect_refused("public").await?, 403);
//!     app.stop().await
//! }
//! ```
//!
//! The app's HTTP routes are reached with [`TestApp::http`]:
//! `app.http("main").get("/rooms/lobby").await?.assert_status(200)?`.
//!
//! Client calls of the app's own code (`#[kv_store]` and `#[topic]` statics,
//! `Websocket::new`) work in a test inside [`TestApp::scope`]. To look at
//! data without going through the app's declared permissions, use
//! [`TestApp::kv_store`] and [`TestApp::topic`].

mod assertions;
mod client;
mod http;
mod resources;

pub use assertions::{assert_broadcast, Reply};
pub use client::{Received, TestClient};
pub use http::{TestHttp, TestRequest, TestResponse};
pub use resources::{TestKvStore, TestSubscriber, TestTopic};

use crate::error::Error;
use crate::handle::ServiceHandle;
use crate::registry::Registry;
use crate::service::Started;
use crate::settings::{Environment, MembraneLocation, Settings};
use crate::websocket::Websocket;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for the app to register, for a message, or for a
/// connection, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a minute of a schedule's rate lasts in a [`TestApp`]: a
/// `#[schedule("name", every = "5 minutes")]` fires every 250 ms, so a test
/// sees it fire. Cron schedules follow the clock.
pub const TEST_MINUTE: Duration = Duration::from_millis(50);

/// The app's handlers served on an in-process local membrane.
///
/// Stop it with [`stop`](Self::stop) to see how serving ended; dropping it
/// stops it too, in the background.
///
/// ```no_run
/// # async fn example() -> Result<(), nitric_runtime::testing::TestError> {
/// use nitric_runtime::testing::TestApp;
///
/// let app = TestApp::start().await?;
/// let mut client = app.connect("public").await?;
/// client.send_text("hi").await?;
/// app.stop().await?;
/// # Ok(())
/// # }
/// ```
pub struct TestApp {
    service: ServiceHandle,
    stop: CancellationToken,
    serving: Option<JoinHandle<Result<(), Error>>>,
    timeout: Duration,
    // Dropped after `serving` has stopped the membrane using it.
    data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts every handler linked into this binary on a fresh local
    /// membrane, and returns once all of them are registered.
    pub async fn start() -> Result<Self, TestError> {
        Self::start_with_timeout(DEFAULT_TIMEOUT).await
    }

    /// [`start`](Self::start), waiting at most `timeout` for the app to
    /// register, and using it as the clients' default timeout.
    pub async fn start_with_timeout(timeout: Duration) -> Result<Self, TestError> {
        init_test_logging();
        let data_dir = tempfile::Builder::new()
            .prefix("nitric-test-")
            .tempdir()
            .map_err(|error| TestError::new(format!("cannot create a data directory: {error}")))?;
        let settings = Settings {
            membrane: MembraneLocation::Embedded(Box::new(nitric_local::Config {
                ws_port: 0,
                api_port: 0,
                data_dir: data_dir.path().to_owned(),
                announce: false,
                // The test kit's own clients (`kv_store`, `topic`) act with
                // every permission, whatever the app declared, so the
                // membrane cannot hold them to the app's policies. (The
                // app's key/value and topic clients still refuse what its
                // declarations do not allow: `Error::NotAllowed`.)
                enforce_policies: false,
                // Schedules fire within a test: a minute of a rate lasts
                // TEST_MINUTE ("5 minutes" fires every quarter second).
                schedule_timing: nitric_local::ScheduleTiming {
                    minute: TEST_MINUTE,
                    ..nitric_local::ScheduleTiming::default()
                },
                ..nitric_local::Config::embedded()
            })),
            environment: Environment::Local,
            shutdown_timeout: timeout,
            event_timeout: crate::DEFAULT_EVENT_TIMEOUT,
        };
        let registry = Registry::collect().map_err(Error::from)?;
        let started = Started::start(settings, registry).await?;
        let service = started.service().clone();
        let streams = started.streams();
        let stop = CancellationToken::new();
        let mut serving = tokio::spawn(started.serve(stop.clone()));
        let registered = tokio::time::timeout(timeout, async {
            tokio::select! {
                () = service.registered(streams) => Ok(()),
                ended = &mut serving => Err(match ended {
                    Ok(Ok(())) => TestError::new("the app stopped before registering its handlers"),
                    Ok(Err(error)) => error.into(),
                    Err(panic) => TestError::new(format!("the app panicked while starting: {panic}")),
                }),
            }
        })
        .await;
        let app = Self {
            service,
            stop,
            serving: Some(serving),
            timeout,
            data_dir,
        };
        match registered {
            Ok(Ok(())) => Ok(app),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(TestError::new(format!(
                "the app did not register its {streams} handlers within {timeout:?}"
            ))),
        }
    }

    /// The running service, for [`ServiceHandle::scope`] and
    /// [`ServiceHandle::spawn`].
    pub fn service(&self) -> &ServiceHandle {
        &self.service
    }

    /// Runs `future` as the app would: the `#[kv_store]` and `#[topic]`
    /// statics and `Websocket::new` clients in it reach this app.
    ///
    /// ```no_run
    /// # use nitric_runtime::kv::KvStore;
    /// # #[nitric_runtime::kv_store("profiles", allow = [get])]
    /// # static PROFILES: KvStore<serde_json::Value>;
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::Error> {
    /// let profile = app.scope(PROFILES.get("ada")).await?;
    /// assert!(profile.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        self.service.scope(future)
    }

    /// Where the app keeps its key/value data; removed when the app drops.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The `ws://` URL of `socket`.
    pub async fn url(&self, socket: &str) -> Result<String, TestError> {
        Ok(self.scope(Websocket::new(socket).url()).await?)
    }

    /// The `http://` base URL of the API `api`, for requests to its routes
    /// with a client of your own; [`http`](Self::http) is one.
    pub async fn api_url(&self, api: &str) -> Result<String, TestError> {
        Ok(self.scope(crate::api::url(api)).await?)
    }

    /// An HTTP client of the app's API `api` (its `#[api("name", ..)]`
    /// routes): `get`, `post_json`, `delete` or any request, awaited for
    /// a [`TestResponse`] to check. Every request waits at most the app's
    /// timeout.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// let room = app.http("main").get("/rooms/lobby?seat=4").await?;
    /// room.assert_status(200)?.assert_text("room lobby, seat 4")?;
    ///
    /// app.http("main")
    ///     .post_json("/announce", &json!({ "text": "hello" }))
    ///     .await?
    ///     .assert_status(202)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn http(&self, api: &str) -> TestHttp {
        TestHttp::new(self.service.clone(), api, self.timeout)
    }

    /// Connects a client to `socket` and waits for the app to accept it.
    pub async fn connect(&self, socket: &str) -> Result<TestClient, TestError> {
        self.connect_with_query(socket, &[]).await
    }

    /// Connects with query parameters (form-encoded here), as
    /// `ws://.../?name=value&...`.
    pub async fn connect_with_query(
        &self,
        socket: &str,
        query: &[(&str, &str)],
    ) -> Result<TestClient, TestError> {
        let url = self.url_with_query(socket, query).await?;
        TestClient::connect(socket, &url, self.timeout).await
    }

    /// Connects expecting the app to refuse, and returns the HTTP status the
    /// upgrade got (403 for a connect handler that refused); an error if
    /// the connection was accepted.
    pub async fn connect_refused(&self, socket: &str) -> Result<u16, TestError> {
        self.connect_refused_with_query(socket, &[]).await
    }

    /// [`connect_refused`](Self::connect_refused) with query parameters.
    pub async fn connect_refused_with_query(
        &self,
        socket: &str,
        query: &[(&str, &str)],
    ) -> Result<u16, TestError> {
        let url = self.url_with_query(socket, query).await?;
        client::refused_status(socket, &url, self.timeout).await
    }

    /// A client of key/value store `name` with every permission, whatever
    /// the app declared, for setting up and checking data.
    pub fn kv_store<T>(&self, name: &str) -> TestKvStore<T> {
        TestKvStore::new(self.service.clone(), name)
    }

    /// A client of topic `name`: publish to the app's subscribers, or
    /// subscribe to see what the app publishes.
    pub fn topic<T>(&self, name: &str) -> TestTopic<T> {
        TestTopic::new(self.service.clone(), name, self.timeout)
    }

    /// Stops taking events, lets handlers in flight finish, stops the
    /// membrane, and returns how serving ended.
    pub async fn stop(mut self) -> Result<(), TestError> {
        self.stop.cancel();
        let serving = self.serving.take().expect("only `stop` and `drop` take it");
        match serving.await {
            Ok(served) => Ok(served?),
            Err(panic) => Err(TestError::new(format!(
                "the app panicked while serving: {panic}"
            ))),
        }
    }

    async fn url_with_query(
        &self,
        socket: &str,
        query: &[(&str, &str)],
    ) -> Result<String, TestError> {
        let mut url = self.url(socket).await?;
        if !url.ends_with('/') && !url.contains('?') {
            url.push('/');
        }
        url.push_str(&query_string(query));
        Ok(url)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl fmt::Debug for TestApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestApp")
            .field("data_dir", &self.data_dir.path())
            .finish_non_exhaustive()
    }
}

/// Why a test step failed: what was being done and what happened.
///
/// ```
/// use nitric_runtime::testing::TestError;
///
/// let error = TestError::from(nitric_runtime::Error::Startup("port in use".into()));
/// assert_eq!(error.to_string(), "port in use");
/// ```
#[derive(Debug)]
pub struct TestError {
    message: String,
    source: Option<Error>,
}

impl TestError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// The runtime's error behind this one, if a client call failed.
    pub fn runtime_error(&self) -> Option<&Error> {
        self.source.as_ref()
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|error| error as _)
    }
}

impl From<Error> for TestError {
    fn from(error: Error) -> Self {
        Self {
            message: error.to_string(),
            source: Some(error),
        }
    }
}

/// `?name=value&...`, form-encoded as a browser writes a query; empty for
/// no pairs.
fn query_string(query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return String::new();
    }
    form_urlencoded::Serializer::for_suffix(String::from("?"), 1)
        .extend_pairs(query)
        .finish()
}

/// Logs of the app under test go to the test's captured output, shown when
/// it fails (`RUST_LOG` filters, default `warn`).
fn init_test_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::query_string;
    use crate::websocket::QueryParams;
    use proptest::prelude::*;

    #[test]
    fn queries_are_form_encoded() {
        assert_eq!(query_string(&[]), "");
        assert_eq!(
            query_string(&[("name", "ada lovelace"), ("q", "a&b=c%é")]),
            "?name=ada+lovelace&q=a%26b%3Dc%25%C3%A9"
        );
    }

    /// Names and values a client might send: anything, and the characters
    /// a query string treats specially.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-z =&+%#?/;~.-]{0,12}"]
    }

    // Each property runs PROPTEST_CASES cases (256 by default); for a longer
    // search: PROPTEST_CASES=100000 cargo test -p nitric-runtime --lib properties
    proptest! {
        /// What the kit writes is read back by a standard decoder (the one
        /// behind the gateway's query extractor) as the same pairs, in order.
        #[test]
        fn properties_query_strings_round_trip(pairs in prop::collection::vec((text(), text()), 0..6)) {
            let borrowed: Vec<(&str, &str)> =
                pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            let written = query_string(&borrowed);
            prop_assert_eq!(written.is_empty(), pairs.is_empty());
            let query = written.strip_prefix('?').unwrap_or(&written);
            let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            prop_assert_eq!(decoded, pairs);
        }

        /// Pairs grouped by name, as the membrane hands them to a connect
        /// handler, answer `get` and `get_all` as the pairs say.
        #[test]
        fn properties_query_params_keep_every_value_in_order(
            pairs in prop::collection::vec((prop_oneof![text(), "[ab]"], text()), 0..8),
            absent in text(),
        ) {
            let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
            for (name, value) in &pairs {
                match grouped.iter_mut().find(|(seen, _)| seen == name) {
                    Some((_, values)) => values.push(value.clone()),
                    None => grouped.push((name.clone(), vec![value.clone()])),
                }
            }
            let params: QueryParams = grouped.iter().cloned().collect();
            for (name, values) in &grouped {
                prop_assert_eq!(params.get_all(name), values.as_slice());
                prop_assert_eq!(params.get(name), values.first().map(String::as_str));
            }
            if !pairs.iter().any(|(name, _)| *name == absent) {
                prop_assert_eq!(params.get(&absent), None);
                prop_assert!(params.get_all(&absent).is_empty());
            }
            let names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
            prop_assert_eq!(names.len(), grouped.len());
            prop_assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", names);
        }
    }
}

//! A real HTTP client for the app's `#[api]` routes: one HTTP/1.1 request
//! per TCP connection to the API's listener on the test's local membrane
//! (hyper's client), each bounded by the app's timeout, and responses with
//! assertions whose failures show the whole response.

use super::assertions::{line_diff, pretty, to_json};
use super::{query_string, TestError};
use crate::handle::ServiceHandle;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::{self, Write};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpStream;

/// How much of a body a failure message shows.
const SHOWN_BODY: usize = 4096;

/// A client of one of the app's HTTP APIs, from
/// [`TestApp::http`](super::TestApp::http): each method starts a
/// [`TestRequest`] for a path of that API; awaiting it sends it.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// use serde_json::json;
///
/// let api = app.http("main");
/// api.get("/rooms/lobby?seat=4").await?.assert_status(200)?;
/// let created = api.post_json("/rooms", &json!({ "name": "kitchen" })).await?;
/// assert_eq!(created.status(), 201);
/// api.delete("/rooms/kitchen").await?.assert_status(204)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TestHttp {
    service: ServiceHandle,
    api: String,
    timeout: Duration,
}

impl TestHttp {
    pub(super) fn new(service: ServiceHandle, api: &str, timeout: Duration) -> Self {
        Self {
            service,
            api: api.to_owned(),
            timeout,
        }
    }

    /// The API's base URL, `http://127.0.0.1:<port>`, for clients of your
    /// own.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let base = app.http("main").url().await?;
    /// assert!(base.starts_with("http://"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn url(&self) -> Result<String, TestError> {
        self.service
            .scope(crate::api::url(&self.api))
            .await
            .map_err(|error| {
                TestError::new(format!(
                    "api \"{}\": no URL: {error} (is a route of it linked into the test?)",
                    self.api
                ))
            })
    }

    /// A request of `method` (`"GET"`, `"PATCH"`, any case) for `path`,
    /// which starts with `/` and may carry a query (`/rooms?seat=4`).
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let response = app
    ///     .http("main")
    ///     .request("PATCH", "/rooms/lobby")
    ///     .header("x-client", "tests")
    ///     .text("renamed")
    ///     .await?;
    /// assert_eq!(response.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn request(&self, method: &str, path: &str) -> TestRequest {
        TestRequest {
            client: self.clone(),
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Ok(Vec::new()),
        }
    }

    /// A `GET` of `path`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let page = app.http("main").get("/rooms/lobby").await?.assert_status(200)?;
    /// assert_eq!(page.text()?, "room lobby");
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, path: &str) -> TestRequest {
        self.request("GET", path)
    }

    /// A `POST` to `path`, without a body until you give it one.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").post("/bell").await?.assert_status(204)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn post(&self, path: &str) -> TestRequest {
        self.request("POST", path)
    }

    /// A `POST` to `path` with `body` as JSON (`content-type:
    /// application/json`).
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::{json, Value};
    ///
    /// let issued: Value = app
    ///     .http("auth")
    ///     .post_json("/login", &json!({ "name": "ada" }))
    ///     .await?
    ///     .assert_status(200)?
    ///     .json()?;
    /// assert!(issued["ticket"].is_string());
    /// # Ok(())
    /// # }
    /// ```
    pub fn post_json<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> TestRequest {
        self.post(path).json(body)
    }

    /// A `PUT` to `path`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").put("/rooms/lobby").text("open").await?.assert_status(200)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, path: &str) -> TestRequest {
        self.request("PUT", path)
    }

    /// A `PATCH` of `path`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// app.http("main").patch("/rooms/lobby").json(&json!({ "open": true })).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request("PATCH", path)
    }

    /// A `DELETE` of `path`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").delete("/rooms/lobby").await?.assert_status(204)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request("DELETE", path)
    }
}

impl fmt::Debug for TestHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHttp")
            .field("api", &self.api)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A request being built; `.await` (or [`send`](Self::send)) sends it and
/// gives its [`TestResponse`]. A mistake in building it (a header name
/// that is not one, a body that does not serialize) is the error of the
/// await.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// use serde_json::json;
///
/// let response = app
///     .http("main")
///     .post("/feed/news")
///     .query(&[("priority", "high")])
///     .header("authorization", "Bearer t0k3n")
///     .json(&json!({ "text": "hello" }))
///     .await?;
/// response.assert_status(201)?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a request is sent when awaited"]
pub struct TestRequest {
    client: TestHttp,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    /// The body, or why it could not be made (reported when sent).
    body: Result<Vec<u8>, String>,
}

impl TestRequest {
    /// Adds a header (a name given twice is sent twice).
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").get("/me").header("authorization", "Bearer t0k3n").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds query parameters, form-encoded (`&[("q", "a b")]` is
    /// `?q=a+b`), after any query the path has.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").get("/search").query(&[("q", "ada lovelace")]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        self
    }

    /// Sets the body's bytes, without a `content-type` (add one with
    /// [`header`](Self::header)).
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").put("/avatar").body(vec![0x89, b'P', b'N', b'G']).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Ok(bytes.into());
        self
    }

    /// Sets the body to `text`, with `content-type: text/plain;
    /// charset=utf-8`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").post("/notes").text("remember the milk").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(self, text: impl Into<String>) -> Self {
        self.with_content_type("text/plain; charset=utf-8")
            .body(text.into())
    }

    /// Sets the body to `value` as JSON, with `content-type:
    /// application/json`.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// app.http("main").patch("/rooms/lobby").json(&json!({ "open": true })).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = serde_json::to_vec(value)
            .map_err(|error| format!("the body cannot be serialized as JSON: {error}"));
        self.with_content_type("application/json")
    }

    /// Waits at most `timeout` for the response, instead of the app's
    /// timeout.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use std::time::Duration;
    ///
    /// let slow = app.http("main").get("/report").timeout(Duration::from_secs(30)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.client.timeout = timeout;
        self
    }

    fn with_content_type(mut self, content_type: &str) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(CONTENT_TYPE.as_str()));
        self.headers
            .push((CONTENT_TYPE.as_str().to_owned(), content_type.to_owned()));
        self
    }

    /// Sends the request and reads the whole response, within the timeout.
    /// Any status is a response; check it with
    /// [`TestResponse::assert_status`].
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let response = app.http("main").get("/rooms/lobby").send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<TestResponse, TestError> {
        let target = self.target();
        let what = format!("{} {target} on api \"{}\"", self.method, self.client.api);
        let failed = |why: String| TestError::new(format!("{what}: {why}"));
        let timeout = self.client.timeout;
        let base = self.client.url().await?;
        let request = self.build(&base, &target).map_err(failed)?;
        let exchange = exchange(&base, request);
        let (status, headers, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| failed(format!("no response within {timeout:?}")))?
            .map_err(failed)?;
        Ok(TestResponse {
            what,
            status,
            headers,
            body,
        })
    }

    /// The path with the query pairs appended.
    fn target(&self) -> String {
        let query = query_string(
            &self
                .query
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect::<Vec<_>>(),
        );
        match (query.strip_prefix('?'), self.path.contains('?')) {
            (Some(pairs), true) => format!("{}&{pairs}", self.path),
            _ => format!("{}{query}", self.path),
        }
    }

    fn build(self, base: &str, target: &str) -> Result<Request<Full<Bytes>>, String> {
        if !target.starts_with('/') {
            return Err(format!("the path must start with `/`, as in \"/{target}\""));
        }
        let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP method", self.method))?;
        let host = base.strip_prefix("http://").unwrap_or(base);
        let mut request = Request::builder().method(method).uri(target);
        let headers = request.headers_mut().expect("no error yet");
        headers.insert(
            HOST,
            HeaderValue::from_str(host).map_err(|error| format!("host {host:?}: {error}"))?,
        );
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("{value:?} is not a value of header {name}"))?;
            // A `host` of the test's own replaces the listener's address.
            if name == HOST {
                headers.insert(name, value);
            } else {
                headers.append(name, value);
            }
        }
        request
            .body(Full::new(Bytes::from(self.body?)))
            .map_err(|error| format!("{target:?}: {error}"))
    }
}

impl IntoFuture for TestRequest {
    type Output = Result<TestResponse, TestError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for TestRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRequest")
            .field("api", &self.client.api)
            .field("method", &self.method)
            .field("target", &self.target())
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// One request on a fresh connection to `base`: the status, headers and
/// whole body of its response.
async fn exchange(
    base: &str,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let authority = base.strip_prefix("http://").unwrap_or(base);
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|error| format!("cannot connect to {base}: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("HTTP handshake with {base}: {error}"))?;
    // The connection is driven until the response is read; dropping the
    // sender afterwards ends it.
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("{base}: {error}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("reading the response body: {error}"))?
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

/// The response to a [`TestRequest`]: status, headers and the whole body.
///
/// The `assert_` methods return the response when it passes, so they
/// chain; when it fails, the error shows the request and the whole
/// response (status, headers, body, JSON pretty-printed):
///
/// ```text
/// GET /rooms/lobby on api "main": expected status 200, got 404
/// response:
///   HTTP 404 Not Found
///   content-type: text/plain; charset=utf-8
///   content-length: 41
///   date: Fri, 04 Dec 2026 16:20:30 GMT
///
///   api "main" has no route for /rooms/lobby
/// ```
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// use serde_json::json;
///
/// app.http("main")
///     .get("/rooms/lobby")
///     .await?
///     .assert_status(200)?
///     .assert_header("content-type", "application/json")?
///     .assert_json(&json!({ "room": "lobby", "members": [] }))?;
/// # Ok(())
/// # }
/// ```
pub struct TestResponse {
    /// The request, as errors name it: `GET /path on api "main"`.
    what: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status code.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// assert_eq!(app.http("main").get("/nowhere").await?.status(), 404);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The first value of header `name` (any case), if it has one that is
    /// text.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let response = app.http("main").get("/rooms/new").await?;
    /// assert_eq!(response.header("x-page"), Some("new"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Every value of header `name` (any case) that is text, in order.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let response = app.http("main").get("/login").await?;
    /// assert_eq!(response.header_all("set-cookie").len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    }

    /// The body's bytes.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let avatar = app.http("main").get("/avatar").await?;
    /// assert!(avatar.bytes().starts_with(b"\x89PNG"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text; an error, showing the response, if it is not
    /// UTF-8.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let page = app.http("main").get("/rooms/lobby").await?;
    /// assert_eq!(page.text()?, "room lobby");
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(&self) -> Result<&str, TestError> {
        std::str::from_utf8(&self.body)
            .map_err(|error| self.failure(&format!("the body is not UTF-8 text ({error})")))
    }

    /// The body parsed as JSON into `T`; an error, showing the response and
    /// serde's reason, if it is not one.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// #[derive(serde::Deserialize)]
    /// struct Posted {
    ///     sent: usize,
    /// }
    ///
    /// let posted: Posted = app.http("main").post("/feed/news").await?.json()?;
    /// assert_eq!(posted.sent, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, TestError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            self.failure(&format!(
                "the body is not the expected JSON ({}): {error}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// Passes if the status is `expected`; else fails showing the response.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// let response = app.http("main").get("/rooms/lobby").await?.assert_status(200)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn assert_status(self, expected: u16) -> Result<Self, TestError> {
        match self.status() == expected {
            true => Ok(self),
            false => Err(self.failure(&format!(
                "expected status {expected}, got {}",
                self.status()
            ))),
        }
    }

    /// Passes if header `name` (any case) has the value `expected`, among
    /// its values; else fails showing the response.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main")
    ///     .get("/rooms/lobby")
    ///     .await?
    ///     .assert_header("content-type", "text/plain; charset=utf-8")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn assert_header(self, name: &str, expected: &str) -> Result<Self, TestError> {
        match self.header_all(name).contains(&expected) {
            true => Ok(self),
            false => Err(self.failure(&format!(
                "expected header {name}: {expected}, got {}",
                match self.header_all(name).as_slice() {
                    [] => "no such header".to_owned(),
                    values => values.join(", "),
                }
            ))),
        }
    }

    /// Passes if the body is the text `expected`; else fails showing the
    /// response.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// app.http("main").get("/rooms/lobby").await?.assert_text("room lobby")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn assert_text(self, expected: &str) -> Result<Self, TestError> {
        match self.body == expected.as_bytes() {
            true => Ok(self),
            false => Err(self.failure(&format!("expected the body {expected:?}"))),
        }
    }

    /// Passes if the body is JSON equal to `expected` (key order aside);
    /// else fails showing the response and a line diff.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// app.http("main").post("/feed/news").await?.assert_json(&json!({ "sent": 0 }))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn assert_json<T: Serialize + ?Sized>(self, expected: &T) -> Result<Self, TestError> {
        let expected = to_json(expected)?;
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            Ok(received) if received == expected => Ok(self),
            Ok(received) => {
                let mut why = format!("expected the JSON body\n{}\n", indent(&pretty(&expected)));
                let _ = write!(
                    why,
                    "diff (- expected, + received):\n{}",
                    line_diff(&expected, &received).0
                );
                Err(self.failure(why.trim_end()))
            }
            Err(error) => Err(self.failure(&format!(
                "expected the JSON body\n{}\nbut the body is not JSON: {error}",
                indent(&pretty(&expected))
            ))),
        }
    }

    /// The error for a check of this response: the request, `why`, and the
    /// response.
    fn failure(&self, why: &str) -> TestError {
        TestError::new(format!(
            "{}: {why}\nresponse:\n{}",
            self.what,
            indent(&self.to_string())
        ))
    }
}

/// The response as a failure shows it: the status line, the headers, a
/// blank line and the body (JSON pretty-printed; at most 4 KiB of it).
impl fmt::Display for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "HTTP {} {}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        )?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
        }
        writeln!(f)?;
        if self.body.is_empty() {
            return write!(f, "(no body)");
        }
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&self.body) {
            return write!(f, "{}", pretty(&json));
        }
        let shown = &self.body[..self.body.len().min(SHOWN_BODY)];
        match std::str::from_utf8(shown) {
            Ok(text) => write!(f, "{}", text.trim_end())?,
            Err(_) => write!(f, "({} bytes, not UTF-8 text)", self.body.len())?,
        }
        if self.body.len() > SHOWN_BODY {
            write!(f, "\n… ({} bytes more)", self.body.len() - SHOWN_BODY)?;
        }
        Ok(())
    }
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestResponse")
            .field("request", &self.what)
            .field("status", &self.status.as_u16())
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| match line.is_empty() {
            true => "\n".to_owned(),
            false => format!("  {line}\n"),
        })
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, content_type: &str, body: &str) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        TestResponse {
            what: "GET /rooms/lobby on api \"main\"".into(),
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_wrong_status_shows_the_request_and_the_whole_response() {
        let error = response(404, "text/plain", "no route for /rooms/lobby\n")
            .assert_status(200)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "GET /rooms/lobby on api \"main\": expected status 200, got 404\nresponse:\n  HTTP 404 Not Found\n  content-type: text/plain\n\n  no route for /rooms/lobby"
        );
    }

    #[test]
    fn json_bodies_are_compared_as_json_and_diffed() {
        let ok = response(200, "application/json", r#"{"b":2,"a":1}"#);
        let ok = ok.assert_json(&json!({"a": 1, "b": 2})).unwrap();
        let error = ok
            .assert_json(&json!({"a": 1, "b": 3}))
            .unwrap_err()
            .to_string();
        assert!(error.contains(" -   \"b\": 3\n +   \"b\": 2"), "{error}");
        // The body is shown pretty-printed.
        assert!(error.contains("  {\n    \"a\": 1,"), "{error}");
    }

    #[test]
    fn headers_and_bodies_are_checked() {
        let page = response(200, "text/plain", "hi");
        let page = page.assert_header("Content-Type", "text/plain").unwrap();
        let error = page.assert_header("x-page", "new").unwrap_err().to_string();
        assert!(
            error.contains("expected header x-page: new, got no such header"),
            "{error}"
        );
        let page = response(200, "text/plain", "hi").assert_text("hi").unwrap();
        assert_eq!(page.text().unwrap(), "hi");
        let error = page.json::<Vec<u8>>().unwrap_err().to_string();
        assert!(error.contains("not the expected JSON"), "{error}");
    }

    #[test]
    fn long_and_binary_bodies_are_shown_in_part() {
        let long = response(200, "text/plain", &"x".repeat(SHOWN_BODY + 10));
        assert!(long.to_string().ends_with("… (10 bytes more)"), "{long}");
        let mut binary = response(200, "image/png", "");
        binary.body = Bytes::from_static(&[0x89, 0xff, 0x00]);
        assert!(binary.to_string().ends_with("(3 bytes, not UTF-8 text)"));
    }
}

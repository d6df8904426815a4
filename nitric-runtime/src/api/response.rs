//! What a route handler returns: a [`Response`], or anything that becomes
//! one ([`IntoResponse`]); a `Result` whose error becomes a logged 500.

use crate::error::BoxError;
use crate::websocket::Json;
use nitric_protocol::apis::v1::{HeaderValue, HttpResponse};
use serde::Serialize;
use std::collections::HashMap;

/// An HTTP response: status, headers and body.
///
/// ```
/// use nitric_runtime::api::Response;
///
/// let created = Response::text("made it").with_status(201).with_header("x-room", "lobby");
/// assert_eq!(created.status(), 201);
/// assert_eq!(created.header("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(created.body(), b"made it");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Default for Response {
    /// 200 with no body.
    fn default() -> Self {
        Self::new(200)
    }
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 200 with `text` as a `text/plain` body.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(200)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text.into().into_bytes())
    }

    /// 200 with `value` serialized as a JSON body, or a 500 when it does not
    /// serialize (a map with non-string keys, a failing `Serialize`).
    ///
    /// ```
    /// use nitric_runtime::api::Response;
    ///
    /// let ok = Response::json(&serde_json::json!({"room": "lobby"}));
    /// assert_eq!(ok.header("content-type"), Some("application/json"));
    /// assert_eq!(ok.body(), br#"{"room":"lobby"}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(200)
                .with_header("content-type", "application/json")
                .with_body(body),
            Err(error) => {
                tracing::error!(%error, "a route's JSON response does not serialize; answering 500");
                internal_error()
            }
        }
    }

    /// This response with another status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// This response with a header set, replacing any of the same name
    /// (names compare without case).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This response with a body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The value of the header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(existing, _)| existing.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The response as the contract carries it.
    pub(crate) fn into_message(self) -> HttpResponse {
        let mut headers: HashMap<String, HeaderValue> = HashMap::new();
        for (name, value) in self.headers {
            headers.entry(name).or_default().value.push(value);
        }
        HttpResponse {
            status: i32::from(self.status),
            headers,
            body: self.body,
        }
    }
}

/// The answer to a request whose handler failed: the reason is logged, not
/// sent, as the official SDKs do.
pub(crate) fn internal_error() -> Response {
    Response::text("Internal Server Error").with_status(500)
}

/// A value a route handler may return as its response.
///
/// ```
/// use nitric_runtime::api::{IntoResponse, Json};
///
/// assert_eq!(().into_response().status(), 204);
/// assert_eq!("hi".into_response().body(), b"hi");
/// assert_eq!((404, "no such room").into_response().status(), 404);
/// assert_eq!(Json(vec![1, 2]).into_response().body(), b"[1,2]");
/// ```
#[diagnostic::on_unimplemented(
    message = "a route handler cannot answer with `{Self}`",
    label = "return a `Response`, text, `Json<T>`, `()` or `Result<_, E>` here",
    note = "route handlers return a type implementing `nitric_runtime::api::IntoResponse` (`Response`, `String`, `&'static str`, `Json<T>`, `(u16, R)`, `()`), or `Result<R, E>` where `E` converts into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

/// 204 No Content.
impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(204)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::new(200)
            .with_header("content-type", "application/octet-stream")
            .with_body(self)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::json(&self.0)
    }
}

/// The response with another status.
impl<R: IntoResponse> IntoResponse for (u16, R) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

/// What a route's run comes to: a response, or an error answered 500.
pub type ApiResult = Result<Response, BoxError>;

/// Turns a route handler's return value into an [`ApiResult`]: any
/// [`IntoResponse`], or `Result<R, E>` whose `Err` is answered 500 and
/// logged with the handler's name.
#[diagnostic::on_unimplemented(
    message = "a route handler cannot answer with `{Self}`",
    label = "return a `Response`, text, `Json<T>`, `()` or `Result<_, E>` here",
    note = "route handlers return a type implementing `nitric_runtime::api::IntoResponse` (`Response`, `String`, `&'static str`, `Json<T>`, `(u16, R)`, `()`), or `Result<R, E>` where `E` converts into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait IntoApiResult {
    /// The result.
    fn into_api_result(self) -> ApiResult;
}

impl<R: IntoResponse> IntoApiResult for R {
    fn into_api_result(self) -> ApiResult {
        Ok(self.into_response())
    }
}

impl<R: IntoResponse, E: Into<BoxError>> IntoApiResult for Result<R, E> {
    fn into_api_result(self) -> ApiResult {
        self.map(IntoResponse::into_response).map_err(Into::into)
    }
}

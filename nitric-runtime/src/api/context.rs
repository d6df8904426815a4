//! The request a route's handler reads.

use crate::websocket::{Json, PayloadError};
use nitric_protocol::apis::v1::HttpRequest;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// One HTTP request to a route: method, path, the route's `:name`
/// parameters, the query, headers and body, as the membrane forwarded them.
///
/// ```
/// use nitric_runtime::api::HttpContext;
///
/// #[nitric_runtime::api("main", get = "/users/:id")]
/// async fn user(ctx: HttpContext) -> String {
///     let id = ctx.param("id").unwrap_or_default();
///     let verbose = ctx.query("verbose") == Some("true");
///     format!("user {id} (verbose: {verbose})")
/// }
/// # fn main() {}
/// ```
#[derive(Clone, Debug, Default)]
pub struct HttpContext {
    api: String,
    method: String,
    path: String,
    params: HashMap<String, String>,
    query: HashMap<String, Vec<String>>,
    headers: HashMap<String, Vec<String>>,
    body: Vec<u8>,
}

impl HttpContext {
    /// The context of `request` to a route of `api`. Header names are kept
    /// lowercase, so lookups ignore case.
    pub(crate) fn from_request(api: &str, request: HttpRequest) -> Self {
        Self {
            api: api.to_owned(),
            method: request.method.to_ascii_uppercase(),
            path: request.path,
            params: request.path_params,
            query: request
                .query_params
                .into_iter()
                .map(|(name, values)| (name, values.value))
                .collect(),
            headers: request
                .headers
                .into_iter()
                .map(|(name, values)| (name.to_ascii_lowercase(), values.value))
                .collect(),
            body: request.body,
        }
    }

    /// A context built by hand, for testing a handler without a membrane.
    ///
    /// ```
    /// use nitric_runtime::api::HttpContext;
    ///
    /// let ctx = HttpContext::new("main", "POST", "/rooms/lobby")
    ///     .with_param("room", "lobby")
    ///     .with_query("seat", "4")
    ///     .with_header("Content-Type", "application/json")
    ///     .with_body(br#"{"text":"hi"}"#.to_vec());
    /// assert_eq!(ctx.param("room"), Some("lobby"));
    /// assert_eq!(ctx.header("content-type"), Some("application/json"));
    /// ```
    pub fn new(api: &str, method: &str, path: &str) -> Self {
        Self {
            api: api.to_owned(),
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            ..Self::default()
        }
    }

    /// This context with a path parameter.
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// This context with one more value of a query parameter.
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
        self
    }

    /// This context with one more value of a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_owned());
        self
    }

    /// This context with a body.
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The API's name.
    pub fn api_name(&self) -> &str {
        &self.api
    }

    /// The method, uppercase: `"GET"`, `"POST"`, ...
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request's path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of the route's parameter `:name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Every path parameter, by name.
    pub fn params(&self) -> &HashMap<String, String> {
        &self.params
    }

    /// The first value of the query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_all(name).first().map(String::as_str)
    }

    /// Every value of the query parameter `name`, in order.
    pub fn query_all(&self, name: &str) -> &[String] {
        self.query.get(name).map_or(&[], Vec::as_slice)
    }

    /// The first value of the header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|values| values.first())
            .map(String::as_str)
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text, if it is.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The body read as one JSON value of type `T`.
    ///
    /// ```
    /// use nitric_runtime::api::HttpContext;
    ///
    /// let ctx = HttpContext::new("main", "POST", "/").with_body(b"[1, 2]".to_vec());
    /// assert_eq!(ctx.json::<Vec<u8>>().unwrap(), [1, 2]);
    /// assert!(ctx.json::<String>().is_err());
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        Json::<T>::from_bytes(&self.body).map(|Json(value)| value)
    }
}

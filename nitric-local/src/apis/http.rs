//! An API's HTTP listener: each request read whole, translated into the
//! contract's `HttpRequest`, dispatched, and the `HttpResponse` (or the
//! membrane's own status when there is none) written back.
//!
//! The listener serves as a websocket gateway does ([`listener`]): a client
//! has [`Config::header_read_timeout`](crate::Config::header_read_timeout)
//! to send each request's headers (an idle keep-alive connection as long
//! to start the next), a client the process has no file descriptor for is
//! answered 503 at once, and connections beyond
//! [`Config::max_connections`](crate::Config::max_connections) are
//! answered 503 and closed.
//!
//! [`listener`]: crate::listener

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue as HttpHeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use nitric_protocol::apis::v1::{HeaderValue, HttpRequest, HttpResponse, QueryValue};
use tokio::net::TcpListener;

use super::route::percent_decode;
use super::{Apis, Unrouted};
use crate::listener::{self, Cap, Serving};

/// The largest request body forwarded: API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Clone)]
struct Endpoint {
    apis: Arc<Apis>,
    api: Arc<str>,
}

/// Serves `api` on `listener` until the membrane stops.
pub(super) async fn serve(listener: TcpListener, apis: Arc<Apis>, api: String) {
    let (shutdown, tasks) = (apis.shutdown.clone(), apis.tasks.clone());
    let config = apis.config.clone();
    let endpoint = Endpoint {
        apis,
        api: api.as_str().into(),
    };
    let router = Router::new().fallback(handle).with_state(endpoint);
    let serving = Serving {
        what: "api",
        header_read_timeout: config.header_read_timeout,
        upgrades: false,
        cap: Some(Cap {
            max: config.max_connections,
            full: full(&api, config.max_connections),
        }),
        name: api,
    };
    listener::serve(listener, router, serving, shutdown, tasks).await;
}

/// The answer on a connection beyond the cap: 503, and the connection
/// closed, as a gateway refuses a websocket beyond its cap.
fn full(api: &str, max: usize) -> Router {
    let text = format!(
        "api \"{api}\" has {max} connections open, the most it takes (max_connections); try again once some close\n"
    );
    Router::new().fallback(move || {
        let text = text.clone();
        async move {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONNECTION, "close")],
                text,
            )
        }
    })
}

async fn handle(State(endpoint): State<Endpoint>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than 10 MiB, or could not be read",
        );
    };
    let mut headers: HashMap<String, HeaderValue> = HashMap::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .value
                .push(value.to_owned());
        }
    }
    let mut query_params: HashMap<String, QueryValue> = HashMap::new();
    for pair in parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| percent_decode(&text.replace('+', " "));
        query_params
            .entry(decode(name))
            .or_default()
            .value
            .push(decode(value));
    }
    let request = HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        headers,
        query_params,
        path_params: HashMap::new(),
        body: body.to_vec(),
    };
    let (method, path) = (request.method.clone(), request.path.clone());
    match endpoint.apis.dispatch(&endpoint.api, request).await {
        Ok(response) => written(response),
        Err(unrouted) => {
            tracing::debug!(api = %endpoint.api, method, path, ?unrouted, "request not answered by the application");
            refused(unrouted, &endpoint.api, &method, &path)
        }
    }
}

/// The application's response as HTTP; a status outside 100-999 is a 502.
fn written(response: HttpResponse) -> Response {
    let Some(status) = u16::try_from(response.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
    else {
        return plain(
            StatusCode::BAD_GATEWAY,
            &format!(
                "the application answered with the status {}, which is not an HTTP status",
                response.status
            ),
        );
    };
    let mut http = Response::new(Body::from(response.body));
    *http.status_mut() = status;
    for (name, values) in response.headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for value in values.value {
            if let Ok(value) = HttpHeaderValue::from_str(&value) {
                http.headers_mut().append(name.clone(), value);
            }
        }
    }
    http
}

/// The membrane's own answer when the application gave none.
fn refused(unrouted: Unrouted, api: &str, method: &str, path: &str) -> Response {
    match unrouted {
        Unrouted::NoRoute => plain(
            StatusCode::NOT_FOUND,
            &format!("api \"{api}\" has no route for {path}"),
        ),
        Unrouted::WrongMethod(allowed) => {
            let allow = allowed.join(", ");
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{path} of api \"{api}\" does not take {method}; it takes {allow}"),
            );
            if let Ok(allow) = HttpHeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, allow);
            }
            response
        }
        Unrouted::NoHandler => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("no handler is registered for {method} {path} of api \"{api}\""),
        ),
        Unrouted::TimedOut => plain(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("the handler of {method} {path} did not answer in time (event_timeout)"),
        ),
        Unrouted::HandlerGone => plain(
            StatusCode::BAD_GATEWAY,
            &format!("the handler of {method} {path} went away before answering"),
        ),
        Unrouted::ShuttingDown => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the membrane is shutting down",
        ),
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, format!("{text}\n")).into_response()
}

/// Tells the person running the membrane where the API is, as the
/// websocket gateways do.
pub(super) fn announce(api: &str, url: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "api \"{api}\" listening on {url}");
    let _ = stdout.flush();
}

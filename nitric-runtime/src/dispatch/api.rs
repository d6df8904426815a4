//! API route streams (`Api.Serve`): one per `#[api]` function, each request
//! answered with the handler's response, or 500 when it fails.

use super::{guarded, EventStream, Outcome, ServerContent};
use crate::api::{HttpContext, Response};
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::registry::ApiFunction;
use crate::transport::Channel;
use nitric_protocol::apis::v1::{
    api_client::ApiClient, client_message, server_message, ApiWorkerOptions, ClientMessage,
    HttpRequest, HttpResponse, RegistrationRequest, ServerMessage,
};
use std::sync::{Arc, Mutex, PoisonError};
use tokio_stream::wrappers::ReceiverStream;

/// The stream of one `#[api]` route.
#[derive(Clone, Copy)]
pub(crate) struct ApiStream(pub(crate) &'static ApiFunction);

impl EventStream for ApiStream {
    type ClientMessage = ClientMessage;
    type ServerMessage = ServerMessage;
    type Event = HttpRequest;
    type Answer = HttpResponse;

    fn describe(&self) -> String {
        let route = self.0;
        format!(
            "{}, the {} {} route of api \"{}\"",
            route.source, route.method, route.path, route.api
        )
    }

    event_stream_plumbing! {
        client: ApiClient::serve,
        // As the official SDKs register a route: the API, the path and its
        // methods, with default options (the API's own security applies).
        registration: |route: &Self| RegistrationRequest {
            api: route.0.api.to_owned(),
            path: route.0.path.to_owned(),
            methods: vec![route.0.method.to_owned()],
            options: Some(ApiWorkerOptions::default()),
        },
        event: HttpRequest,
        answer: HttpResponse,
    }

    /// The handler's response; a failure, panic or timeout is logged and
    /// answered 500 without its reason, as the official SDKs answer.
    fn answer(&self, service: &ServiceHandle, request: HttpRequest) -> BoxFuture<HttpResponse> {
        let route = self.0;
        let deadline = service.deadlines().websocket_event;
        Box::pin(async move {
            let ctx = HttpContext::from_request(route.api, request);
            let (method, path) = (ctx.method().to_owned(), ctx.path().to_owned());
            // `guarded` runs a future of `HandlerResult`; the response is
            // left here for the answer.
            let answered = Arc::new(Mutex::new(None));
            let slot = answered.clone();
            let adapter = route.adapter;
            let run = Box::pin(async move {
                let response = adapter(ctx).await?;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
                Ok(())
            });
            let response = match guarded(run, route.timeout, deadline).await {
                Outcome::Done => answered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .unwrap_or_else(crate::api::internal_error),
                Outcome::Failed(error) => {
                    tracing::warn!(handler = %route.source, method, path, error = %error, "route handler failed; answering 500");
                    crate::api::internal_error()
                }
                Outcome::Panicked(panic) => {
                    tracing::error!(handler = %route.source, method, path, panic, "route handler panicked; answering 500, the service keeps running");
                    crate::api::internal_error()
                }
                Outcome::TimedOut(limit) => {
                    tracing::warn!(handler = %route.source, method, path, timeout = ?limit, "route handler timed out and was abandoned; answering 500");
                    crate::api::internal_error()
                }
                Outcome::PastDeadline(deadline) => {
                    tracing::warn!(handler = %route.source, method, path, deadline = ?deadline, "route handler cancelled: the membrane stopped waiting for its answer (NITRIC_EVENT_TIMEOUT; give the route a `timeout` to choose another limit)");
                    crate::api::internal_error()
                }
            };
            Response::into_message(response)
        })
    }
}

//! `Api.Serve`: an application stream serving one route of an API, and
//! `Api.ApiDetails`, where an API can be reached. The first message of a
//! `Serve` stream registers the route (api, path, methods); from then on
//! the membrane sends each matching HTTP request down the stream and the
//! application answers it by id (see [`crate::app_stream`]). The HTTP side
//! is [`crate::apis`].

use nitric_protocol::apis::v1::api_server::Api;
use nitric_protocol::apis::v1::{
    client_message, server_message, ApiDetailsRequest, ApiDetailsResponse, ClientMessage,
    HttpResponse, RegistrationRequest, RegistrationResponse, ServerMessage,
};
use tonic::{Request, Response, Status, Streaming};

use super::MembraneState;
use crate::apis::{RequestSender, RoutePath};
use crate::app_stream::{self, Note, ServerStream};

/// Requests queued for one route's stream before HTTP clients wait.
const REQUEST_QUEUE: usize = 64;

pub(super) struct ApiService {
    state: MembraneState,
}

impl ApiService {
    pub(super) fn new(state: MembraneState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Api for ApiService {
    type ServeStream = ServerStream<ServerMessage>;

    async fn serve(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::ServeStream>, Status> {
        Ok(self
            .state
            .open_app_stream(request, REQUEST_QUEUE, serve_stream))
    }

    async fn api_details(
        &self,
        request: Request<ApiDetailsRequest>,
    ) -> Result<Response<ApiDetailsResponse>, Status> {
        let name = request.into_inner().api_name;
        match self.state.apis.url(&name) {
            Some(url) => Ok(Response::new(ApiDetailsResponse { url })),
            None => Err(Status::not_found(format!(
                "api \"{name}\" is not served: no route of it is registered"
            ))),
        }
    }
}

app_stream::app_message!(
    HttpResponse,
    not_a_registration: "the first message of a Serve stream must be a registration_request naming the api, path and methods",
    failed_before_registering: "route stream failed before registering",
);

/// Registers the route, then routes the application's responses until the
/// stream ends; from then on requests to the route are answered 503.
async fn serve_stream(
    state: MembraneState,
    mut from_app: Streaming<ClientMessage>,
    requests: RequestSender,
) {
    let Some((request, welcome)) =
        app_stream::registration(&state.shutdown, &mut from_app, &requests).await
    else {
        return;
    };
    let registration = match register(&state, &request, &requests, welcome).await {
        Ok(registration) => registration,
        Err(refusal) => {
            tracing::warn!(api = %request.api, path = %request.path, status = %refusal.message(), "route registration refused");
            let _ = requests.send(Err(refusal)).await;
            return;
        }
    };
    let (api, path) = (&request.api, &request.path);
    app_stream::route_answers(
        &state.shutdown,
        from_app,
        &requests,
        |id, response| registration.answer(id, response),
        |note| match note {
            Note::UnknownId(id) => tracing::warn!(%api, %path, id, "response to an unknown request id ignored (already answered, timed out, or never sent)"),
            Note::SecondRegistration => tracing::warn!(%api, %path, "a second registration_request on a registered stream is ignored; open one stream per route"),
            Note::Empty(id) => tracing::warn!(%api, %path, id, "empty message from the application ignored"),
            Note::Failed(status) => tracing::debug!(%api, %path, %status, "route stream failed"),
        },
    )
    .await;
    tracing::info!(%api, %path, methods = ?request.methods, "route unregistered");
}

async fn register(
    state: &MembraneState,
    request: &RegistrationRequest,
    requests: &RequestSender,
    welcome: ServerMessage,
) -> Result<crate::apis::Registration, Status> {
    if request.api.is_empty() {
        return Err(Status::invalid_argument(
            "registration_request.api is empty: name the api the route belongs to",
        ));
    }
    if request.methods.is_empty() {
        return Err(Status::invalid_argument(
            "registration_request.methods is empty: list the methods the route serves, such as GET",
        ));
    }
    let path = RoutePath::parse(&request.path).map_err(Status::invalid_argument)?;
    state.apis.ensure_running(&request.api).await.map_err(|error| {
        Status::failed_precondition(format!(
            "{error}; stop what holds the port, or give the apis another first port (NITRIC_LOCAL_API_PORT for an app's embedded membrane, --api-port for nitric-local; 0 picks free ports)"
        ))
    })?;
    let methods = request
        .methods
        .iter()
        .map(|method| method.to_ascii_uppercase())
        .collect();
    let registration = state
        .apis
        .register(&request.api, path, methods, requests.clone(), welcome)
        .map_err(Status::already_exists)?;
    tracing::info!(api = %request.api, path = %request.path, methods = ?request.methods, "route registered");
    Ok(registration)
}

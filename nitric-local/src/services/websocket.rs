//! `Websocket`: the application talks to its connected clients.

use std::sync::Arc;

use nitric_protocol::resources::v1::Action;
use nitric_protocol::websockets::v1::websocket_server::Websocket;
use nitric_protocol::websockets::v1::{
    WebsocketCloseConnectionRequest, WebsocketCloseConnectionResponse, WebsocketDetailsRequest,
    WebsocketDetailsResponse, WebsocketSendRequest, WebsocketSendResponse,
};
use tonic::{Request, Response, Status};

use crate::policies::Policies;
use crate::websocket::{ConnectionError, Gateways};

pub(super) struct WebsocketService {
    gateways: Arc<Gateways>,
    policies: Arc<Policies>,
}

impl WebsocketService {
    pub(super) fn new(gateways: Arc<Gateways>, policies: Arc<Policies>) -> Self {
        Self { gateways, policies }
    }

    /// NOT_FOUND unless `socket`'s gateway runs, naming what was looked for.
    fn require_gateway(&self, socket: &str, connection_id: &str) -> Result<(), Status> {
        match self.gateways.url(socket) {
            Some(_) => Ok(()),
            None => Err(Status::not_found(format!(
                "websocket \"{socket}\" is not running (no handler has registered for it), so it has no connection \"{connection_id}\""
            ))),
        }
    }
}

/// A connection that is gone, or was just closed for not reading, is
/// NOT_FOUND (as AWS answers GoneException); a message too big for a
/// websocket is INVALID_ARGUMENT (AWS: PayloadTooLargeException).
fn status_of(error: ConnectionError) -> Status {
    match error {
        ConnectionError::NotFound { .. } | ConnectionError::TooSlow { .. } => {
            Status::not_found(error.to_string())
        }
        ConnectionError::TooBig { .. } => Status::invalid_argument(error.to_string()),
    }
}

#[tonic::async_trait]
impl Websocket for WebsocketService {
    async fn send_message(
        &self,
        request: Request<WebsocketSendRequest>,
    ) -> Result<Response<WebsocketSendResponse>, Status> {
        let request = request.into_inner();
        self.policies
            .require(Action::WebsocketManage, &request.socket_name)?;
        self.require_gateway(&request.socket_name, &request.connection_id)?;
        self.gateways
            .connections()
            .send(&request.socket_name, &request.connection_id, request.data)
            .map_err(status_of)?;
        Ok(Response::new(WebsocketSendResponse {}))
    }

    async fn close_connection(
        &self,
        request: Request<WebsocketCloseConnectionRequest>,
    ) -> Result<Response<WebsocketCloseConnectionResponse>, Status> {
        let request = request.into_inner();
        self.policies
            .require(Action::WebsocketManage, &request.socket_name)?;
        self.require_gateway(&request.socket_name, &request.connection_id)?;
        self.gateways
            .connections()
            .close(&request.socket_name, &request.connection_id)
            .map_err(status_of)?;
        tracing::info!(socket = %request.socket_name, connection_id = %request.connection_id, "application closed a websocket connection");
        Ok(Response::new(WebsocketCloseConnectionResponse {}))
    }

    async fn socket_details(
        &self,
        request: Request<WebsocketDetailsRequest>,
    ) -> Result<Response<WebsocketDetailsResponse>, Status> {
        let socket = request.into_inner().socket_name;
        self.policies.require(Action::WebsocketManage, &socket)?;
        let url = self.gateways.url(&socket).ok_or_else(|| {
            Status::not_found(format!(
                "websocket \"{socket}\" is not running (no handler has registered for it)"
            ))
        })?;
        Ok(Response::new(WebsocketDetailsResponse { url }))
    }
}

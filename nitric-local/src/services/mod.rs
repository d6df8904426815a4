//! The membrane's gRPC services, one module per service of the contract.
//!
//! Each service is a thin translation between protobuf messages and the
//! parts that do the work, each in its own module ([`crate::websocket`],
//! [`crate::store`], [`crate::topics`]; declarations are kept in
//! [`resources`]). A further service is one more module here and one more
//! `add_service` line in [`grpc_routes`]. The two streaming services,
//! `HandleEvents` and `Subscribe`, tie an application stream
//! ([`crate::app_stream`]) to the gateway or to a topic. They live here, not
//! in `app_stream/`: they use the gateways and the topic broker, which use
//! `app_stream` themselves, so there they would close a circle. What a
//! key/value key may be is [`kv_keys`].

mod api;
mod kv_keys;
mod kvstore;
mod resources;
mod schedules;
mod subscriber;
mod topics;
mod websocket;
mod websocket_handler;

use std::sync::Arc;

use nitric_protocol::apis::v1::api_server::ApiServer;
use nitric_protocol::kvstore::v1::kv_store_server::KvStoreServer;
use nitric_protocol::resources::v1::resources_server::ResourcesServer;
use nitric_protocol::schedules::v1::schedules_server::SchedulesServer;
use nitric_protocol::topics::v1::subscriber_server::SubscriberServer;
use nitric_protocol::topics::v1::topics_server::TopicsServer;
use nitric_protocol::websockets::v1::websocket_handler_server::WebsocketHandlerServer;
use nitric_protocol::websockets::v1::websocket_server::WebsocketServer;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::Routes;
use tonic::transport::server::Router;
use tonic::transport::Server;

use crate::apis::Apis;
use crate::app_stream::{self, HandlerRouter};
use crate::policies::Policies;
use crate::schedules::{ScheduleBook, ScheduleTiming};
use crate::store::Store;
use crate::topics::TopicBroker;
use crate::websocket::Gateways;
pub(crate) use resources::Declarations;

/// The state of a running membrane that every gRPC service shares: the
/// parts that do the work, and the membrane's shutdown signal and tasks.
#[derive(Clone)]
pub(crate) struct MembraneState {
    pub(crate) router: Arc<HandlerRouter>,
    pub(crate) gateways: Arc<Gateways>,
    pub(crate) store: Store,
    pub(crate) declarations: Arc<Declarations>,
    pub(crate) policies: Arc<Policies>,
    pub(crate) topics: Arc<TopicBroker>,
    pub(crate) schedules: Arc<ScheduleBook>,
    pub(crate) schedule_timing: ScheduleTiming,
    pub(crate) apis: Arc<Apis>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

impl MembraneState {
    /// Serves an application's event stream: `serve` runs with this state
    /// in a task of the membrane, sending into the response stream,
    /// `capacity` messages deep (see [`app_stream::open`]).
    pub(crate) fn open_app_stream<C, F>(
        &self,
        request: tonic::Request<tonic::Streaming<C>>,
        capacity: usize,
        serve: impl FnOnce(
            MembraneState,
            tonic::Streaming<C>,
            tokio::sync::mpsc::Sender<Result<C::ServerMessage, tonic::Status>>,
        ) -> F,
    ) -> tonic::Response<app_stream::ServerStream<C::ServerMessage>>
    where
        C: app_stream::AppMessage,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let state = self.clone();
        app_stream::open(
            &self.tasks,
            &self.shutdown,
            request,
            capacity,
            move |from_app, to_app| serve(state, from_app, to_app),
        )
    }
}

/// HTTP/2 flow-control window of one application connection.
const CONNECTION_WINDOW: u32 = 32 << 20;
/// HTTP/2 flow-control window of one stream.
const STREAM_WINDOW: u32 = 4 << 20;

/// Every service, routed by path: what the TCP server serves, and what
/// in-process calls reach directly ([`crate::in_process`]).
pub(crate) fn grpc_routes(state: &MembraneState, message_limit: usize) -> Routes {
    // Each service decodes and encodes messages up to `message_limit`, so
    // a websocket message of the configured size fits through SendMessage
    // and the event streams (tonic's default stops at 4 MiB).
    macro_rules! limited {
        ($server:expr) => {
            $server
                .max_decoding_message_size(message_limit)
                .max_encoding_message_size(message_limit)
        };
    }
    Routes::new(limited!(ResourcesServer::new(
        resources::ResourcesService::new(state.declarations.clone(), state.policies.clone())
    )))
    .add_service(limited!(WebsocketServer::new(
        websocket::WebsocketService::new(state.gateways.clone(), state.policies.clone())
    )))
    .add_service(limited!(WebsocketHandlerServer::new(
        websocket_handler::WebsocketHandlerService::new(state.clone())
    )))
    .add_service(limited!(KvStoreServer::new(kvstore::KvStoreService::new(
        state.store.clone(),
        state.policies.clone(),
    ))))
    .add_service(limited!(TopicsServer::new(topics::TopicsService::new(
        state.topics.clone(),
        state.policies.clone(),
    ))))
    .add_service(limited!(SubscriberServer::new(
        subscriber::SubscriberService::new(state.clone())
    )))
    .add_service(limited!(SchedulesServer::new(
        schedules::SchedulesService::new(state.clone())
    )))
    .add_service(limited!(ApiServer::new(api::ApiService::new(
        state.clone()
    ))))
    .prepare()
}

/// A gRPC server serving `routes` over HTTP/2.
pub(crate) fn grpc_server(routes: Routes) -> Router {
    Server::builder()
        // An application answers a burst of events (10,000 clients closing
        // at once) with as many small DATA frames on one connection; h2
        // tolerates unread small frames only up to a share of the
        // connection window before it ends the connection with
        // ENHANCE_YOUR_CALM, so the window is wide.
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_stream_window_size(STREAM_WINDOW)
        .add_routes(routes)
}

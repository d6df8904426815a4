//! A membrane that records what a service declares and registers, then ends
//! every event stream, as the Nitric CLI does while collecting requirements
//! (`NITRIC_ENVIRONMENT=build`).
//!
//! Like the CLI's collecting server it serves `Resources`, the websocket
//! handler streams, topic subscriptions, API route streams and schedule
//! streams, answering each registration and then ending the stream.
//! `Topics`, `Websocket`, `KvStore` and `Api.ApiDetails` calls have no
//! place at build time: the CLI leaves them unimplemented; here they are
//! recorded (so a transcript shows a service that makes them) and answered
//! UNIMPLEMENTED the same way.

use futures_util::stream;
use nitric_protocol::apis::v1 as apis;
use nitric_protocol::apis::v1::api_server::{Api, ApiServer};
use nitric_protocol::kvstore::v1::kv_store_server::{KvStore, KvStoreServer};
use nitric_protocol::kvstore::v1::{
    KvStoreDeleteKeyRequest, KvStoreDeleteKeyResponse, KvStoreGetValueRequest,
    KvStoreGetValueResponse, KvStoreScanKeysRequest, KvStoreScanKeysResponse,
    KvStoreSetValueRequest, KvStoreSetValueResponse,
};
use nitric_protocol::resources::v1::resources_server::{Resources, ResourcesServer};
use nitric_protocol::resources::v1::{
    resource_declare_request::Config, Action, ResourceDeclareRequest, ResourceDeclareResponse,
    ResourceIdentifier, ResourceType,
};
use nitric_protocol::schedules::v1 as schedules;
use nitric_protocol::schedules::v1::schedules_server::{Schedules, SchedulesServer};
use nitric_protocol::topics::v1 as topics;
use nitric_protocol::topics::v1::subscriber_server::{Subscriber, SubscriberServer};
use nitric_protocol::topics::v1::topics_server::{Topics, TopicsServer};
use nitric_protocol::topics::v1::{TopicPublishRequest, TopicPublishResponse};
use nitric_protocol::websockets::v1::websocket_handler_server::{
    WebsocketHandler, WebsocketHandlerServer,
};
use nitric_protocol::websockets::v1::{
    client_message, server_message, ClientMessage, RegistrationResponse, ServerMessage,
    WebsocketEventType,
};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming};

/// A running recording membrane.
pub struct RecordingMembrane {
    address: SocketAddr,
    transcript: Arc<Mutex<Vec<String>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl RecordingMembrane {
    /// Starts one on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            transcript: transcript.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(ResourcesServer::new(recorder.clone()))
                .add_service(WebsocketHandlerServer::new(recorder.clone()))
                .add_service(SubscriberServer::new(recorder.clone()))
                .add_service(TopicsServer::new(recorder.clone()))
                .add_service(ApiServer::new(recorder.clone()))
                .add_service(SchedulesServer::new(recorder.clone()))
                .add_service(KvStoreServer::new(recorder))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        Self {
            address,
            transcript,
            stop: Some(stop),
        }
    }

    /// `host:port` for `SERVICE_ADDRESS`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Everything recorded, one line per call, in arrival order.
    pub fn transcript(&self) -> Vec<String> {
        self.transcript.lock().unwrap().clone()
    }
}

impl Drop for RecordingMembrane {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone)]
struct Recorder {
    transcript: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn record(&self, line: String) {
        self.transcript.lock().unwrap().push(line);
    }
}

#[tonic::async_trait]
impl Resources for Recorder {
    async fn declare(
        &self,
        request: Request<ResourceDeclareRequest>,
    ) -> Result<Response<ResourceDeclareResponse>, Status> {
        self.record(describe_declaration(&request.into_inner()));
        Ok(Response::new(ResourceDeclareResponse {}))
    }
}

#[tonic::async_trait]
impl WebsocketHandler for Recorder {
    type HandleEventsStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<ServerMessage, Status>> + Send>>;

    async fn handle_events(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::HandleEventsStream>, Status> {
        let mut incoming = request.into_inner();
        let first = incoming
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no registration"))?;
        let Some(client_message::Content::RegistrationRequest(registration)) = first.content else {
            return Err(Status::invalid_argument(
                "the first message must be a registration",
            ));
        };
        let event = WebsocketEventType::try_from(registration.event_type)
            .map_or("unknown event".to_owned(), |event| {
                event.as_str_name().to_owned()
            });
        self.record(format!(
            "register websocket \"{}\" {event}",
            registration.socket_name
        ));
        // Answer the registration, then end the stream: requirements are
        // collected.
        let answer = ServerMessage {
            id: first.id,
            content: Some(server_message::Content::RegistrationResponse(
                RegistrationResponse {},
            )),
        };
        Ok(Response::new(Box::pin(stream::iter([Ok(answer)]))))
    }
}

#[tonic::async_trait]
impl Subscriber for Recorder {
    type SubscribeStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<topics::ServerMessage, Status>> + Send>>;

    async fn subscribe(
        &self,
        request: Request<Streaming<topics::ClientMessage>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let mut incoming = request.into_inner();
        let first = incoming
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no registration"))?;
        let Some(topics::client_message::Content::RegistrationRequest(registration)) =
            first.content
        else {
            return Err(Status::invalid_argument(
                "the first message must be a registration",
            ));
        };
        self.record(format!("subscribe topic \"{}\"", registration.topic_name));
        let answer = topics::ServerMessage {
            id: first.id,
            content: Some(topics::server_message::Content::RegistrationResponse(
                topics::RegistrationResponse {},
            )),
        };
        Ok(Response::new(Box::pin(stream::iter([Ok(answer)]))))
    }
}

#[tonic::async_trait]
impl Api for Recorder {
    type ServeStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<apis::ServerMessage, Status>> + Send>>;

    async fn serve(
        &self,
        request: Request<Streaming<apis::ClientMessage>>,
    ) -> Result<Response<Self::ServeStream>, Status> {
        let mut incoming = request.into_inner();
        let first = incoming
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no registration"))?;
        let Some(apis::client_message::Content::RegistrationRequest(registration)) = first.content
        else {
            return Err(Status::invalid_argument(
                "the first message must be a registration",
            ));
        };
        self.record(describe_route(&registration));
        let answer = apis::ServerMessage {
            id: first.id,
            content: Some(apis::server_message::Content::RegistrationResponse(
                apis::RegistrationResponse {},
            )),
        };
        Ok(Response::new(Box::pin(stream::iter([Ok(answer)]))))
    }

    async fn api_details(
        &self,
        request: Request<apis::ApiDetailsRequest>,
    ) -> Result<Response<apis::ApiDetailsResponse>, Status> {
        let call = format!("Api.ApiDetails \"{}\"", request.into_inner().api_name);
        self.record(format!("call {call}"));
        Err(not_at_build_time(&call))
    }
}

/// `register api "<api>" <METHODS> "<path>"`, then what the options ask
/// for beyond the default (open routes): the security definitions a route
/// names, or that security is switched off for it. An empty `options`
/// message and none at all mean the same to a membrane, so they read the
/// same.
fn describe_route(registration: &apis::RegistrationRequest) -> String {
    let mut methods = registration.methods.clone();
    methods.sort();
    let mut line = format!(
        "register api \"{}\" {} \"{}\"",
        registration.api,
        methods.join(","),
        registration.path
    );
    if let Some(options) = &registration.options {
        let mut security: Vec<String> = options
            .security
            .iter()
            .map(|(name, scopes)| format!("{name}:[{}]", scopes.scopes.join(",")))
            .collect();
        security.sort();
        if !security.is_empty() {
            line.push_str(&format!(" security=[{}]", security.join(" ")));
        }
        if options.security_disabled {
            line.push_str(" security_disabled");
        }
    }
    line
}

#[tonic::async_trait]
impl Schedules for Recorder {
    type ScheduleStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<schedules::ServerMessage, Status>> + Send>>;

    async fn schedule(
        &self,
        request: Request<Streaming<schedules::ClientMessage>>,
    ) -> Result<Response<Self::ScheduleStream>, Status> {
        let mut incoming = request.into_inner();
        let first = incoming
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no registration"))?;
        let Some(schedules::client_message::Content::RegistrationRequest(registration)) =
            first.content
        else {
            return Err(Status::invalid_argument(
                "the first message must be a registration",
            ));
        };
        let cadence = match &registration.cadence {
            Some(schedules::registration_request::Cadence::Every(every)) => {
                format!("every \"{}\"", every.rate)
            }
            Some(schedules::registration_request::Cadence::Cron(cron)) => {
                format!("cron \"{}\"", cron.expression)
            }
            None => "without a cadence".to_owned(),
        };
        self.record(format!(
            "register schedule \"{}\" {cadence}",
            registration.schedule_name
        ));
        let answer = schedules::ServerMessage {
            id: first.id,
            content: Some(schedules::server_message::Content::RegistrationResponse(
                schedules::RegistrationResponse {},
            )),
        };
        Ok(Response::new(Box::pin(stream::iter([Ok(answer)]))))
    }
}

/// What a call that has no place at build time is answered.
fn not_at_build_time(call: &str) -> Status {
    Status::unimplemented(format!(
        "{call} is not available while requirements are collected"
    ))
}

#[tonic::async_trait]
impl Topics for Recorder {
    async fn publish(
        &self,
        request: Request<TopicPublishRequest>,
    ) -> Result<Response<TopicPublishResponse>, Status> {
        self.record(format!(
            "call Topics.Publish \"{}\"",
            request.into_inner().topic_name
        ));
        Err(not_at_build_time("Topics.Publish"))
    }
}

#[tonic::async_trait]
impl KvStore for Recorder {
    async fn get_value(
        &self,
        request: Request<KvStoreGetValueRequest>,
    ) -> Result<Response<KvStoreGetValueResponse>, Status> {
        let store = request.into_inner().r#ref.unwrap_or_default().store;
        self.record(format!("call KvStore.GetValue \"{store}\""));
        Err(not_at_build_time("KvStore.GetValue"))
    }

    async fn set_value(
        &self,
        request: Request<KvStoreSetValueRequest>,
    ) -> Result<Response<KvStoreSetValueResponse>, Status> {
        let store = request.into_inner().r#ref.unwrap_or_default().store;
        self.record(format!("call KvStore.SetValue \"{store}\""));
        Err(not_at_build_time("KvStore.SetValue"))
    }

    async fn delete_key(
        &self,
        request: Request<KvStoreDeleteKeyRequest>,
    ) -> Result<Response<KvStoreDeleteKeyResponse>, Status> {
        let store = request.into_inner().r#ref.unwrap_or_default().store;
        self.record(format!("call KvStore.DeleteKey \"{store}\""));
        Err(not_at_build_time("KvStore.DeleteKey"))
    }

    type ScanKeysStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<KvStoreScanKeysResponse, Status>> + Send>>;

    async fn scan_keys(
        &self,
        request: Request<KvStoreScanKeysRequest>,
    ) -> Result<Response<Self::ScanKeysStream>, Status> {
        let store = request.into_inner().store.unwrap_or_default().name;
        self.record(format!("call KvStore.ScanKeys \"{store}\""));
        Err(not_at_build_time("KvStore.ScanKeys"))
    }
}

/// One readable line per declaration, stable across runs and SDKs.
pub fn describe_declaration(request: &ResourceDeclareRequest) -> String {
    let id = request.id.as_ref().map_or("<no id>".to_owned(), identifier);
    match &request.config {
        None => format!("declare {id}"),
        Some(Config::Policy(policy)) => {
            let principals: Vec<String> = policy.principals.iter().map(identifier).collect();
            let mut actions: Vec<String> = policy
                .actions
                .iter()
                .map(|action| {
                    Action::try_from(*action)
                        .map_or(format!("Action({action})"), |a| a.as_str_name().to_owned())
                })
                .collect();
            actions.sort();
            let resources: Vec<String> = policy.resources.iter().map(identifier).collect();
            format!(
                "declare {id} policy principals=[{}] actions=[{}] resources=[{}]",
                principals.join(", "),
                actions.join(", "),
                resources.join(", ")
            )
        }
        Some(Config::KeyValueStore(_)) => format!("declare {id} key_value_store"),
        Some(Config::Topic(_)) => format!("declare {id} topic"),
        Some(Config::Api(api)) => {
            let mut security: Vec<String> = api
                .security
                .iter()
                .map(|(name, scopes)| format!("{name}:[{}]", scopes.scopes.join(",")))
                .collect();
            security.sort();
            format!("declare {id} api security=[{}]", security.join(" "))
        }
        Some(other) => format!("declare {id} {other:?}"),
    }
}

fn identifier(id: &ResourceIdentifier) -> String {
    let kind = ResourceType::try_from(id.r#type).map_or(format!("Type({})", id.r#type), |t| {
        t.as_str_name().to_owned()
    });
    format!("{kind} \"{}\"", id.name)
}

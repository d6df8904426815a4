//! A membrane per test, and the application side of the protocol.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use nitric_local::{Config, LocalMembrane};
use nitric_protocol::resources::v1::resources_client::ResourcesClient;
use nitric_protocol::resources::v1::{
    resource_declare_request, Action, PolicyResource, ResourceDeclareRequest, ResourceIdentifier,
    ResourceType,
};
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::websocket_handler_client::WebsocketHandlerClient;
use nitric_protocol::websockets::v1::{
    client_message, server_message, websocket_event_response::WebsocketResponse, ClientMessage,
    RegistrationRequest, ServerMessage, WebsocketConnectionResponse, WebsocketEventRequest,
    WebsocketEventResponse, WebsocketEventType, WebsocketSendRequest,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// Bounds every wait, so a broken membrane fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Awaits `future`, failing the test with `what` if it takes unreasonably long.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A membrane on free ports with its own data directory.
pub struct TestMembrane {
    pub membrane: LocalMembrane,
    pub data: tempfile::TempDir,
}

impl TestMembrane {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A membrane with the standard test configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("temporary data directory");
        let mut config = config_for(data.path());
        configure(&mut config);
        let membrane = nitric_local::start(config).await.expect("membrane starts");
        Self { membrane, data }
    }

    pub async fn channel(&self) -> Channel {
        connect(self.membrane.grpc_addr().expect("a gRPC listener")).await
    }

    /// Declares the resource `name` of `kind` and a policy allowing this
    /// service `actions` on it, as an application does before using it.
    pub async fn allow(&self, kind: ResourceType, name: &str, actions: &[Action]) {
        allow(&self.channel().await, kind, name, actions).await;
    }

    /// Registers an application handler for `event` on `socket`.
    pub async fn handler(&self, socket: &str, event: WebsocketEventType) -> AppStream {
        AppStream::register(self.channel().await, socket, event)
            .await
            .expect("registration accepted")
    }

    /// Declares `socket` with the policy to manage its connections, as an
    /// application does, registers handlers for all three events that
    /// accept every connection, and returns what they receive.
    pub async fn accepting_app(&self, socket: &str) -> App {
        self.allow(ResourceType::Websocket, socket, &[Action::WebsocketManage])
            .await;
        self.accepting_handlers(socket).await
    }

    /// The handlers of [`accepting_app`](Self::accepting_app) without the
    /// declaration: the socket serves, but this service may not manage it.
    pub async fn accepting_handlers(&self, socket: &str) -> App {
        self.handlers_answering_messages(socket, |messages| {
            messages.answer_all(|_| WebsocketEventResponse::default())
        })
        .await
    }

    /// [`accepting_app`](Self::accepting_app) whose message handler sends
    /// every message back to the client it came from.
    pub async fn echo_app(&self, socket: &str) -> App {
        self.allow(ResourceType::Websocket, socket, &[Action::WebsocketManage])
            .await;
        let channel = self.channel().await;
        self.handlers_answering_messages(socket, |messages| messages.echo_all(channel))
            .await
    }

    /// Handlers for all three events that accept every connection, the
    /// message handler answering as `messages` says.
    async fn handlers_answering_messages(
        &self,
        socket: &str,
        messages: impl FnOnce(AppStream) -> Events,
    ) -> App {
        let connects = self
            .handler(socket, WebsocketEventType::Connect)
            .await
            .answer_all(|_| accept());
        let disconnects = self
            .handler(socket, WebsocketEventType::Disconnect)
            .await
            .answer_all(|_| WebsocketEventResponse::default());
        let messages = messages(self.handler(socket, WebsocketEventType::Message).await);
        let url = self.membrane.socket_url(socket).expect("gateway runs");
        App {
            url,
            connects,
            disconnects,
            messages,
        }
    }
}

/// The standard test configuration: loopback, free ports, quiet.
pub fn config_for(data_dir: &std::path::Path) -> Config {
    Config {
        grpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        ws_port: 0,
        api_port: 0,
        data_dir: data_dir.to_owned(),
        announce: false,
        ..Config::default()
    }
}

/// Declares the resource `name` of `kind` and a policy allowing this
/// service `actions` on it, over `channel`.
pub async fn allow(channel: &Channel, kind: ResourceType, name: &str, actions: &[Action]) {
    let id = |kind: ResourceType, name: &str| ResourceIdentifier {
        r#type: kind as i32,
        name: name.to_owned(),
    };
    let mut resources = ResourcesClient::new(channel.clone());
    let resource = ResourceDeclareRequest {
        id: Some(id(kind, name)),
        config: None,
    };
    let policy = ResourceDeclareRequest {
        id: Some(id(ResourceType::Policy, "")),
        config: Some(resource_declare_request::Config::Policy(PolicyResource {
            principals: vec![id(ResourceType::Service, "")],
            actions: actions.iter().map(|action| *action as i32).collect(),
            resources: vec![id(kind, name)],
        })),
    };
    for declaration in [resource, policy] {
        within("a declaration", resources.declare(declaration))
            .await
            .expect("the declaration is accepted");
    }
}

pub async fn connect(addr: std::net::SocketAddr) -> Channel {
    within(
        "the gRPC connection",
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect(),
    )
    .await
    .expect("gRPC connects")
}

/// An application with all three handlers registered, recording events.
pub struct App {
    pub url: String,
    pub connects: Events,
    pub disconnects: Events,
    pub messages: Events,
}

impl App {
    /// Opens a client that is accepted, and the connection id its connect
    /// event carried.
    pub async fn connect(&mut self) -> (Client, String) {
        let client = open_client(&self.url).await.unwrap();
        let id = self.connects.next().await.connection_id;
        (client, id)
    }
}

/// Events an auto-answering handler received.
pub struct Events(mpsc::UnboundedReceiver<WebsocketEventRequest>);

impl Events {
    pub async fn next(&mut self) -> WebsocketEventRequest {
        within("an event", self.0.recv())
            .await
            .expect("the handler stream is still open")
    }

    /// Waits until the handler's stream has ended, failing on any event.
    pub async fn ended(&mut self) {
        if let Some(event) = within("the handler stream's end", self.0.recv()).await {
            panic!("expected the handler stream to end, got {event:?}");
        }
    }
}

/// What tonic's clients call through: a TCP [`Channel`], or a membrane's
/// `InProcessChannel`.
pub trait Transport:
    tonic::client::GrpcService<
        tonic::body::Body,
        Error: Into<tonic::codegen::StdError>,
        Future: Send,
        ResponseBody: http_body::Body<
            Data = bytes::Bytes,
            Error: Into<tonic::codegen::StdError> + Send,
        > + Send
                          + 'static,
    > + Send
    + 'static
{
}

impl<T> Transport for T where
    T: tonic::client::GrpcService<
            tonic::body::Body,
            Error: Into<tonic::codegen::StdError>,
            Future: Send,
            ResponseBody: http_body::Body<
                Data = bytes::Bytes,
                Error: Into<tonic::codegen::StdError> + Send,
            > + Send
                              + 'static,
        > + Send
        + 'static
{
}

/// One `HandleEvents` stream, seen from the application.
pub struct AppStream {
    to_membrane: mpsc::Sender<ClientMessage>,
    from_membrane: Streaming<ServerMessage>,
}

impl AppStream {
    /// Opens a stream and registers it; the error is the membrane's refusal.
    pub async fn register(
        channel: impl Transport,
        socket: &str,
        event: WebsocketEventType,
    ) -> Result<AppStream, Status> {
        let registration = ClientMessage {
            id: String::new(),
            content: Some(client_message::Content::RegistrationRequest(
                RegistrationRequest {
                    socket_name: socket.to_owned(),
                    event_type: event as i32,
                },
            )),
        };
        let mut stream = Self::open(channel, registration).await?;
        let first = within("the registration answer", stream.from_membrane.message())
            .await?
            .expect("an answer before the stream ends");
        assert!(
            matches!(
                first.content,
                Some(server_message::Content::RegistrationResponse(_))
            ),
            "expected a registration_response, got {first:?}"
        );
        Ok(stream)
    }

    /// Opens a stream whose first message is `first`.
    pub async fn open(channel: impl Transport, first: ClientMessage) -> Result<AppStream, Status> {
        let (to_membrane, outgoing) = mpsc::channel(16);
        to_membrane.send(first).await.unwrap();
        let from_membrane = within(
            "the stream to open",
            WebsocketHandlerClient::new(channel).handle_events(ReceiverStream::new(outgoing)),
        )
        .await?
        .into_inner();
        Ok(AppStream {
            to_membrane,
            from_membrane,
        })
    }

    /// The next message from the membrane (a status if the stream failed).
    pub async fn next_message(&mut self) -> Result<Option<ServerMessage>, Status> {
        within("a message from the membrane", self.from_membrane.message()).await
    }

    /// The next event, with the id to answer it under.
    pub async fn next_event(&mut self) -> (String, WebsocketEventRequest) {
        let message = self
            .next_message()
            .await
            .expect("the stream is healthy")
            .expect("the stream is open");
        match message.content {
            Some(server_message::Content::WebsocketEventRequest(event)) => (message.id, event),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    pub async fn answer(&self, id: &str, response: WebsocketEventResponse) {
        self.to_membrane
            .send(ClientMessage {
                id: id.to_owned(),
                content: Some(client_message::Content::WebsocketEventResponse(response)),
            })
            .await
            .expect("the stream is open");
    }

    /// Answers every event with `answer` from now on, and passes the events on.
    pub fn answer_all(
        self,
        answer: impl Fn(&WebsocketEventRequest) -> WebsocketEventResponse + Send + 'static,
    ) -> Events {
        self.handle_all(move |event| std::future::ready(answer(&event)))
    }

    /// Handles every message event as an echo app does: sends its body back
    /// to its connection over `channel` (`SendMessage`), then answers it.
    pub fn echo_all(self, channel: impl Transport + Clone) -> Events {
        let websocket = WebsocketClient::new(channel);
        self.handle_all(move |event| {
            let mut websocket = websocket.clone();
            async move {
                let echo = WebsocketSendRequest {
                    socket_name: event.socket_name.clone(),
                    connection_id: event.connection_id.clone(),
                    data: body(&event).to_vec(),
                };
                // A client already gone is no failure of the echo.
                let _ = websocket.send_message(echo).await;
                WebsocketEventResponse::default()
            }
        })
    }

    /// Answers every event with what `handle` resolves to, from now on, and
    /// passes the events on.
    fn handle_all<F>(
        mut self,
        mut handle: impl FnMut(WebsocketEventRequest) -> F + Send + 'static,
    ) -> Events
    where
        F: Future<Output = WebsocketEventResponse> + Send,
    {
        let (seen, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                // Dropping the `Events` ends the handler, like an app quitting.
                let message = tokio::select! {
                    message = self.from_membrane.message() => message,
                    () = seen.closed() => return,
                };
                let Ok(Some(message)) = message else { return };
                if let Some(server_message::Content::WebsocketEventRequest(event)) = message.content
                {
                    let answer = handle(event.clone()).await;
                    self.answer(&message.id, answer).await;
                    let _ = seen.send(event);
                }
            }
        });
        Events(events)
    }
}

pub fn accept() -> WebsocketEventResponse {
    connection_answer(false)
}

pub fn reject() -> WebsocketEventResponse {
    connection_answer(true)
}

fn connection_answer(reject: bool) -> WebsocketEventResponse {
    WebsocketEventResponse {
        websocket_response: Some(WebsocketResponse::ConnectionResponse(
            WebsocketConnectionResponse { reject },
        )),
    }
}

/// Opens a websocket client; the error is the handshake's failure.
pub async fn open_client(url: &str) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    within(
        "the websocket handshake",
        tokio_tungstenite::connect_async(url),
    )
    .await
    .map(|(client, _response)| client)
}

/// The HTTP status a refused handshake was answered with.
pub async fn refused_status(url: &str) -> u16 {
    match open_client(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected the handshake to be refused"),
    }
}

/// The next frame a client receives, past pings and pongs.
pub async fn next_frame(client: &mut Client) -> Option<tokio_tungstenite::tungstenite::Message> {
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match within("a websocket frame", client.next()).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

/// The body of a message event.
pub fn body(event: &WebsocketEventRequest) -> &[u8] {
    use nitric_protocol::websockets::v1::websocket_event_request::WebsocketEvent;
    match &event.websocket_event {
        Some(WebsocketEvent::Message(message)) => &message.body,
        other => panic!("expected a message event, got {other:?}"),
    }
}

/// Reads a client to its end in the background, as a real client does after
/// a close frame: that completes the closing handshake promptly.
pub fn finish_closing(mut client: Client) {
    tokio::spawn(async move { while let Some(Ok(_)) = client.next().await {} });
}

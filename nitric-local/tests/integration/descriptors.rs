//! The `nitric-local` binary under a low limit on open file descriptors
//! (`RLIMIT_NOFILE`, set in the child before it starts): it raises its soft
//! limit to the hard one, and once every descriptor is in use its gateways
//! and API listeners refuse new clients at once instead of leaving them
//! waiting, keep serving the clients they have, and take new ones again
//! when some close.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use nitric_protocol::resources::v1::{Action, ResourceType};
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::{
    WebsocketEventResponse, WebsocketEventType, WebsocketSendRequest,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tonic::transport::Channel;

use crate::apis::{keep_alive_exchange, Route};
use crate::binary::{nitric_local, Running};
use crate::common::{
    accept, allow, body, connect, finish_closing, next_frame, AppStream, Client, Events, PATIENCE,
};

/// Room for the membrane's own descriptors (standard streams, runtime,
/// listeners, database, the app's gRPC connection) and a few dozen clients.
const LIMIT: libc::rlim_t = 64;

/// How soon a client past the limit must hear that it is refused.
const REFUSED_WITHIN: Duration = Duration::from_secs(5);

/// The binary run by `command`, with `RLIMIT_NOFILE` set to `soft` and
/// `hard`, and the lines it prints on stdout.
fn start(
    mut command: Command,
    data: &std::path::Path,
    soft: libc::rlim_t,
    hard: libc::rlim_t,
    stderr: Stdio,
) -> (Running, mpsc::Receiver<String>) {
    command
        .args(["--grpc-addr", "127.0.0.1:0", "--ws-port", "0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(stderr);
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which
    // is async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = Running(command.spawn().expect("nitric-local starts"));
    let lines = child.stdout_lines();
    (child, lines)
}

fn next_line(lines: &mpsc::Receiver<String>) -> String {
    lines.recv_timeout(PATIENCE).expect("a line on stdout")
}

/// The binary's gRPC address, from its first line.
fn grpc_addr(lines: &mpsc::Receiver<String>) -> SocketAddr {
    let first = next_line(lines);
    let addr = first
        .strip_prefix("nitric-local: gRPC listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));
    addr.parse().unwrap()
}

/// A new TCP connection to `addr` is closed (or reset) at once rather than
/// left waiting.
async fn closed_at_once(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(REFUSED_WITHIN, stream.read(&mut byte))
        .await
        .unwrap_or_else(|_| {
            panic!("a new connection to {addr} was left waiting for {REFUSED_WITHIN:?}")
        });
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// The soft and hard `Max open files` of a running process.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open files limit in {limits}"));
    let mut values = line["Max open files".len()..].split_whitespace();
    (
        values.next().unwrap().to_owned(),
        values.next().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_binary_raises_its_soft_descriptor_limit_to_the_hard_one() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = nitric_local();
    command.env("RUST_LOG", "info").env("NO_COLOR", "1");
    let (child, lines) = start(command, &data.path().join("data"), 100, 1000, log.into());
    // Once it prints its address, it is past startup.
    grpc_addr(&lines);
    assert_eq!(
        open_file_limits(child.0.id()),
        ("1000".to_owned(), "1000".to_owned())
    );
    drop(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().any(|line| line.contains("INFO")
            && line.contains("raised the limit on open file descriptors")
            && line.contains("before=100")
            && line.contains("after=1000")),
        "{log}"
    );
}

/// The running binary's websocket "chat", with an app accepting every
/// client and a client for sending to them.
struct Chat {
    url: String,
    connects: Events,
    disconnects: Events,
    messages: Events,
    websocket: WebsocketClient<Channel>,
}

impl Chat {
    async fn serve(channel: Channel, lines: &mpsc::Receiver<String>) -> Self {
        allow(
            &channel,
            ResourceType::Websocket,
            "chat",
            &[Action::WebsocketManage],
        )
        .await;
        let handler = |event| AppStream::register(channel.clone(), "chat", event);
        let connects = handler(WebsocketEventType::Connect)
            .await
            .unwrap()
            .answer_all(|_| accept());
        let announced = next_line(lines);
        let url = announced
            .strip_prefix("websocket \"chat\" listening on ")
            .unwrap_or_else(|| panic!("unexpected announcement: {announced}"))
            .to_owned();
        let disconnects = handler(WebsocketEventType::Disconnect)
            .await
            .unwrap()
            .answer_all(|_| WebsocketEventResponse::default());
        let messages = handler(WebsocketEventType::Message)
            .await
            .unwrap()
            .answer_all(|_| WebsocketEventResponse::default());
        Self {
            url,
            connects,
            disconnects,
            messages,
            websocket: WebsocketClient::new(channel),
        }
    }

    /// A new client and its connection id, or the status it was refused
    /// with; failing if the gateway leaves it waiting.
    async fn try_connect(&mut self) -> Result<(Client, String), u16> {
        let handshake = tokio_tungstenite::connect_async(&self.url);
        match tokio::time::timeout(REFUSED_WITHIN, handshake).await {
            Ok(Ok((client, _))) => Ok((client, self.connects.next().await.connection_id)),
            Ok(Err(tungstenite::Error::Http(response))) => Err(response.status().as_u16()),
            Ok(Err(other)) => panic!("expected a websocket or an HTTP refusal, got {other}"),
            Err(_) => panic!(
                "a new client got no answer within {REFUSED_WITHIN:?}: the gateway left it waiting"
            ),
        }
    }

    /// `client` sends `text`, the app sees it and sends it back.
    async fn echoes(&mut self, client: &mut Client, id: &str, text: &str) {
        client.send(Message::text(text)).await.unwrap();
        let event = self.messages.next().await;
        assert_eq!(event.connection_id, id);
        assert_eq!(body(&event), text.as_bytes());
        self.websocket
            .send_message(WebsocketSendRequest {
                socket_name: "chat".into(),
                connection_id: id.into(),
                data: text.as_bytes().to_vec(),
            })
            .await
            .unwrap();
        assert_eq!(next_frame(client).await, Some(Message::text(text)));
    }
}

#[tokio::test]
async fn out_of_descriptors_new_clients_are_refused_at_once_and_served_again_once_some_close() {
    let data = tempfile::tempdir().unwrap();
    let (_child, lines) = start(nitric_local(), data.path(), LIMIT, LIMIT, Stdio::null());
    let grpc = grpc_addr(&lines);
    let mut chat = Chat::serve(connect(grpc).await, &lines).await;

    // Clients until one is refused: every descriptor is then in use.
    let mut clients = Vec::new();
    let refused = loop {
        assert!(
            clients.len() < LIMIT as usize,
            "{} clients connected under a limit of {LIMIT} descriptors",
            clients.len()
        );
        match chat.try_connect().await {
            Ok(client) => clients.push(client),
            Err(status) => break status,
        }
    };
    assert_eq!(refused, 503);
    assert!(
        clients.len() > LIMIT as usize / 2,
        "only {} clients",
        clients.len()
    );
    // Still out: more clients are refused at once, and so is a new gRPC
    // connection (closed: tonic would retry its accept at once, spinning).
    for _ in 0..3 {
        assert_eq!(chat.try_connect().await.err(), Some(503));
        closed_at_once(grpc).await;
    }

    // The clients it has are served meanwhile.
    let (client, id) = clients.first_mut().unwrap();
    chat.echoes(client, &id.clone(), "still here").await;

    // Some leave; once the membrane has let go of them, a new client is
    // taken and served.
    for (mut client, _) in clients.drain(..4) {
        client.close(None).await.unwrap();
        finish_closing(client);
    }
    for _ in 0..4 {
        chat.disconnects.next().await;
    }
    let deadline = Instant::now() + PATIENCE;
    let (mut client, id) = loop {
        match chat.try_connect().await {
            Ok(client) => break client,
            Err(status) => {
                assert_eq!(status, 503);
                assert!(
                    Instant::now() < deadline,
                    "new clients still refused {PATIENCE:?} after 4 left"
                );
                // Polling interval: the descriptors are freed as the
                // closed connections' tasks end.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    chat.echoes(&mut client, &id, "back again").await;
}

/// A new connection to `addr` that asks for `/nowhere` (no route: the
/// listener answers 404 itself) and gets its answer, kept open; or the
/// status it was refused with. Fails if the listener leaves it waiting.
async fn try_api(addr: &str) -> Result<TcpStream, u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let answered = tokio::time::timeout(
        REFUSED_WITHIN,
        keep_alive_exchange(&mut stream, "/nowhere"),
    )
    .await
    .unwrap_or_else(|_| {
        panic!("a new client got no answer within {REFUSED_WITHIN:?}: the listener left it waiting")
    });
    match answered {
        Some((404, _)) => Ok(stream),
        Some((status, body)) => {
            assert_eq!(status, 503, "expected 404 or a refusal: {body}");
            Err(status)
        }
        None => panic!("the connection was closed without an answer"),
    }
}

#[tokio::test]
async fn out_of_descriptors_an_api_refuses_new_clients_at_once_and_serves_again_once_some_close() {
    let data = tempfile::tempdir().unwrap();
    let mut command = nitric_local();
    // The held keep-alive connections stay open for the whole test.
    command.args(["--api-port", "0", "--header-read-timeout", "10m"]);
    let (_child, lines) = start(command, data.path(), LIMIT, LIMIT, Stdio::null());
    let grpc = grpc_addr(&lines);
    let route = Route::register(connect(grpc).await, "main", "/hello", &["GET"])
        .await
        .unwrap();
    let _answering = route.answer_all();
    let announced = next_line(&lines);
    let addr = announced
        .strip_prefix("api \"main\" listening on http://")
        .unwrap_or_else(|| panic!("unexpected announcement: {announced}"))
        .to_owned();

    // Clients until one is refused: every descriptor is then in use.
    let mut clients = Vec::new();
    let refused = loop {
        assert!(
            clients.len() < LIMIT as usize,
            "{} clients served under a limit of {LIMIT} descriptors",
            clients.len()
        );
        match try_api(&addr).await {
            Ok(client) => clients.push(client),
            Err(status) => break status,
        }
    };
    assert_eq!(refused, 503);
    assert!(
        clients.len() > LIMIT as usize / 2,
        "only {} clients",
        clients.len()
    );
    // Still out: more clients are refused at once.
    for _ in 0..3 {
        assert_eq!(try_api(&addr).await.err(), Some(503));
    }

    // The clients it has are served meanwhile, by the app too.
    let first = clients.first_mut().unwrap();
    assert_eq!(
        keep_alive_exchange(first, "/hello").await,
        Some((200, "ok".to_owned()))
    );

    // Some leave; once the listener has let go of them, a new client is
    // served.
    clients.drain(..4);
    let deadline = Instant::now() + PATIENCE;
    let mut client = loop {
        match try_api(&addr).await {
            Ok(client) => break client,
            Err(_) => {
                assert!(
                    Instant::now() < deadline,
                    "new clients still refused {PATIENCE:?} after 4 left"
                );
                // Polling interval: the descriptors are freed as the
                // closed connections' tasks end.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(
        keep_alive_exchange(&mut client, "/hello").await,
        Some((200, "ok".to_owned()))
    );
}

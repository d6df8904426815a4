//! Measures what idle websocket connections cost the `nitric-local`
//! process: its resident memory before, with 2,000 and 10,000 idle
//! connections, after they closed, and after as many opened and closed
//! again (memory the allocator kept is reused, so this one should not
//! grow). Loopback only, and bounded: it opens at most the connections
//! asked for, twice, and waits at most a minute for any step.
//!
//! ```sh
//! cargo build --release -p nitric-local --bin nitric-local --example idle_memory
//! ulimit -n 30000   # both processes hold one descriptor per connection
//! target/release/examples/idle_memory target/release/nitric-local 2000 10000
//! ```
//!
//! Linux only (it reads `/proc/<pid>/status`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use nitric_protocol::websockets::v1::websocket_handler_client::WebsocketHandlerClient;
use nitric_protocol::websockets::v1::{
    client_message, server_message, ClientMessage, RegistrationRequest, WebsocketEventResponse,
    WebsocketEventType,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const STEP_LIMIT: Duration = Duration::from_secs(60);
/// Handshakes in flight at once.
const OPENING_AT_ONCE: usize = 64;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: idle_memory <nitric-local binary> <count>...");
    let counts: Vec<usize> = args.map(|count| count.parse().expect("a count")).collect();
    let largest = counts.iter().copied().max().unwrap_or(0);

    let data = tempfile::tempdir().unwrap();
    let mut membrane = Command::new(binary)
        .args(["--grpc-addr", "127.0.0.1:0", "--ws-port", "0", "--data-dir"])
        .arg(data.path())
        .args(["--max-connections", &(largest + 1).to_string()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("nitric-local starts");
    let pid = membrane.id();
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    let stdout = membrane.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(STEP_LIMIT, lines.recv())
            .await
            .expect("nitric-local prints in time")
            .expect("a line")
    };
    let first = next_line().await;
    let grpc = first
        .strip_prefix("nitric-local: gRPC listening on ")
        .expect("the gRPC address")
        .to_owned();

    let (disconnected_tx, mut disconnected) = mpsc::unbounded_channel();
    for event in [
        WebsocketEventType::Connect,
        WebsocketEventType::Disconnect,
        WebsocketEventType::Message,
    ] {
        let seen = (event == WebsocketEventType::Disconnect).then(|| disconnected_tx.clone());
        handle(&grpc, event, seen).await;
    }
    let announced = next_line().await;
    let url = announced
        .split_once(" listening on ")
        .expect("the socket's URL")
        .1
        .to_owned();

    settle().await;
    println!("before any connection: {} KiB", rss_kib(pid));
    for round in ["", " again"] {
        let mut clients = Vec::new();
        for &count in &counts {
            let opened = stream::iter(clients.len()..count)
                .map(|_| {
                    let url = url.clone();
                    async move {
                        tokio::time::timeout(STEP_LIMIT, tokio_tungstenite::connect_async(url))
                            .await
                            .expect("the handshake in time")
                            .expect("accepted")
                            .0
                    }
                })
                .buffer_unordered(OPENING_AT_ONCE)
                .collect::<Vec<_>>()
                .await;
            clients.extend(opened);
            settle().await;
            println!("{count} idle connections{round}: {} KiB", rss_kib(pid));
        }
        let open = clients.len();
        drop(clients);
        for _ in 0..open {
            tokio::time::timeout(STEP_LIMIT, disconnected.recv())
                .await
                .expect("every disconnect event in time");
        }
        settle().await;
        println!("after they closed{round}: {} KiB", rss_kib(pid));
    }

    let _ = membrane.kill();
    let _ = membrane.wait();
}

/// Lets the membrane finish what it was doing.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Registers a handler answering every event with an accepting answer; a
/// disconnect is reported on `seen`.
async fn handle(grpc: &str, event: WebsocketEventType, seen: Option<mpsc::UnboundedSender<()>>) {
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .expect("gRPC connects");
    let (to_membrane, outgoing) = mpsc::channel(1024);
    to_membrane
        .send(ClientMessage {
            id: String::new(),
            content: Some(client_message::Content::RegistrationRequest(
                RegistrationRequest {
                    socket_name: "idle".into(),
                    event_type: event as i32,
                },
            )),
        })
        .await
        .unwrap();
    let mut from_membrane = WebsocketHandlerClient::new(channel)
        .handle_events(ReceiverStream::new(outgoing))
        .await
        .expect("the stream opens")
        .into_inner();
    tokio::spawn(async move {
        while let Ok(Some(message)) = from_membrane.message().await {
            if let Some(server_message::Content::WebsocketEventRequest(_)) = message.content {
                let answer = ClientMessage {
                    id: message.id,
                    content: Some(client_message::Content::WebsocketEventResponse(
                        WebsocketEventResponse::default(),
                    )),
                };
                if to_membrane.send(answer).await.is_err() {
                    return;
                }
                if let Some(seen) = &seen {
                    let _ = seen.send(());
                }
            }
        }
    });
}

/// The resident set size of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

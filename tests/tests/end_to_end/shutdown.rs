//! Stopping: handlers that do not finish (the shutdown timeout, a second
//! signal, a membrane restart while a handler hangs), and disconnect events
//! that must not be lost.

use nitric_protocol::kvstore::v1::{kv_store_client::KvStoreClient, KvStoreScanKeysRequest, Store};
use nitric_tests::interop::Membrane;
use nitric_tests::{within, App, Client};

const APP: &str = env!("CARGO_BIN_EXE_behaviours");
const MEMBRANE: &str = env!("CARGO_BIN_EXE_nitric-local-membrane");

/// The app with one message handler hanging.
async fn hanging(envs: &[(&str, &str)]) -> (App, Client, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(APP, data.path(), envs);
    let url = app.socket_url("public").await;
    let mut client = Client::connect(&url).await;
    client.send("hang").await;
    app.stderr_line("hanging on purpose").await;
    (app, client, data)
}

#[tokio::test]
async fn a_handler_past_the_shutdown_timeout_fails_the_exit_naming_it() {
    let (mut app, _client, _data) = hanging(&[("NITRIC_SHUTDOWN_TIMEOUT", "0.5")]).await;
    app.terminate();
    app.stderr_line("shutting down").await;
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("shutdown timed out after 500ms"),
        "{output}"
    );
    assert!(
        output.contains("`message` (tests/src/bin/behaviours.rs:"),
        "the hung handler is named: {output}"
    );
    assert!(output.contains("(1 running)"), "{output}");
}

#[tokio::test]
async fn a_second_interrupt_exits_at_once() {
    let (mut app, _client, _data) = hanging(&[]).await;
    app.interrupt();
    app.stderr_line("shutting down").await;
    app.interrupt();
    // Well inside the default 25 s timeout.
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(130), "{output}");
    assert!(output.contains("second signal"), "{output}");
}

#[tokio::test]
async fn a_membrane_killed_mid_event_is_registered_with_again_while_the_handler_hangs() {
    let data = tempfile::tempdir().unwrap();
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut first = Membrane::start_at(MEMBRANE, &address, "info").await;
    let mut app = App::start(APP, data.path(), &[("SERVICE_ADDRESS", &address)]);
    let url = first.socket_url("public").await;
    let mut client = Client::connect(&url).await;
    client.send("hang").await;
    app.stderr_line("hanging on purpose").await;

    // Killed (dropping the process sends SIGKILL) while the event is unanswered.
    drop(first);
    let mut second = Membrane::start_at(MEMBRANE, &address, "info").await;
    let url = within(
        "registering again while a handler hangs",
        second.socket_url("public"),
    )
    .await;
    let mut client = Client::connect(&url).await;
    client.send("after").await;
    assert_eq!(client.receive().await, "after");
}

#[tokio::test]
async fn stopping_delivers_every_clients_disconnect_before_the_handlers_stop() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(env!("CARGO_BIN_EXE_chat"), data.path(), &[]);
    let url = app.socket_url("public").await;
    let _ada = Client::connect(&format!("{url}/?name=ada")).await;
    let _bob = Client::connect(&format!("{url}/?name=bob")).await;

    app.terminate();
    let (status, output) = app.exit().await;
    assert!(status.success(), "{output}");

    // The store on disk: both members were removed by their disconnect
    // handlers before the app stopped handling events.
    let membrane = nitric_local::start(nitric_local::Config {
        grpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        ws_port: 0,
        data_dir: data.path().to_owned(),
        announce: false,
        // This test reads the store without declaring it.
        enforce_policies: false,
        ..nitric_local::Config::default()
    })
    .await
    .unwrap();
    let mut kv = KvStoreClient::connect(format!(
        "http://{}",
        membrane.grpc_addr().expect("a gRPC listener")
    ))
    .await
    .unwrap();
    let mut keys = kv
        .scan_keys(KvStoreScanKeysRequest {
            store: Some(Store {
                name: "connections".into(),
            }),
            prefix: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut left = Vec::new();
    while let Some(key) = keys.message().await.unwrap() {
        left.push(key.key);
    }
    assert!(
        left.is_empty(),
        "members left in the store: {left:?}\n{output}"
    );
    membrane.shutdown().await;
}

#[tokio::test]
async fn a_client_leaving_during_its_connect_handler_still_gets_a_disconnect() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(APP, data.path(), &[]);
    let url = app.socket_url("public").await;
    let address = url.trim_start_matches("ws://").to_owned();

    // A raw upgrade request, dropped while the connect handler sleeps.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /?slow=1 HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let started = app.stderr_line("slow connect started").await;
    drop(stream);

    let connection_id = started
        .split("connection_id=")
        .nth(1)
        .expect("the log names the connection")
        .trim()
        .trim_matches('"')
        .to_owned();
    app.stderr_line(&format!("disconnect handled for {connection_id}"))
        .await;
}

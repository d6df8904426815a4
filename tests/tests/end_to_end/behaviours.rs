//! How the runtime treats refusals, failures, panics, concurrency and
//! shutdown, seen from real websocket clients.

use nitric_tests::{App, Client};

const APP: &str = env!("CARGO_BIN_EXE_behaviours");

async fn started() -> (App, String, tempfile::TempDir) {
    App::start_serving(APP, "public").await
}

#[tokio::test]
async fn a_refused_connect_answers_the_upgrade_with_an_http_error() {
    let (_app, url, _data) = started().await;
    for query in ["reject=1", "fail=1", "panic=1"] {
        let refused = Client::try_connect(&format!("{url}/?{query}")).await;
        assert_eq!(refused.err(), Some(403), "?{query}");
    }
    // The app is still up after all three.
    let mut client = Client::connect(&url).await;
    client.send("still here").await;
    assert_eq!(client.receive().await, "still here");
}

#[tokio::test]
async fn query_parameters_reach_the_connect_handler() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&format!("{url}/?room=lobby&tag=a&tag=b%20c")).await;
    client.send("query").await;
    let query: serde_json::Value = serde_json::from_str(&client.receive().await).unwrap();
    assert_eq!(
        query,
        serde_json::json!({ "room": ["lobby"], "tag": ["a", "b c"] })
    );
}

#[tokio::test]
async fn a_panicking_handler_does_not_stop_the_app() {
    let (mut app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("panic").await;
    let logged = app.stderr_line("panicked; the service keeps running").await;
    assert!(
        logged.contains("connection_id"),
        "the log names the connection: {logged}"
    );
    // The panicking message was answered, so the connection reads on.
    client.send("after the panic").await;
    assert_eq!(client.receive().await, "after the panic");
}

#[tokio::test]
async fn a_slow_handler_on_one_connection_does_not_hold_up_another() {
    let (mut app, url, _data) = started().await;
    let mut slow = Client::connect(&url).await;
    let mut fast = Client::connect(&url).await;
    slow.send("wait").await;
    slow.send("after wait").await;
    app.stderr_line("waiting for a release").await;
    // Answered while the other connection's handler waits: it cannot
    // finish before the release, which is sent after this answer.
    fast.send("fast").await;
    assert_eq!(fast.receive().await, "fast");
    fast.send("release").await;
    assert_eq!(fast.receive().await, "released");
    // One connection's messages stay in order.
    assert_eq!(slow.receive().await, "wait done");
    assert_eq!(slow.receive().await, "after wait");
}

#[tokio::test]
async fn sigterm_lets_in_flight_handlers_finish_then_exits_zero() {
    let (mut app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("slow").await;
    // The signal comes once the handler is running, and it takes two
    // seconds more.
    app.stderr_line("slow handler started").await;
    app.terminate();
    assert_eq!(client.receive().await, "slow done");
    let (status, stderr) = app.exit().await;
    assert!(status.success(), "{status}\n{stderr}");
}

#[tokio::test]
async fn client_calls_answer_typed_results() {
    let (_app, url, _data) = started().await;
    let mut client = Client::connect(&url).await;
    client.send("missing key").await;
    assert_eq!(client.receive().await, "None");
    client.send("send to stranger").await;
    assert_eq!(
        client.receive().await,
        "gone: send to connection \"no-such-connection\" on socket \"public\""
    );
    client.send("write read-only").await;
    let refusal = client.receive().await;
    assert!(
        refusal.starts_with("key/value store \"read-only\": `set` is not allowed; add it to the declaration (tests/src/bin/behaviours.rs:"),
        "{refusal}"
    );
}

#[tokio::test]
async fn a_handler_blocking_its_thread_stalls_no_other_client_nor_the_gateway() {
    let (mut app, url, _data) = started().await;
    let mut blocker = Client::connect(&url).await;
    let mut bystander = Client::connect(&url).await;
    // Which tasks wait behind a blocked worker depends on where each was
    // scheduled: a few rounds make a stall all but certain to show.
    for round in 0..4 {
        blocker.send("block").await;
        app.stderr_line("blocking the thread on purpose").await;

        // While the handler holds its thread: the page answers, a
        // handshake succeeds (its connect handler runs), and both clients'
        // messages are handled. Each step fails after `STEP` if anything
        // waits for the blocked thread.
        let page = nitric_tests::within("the page", http_get(&url)).await;
        assert!(page.starts_with("HTTP/1.1 200"), "round {round}: {page}");
        let mut newcomer = Client::connect(&url).await;
        newcomer.send("hello").await;
        assert_eq!(newcomer.receive().await, "hello");
        bystander.send("still served").await;
        assert_eq!(bystander.receive().await, "still served");

        bystander.send("release").await;
        assert_eq!(bystander.receive().await, "released");
        assert_eq!(blocker.receive().await, "block done");
    }
}

#[tokio::test]
async fn the_gateway_runs_on_while_every_worker_of_the_app_is_blocked() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(APP, data.path(), &[("TOKIO_WORKER_THREADS", "1")]);
    let url = app.socket_url("public").await;
    let mut blocker = Client::connect(&url).await;
    blocker.send("block").await;
    app.stderr_line("blocking the thread on purpose").await;
    // The app's one worker is held (until the app is killed at the end);
    // the embedded membrane's threads still serve the page.
    for _ in 0..3 {
        let page = nitric_tests::within("the page", http_get(&url)).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    }
}

/// The status line and headers of `GET /` on the gateway at `url`.
async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.trim_start_matches("ws://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_handler_past_the_event_deadline_is_cancelled_and_shutdown_does_not_wait_for_it() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(
        APP,
        data.path(),
        &[
            ("NITRIC_EVENT_TIMEOUT", "1"),
            ("NITRIC_SHUTDOWN_TIMEOUT", "10"),
        ],
    );
    let url = app.socket_url("public").await;
    let mut client = Client::connect(&url).await;
    client.send("hang").await;
    let cancelled = app
        .stderr_line("handler cancelled: the membrane stopped waiting for its answer")
        .await;
    assert!(
        cancelled.contains("tests/src/bin/behaviours.rs:"),
        "the log names the handler's place: {cancelled}"
    );
    // The membrane gave up on the event too, so the connection reads on.
    client.send("next").await;
    assert_eq!(client.receive().await, "next");
    // Nothing is left running: the service stops at once and exits 0
    // (a hung handler would hold it for NITRIC_SHUTDOWN_TIMEOUT, then fail).
    app.terminate();
    let (status, stderr) = app.exit().await;
    assert!(status.success(), "{status}\n{stderr}");
    assert!(!stderr.contains("still running"), "{stderr}");
}

#[tokio::test]
async fn messages_past_grpcs_default_four_mib_limit_pass_when_the_gateway_allows_them() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(
        APP,
        data.path(),
        &[
            ("NITRIC_LOCAL_MAX_MESSAGE_SIZE", "6MiB"),
            ("NITRIC_LOCAL_MAX_FRAME_SIZE", "6MiB"),
            ("NITRIC_LOCAL_MAX_QUEUED_BYTES", "12MiB"),
        ],
    );
    let url = app.socket_url("public").await;
    let mut client = Client::connect(&url).await;
    // The event carrying it and the send answering it are each a gRPC
    // message above tonic's default limit of 4 MiB.
    let big = "x".repeat(5 * 1024 * 1024);
    client.send(&big).await;
    let echoed = client.receive().await;
    assert_eq!(echoed.len(), big.len());
    assert!(echoed == big, "the echo differs from the message");
    client.send("after").await;
    assert_eq!(client.receive().await, "after");
}

#[tokio::test]
async fn the_embedded_membrane_listens_for_grpc_only_when_asked() {
    let (app, url, _data) = started().await;
    let gateway_port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(
        listening_ports(app.pid()),
        [gateway_port],
        "only the websocket gateway listens"
    );

    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(
        APP,
        data.path(),
        &[("NITRIC_LOCAL_GRPC_ADDR", "127.0.0.1:0")],
    );
    let logged = app
        .stderr_line("its gRPC listener is open to every local process")
        .await;
    let url = app.socket_url("public").await;
    let gateway_port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let ports = listening_ports(app.pid());
    assert_eq!(ports.len(), 2, "the gateway and gRPC: {ports:?}");
    let grpc_port = ports.iter().find(|port| **port != gateway_port).unwrap();
    assert!(
        logged.contains(&format!("127.0.0.1:{grpc_port}")),
        "{logged}"
    );
}

/// The TCP ports process `pid` listens on, from its descriptors and the
/// kernel's socket tables.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local address, state (0A: LISTEN), inode
            let (local, state, inode) = (fields[1], fields[3], fields[9]);
            if state == "0A" && inodes.iter().any(|own| own == inode) {
                let port = local.rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort_unstable();
    ports
}

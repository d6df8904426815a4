//! Stopping with handlers that do not finish: the shutdown timeout, a second
//! signal, and a membrane restart while a handler hangs.

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

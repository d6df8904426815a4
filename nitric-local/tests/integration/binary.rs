//! The `nitric-local` binary as a person runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use nitric_protocol::websockets::v1::WebsocketEventType;

use crate::common::{AppStream, PATIENCE};

pub fn nitric_local() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nitric-local"));
    command.env("RUST_LOG", "warn");
    command
}

#[test]
fn a_bad_flag_prints_the_problem_and_usage_and_exits_2() {
    let output = nitric_local().arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unexpected argument '--bogus'"), "{stderr}");
    assert!(stderr.contains("Usage: nitric-local"), "{stderr}");
}

#[test]
fn help_prints_usage_and_exits_0() {
    let output = nitric_local().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("--data-dir <path>"));
    assert!(stdout.contains("--allowed-origins <list>"));
}

#[test]
fn a_bad_allowed_origins_variable_is_named_and_exits_2() {
    let output = nitric_local()
        .env("NITRIC_LOCAL_ALLOWED_ORIGINS", "https://ok.example,bad")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("NITRIC_LOCAL_ALLOWED_ORIGINS")
            && stderr.contains("`bad` is not an origin"),
        "{stderr}"
    );
}

#[test]
fn a_startup_error_is_explained_and_exits_1() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("file");
    std::fs::write(&file, "").unwrap();
    let output = nitric_local()
        .args(["--grpc-addr", "127.0.0.1:0", "--data-dir"])
        .arg(file.join("inside"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot create the data directory"),
        "{stderr}"
    );
}

/// Kills the child if a test fails before stopping it.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// The lines the child writes on its (piped) stdout, read on a thread.
    pub fn stdout_lines(&mut self) -> mpsc::Receiver<String> {
        let (lines_tx, lines) = mpsc::channel();
        let stdout = self.0.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    return;
                }
            }
        });
        lines
    }
}

#[tokio::test]
async fn it_announces_its_addresses_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Running(
        nitric_local()
            .args(["--grpc-addr", "127.0.0.1:0", "--ws-port", "0", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = child.stdout_lines();
    let next_line = || lines.recv_timeout(PATIENCE).expect("a line on stdout");

    let first = next_line();
    let grpc_addr = first
        .strip_prefix("nitric-local: gRPC listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));
    let channel = crate::common::connect(grpc_addr.parse().unwrap()).await;
    let _handler = AppStream::register(channel, "Public", WebsocketEventType::Message)
        .await
        .unwrap();
    let announced = next_line();
    let url = announced
        .strip_prefix("websocket \"Public\" listening on ws://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected announcement: {announced}"));
    url.parse::<u16>().expect("a port and nothing after it");

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nitric-local did not stop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0));
}

//! Wire-behaviour equivalence with the official SDKs: the same app written
//! in Rust (the examples), with the Node SDK and with the Python SDK (the
//! apps in `tests/interop/`) is run the way the Nitric CLI collects
//! requirements (`NITRIC_ENVIRONMENT=build`, against the recording
//! membrane), and the three transcripts must agree.
//!
//! Each transcript is checked in under `tests/fixtures/transcripts/` and
//! compared line for line; `NITRIC_UPDATE_FIXTURES=1` rewrites them. Lines
//! are sorted there, because every implementation makes its calls
//! concurrently; the order that matters is checked here instead. What may
//! differ between implementations, and why, is in `comparable` below and in
//! `tests/fixtures/transcripts/README.md`.

use std::path::PathBuf;
use std::process::ExitStatus;

use nitric_tests::interop::Sdk;
use nitric_tests::recording_membrane::RecordingMembrane;
use nitric_tests::Process;
use tokio::process::Command;

/// What one run under requirement collection produced.
struct Recorded {
    /// The recording membrane's lines, in arrival order.
    lines: Vec<String>,
    status: ExitStatus,
}

async fn record(label: &str, mut command: Command, membrane: RecordingMembrane) -> Recorded {
    command
        .env("SERVICE_ADDRESS", membrane.address())
        .env("NITRIC_ENVIRONMENT", "build");
    let (status, _output) = Process::spawn(label, command).exit().await;
    Recorded {
        lines: membrane.transcript(),
        status,
    }
}

/// Runs the Rust example `binary` under requirement collection.
async fn record_rust(app: &str, binary: &str) -> Recorded {
    let membrane = RecordingMembrane::start().await;
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary);
    command
        .env("NITRIC_LOCAL_DATA_DIR", data.path())
        .env("RUST_LOG", "info");
    let recorded = record(&format!("rust {app}"), command, membrane).await;
    assert!(
        !data.path().join("kv.redb").exists(),
        "no local membrane starts in build mode"
    );
    recorded
}

/// Runs `app` written with `sdk` under requirement collection.
async fn record_sdk(sdk: Sdk, app: &str) -> Recorded {
    sdk.install();
    let membrane = RecordingMembrane::start().await;
    let command = sdk.command(app, &membrane.address());
    record(&format!("{} {app}", sdk.name()), command, membrane).await
}

/// The checked-in form: every line sorted, then the exit status.
fn transcript(recorded: &Recorded) -> Vec<String> {
    let mut lines = recorded.lines.clone();
    lines.sort();
    let status = match recorded.status.code() {
        Some(code) => format!("exit status {code}"),
        None => format!("exit {}", recorded.status),
    };
    lines.push(status);
    lines
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/transcripts")
        .join(format!("{name}.txt"))
}

/// Compares `recorded` with the fixture `name` (or rewrites the fixture
/// when `NITRIC_UPDATE_FIXTURES` is set).
fn check_fixture(name: &str, who: &str, recorded: &Recorded) {
    let path = fixture_path(name);
    let lines = transcript(recorded);
    if std::env::var_os("NITRIC_UPDATE_FIXTURES").is_some() {
        let mut text = format!(
            "# {who}.\n\
             # Run with NITRIC_ENVIRONMENT=build against the recording membrane\n\
             # (tests/src/recording_membrane.rs) by tests/tests/external/equivalence.rs, which\n\
             # compares it line for line. Lines sorted; see README.md beside this file.\n"
        );
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error} (NITRIC_UPDATE_FIXTURES=1 writes it)",
            path.display()
        )
    });
    let expected: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert_eq!(
        lines,
        expected,
        "{who} no longer produces {}; if the change is intended, rerun with NITRIC_UPDATE_FIXTURES=1 and review the diff",
        path.display()
    );
}

/// The lines every implementation must agree on, exit status included.
/// One difference is allowed: the Python SDK declares a topic without the
/// empty `topic: {}` config the others send. The Nitric CLI files a
/// declared topic under its id's type and name, and `TopicResource` has no
/// fields, so both mean the same.
fn comparable(recorded: &Recorded) -> Vec<String> {
    transcript(recorded)
        .into_iter()
        .map(|line| match line.strip_suffix(" topic") {
            Some(bare) if line.starts_with("declare Topic ") => bare.to_owned(),
            _ => line,
        })
        .collect()
}

/// Every declaration (resources and policies) arrived before the first
/// registration or subscription, so no event can race a permission.
fn declares_before_registering(recorded: &Recorded) -> bool {
    let first_other = recorded
        .lines
        .iter()
        .position(|line| !line.starts_with("declare "))
        .unwrap_or(recorded.lines.len());
    recorded.lines[first_other..]
        .iter()
        .all(|line| !line.starts_with("declare "))
}

/// Records `app` in Rust (`rust_binary`, built from `rust_source`), Node
/// and Python, checks each against its fixture and the three against one
/// another.
async fn check_equivalence(app: &str, rust_binary: &str, rust_source: &str) {
    let rust = record_rust(app, rust_binary).await;
    let node = record_sdk(Sdk::Node, app).await;
    let python = record_sdk(Sdk::Python, app).await;

    check_fixture(
        &format!("rust-{app}"),
        &format!("The Rust {app} app ({rust_source})"),
        &rust,
    );
    check_fixture(
        &format!("node-{app}"),
        &format!("The {app} app written with the official Node SDK (tests/interop/node/{app}.js)"),
        &node,
    );
    check_fixture(
        &format!("python-{app}"),
        &format!(
            "The {app} app written with the official Python SDK (tests/interop/python/{app}.py)"
        ),
        &python,
    );

    assert!(
        rust.status.success(),
        "the Rust {app} exits 0 once the streams end: {}",
        rust.status
    );
    // The transcripts end with the exit status, so all three exit 0 too.
    assert_eq!(
        comparable(&rust),
        comparable(&node),
        "Rust and Node {app}: different declarations, policies or registrations"
    );
    assert_eq!(
        comparable(&rust),
        comparable(&python),
        "Rust and Python {app}: different declarations, policies or registrations"
    );
    // Rust and Python declare everything first; the Node SDK opens its
    // streams while its policies are still on their way (not checked).
    assert!(
        declares_before_registering(&rust),
        "Rust {app}: {:#?}",
        rust.lines
    );
    assert!(
        declares_before_registering(&python),
        "Python {app}: {:#?}",
        python.lines
    );
}

#[tokio::test]
async fn the_chat_declares_and_registers_alike_in_rust_node_and_python() {
    check_equivalence("chat", env!("CARGO_BIN_EXE_chat"), "examples/chat/main.rs").await;
}

#[tokio::test]
async fn the_greeting_declares_and_subscribes_alike_in_rust_node_and_python() {
    check_equivalence(
        "greeting",
        env!("CARGO_BIN_EXE_greeting"),
        "examples/greeting/main.rs",
    )
    .await;
}

#[tokio::test]
async fn the_routes_app_declares_and_registers_alike_in_rust_node_and_python() {
    check_equivalence(
        "routes",
        env!("CARGO_BIN_EXE_routes"),
        "tests/src/bin/routes.rs",
    )
    .await;
}

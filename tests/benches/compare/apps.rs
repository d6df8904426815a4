//! The apps compared: this project's Rust examples and the same apps written
//! with the official Node and Python SDKs, each started against a
//! `nitric-local` membrane running as its own process.

use nitric_tests::interop::{Membrane, Sdk};
use nitric_tests::{App, Process};

/// The membrane binary, started as its own process.
pub const MEMBRANE: &str = env!("CARGO_BIN_EXE_nitric-local-membrane");
/// The echo example.
pub const ECHO: &str = env!("CARGO_BIN_EXE_echo");
/// The chat example.
pub const CHAT: &str = env!("CARGO_BIN_EXE_chat");
/// The lobby example: the chat with tickets, presence and history.
pub const LOBBY: &str = env!("CARGO_BIN_EXE_lobby");

/// What the membrane (and an embedded one) logs: warnings, plus each
/// handler's registration, which the start-up figures wait for.
pub const MEMBRANE_LOG: &str =
    "warn,nitric_local::services::websocket_handler=info,nitric_local::policies=info";
/// The line the membrane logs for each handler stream it accepts.
pub const REGISTERED: &str = "websocket handler registered";
/// The line the membrane logs for each handler stream that ended.
pub const UNREGISTERED: &str = "websocket handler unregistered";
/// Websocket handlers in each app: connect, disconnect, message.
pub const HANDLERS: usize = 3;

/// An app's implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// This project: an example under `examples/`.
    Rust,
    /// An app in `tests/interop/`, written with an official SDK.
    Sdk(Sdk),
}

impl Lang {
    /// The peers of the Rust apps.
    pub const PEERS: [Lang; 2] = [Lang::Sdk(Sdk::Node), Lang::Sdk(Sdk::Python)];

    /// `Rust`, `Node` or `Python`, for the table.
    pub fn label(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Sdk(Sdk::Node) => "Node",
            Lang::Sdk(Sdk::Python) => "Python",
        }
    }

    /// Starts `app` (`echo` or `chat`; `lobby` in Rust only) against
    /// `membrane`, logging warnings only.
    pub fn start(self, app: &str, membrane: &Membrane) -> Running {
        match self {
            Lang::Rust => {
                let binary = match app {
                    "echo" => ECHO,
                    "chat" => CHAT,
                    "lobby" => LOBBY,
                    other => panic!("no Rust app {other}"),
                };
                let data = tempfile::tempdir().expect("create a data directory");
                let app = App::start(
                    binary,
                    data.path(),
                    &[
                        ("SERVICE_ADDRESS", membrane.address()),
                        ("RUST_LOG", "warn"),
                    ],
                );
                Running::Rust(app, data)
            }
            Lang::Sdk(sdk) => Running::Sdk(sdk.start(app, membrane)),
        }
    }
}

/// A started app; killed when dropped.
pub enum Running {
    /// A Rust example, with its (unused) data directory.
    Rust(App, tempfile::TempDir),
    /// An SDK app.
    Sdk(Process),
}

impl Running {
    /// The app's process id.
    pub fn pid(&self) -> u32 {
        match self {
            Running::Rust(app, _) => app.pid(),
            Running::Sdk(process) => process.pid(),
        }
    }
}

/// A membrane process logging [`MEMBRANE_LOG`].
pub async fn membrane() -> Membrane {
    Membrane::start_logging(MEMBRANE, MEMBRANE_LOG).await
}

/// Waits until the membrane has logged `count` more lines containing
/// `needle` ([`REGISTERED`] or [`UNREGISTERED`]).
pub async fn wait_for(membrane: &mut Membrane, needle: &str, count: usize) {
    for _ in 0..count {
        membrane.log_line(needle).await;
    }
}

/// Starts `app` in `lang` on a fresh membrane and waits until all its
/// handlers are registered; returns both and the URL of socket `public`.
pub async fn serving(lang: Lang, app: &str) -> (Membrane, Running, String) {
    let mut membrane = membrane().await;
    let running = lang.start(app, &membrane);
    wait_for(&mut membrane, REGISTERED, HANDLERS).await;
    let url = membrane.socket_url("public").await;
    // The membrane enforces policies, and the Node SDK declares them after
    // opening its streams: drive the app once they are in, as in the cloud.
    // (Rust and Python declare them before registering: those lines may be
    // behind the registrations already waited for.)
    let mut resources = vec!["Websocket \"public\""];
    match app {
        "chat" => resources.push("KeyValueStore \"connections\""),
        "lobby" => resources.extend([
            "KeyValueStore \"tickets\"",
            "KeyValueStore \"users\"",
            "KeyValueStore \"rooms\"",
            "KeyValueStore \"presence\"",
            "KeyValueStore \"history\"",
        ]),
        _ => {}
    }
    let logged = membrane.output();
    resources.retain(|resource| !logged.contains(&format!(" on {resource}")));
    if !resources.is_empty() {
        membrane.wait_for_policies(&resources).await;
    }
    (membrane, running, url)
}

//! Support for the end-to-end tests: start app binaries as real processes,
//! read what they announce, and talk to them with real websocket clients.

pub mod fresh_crate;
#[cfg(feature = "external")]
pub mod http;
pub mod interop;
pub mod layers;
mod process;
pub mod recording_membrane;
#[cfg(feature = "external")]
pub mod webdriver;

pub use process::Process;

use futures_util::{SinkExt, StreamExt};
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single step may take before the test fails instead of hanging.
pub const STEP: Duration = Duration::from_secs(20);

/// Fails the test if `future` takes longer than [`STEP`].
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {STEP:?}: {what}"))
}

/// An app binary running as a child process; killed when dropped.
pub struct App {
    process: Process,
}

impl App {
    /// Starts `binary` with `envs`; stdout and stderr are collected by line.
    /// The embedded membrane's data goes to `data_dir` and sockets get free
    /// ports unless `envs` says otherwise.
    pub fn start(binary: &str, data_dir: &Path, envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command
            .env_remove("SERVICE_ADDRESS")
            .env_remove("NITRIC_ENVIRONMENT")
            .env("NITRIC_LOCAL_WS_PORT", "0")
            .env("NITRIC_LOCAL_DATA_DIR", data_dir)
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied());
        Self {
            process: Process::spawn("app", command),
        }
    }

    /// Starts `binary` on the embedded membrane with a fresh data directory
    /// and waits for `socket`; returns the app, the socket's URL, and the
    /// directory (removed when dropped).
    pub async fn start_serving(binary: &str, socket: &str) -> (Self, String, tempfile::TempDir) {
        let data = tempfile::tempdir().expect("create a data directory");
        let mut app = Self::start(binary, data.path(), &[]);
        let url = app.socket_url(socket).await;
        (app, url, data)
    }

    /// Waits for the line announcing `socket` and returns its URL.
    pub async fn socket_url(&mut self, socket: &str) -> String {
        let prefix = format!("websocket \"{socket}\" listening on ");
        self.process.stdout_after(&prefix).await
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub async fn stderr_line(&mut self, needle: &str) -> String {
        self.process.stderr_line(needle).await
    }

    /// Waits for the process to exit and returns its status and everything
    /// it wrote.
    pub async fn exit(self) -> (ExitStatus, String) {
        self.process.exit().await
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends SIGTERM, as a platform does to stop a service.
    pub fn terminate(&self) {
        self.process.terminate()
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        self.process.interrupt()
    }
}

/// A real websocket client.
pub struct Client {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `url`, panicking if the upgrade is refused.
    pub async fn connect(url: &str) -> Self {
        match Self::try_connect(url).await {
            Ok(client) => client,
            Err(status) => panic!("connecting to {url} was refused with HTTP {status}"),
        }
    }

    /// Connects to `url`; `Err` carries the HTTP status of a refused upgrade.
    pub async fn try_connect(url: &str) -> Result<Self, u16> {
        use tokio_tungstenite::tungstenite::Error;
        match within(
            &format!("connecting to {url}"),
            tokio_tungstenite::connect_async(url),
        )
        .await
        {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(Error::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("connecting to {url} failed: {error}"),
        }
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: &str) {
        within("sending a message", self.stream.send(Message::text(text)))
            .await
            .expect("send a websocket message");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        within(
            "sending a binary message",
            self.stream.send(Message::binary(bytes.to_vec())),
        )
        .await
        .expect("send a websocket message");
    }

    /// The next text (or binary, as UTF-8) message.
    pub async fn receive(&mut self) -> String {
        match self.receive_frame().await {
            Message::Text(text) => text.to_string(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            other => unreachable!("receive_frame returns data frames only: {other:?}"),
        }
    }

    /// The next data frame, text or binary, as received.
    pub async fn receive_frame(&mut self) -> Message {
        within("receiving a message", async {
            loop {
                match self.stream.next().await {
                    Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => return frame,
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => panic!("the websocket failed: {error}"),
                    None => panic!("the websocket closed while a message was expected"),
                }
            }
        })
        .await
    }

    /// Whether a message arrives within `wait`.
    pub async fn receives_within(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, self.receive()).await.ok()
    }

    /// Closes the connection properly.
    pub async fn close(mut self) {
        within("closing the websocket", self.stream.close(None))
            .await
            .expect("close the websocket");
        // Drain until the server acknowledges the close.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(STEP, self.stream.next()).await {}
    }
}

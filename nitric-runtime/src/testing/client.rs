//! A real websocket client for tests, speaking to the local gateway over
//! loopback.

use super::TestError;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A message the app sent to a client.
///
/// ```
/// use nitric_runtime::testing::Received;
///
/// assert_eq!(Received::Text("hi".into()).as_bytes(), b"hi");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl Received {
    /// The message's bytes, whichever kind of frame carried it.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }
}

/// One websocket connection to the app under test.
///
/// Every wait is bounded by the app's timeout (see
/// [`TestApp::start_with_timeout`](super::TestApp::start_with_timeout)), so
/// a test fails with a message instead of hanging.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// use std::time::Duration;
///
/// let mut ada = app.connect_with_query("public", &[("name", "ada")]).await?;
/// ada.send_json(&serde_json::json!({ "say": "hi" })).await?;
/// let reply: serde_json::Value = ada.recv_json().await?;
/// ada.expect_silence(Duration::from_millis(200)).await?;
/// ada.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct TestClient {
    socket: String,
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timeout: Duration,
}

impl TestClient {
    pub(super) async fn connect(
        socket: &str,
        url: &str,
        timeout: Duration,
    ) -> Result<Self, TestError> {
        let connecting = tokio_tungstenite::connect_async(url);
        let (stream, _) = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| {
                TestError::new(format!(
                    "connect to socket \"{socket}\" ({url}): no answer within {timeout:?}"
                ))
            })?
            .map_err(|error| {
                TestError::new(format!("connect to socket \"{socket}\" ({url}): {error}"))
            })?;
        Ok(Self {
            socket: socket.to_owned(),
            stream,
            timeout,
        })
    }

    /// Sets how long this client's waits last.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), TestError> {
        self.send(Message::text(text.into())).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: impl Into<Vec<u8>>) -> Result<(), TestError> {
        self.send(Message::binary(bytes.into())).await
    }

    /// Sends `value` as JSON in a text frame.
    pub async fn send_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TestError> {
        let text = serde_json::to_string(value)
            .map_err(|error| TestError::new(format!("cannot serialize the message: {error}")))?;
        self.send_text(text).await
    }

    async fn send(&mut self, message: Message) -> Result<(), TestError> {
        let socket = &self.socket;
        tokio::time::timeout(self.timeout, self.stream.send(message))
            .await
            .map_err(|_| {
                TestError::new(format!(
                    "send on socket \"{socket}\": not written within {:?}",
                    self.timeout
                ))
            })?
            .map_err(|error| TestError::new(format!("send on socket \"{socket}\": {error}")))
    }

    /// The next text or binary message, waiting at most the timeout.
    pub async fn recv(&mut self) -> Result<Received, TestError> {
        match self.next_message(self.timeout).await? {
            Some(received) => Ok(received),
            None => Err(TestError::new(format!(
                "receive on socket \"{}\": nothing arrived within {:?}",
                self.socket, self.timeout
            ))),
        }
    }

    /// The next message, which must be text.
    pub async fn recv_text(&mut self) -> Result<String, TestError> {
        match self.recv().await? {
            Received::Text(text) => Ok(text),
            Received::Binary(bytes) => Err(TestError::new(format!(
                "receive on socket \"{}\": expected a text frame, got {} binary bytes",
                self.socket,
                bytes.len()
            ))),
        }
    }

    /// The next message, parsed as JSON into `T`.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Result<T, TestError> {
        let received = self.recv().await?;
        serde_json::from_slice(received.as_bytes()).map_err(|error| {
            TestError::new(format!(
                "receive on socket \"{}\": {:?} is not the expected JSON: {error}",
                self.socket,
                String::from_utf8_lossy(received.as_bytes())
            ))
        })
    }

    /// Fails if a message arrives within `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) -> Result<(), TestError> {
        match self.next_message(quiet).await? {
            None => Ok(()),
            Some(received) => Err(TestError::new(format!(
                "socket \"{}\": expected no message for {quiet:?}, got {received:?}",
                self.socket
            ))),
        }
    }

    /// Closes the connection and waits for the gateway to confirm.
    pub async fn close(mut self) -> Result<(), TestError> {
        let socket = self.socket.clone();
        let closing = async {
            self.stream.close(None).await?;
            // Read until the gateway's close frame ends the stream.
            while let Some(message) = self.stream.next().await {
                message?;
            }
            Ok::<_, tungstenite::Error>(())
        };
        match tokio::time::timeout(self.timeout, closing).await {
            Ok(Ok(())) | Ok(Err(tungstenite::Error::ConnectionClosed)) => Ok(()),
            Ok(Err(error)) => Err(TestError::new(format!(
                "close on socket \"{socket}\": {error}"
            ))),
            Err(_) => Err(TestError::new(format!(
                "close on socket \"{socket}\": not confirmed within {:?}",
                self.timeout
            ))),
        }
    }

    /// The next data message within `wait`, `None` if none came; pings and
    /// pongs are skipped, a close is an error.
    async fn next_message(&mut self, wait: Duration) -> Result<Option<Received>, TestError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Ok(None),
                Ok(None) => {
                    return Err(TestError::new(format!(
                        "receive on socket \"{}\": the connection ended",
                        self.socket
                    )))
                }
                Ok(Some(message)) => message.map_err(|error| {
                    TestError::new(format!("receive on socket \"{}\": {error}", self.socket))
                })?,
            };
            match message {
                Message::Text(text) => return Ok(Some(Received::Text(text.to_string()))),
                Message::Binary(bytes) => return Ok(Some(Received::Binary(bytes.to_vec()))),
                Message::Close(frame) => {
                    return Err(TestError::new(format!(
                        "receive on socket \"{}\": the gateway closed the connection ({frame:?})",
                        self.socket
                    )))
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

/// Connects expecting a refusal; the HTTP status of the refused upgrade.
pub(super) async fn refused_status(
    socket: &str,
    url: &str,
    timeout: Duration,
) -> Result<u16, TestError> {
    let connecting = tokio_tungstenite::connect_async(url);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(TestError::new(format!(
            "connect to socket \"{socket}\" ({url}): no answer within {timeout:?}"
        ))),
        Ok(Ok(_)) => Err(TestError::new(format!(
            "connect to socket \"{socket}\" ({url}): expected a refusal, but the app accepted it"
        ))),
        Ok(Err(tungstenite::Error::Http(response))) => Ok(response.status().as_u16()),
        Ok(Err(error)) => Err(TestError::new(format!(
            "connect to socket \"{socket}\" ({url}): expected an HTTP refusal, got {error}"
        ))),
    }
}

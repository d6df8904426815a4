//! A real websocket client for tests, speaking to the local gateway over
//! loopback.

use super::assertions::{self, Reply};
use super::TestError;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
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
    /// Messages received while an assertion waited for another, in order;
    /// later receives and assertions see them first.
    pending: VecDeque<Received>,
    /// The `"ref"` of the next [`request`](Self::request).
    next_ref: u64,
    /// The field [`request`](Self::request) writes the action in.
    action_field: String,
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
            pending: VecDeque::new(),
            next_ref: 1,
            action_field: "action".to_owned(),
        })
    }

    /// Sets how long this client's waits last.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Makes [`request`](Self::request) write the action in `field`, for a
    /// socket whose action handlers say `field = "..."`; `"action"` until
    /// then.
    ///
    /// ```no_run
    /// # use nitric_runtime::testing::{TestApp, TestError};
    /// # async fn example(app: &TestApp) -> Result<(), TestError> {
    /// let mut ada = app.connect("public").await?;
    /// ada.set_action_field("type");
    /// // Sends {"type": "join", "ref": "1", "room": "lobby"}.
    /// let reply = ada.request("join", &serde_json::json!({"room": "lobby"})).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_action_field(&mut self, field: impl Into<String>) {
        self.action_field = field.into();
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
        if let Some(received) = self.pending.pop_front() {
            return Ok(received);
        }
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
        if let Some(received) = self.pending.front() {
            return Err(TestError::new(format!(
                "socket \"{}\": expected no message for {quiet:?}, got {received:?}",
                self.socket
            )));
        }
        match self.next_message(quiet).await? {
            None => Ok(()),
            Some(received) => Err(TestError::new(format!(
                "socket \"{}\": expected no message for {quiet:?}, got {received:?}",
                self.socket
            ))),
        }
    }

    /// Waits, at most the timeout, for a message equal to `expected` as
    /// JSON, as Phoenix's `assert_push`: messages before it stay queued
    /// for later receives and assertions. On failure, the error shows the
    /// expected JSON, every message that did arrive, and a line diff
    /// against the closest.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// let mut ada = app.connect("public").await?;
    /// ada.send_json(&json!({"action": "say", "text": "hi"})).await?;
    /// ada.assert_push(&json!({"said": "hi"})).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn assert_push<T: Serialize + ?Sized>(
        &mut self,
        expected: &T,
    ) -> Result<(), TestError> {
        let expected = assertions::to_json(expected)?;
        self.wait_for("assert_push", &expected, |message| *message == expected)
            .await
            .map(drop)
    }

    /// Fails if a message is queued or arrives within `within`, as
    /// Phoenix's `refute_push`; the error shows it.
    pub async fn refute_push(&mut self, within: Duration) -> Result<(), TestError> {
        self.expect_silence(within).await
    }

    /// Waits for the reply to the message sent with `"ref": reference` and
    /// asserts it is ok with `expected` as its response; an error reply,
    /// or none within the timeout, fails with what arrived.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use serde_json::json;
    ///
    /// let mut ada = app.connect("public").await?;
    /// ada.send_json(&json!({"action": "join", "ref": "7", "room": "lobby"})).await?;
    /// ada.assert_reply("7", &json!({"joined": "lobby"})).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn assert_reply<T: Serialize + ?Sized>(
        &mut self,
        reference: impl Serialize,
        expected: &T,
    ) -> Result<(), TestError> {
        let reference = assertions::to_json(&reference)?;
        let expected = assertions::to_json(expected)?;
        let wanted = serde_json::json!({ "ref": reference, "status": "ok", "response": expected });
        self.wait_for("assert_reply", &wanted, |message| *message == wanted)
            .await
            .map(drop)
    }

    /// Sends `payload` (a JSON object) as action `action` with a fresh
    /// `"ref"`, and waits for its [`Reply`]; messages arriving before it
    /// stay queued.
    ///
    /// ```no_run
    /// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
    /// use nitric_runtime::testing::Reply;
    /// use serde_json::json;
    ///
    /// let mut ada = app.connect("public").await?;
    /// let reply = ada.request("join", &json!({"room": "lobby"})).await?;
    /// assert_eq!(reply, Reply::Ok(json!({"joined": "lobby"})));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn request<T: Serialize + ?Sized>(
        &mut self,
        action: &str,
        payload: &T,
    ) -> Result<Reply, TestError> {
        let reference = self.next_ref.to_string();
        self.next_ref += 1;
        let mut message = match assertions::to_json(payload)? {
            Value::Object(fields) => fields,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(TestError::new(format!(
                    "request {action:?}: the payload must be a JSON object, to carry {:?} and \"ref\"; got {other}",
                    self.action_field
                )))
            }
        };
        message.insert(self.action_field.clone(), action.into());
        message.insert("ref".into(), reference.clone().into());
        self.send_json(&message).await?;
        let wanted =
            serde_json::json!({ "ref": reference, "status": "ok or error", "response": "..." });
        let reply = self
            .wait_for(&format!("request {action:?}"), &wanted, |message| {
                message.get("ref").and_then(Value::as_str) == Some(&reference)
                    && Reply::from_json(message).is_some()
            })
            .await?;
        Ok(Reply::from_json(&reply).expect("matched as a reply"))
    }

    /// The first queued or arriving JSON message `matches` accepts, within
    /// the timeout; the others stay queued. `expected` is for the error.
    async fn wait_for(
        &mut self,
        what: &str,
        expected: &Value,
        mut matches: impl FnMut(&Value) -> bool,
    ) -> Result<Value, TestError> {
        let accepted = |received: &Received, matches: &mut dyn FnMut(&Value) -> bool| {
            assertions::as_json(received).filter(|json| matches(json))
        };
        for index in 0..self.pending.len() {
            if let Some(json) = accepted(&self.pending[index], &mut matches) {
                self.pending.remove(index);
                return Ok(json);
            }
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(received) = self.next_message(wait).await? else {
                let what = format!(
                    "{what} on socket \"{}\": no matching message within {:?}",
                    self.socket, self.timeout
                );
                let received: Vec<Received> = self.pending.iter().cloned().collect();
                return Err(TestError::new(assertions::not_received(
                    &what, expected, &received,
                )));
            };
            match accepted(&received, &mut matches) {
                Some(json) => return Ok(json),
                None => self.pending.push_back(received),
            }
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

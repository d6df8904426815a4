//! What a websocket handler receives: one context type per event.

use super::Websocket;
use crate::error::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The query parameters of a connection's upgrade request.
///
/// ```
/// use nitric_runtime::websocket::QueryParams;
///
/// let params = QueryParams::from_iter([("room", vec!["lobby".to_owned()])]);
/// assert_eq!(params.get("room"), Some("lobby"));
/// assert_eq!(params.get("user"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParams(BTreeMap<String, Vec<String>>);

impl QueryParams {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.first().map(String::as_str)
    }

    /// Every value of `name`, in the order the URL gave them.
    pub fn get_all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    /// Reads the parameters into `T`, each name's first value parsed as the
    /// field's type; an error names the parameter that does not fit.
    pub(crate) fn read_as<T: DeserializeOwned>(&self) -> Result<T, String> {
        let first_values = self
            .0
            .iter()
            .filter_map(|(name, values)| Some((name.as_str(), values.first()?.as_str())));
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(first_values)
            .finish();
        let parameters =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(parameters).map_err(|error| {
            match error.path().to_string() {
                path if path == "." => error.into_inner().to_string(),
                path => format!("parameter `{path}`: {}", error.into_inner()),
            }
        })
    }

    /// Each name with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()))
    }
}

impl<K: Into<String>> FromIterator<(K, Vec<String>)> for QueryParams {
    fn from_iter<I: IntoIterator<Item = (K, Vec<String>)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(name, values)| (name.into(), values))
                .collect(),
        )
    }
}

/// A client asks to connect. Returning `Err` from the handler refuses it.
///
/// What the handler [`send`](Self::send)s to the new connection waits
/// until the handler has accepted it, then goes out in order.
///
/// ```
/// use nitric_runtime::websocket::{ConnectContext, Reject};
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::BoxError> {
///     let name = ctx.query().get("name").ok_or(Reject::new("connect with ?name=..."))?;
///     ctx.send(format!("welcome, {name}")).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct ConnectContext {
    pub(crate) socket: Websocket,
    pub(crate) connection_id: String,
    pub(crate) query: QueryParams,
}

impl ConnectContext {
    /// The socket's client.
    pub fn socket(&self) -> &Websocket {
        &self.socket
    }

    /// The socket's name.
    pub fn socket_name(&self) -> &str {
        self.socket.name()
    }

    /// The new connection's id.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The query parameters of the connection request.
    pub fn query(&self) -> &QueryParams {
        &self.query
    }

    /// The query parameters read into `T`, each parameter's first value
    /// parsed as the field's type (numbers and booleans included); a
    /// missing or malformed parameter is an [`Error::Value`] naming it, to
    /// refuse the connection with.
    ///
    /// ```
    /// use nitric_runtime::websocket::{ConnectContext, Reject};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Join {
    ///     room: String,
    ///     #[serde(default)]
    ///     seat: Option<u32>,
    /// }
    ///
    /// #[nitric_runtime::websocket("public", on = "connect")]
    /// async fn connect(ctx: ConnectContext) -> Result<(), Reject> {
    ///     let join: Join = ctx.query_as().map_err(|error| Reject::new(error.to_string()))?;
    ///     println!("{} joins {} at seat {:?}", ctx.connection_id(), join.room, join.seat);
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub fn query_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.query.read_as().map_err(|reason| Error::Value {
            operation: format!("read the query of connection \"{}\"", self.connection_id),
            reason,
        })
    }

    /// Sends `data` to the new connection, as a text frame when it is
    /// UTF-8, else binary, once the connect handler has accepted it.
    ///
    /// No membrane can send to a connection before its connect handler
    /// has answered (on AWS, API Gateway answers 410 Gone), so the message
    /// is queued and this returns `Ok(())` at once. After the handler
    /// accepts the connection, the runtime sends what it queued, in order,
    /// trying again for a few seconds while the membrane opens the
    /// connection (a warning names the connection and how many messages
    /// were lost if it never does). If the handler or its guard refuses
    /// the connection, fails, panics or times out, the queue is dropped.
    /// Called after the handler has ended (from a task it spawned with
    /// the context), it sends behind anything still queued; once the
    /// connection is refused or lost it answers [`Error::ConnectionGone`].
    ///
    /// Sends from elsewhere in this service to the new connection (a room's
    /// broadcast, `ctx.socket().send(ctx.connection_id(), ..)`) join the
    /// same queue while the connection is not open, so nothing sent to it
    /// in the meantime is lost and the queue keeps the order in which the
    /// sends were made.
    ///
    /// ```
    /// use nitric_runtime::websocket::ConnectContext;
    ///
    /// #[nitric_runtime::websocket("public", on = "connect")]
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     ctx.send("welcome").await?;
    ///     ctx.send("the room is quiet today").await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn send(&self, data: impl Into<Vec<u8>>) -> Result<(), Error> {
        // The socket's send holds it: this connection waits in its outbox
        // from before the handler runs until the membrane has opened it.
        self.socket.send(&self.connection_id, data).await
    }

    /// Sends `value` as JSON in a text frame once the connection is
    /// accepted; see [`send`](Self::send). A value that cannot be written
    /// as JSON fails at once, with nothing queued.
    ///
    /// ```
    /// use nitric_runtime::websocket::ConnectContext;
    ///
    /// #[nitric_runtime::websocket("public", on = "connect")]
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     ctx.send_json(&serde_json::json!({ "you": ctx.connection_id() })).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        let data = serde_json::to_vec(value).map_err(|error| Error::Value {
            operation: format!(
                "send to connection \"{}\" on socket \"{}\"",
                self.connection_id,
                self.socket.name()
            ),
            reason: format!("cannot write the message as JSON: {error}"),
        })?;
        self.send(data).await
    }
}

/// A connection closed.
///
/// ```
/// use nitric_runtime::websocket::DisconnectContext;
///
/// #[nitric_runtime::websocket("public", on = "disconnect")]
/// async fn disconnect(ctx: DisconnectContext) {
///     println!("{} left {}", ctx.connection_id(), ctx.socket_name());
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct DisconnectContext {
    pub(crate) socket: Websocket,
    pub(crate) connection_id: String,
}

impl DisconnectContext {
    /// The socket's client.
    pub fn socket(&self) -> &Websocket {
        &self.socket
    }

    /// The socket's name.
    pub fn socket_name(&self) -> &str {
        self.socket.name()
    }

    /// The id of the connection that closed.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }
}

/// A connection sent a message.
///
/// ```
/// use nitric_runtime::websocket::MessageContext;
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn echo(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     let reply = format!("you said: {}", ctx.text()?);
///     ctx.socket().send(ctx.connection_id(), reply).await
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct MessageContext {
    pub(crate) socket: Websocket,
    pub(crate) connection_id: String,
    pub(crate) body: Vec<u8>,
}

impl MessageContext {
    /// The socket's client.
    pub fn socket(&self) -> &Websocket {
        &self.socket
    }

    /// The socket's name.
    pub fn socket_name(&self) -> &str {
        self.socket.name()
    }

    /// The id of the connection that sent the message.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The message as bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The message as text; an error if it is not UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.body).map_err(|error| Error::Value {
            operation: format!(
                "read message from connection \"{}\" as text",
                self.connection_id
            ),
            reason: error.to_string(),
        })
    }

    /// The message parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|error| Error::Value {
            operation: format!(
                "read message from connection \"{}\" as JSON",
                self.connection_id
            ),
            reason: error.to_string(),
        })
    }

    /// The message's bytes, taken out of the context.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// A deliberate refusal of a connection, logged quietly (other errors from a
/// connect handler refuse it too, but are logged as failures).
///
/// ```
/// use nitric_runtime::websocket::Reject;
///
/// let reject = Reject::new("rooms are full");
/// assert_eq!(reject.to_string(), "connection refused: rooms are full");
/// ```
#[derive(Debug, Clone)]
pub struct Reject {
    reason: String,
}

impl Reject {
    /// A refusal with a reason for the logs.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// Why the connection was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection refused: {}", self.reason)
    }
}

impl std::error::Error for Reject {}

//! The websocket client: send to a connection, close it, find the URL.

use super::Broadcast;
use crate::error::Error;
use crate::handle::{Held, ServiceHandle};
use nitric_protocol::websockets::v1::{
    websocket_client::WebsocketClient, WebsocketCloseConnectionRequest, WebsocketDetailsRequest,
    WebsocketSendRequest, WebsocketSendResponse,
};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The gRPC path of `Websocket.SendMessage`.
const SEND_MESSAGE: &str = "/nitric.proto.websockets.v1.Websocket/SendMessage";

/// A client for one socket.
///
/// Handlers get one from their context (`ctx.socket()`), bound to the
/// service that ran the handler. Elsewhere, name the socket: calls then go
/// to the service running the calling task (see [`ServiceHandle`]). Sending
/// needs the socket to be declared by this service, which every
/// `#[websocket("name", ...)]` handler does.
///
/// ```no_run
/// use nitric_runtime::websocket::Websocket;
///
/// # async fn example() -> Result<(), nitric_runtime::Error> {
/// let public = Websocket::new("public");
/// public.send("2f1c...", "hello").await?;
/// public.close("2f1c...").await?;
/// println!("clients connect to {}", public.url().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Websocket {
    name: Arc<str>,
    /// The service a context's client belongs to; `None` finds the calling
    /// task's service at each call.
    service: Option<ServiceHandle>,
}

impl Websocket {
    /// The client of the socket called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            service: None,
        }
    }

    /// The client of `name` in `service`, for the contexts handlers get.
    pub(crate) fn in_service(name: &str, service: ServiceHandle) -> Self {
        Self {
            name: name.into(),
            service: Some(service),
        }
    }

    pub(crate) fn service(
        &self,
        operation: impl FnOnce() -> String,
    ) -> Result<ServiceHandle, Error> {
        match &self.service {
            Some(service) => Ok(service.clone()),
            None => ServiceHandle::current_for(operation),
        }
    }

    /// The socket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `data` to a connection: as a text frame when it is UTF-8, else
    /// binary. A connection that is gone answers [`Error::ConnectionGone`]
    /// (on every membrane, see [`Error::is_gone`]). A connection whose
    /// connect handler this service is running, or ran moments ago while
    /// the membrane has not opened it yet, gets the message once it opens
    /// (in order with what its connect handler sent; dropped if the handler
    /// refuses it), and this returns `Ok(())` at once. One being accepted
    /// by another instance of the service answers [`Error::ConnectionGone`]
    /// until it opens: the membrane cannot tell it from a gone one (see
    /// docs/users-and-presence.md on several instances). To send to many
    /// connections, [`broadcast`](Self::broadcast).
    pub async fn send(&self, connection_id: &str, data: impl Into<Vec<u8>>) -> Result<(), Error> {
        let service = self.service(|| send_operation(&self.name, connection_id))?;
        self.send_in(&service, connection_id, data.into()).await
    }

    /// Sends `value` as JSON in a text frame; see [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn example(socket: nitric_runtime::websocket::Websocket) -> Result<(), nitric_runtime::Error> {
    /// socket.send_json("2f1c...", &serde_json::json!({ "joined": "lobby" })).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_json<T: Serialize + ?Sized>(
        &self,
        connection_id: &str,
        value: &T,
    ) -> Result<(), Error> {
        let data = to_json(value, || send_operation(&self.name, connection_id))?;
        self.send(connection_id, data).await
    }

    /// [`broadcast`](Self::broadcast)s `value` as JSON; a value that cannot
    /// be serialized fails the broadcast before anything is sent.
    pub fn broadcast_json<I, T>(&self, connection_ids: I, value: &T) -> Broadcast<'_>
    where
        I: IntoIterator,
        I::Item: Into<String>,
        T: Serialize + ?Sized,
    {
        let connection_ids = connection_ids.into_iter().map(Into::into).collect();
        let data = to_json(value, || format!("broadcast on socket \"{}\"", self.name));
        Broadcast::new_prepared(self, connection_ids, data)
    }

    /// Sends `data` to every connection in `connection_ids`, many at once;
    /// `.await` the [`Broadcast`] for a
    /// [`BroadcastReport`](super::BroadcastReport) of what was sent,
    /// which connections are gone and which sends failed. A failed send
    /// never stops the others.
    ///
    /// ```no_run
    /// # async fn example(socket: nitric_runtime::websocket::Websocket, ids: Vec<String>) -> Result<(), nitric_runtime::Error> {
    /// let report = socket.broadcast(ids, "the room closes in 5 minutes").await?;
    /// for (connection_id, error) in &report.failed {
    ///     eprintln!("{connection_id}: {error}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn broadcast<I>(&self, connection_ids: I, data: impl Into<Vec<u8>>) -> Broadcast<'_>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let connection_ids = connection_ids.into_iter().map(Into::into).collect();
        Broadcast::new(self, connection_ids, data.into())
    }

    /// [`send`](Self::send) through a service already found.
    pub(super) async fn send_in(
        &self,
        service: &ServiceHandle,
        connection_id: &str,
        data: Vec<u8>,
    ) -> Result<(), Error> {
        let gone = || {
            Error::from_connection_status(
                send_operation(&self.name, connection_id),
                tonic::Status::not_found(
                    "the connection was refused or has gone while it was opening",
                ),
            )
        };
        // Its connect handler runs here, or what was sent to it meanwhile
        // is still on its way: the message waits behind that, so the
        // connection gets everything in the order it was sent.
        let data = match service.waiting(&self.name, connection_id) {
            None => data,
            Some(opening) => match opening.hold(service, &self.name, connection_id, data) {
                Held::Queued => return Ok(()),
                Held::SendNow(data) => data,
                Held::Closed => return Err(gone()),
            },
        };
        let (error, data) = match self.send_to_membrane(service, connection_id, data).await {
            Ok(()) => return Ok(()),
            Err((error, data)) if error.is_gone() => (error, data),
            Err((error, _)) => return Err(error),
        };
        // Unknown to the membrane just after this service accepted it: not
        // opened yet, so the message waits for it (and its data stays).
        let Some(opening) = service.just_connected(&self.name, connection_id) else {
            return Err(error);
        };
        match opening.hold(service, &self.name, connection_id, data) {
            Held::Queued => Ok(()),
            // Opened in the meantime: this try's answer is final.
            Held::SendNow(data) => self
                .send_to_membrane(service, connection_id, data)
                .await
                .map_err(|(error, _)| error),
            Held::Closed => Err(error),
        }
    }

    /// Sends `data` to the membrane for `connection_id`, whatever this
    /// service knows of the connection; on failure, the error and the data
    /// back. What holds messages for a connection not open yet sends
    /// through this, so a failed try is not held again.
    pub(super) async fn send_to_membrane(
        &self,
        service: &ServiceHandle,
        connection_id: &str,
        data: Vec<u8>,
    ) -> Result<(), (Error, Vec<u8>)> {
        let request = WebsocketSendRequest {
            socket_name: self.name.to_string(),
            connection_id: connection_id.to_owned(),
            data,
        };
        // Once per event in most apps: straight onto the connection.
        let sent = service
            .channel()
            .unary::<WebsocketSendResponse>(SEND_MESSAGE, &request)
            .await;
        sent.map(drop).map_err(|status| {
            let operation = send_operation(&self.name, connection_id);
            (
                Error::from_connection_status(operation, status),
                request.data,
            )
        })
    }

    /// Closes a connection; its disconnect handler runs afterwards. A
    /// connection that is already gone answers [`Error::ConnectionGone`].
    pub async fn close(&self, connection_id: &str) -> Result<(), Error> {
        let operation = || {
            format!(
                "close connection \"{connection_id}\" on socket \"{}\"",
                self.name
            )
        };
        let channel = self.service(operation)?.channel();
        let request = WebsocketCloseConnectionRequest {
            socket_name: self.name.to_string(),
            connection_id: connection_id.to_owned(),
        };
        WebsocketClient::new(channel)
            .close_connection(request)
            .await
            .map_err(|status| Error::from_connection_status(operation(), status))?;
        Ok(())
    }

    /// The URL clients connect to.
    pub async fn url(&self) -> Result<String, Error> {
        let operation = || format!("look up the URL of socket \"{}\"", self.name);
        let channel = self.service(operation)?.channel();
        let request = WebsocketDetailsRequest {
            socket_name: self.name.to_string(),
        };
        let response = WebsocketClient::new(channel)
            .socket_details(request)
            .await
            .map_err(|status| Error::from_status(operation(), status))?;
        Ok(response.into_inner().url)
    }
}

fn to_json<T: Serialize + ?Sized>(
    value: &T,
    operation: impl FnOnce() -> String,
) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|error| Error::Value {
        operation: operation(),
        reason: format!("cannot write the message as JSON: {error}"),
    })
}

fn send_operation(socket: &str, connection_id: &str) -> String {
    format!("send to connection \"{connection_id}\" on socket \"{socket}\"")
}

impl PartialEq for Websocket {
    /// Two clients are equal when they name the same socket.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Websocket {}

impl fmt::Debug for Websocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Websocket")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

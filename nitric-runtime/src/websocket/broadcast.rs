//! Sending one message to many connections at once.

use super::Websocket;
use crate::declaration::KvPermission;
use crate::error::Error;
use crate::kv::KvStore;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::IntoFuture;

/// How many sends a broadcast keeps in flight unless told otherwise.
pub const DEFAULT_BROADCAST_CONCURRENCY: usize = 32;

/// A message on its way to many connections; `.await` it to send.
///
/// Made by [`Websocket::broadcast`]. Sends run concurrently, at most
/// [`concurrency`](Self::concurrency) at a time, so one slow send does not
/// hold up the rest, and the membrane's connection is not flooded.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use nitric_runtime::kv::KvStore;
/// use nitric_runtime::websocket::MessageContext;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Member {}
///
/// #[nitric_runtime::kv_store("members", allow = [get, set, delete])]
/// static MEMBERS: KvStore<Member>;
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn chat(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     let members: Vec<String> = MEMBERS.keys("").try_collect().await?;
///     let report = ctx
///         .socket()
///         .broadcast(members, ctx.body())
///         .concurrency(64)
///         .remove_gone_from(&MEMBERS)
///         .await?;
///     println!("{} sent, {} gone", report.sent, report.gone.len());
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[must_use = "a broadcast sends nothing until it is awaited"]
pub struct Broadcast<'a> {
    socket: &'a Websocket,
    connection_ids: Vec<String>,
    /// The message, or why it could not be made.
    data: Result<Vec<u8>, Error>,
    concurrency: usize,
    forget_gone: Option<&'a (dyn ForgetConnection + Sync)>,
}

impl<'a> Broadcast<'a> {
    pub(super) fn new(socket: &'a Websocket, connection_ids: Vec<String>, data: Vec<u8>) -> Self {
        Self::new_prepared(socket, connection_ids, Ok(data))
    }

    pub(super) fn new_prepared(
        socket: &'a Websocket,
        connection_ids: Vec<String>,
        data: Result<Vec<u8>, Error>,
    ) -> Self {
        Self {
            socket,
            connection_ids,
            data,
            concurrency: DEFAULT_BROADCAST_CONCURRENCY,
            forget_gone: None,
        }
    }

    /// Keeps at most `sends` sends in flight (at least 1; default
    /// [`DEFAULT_BROADCAST_CONCURRENCY`]).
    pub fn concurrency(mut self, sends: usize) -> Self {
        self.concurrency = sends.max(1);
        self
    }

    /// Deletes each gone connection's key from `store`, where the
    /// application keeps its connections by id. The store must allow
    /// `delete`.
    pub fn remove_gone_from<T>(mut self, store: &'a KvStore<T>) -> Self
    where
        T: Serialize + DeserializeOwned + Sync,
    {
        self.forget_gone = Some(store);
        self
    }

    /// Forgets each gone connection through `forget`, as
    /// [`remove_gone_from`](Self::remove_gone_from) does with a store.
    pub(crate) fn forget_gone_with(mut self, forget: &'a (dyn ForgetConnection + Sync)) -> Self {
        self.forget_gone = Some(forget);
        self
    }

    async fn send(self) -> Result<BroadcastReport, Error> {
        let socket = self.socket;
        let operation = || format!("broadcast on socket \"{}\"", socket.name());
        let service = socket.service(operation)?;
        if let Some(store) = self.forget_gone {
            store.check_allowed()?;
        }
        let data = &self.data?;
        let forget_gone = self.forget_gone;
        let service = &service;
        let outcomes = stream::iter(self.connection_ids)
            .map(|connection_id| async move {
                let sent = socket.send_in(service, &connection_id, data.clone()).await;
                let removed = match (&sent, forget_gone) {
                    (Err(error), Some(store)) if error.is_gone() => {
                        Some(service.scope(store.forget(&connection_id)).await)
                    }
                    _ => None,
                };
                (connection_id, sent, removed)
            })
            .buffer_unordered(self.concurrency);
        let mut report = BroadcastReport::default();
        let mut outcomes = std::pin::pin!(outcomes);
        while let Some((connection_id, sent, removed)) = outcomes.next().await {
            match sent {
                Ok(()) => report.sent += 1,
                Err(Error::ConnectionNotReady { .. }) => report.not_ready.push(connection_id),
                Err(error) if error.is_gone() => match removed {
                    Some(Ok(Forgot::Kept)) => report.not_ready.push(connection_id),
                    Some(Err(error)) => {
                        report.failed.push((connection_id.clone(), error));
                        report.gone.push(connection_id);
                    }
                    Some(Ok(Forgot::Forgotten)) | None => report.gone.push(connection_id),
                },
                Err(error) => report.failed.push((connection_id, error)),
            }
        }
        Ok(report)
    }
}

impl<'a> IntoFuture for Broadcast<'a> {
    type Output = Result<BroadcastReport, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for Broadcast<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("socket", &self.socket.name())
            .field("connections", &self.connection_ids.len())
            .field("bytes", &self.data.as_ref().map(Vec::len).ok())
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// How a broadcast went, connection by connection.
///
/// ```
/// use nitric_runtime::websocket::BroadcastReport;
///
/// let report = BroadcastReport::default();
/// assert!(report.is_complete());
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// How many connections the message was sent to.
    pub sent: usize,
    /// The connections that are gone; removed from the store when the
    /// broadcast was told to.
    pub gone: Vec<String>,
    /// Connections the membrane does not know that joined moments ago
    /// (within 10 s, by the record a room, presence or user binding keeps):
    /// most likely still being accepted by another instance of the
    /// service, whose opening the membrane reports as it does a gone
    /// connection. They were skipped, and kept. (Those whose connect this
    /// service runs get the message once they open, and count as sent.)
    pub not_ready: Vec<String>,
    /// Connections the send failed for otherwise, and gone connections the
    /// store could not forget, each with its error.
    pub failed: Vec<(String, Error)>,
}

impl BroadcastReport {
    /// Whether nothing failed: every connection got the message, is gone,
    /// or was not ready yet.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Where a broadcast forgets connections that are gone.
pub(crate) trait ForgetConnection {
    fn check_allowed(&self) -> Result<(), Error>;
    fn forget<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<Forgot, Error>>;
}

/// What a broadcast did with a connection the membrane does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forgot {
    /// Its data is gone with it.
    Forgotten,
    /// It joined moments ago, so it is most likely still being accepted
    /// (by another instance, whose opening the membrane reports as it does
    /// a gone connection): kept, and reported not ready.
    Kept,
}

impl<T: Serialize + DeserializeOwned + Sync> ForgetConnection for KvStore<T> {
    fn check_allowed(&self) -> Result<(), Error> {
        self.require(KvPermission::Delete)
    }

    fn forget<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<Forgot, Error>> {
        Box::pin(async move {
            self.delete(connection_id).await?;
            Ok(Forgot::Forgotten)
        })
    }
}

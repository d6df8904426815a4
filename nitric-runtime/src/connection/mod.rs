//! What an app keeps per websocket connection, in a declared key/value
//! store so every instance of the service sees it: the [`Rooms`] a
//! connection is in, and a typed [`ConnectionState`] set when it connects;
//! the [`Users`] connections belong to, with [`Tickets`] and the [`Ticket`]
//! guard to let them in; [`Presence`] in rooms, announced to them; and a
//! room's [`History`], to resume after a reconnect (see
//! docs/users-and-presence.md).
//!
//! Both are `#[kv_store]` statics; the runtime deletes a connection's data
//! from them (a cleanup) when it disconnects, after the socket's disconnect
//! handler (which can still read it) however that handler ended; when its
//! connect handler or guard refused it, before answering, as no disconnect
//! follows; and when a send to one of its rooms finds it gone. A cleanup
//! may take the handler's `timeout`, or 10 seconds without one; one that
//! fails or runs out of time is logged at warn.
//!
//! With such a static, the runtime gives each socket that has no
//! disconnect handler one that only cleans up, so a forgotten disconnect
//! handler is not reported then.
//!
//! A message handler still running when its connection's disconnect
//! cleanup has run can write again: the state and memberships it writes
//! then stay until a send to a room finds the connection gone.
//!
//! ```
//! use nitric_runtime::connection::{ConnectionState, Rooms};
//! use nitric_runtime::websocket::{ConnectContext, MessageContext};
//! use nitric_runtime::{kv_store, websocket, Error};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Member {
//!     name: String,
//!     room: String,
//! }
//!
//! #[kv_store("rooms", allow = [get, set, delete])]
//! static ROOMS: Rooms;
//!
//! #[kv_store("members", allow = [get, set, delete])]
//! static MEMBER: ConnectionState<Member>;
//!
//! #[websocket("public", on = "connect")]
//! async fn connect(ctx: ConnectContext) -> Result<(), Error> {
//!     let room = ctx.query().get("room").unwrap_or("lobby").to_owned();
//!     let name = ctx.query().get("name").unwrap_or("someone").to_owned();
//!     ROOMS.join(&ctx, &room).await?;
//!     MEMBER.set(&ctx, &Member { name, room }).await
//! }
//!
//! #[websocket("public", on = "message")]
//! async fn message(ctx: MessageContext) -> Result<(), Error> {
//!     let Some(member) = MEMBER.get(&ctx).await? else { return Ok(()) };
//!     let line = format!("{}: {}", member.name, ctx.text()?);
//!     ROOMS.broadcast(ctx.socket(), &member.room, line).await?;
//!     Ok(())
//! }
//! // No disconnect handler: the runtime removes the connection's
//! // memberships and state itself.
//! # fn main() {}
//! ```

mod claim;
mod history;
mod keys;
mod presence;
mod rooms;
mod state;
mod tickets;
mod users;

pub use history::{History, Recorded};
pub use presence::Presence;
pub use rooms::{RoomBroadcast, Rooms};
pub use state::ConnectionState;
pub use tickets::{Ticket, TicketDesk, Tickets};
pub use users::Users;

use crate::declaration::{Departed, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::KvStore;
use crate::websocket::broadcast::{ForgetConnection, Forgot};
use crate::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use futures_util::future::BoxFuture;
use std::time::Duration;

/// One connection of one socket: what rooms and connection state are kept
/// for.
///
/// Every handler's context is one, and so is `(&Websocket, &str)`, a socket
/// and a connection id, to reach another connection's data. It is `Sync`,
/// so a future holding a `&C` stays `Send`, as handlers' futures must be.
///
/// ```
/// use nitric_runtime::connection::{Connection, ConnectionState};
/// use nitric_runtime::websocket::{MessageContext, Websocket};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Member {
///     name: String,
/// }
///
/// #[nitric_runtime::kv_store("members", allow = [get, set, delete])]
/// static MEMBER: ConnectionState<Member>;
///
/// async fn name_of(socket: &Websocket, id: &str) -> Result<Option<String>, nitric_runtime::Error> {
///     Ok(MEMBER.get(&(socket, id)).await?.map(|member| member.name))
/// }
///
/// fn describe(connection: &impl Connection) -> String {
///     format!("{} on {}", connection.connection_id(), connection.socket_name())
/// }
/// # fn main() {}
/// ```
pub trait Connection: Sync {
    /// The socket's name.
    ///
    /// ```
    /// use nitric_runtime::connection::Connection;
    /// use nitric_runtime::websocket::Websocket;
    ///
    /// let socket = Websocket::new("public");
    /// assert_eq!((&socket, "c1").socket_name(), "public");
    /// ```
    fn socket_name(&self) -> &str;

    /// The connection's id.
    ///
    /// ```
    /// use nitric_runtime::connection::Connection;
    /// use nitric_runtime::websocket::Websocket;
    ///
    /// let socket = Websocket::new("public");
    /// assert_eq!((&socket, "c1").connection_id(), "c1");
    /// ```
    fn connection_id(&self) -> &str;

    /// Sends `data` to this connection, for the clients here that send to
    /// the connection they are given ([`History::replay`]): through a
    /// [`ConnectContext`] it waits for the connect handler to accept the
    /// connection (see [`ConnectContext::send`]); otherwise it is
    /// [`Websocket::send`]. Hidden: applications call those two.
    #[doc(hidden)]
    fn send_to_connection(&self, data: Vec<u8>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            Websocket::new(self.socket_name())
                .send(self.connection_id(), data)
                .await
        })
    }
}

impl Connection for ConnectContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
    fn send_to_connection(&self, data: Vec<u8>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.send(data))
    }
}

impl Connection for MessageContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
    fn send_to_connection(&self, data: Vec<u8>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.socket.send(&self.connection_id, data))
    }
}

impl Connection for DisconnectContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
    fn send_to_connection(&self, data: Vec<u8>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.socket.send(&self.connection_id, data))
    }
}

impl Connection for (&Websocket, &str) {
    fn socket_name(&self) -> &str {
        self.0.name()
    }
    fn connection_id(&self) -> &str {
        self.1
    }
    fn send_to_connection(&self, data: Vec<u8>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.0.send(self.1, data))
    }
}

impl Connection for Departed<'_> {
    fn socket_name(&self) -> &str {
        self.socket
    }
    fn connection_id(&self) -> &str {
        self.connection_id
    }
}

/// How long a connection's cleanup may take when its handler has no
/// `timeout`.
pub(crate) const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Deletes what each of `cleanups` keeps for `connection`: after a
/// disconnect, a refused connect, or a send that found it gone. A failure
/// is logged with the store, the static and the connection, and the other
/// cleanups still run; the first is returned. Past `limit` (default
/// [`CLEANUP_TIMEOUT`]) the cleanup is abandoned and logged with every
/// store it had to clean.
pub(crate) async fn clean_up(
    cleanups: &[&'static KvStoreDeclaration],
    connection: Departed<'_>,
    limit: Option<Duration>,
) -> Result<(), Error> {
    let limit = limit.unwrap_or(CLEANUP_TIMEOUT);
    let Departed {
        socket,
        connection_id,
    } = connection;
    let all = async {
        let mut first_error = None;
        for &declaration in cleanups {
            let Some(cleanup) = declaration.cleanup else {
                continue;
            };
            if let Err(error) = cleanup(declaration, connection).await {
                tracing::warn!(
                    store = declaration.name,
                    declared_by = %declaration.source,
                    socket,
                    connection_id,
                    %error,
                    "could not delete the data of a connection that is gone"
                );
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    };
    match tokio::time::timeout(limit, all).await {
        Ok(cleaned) => cleaned,
        Err(_) => {
            let stores: Vec<&str> = cleanups.iter().map(|store| store.name).collect();
            tracing::warn!(
                ?stores,
                socket,
                connection_id,
                timeout = ?limit,
                "the cleanup of a connection that is gone timed out and was abandoned; some of its data may stay"
            );
            Err(Error::Membrane {
                operation: format!(
                    "delete the data of connection \"{connection_id}\" of socket \"{socket}\""
                ),
                status: tonic::Status::deadline_exceeded(format!("timed out after {limit:?}")),
            })
        }
    }
}

/// How users and presence forget a connection a send found gone: the keys
/// that listed it go first (they may lack the key a cleanup follows), then
/// it is cleaned up as after a disconnect.
pub(super) struct ForgetGone<'a> {
    pub(super) store: &'a KvStore<serde_json::Value>,
    pub(super) socket: &'a Websocket,
    /// The keys of `store` that listed a connection.
    pub(super) listed_as: &'a (dyn Fn(&str) -> Vec<String> + Sync),
}

impl ForgetConnection for ForgetGone<'_> {
    fn check_allowed(&self) -> Result<(), Error> {
        self.store.require(crate::declaration::KvPermission::Delete)
    }

    fn forget<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<Forgot, Error>> {
        Box::pin(async move {
            let listed_as = (self.listed_as)(connection_id);
            if let Some(first) = listed_as.first() {
                let record = self.store.get(first).await?;
                if record.as_ref().is_some_and(record_joined_moments_ago) {
                    return Ok(Forgot::Kept);
                }
            }
            let mut first_error = None;
            for key in listed_as {
                if let Err(error) = self.store.delete(&key).await {
                    first_error.get_or_insert(error);
                }
            }
            let gone = Departed {
                socket: self.socket.name(),
                connection_id,
            };
            let operation = || format!("clean up connection \"{connection_id}\", found gone");
            let cleaned = match self.socket.service(operation) {
                Ok(service) => clean_up(service.cleanups(), gone, None).await,
                Err(error) => Err(error),
            };
            first_error.map_or(cleaned, Err).map(|()| Forgot::Forgotten)
        })
    }
}

/// The field of a connection's record (a room membership, a presence, a
/// user binding) holding when it was written, in milliseconds since the
/// epoch: a connection the membrane does not know whose record is this
/// recent is taken for one still being accepted, not a gone one. The
/// records' structs name their field so.
const JOINED_AT: &str = "joined_at_ms";

/// Whether a connection whose record was written at `joined_at_ms` joined
/// so recently that the membrane may not have opened it yet (another
/// instance of the service may still be accepting it: on AWS, API Gateway
/// answers a send to it 410, as to a gone one). Records written before
/// this field existed have none, and count as old.
pub(super) fn joined_moments_ago(joined_at_ms: Option<u64>) -> bool {
    let window = u64::try_from(crate::handle::JUST_CONNECTED.as_millis()).unwrap_or(u64::MAX);
    joined_at_ms.is_some_and(|joined| now_millis().saturating_sub(joined) < window)
}

/// [`joined_moments_ago`] of a record read as JSON.
pub(super) fn record_joined_moments_ago(record: &serde_json::Value) -> bool {
    joined_moments_ago(record.get(JOINED_AT).and_then(serde_json::Value::as_u64))
}

/// Milliseconds since the Unix epoch on this instance's clock: what
/// tickets expire by, history entries are dated with and connection
/// records note when they were written.
pub(super) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

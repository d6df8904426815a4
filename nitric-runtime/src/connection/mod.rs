//! What an app keeps per websocket connection, in a declared key/value
//! store so every instance of the service sees it: the [`Rooms`] a
//! connection is in, and a typed [`ConnectionState`] set when it connects.
//!
//! Both are `#[kv_store]` statics; the runtime deletes a connection's data
//! from them when it disconnects, after the socket's disconnect handler
//! (which can still read it). A socket whose app has no disconnect handler
//! gets one from the runtime that only does that.
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

mod keys;
mod rooms;
mod state;

pub use rooms::{RoomBroadcast, Rooms};
pub use state::ConnectionState;

use crate::registry::KvStoreDeclaration;
use crate::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};

/// One connection of one socket: what rooms and connection state are kept
/// for.
///
/// Every handler's context is one, and so is `(&Websocket, &str)`, a socket
/// and a connection id, to reach another connection's data.
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
pub trait Connection {
    /// The socket's name.
    fn socket_name(&self) -> &str;
    /// The connection's id.
    fn connection_id(&self) -> &str;
}

impl Connection for ConnectContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
}

impl Connection for MessageContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
}

impl Connection for DisconnectContext {
    fn socket_name(&self) -> &str {
        self.socket.name()
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
}

impl Connection for (&Websocket, &str) {
    fn socket_name(&self) -> &str {
        self.0.name()
    }
    fn connection_id(&self) -> &str {
        self.1
    }
}

/// A connection that has gone, as a cleanup gets it.
struct Departed {
    socket: String,
    connection_id: String,
}

impl Connection for Departed {
    fn socket_name(&self) -> &str {
        &self.socket
    }
    fn connection_id(&self) -> &str {
        &self.connection_id
    }
}

/// Deletes what each of `cleanups` keeps for a connection that
/// disconnected; a failure is logged with the store, the static and the
/// connection, and the other cleanups still run.
pub(crate) async fn clean_up(
    cleanups: &[&'static KvStoreDeclaration],
    socket: &str,
    connection_id: &str,
) {
    for &declaration in cleanups {
        let Some(cleanup) = declaration.cleanup else {
            continue;
        };
        let cleaned = cleanup(declaration, socket.to_owned(), connection_id.to_owned()).await;
        if let Err(error) = cleaned {
            tracing::warn!(
                store = declaration.name,
                declared_by = %declaration.source,
                socket,
                connection_id,
                %error,
                "could not delete the data of a connection that disconnected"
            );
        }
    }
}

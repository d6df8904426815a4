//! Rooms: named groups of a socket's connections, to send to at once.

use super::keys::{self, Listed};
use super::Connection;
use crate::declaration::{Departed, KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use crate::websocket::broadcast::{ForgetConnection, Forgot};
use crate::websocket::{BroadcastReport, Websocket, DEFAULT_BROADCAST_CONCURRENCY};
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::IntoFuture;

/// Rooms of a socket's connections, kept in a declared key/value store so
/// every instance of the service shares them.
///
/// Declare one with `#[kv_store("name", allow = [get, set, delete])]`; all
/// three permissions are needed, and a missing one fails the build. A
/// connection that disconnects leaves all its rooms: the runtime does it
/// after the socket's disconnect handler. Rooms belong to a socket:
/// connections of two sockets never share one.
///
/// Each membership is two keys of its own (see the module
/// `connection::keys` in the source), written by `join` and deleted by
/// `leave`, so instances joining and leaving at once never overwrite each
/// other. A room name is at most 256 bytes (keys are limited in size on
/// every backend); a longer one fails with [`Error::Value`].
///
/// Listing a room's members or a connection's rooms lists the store's keys
/// under a prefix. On AWS (DynamoDB) and GCP (Firestore) that is a scan of
/// the whole store, so it costs time in proportion to everything the store
/// holds, and on AWS it is eventually consistent: a member who joined a
/// moment ago may be missed by a send to the room. Give rooms a store of
/// their own.
///
/// What is not guaranteed: one connection joining and leaving the same
/// room at the same moment (two handlers of it running at once) can leave
/// its member key without the key the cleanup follows; the next send to the
/// room removes such a member once the connection is gone. And a message
/// handler still running when its connection's disconnect cleanup has run
/// can join again; that membership stays until a send to the room finds the
/// connection gone.
///
/// ```
/// use nitric_runtime::connection::Rooms;
/// use nitric_runtime::websocket::{ConnectContext, MessageContext};
/// use nitric_runtime::Error;
///
/// #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
/// static ROOMS: Rooms;
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), Error> {
///     ROOMS.join(&ctx, ctx.query().get("room").unwrap_or("lobby")).await
/// }
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), Error> {
///     for room in ROOMS.rooms_of(&ctx).await? {
///         ROOMS.broadcast(ctx.socket(), &room, ctx.body()).await?;
///     }
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct Rooms {
    store: KvStore<Membership>,
}

/// What each membership key holds: the membership in plain words, for
/// whoever looks at the store.
#[derive(Serialize, Deserialize)]
struct Membership {
    socket: String,
    room: String,
    connection_id: String,
    /// When it joined (see `joined_moments_ago`); absent in memberships
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    joined_at_ms: Option<u64>,
}

impl KvClient for Rooms {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `Rooms` static needs allow = [get, set, delete]: it lists, writes and deletes memberships",
        cleanup: Some(leave_all_rooms),
        owns_state: None,
    };
}

/// The cleanup after a disconnect: the connection leaves every room.
fn leave_all_rooms<'a>(
    declaration: &'static KvStoreDeclaration,
    connection: Departed<'a>,
) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move { Rooms::declared(declaration).leave_all(&connection).await })
}

/// `Ok` for a room name that fits in a key, else the [`Error::Value`] for
/// `operation`.
fn check_room(room: &str, operation: impl FnOnce() -> String) -> Result<(), Error> {
    keys::check_room(room).map_err(|reason| Error::Value {
        operation: operation(),
        reason,
    })
}

impl Rooms {
    /// The client for a declared store; `#[kv_store]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static KvStoreDeclaration) -> Self {
        Self {
            store: KvStore::declared(declaration),
        }
    }

    /// The store's name.
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// # fn main() {
    /// assert_eq!(ROOMS.name(), "rooms");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }

    /// Puts `connection` in `room`; joining a room twice is not an error. A
    /// room name longer than 256 bytes fails with [`Error::Value`].
    ///
    /// ```
    /// # use nitric_runtime::websocket::ConnectContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     ROOMS.join(&ctx, "lobby").await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn join<C: Connection + ?Sized>(
        &self,
        connection: &C,
        room: &str,
    ) -> Result<(), Error> {
        let (socket, id) = (connection.socket_name(), connection.connection_id());
        check_room(room, || {
            format!("join room {room:?} on socket \"{socket}\" with connection \"{id}\"")
        })?;
        let membership = Membership {
            socket: socket.to_owned(),
            room: room.to_owned(),
            connection_id: id.to_owned(),
            joined_at_ms: Some(super::now_millis()),
        };
        // The connection's side first: it is what a disconnect's cleanup
        // follows, so a member listed after a join has returned is one the
        // cleanup can find (a concurrent `leave` can still undo only this
        // side; see the type's docs).
        self.store
            .set(&keys::joined(socket, id, room), &membership)
            .await?;
        self.store
            .set(&keys::member(socket, room, id), &membership)
            .await
    }

    /// Takes `connection` out of `room`; leaving a room it is not in is not
    /// an error.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if let Some(room) = ctx.text()?.strip_prefix("/leave ") {
    ///         ROOMS.leave(&ctx, room).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn leave<C: Connection + ?Sized>(
        &self,
        connection: &C,
        room: &str,
    ) -> Result<(), Error> {
        let (socket, id) = (connection.socket_name(), connection.connection_id());
        check_room(room, || {
            format!("leave room {room:?} on socket \"{socket}\" with connection \"{id}\"")
        })?;
        // The room's side first, the reverse of `join`.
        self.store.delete(&keys::member(socket, room, id)).await?;
        self.store.delete(&keys::joined(socket, id, room)).await
    }

    /// Takes `connection` out of every room it is in, as the runtime does
    /// when it disconnects. Every room is tried; each that fails is logged
    /// with its name, and the first error is returned.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if ctx.body() == b"/quit" {
    ///         ROOMS.leave_all(&ctx).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn leave_all<C: Connection + ?Sized>(&self, connection: &C) -> Result<(), Error> {
        let mut first_error = None;
        for room in self.rooms_of(connection).await? {
            if let Err(error) = self.leave(connection, &room).await {
                tracing::warn!(
                    store = self.name(),
                    socket = connection.socket_name(),
                    connection_id = connection.connection_id(),
                    room,
                    %error,
                    "could not take a connection out of a room"
                );
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The rooms `connection` is in, in no particular order.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let rooms = ROOMS.rooms_of(&ctx).await?;
    ///     ctx.socket().send_json(ctx.connection_id(), &rooms).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn rooms_of<C: Connection + ?Sized>(
        &self,
        connection: &C,
    ) -> Result<Vec<String>, Error> {
        let prefix = keys::joined_prefix(connection.socket_name(), connection.connection_id());
        self.last_parts(&prefix).await
    }

    /// The connection ids in `room` of `socket`, in no particular order. On
    /// AWS, a member who joined a moment ago may be missing (see the type's
    /// docs).
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let members = ROOMS.members(ctx.socket(), "lobby").await?;
    ///     let text = format!("{} in the lobby", members.len());
    ///     ctx.socket().send(ctx.connection_id(), text).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn members(&self, socket: &Websocket, room: &str) -> Result<Vec<String>, Error> {
        check_room(room, || {
            format!(
                "list the members of room {room:?} on socket \"{}\"",
                socket.name()
            )
        })?;
        self.last_parts(&keys::members_prefix(socket.name(), room))
            .await
    }

    /// The decoded last parts of the keys under `prefix`. Keys past the
    /// prefix, which some stores list (Azure's lists every key from the
    /// prefix on), are skipped; keys under it that rooms did not write are
    /// skipped with a warning.
    async fn last_parts(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let keys: Vec<String> = self.store.keys(prefix).try_collect().await?;
        Ok(keys
            .iter()
            .filter_map(|key| match keys::last_part(key, prefix) {
                Listed::Part(part) => Some(part),
                Listed::Outside => None,
                Listed::Foreign => {
                    tracing::warn!(
                        store = self.name(),
                        key,
                        "ignoring a key rooms did not write"
                    );
                    None
                }
            })
            .collect())
    }

    /// Sends `data` to every member of `room` of `socket`, as
    /// [`Websocket::broadcast`] does; `.await` the [`RoomBroadcast`] for
    /// the [`BroadcastReport`]. Members found gone are cleaned up as a
    /// disconnect would: they leave every room and lose their state.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let report = ROOMS.broadcast(ctx.socket(), "lobby", ctx.body()).await?;
    ///     for (member, error) in &report.failed {
    ///         tracing::warn!(member, %error, "not reached");
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub fn broadcast<'a>(
        &'a self,
        socket: &'a Websocket,
        room: &str,
        data: impl Into<Vec<u8>>,
    ) -> RoomBroadcast<'a> {
        RoomBroadcast::new(self, socket, room, Ok(data.into()))
    }

    /// [`broadcast`](Self::broadcast)s `value` as JSON in a text frame; a
    /// value that cannot be serialized fails before anything is sent.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let said = serde_json::json!({ "from": ctx.connection_id(), "text": ctx.text()? });
    ///     ROOMS.broadcast_json(ctx.socket(), "lobby", &said).await?;
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub fn broadcast_json<'a, T: Serialize + ?Sized>(
        &'a self,
        socket: &'a Websocket,
        room: &str,
        value: &T,
    ) -> RoomBroadcast<'a> {
        let data = serde_json::to_vec(value).map_err(|error| Error::Value {
            operation: format!("broadcast to room {room:?} on socket \"{}\"", socket.name()),
            reason: format!("cannot write the message as JSON: {error}"),
        });
        RoomBroadcast::new(self, socket, room, data)
    }
}

impl fmt::Debug for Rooms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooms")
            .field("store", &self.name())
            .finish_non_exhaustive()
    }
}

/// A message on its way to a room's members; `.await` it to send.
///
/// Made by [`Rooms::broadcast`] and [`Rooms::broadcast_json`]. Awaiting it
/// lists the members, then sends as [`Websocket::broadcast`] does, at most
/// [`concurrency`](Self::concurrency) sends at a time. A member found gone
/// (its disconnect never arrived, as happens on AWS) is listed in
/// [`BroadcastReport::gone`] and cleaned up as a disconnect would: it
/// leaves the room and every other, and its connection state is deleted. A
/// room name longer than 256 bytes fails with [`Error::Value`] before
/// anything is sent.
///
/// ```
/// # use nitric_runtime::websocket::MessageContext;
/// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
/// # static ROOMS: nitric_runtime::connection::Rooms;
/// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     let report = ROOMS
///         .broadcast(ctx.socket(), "lobby", ctx.body())
///         .concurrency(64)
///         .await?;
///     println!("{} sent, {} gone", report.sent, report.gone.len());
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[must_use = "a broadcast sends nothing until it is awaited"]
pub struct RoomBroadcast<'a> {
    rooms: &'a Rooms,
    socket: &'a Websocket,
    room: String,
    /// The message, or why it could not be made.
    data: Result<Vec<u8>, Error>,
    concurrency: usize,
}

impl<'a> RoomBroadcast<'a> {
    fn new(
        rooms: &'a Rooms,
        socket: &'a Websocket,
        room: &str,
        data: Result<Vec<u8>, Error>,
    ) -> Self {
        Self {
            rooms,
            socket,
            room: room.to_owned(),
            data,
            concurrency: DEFAULT_BROADCAST_CONCURRENCY,
        }
    }

    /// Keeps at most `sends` sends in flight (at least 1; default
    /// [`DEFAULT_BROADCAST_CONCURRENCY`]).
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     // One send at a time, in no particular order.
    ///     ROOMS.broadcast(ctx.socket(), "lobby", ctx.body()).concurrency(1).await?;
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub fn concurrency(mut self, sends: usize) -> Self {
        self.concurrency = sends.max(1);
        self
    }

    async fn send(self) -> Result<BroadcastReport, Error> {
        let data = self.data?;
        check_room(&self.room, || {
            format!(
                "broadcast to room {:?} on socket \"{}\"",
                self.room,
                self.socket.name()
            )
        })?;
        let members = self.rooms.members(self.socket, &self.room).await?;
        let forget = GoneMember {
            rooms: self.rooms,
            socket: self.socket,
            room: &self.room,
        };
        self.socket
            .broadcast(members, data)
            .concurrency(self.concurrency)
            .forget_gone_with(&forget)
            .await
    }
}

impl<'a> IntoFuture for RoomBroadcast<'a> {
    type Output = Result<BroadcastReport, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for RoomBroadcast<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomBroadcast")
            .field("store", &self.rooms.name())
            .field("socket", &self.socket.name())
            .field("room", &self.room)
            .field("bytes", &self.data.as_ref().map(Vec::len).ok())
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// How a room broadcast forgets a member that is gone: it leaves the room,
/// then is cleaned up as after a disconnect (every room, every state).
struct GoneMember<'a> {
    rooms: &'a Rooms,
    socket: &'a Websocket,
    room: &'a str,
}

impl ForgetConnection for GoneMember<'_> {
    fn check_allowed(&self) -> Result<(), Error> {
        self.rooms.store.require(KvPermission::Delete)
    }

    fn forget<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<Forgot, Error>> {
        Box::pin(async move {
            let member = keys::member(self.socket.name(), self.room, connection_id);
            let membership = self.rooms.store.get(&member).await?;
            if membership
                .is_some_and(|membership| super::joined_moments_ago(membership.joined_at_ms))
            {
                return Ok(Forgot::Kept);
            }
            let gone = Departed {
                socket: self.socket.name(),
                connection_id,
            };
            // This room first: its member key may lack the `joined` key the
            // cleanup follows.
            let left = self.rooms.leave(&gone, self.room).await;
            let cleaned = async {
                let operation = || format!("clean up connection \"{connection_id}\", found gone");
                let service = self.socket.service(operation)?;
                super::clean_up(service.cleanups(), gone, None).await
            };
            let cleaned = cleaned.await;
            left.and(cleaned).map(|()| Forgot::Forgotten)
        })
    }
}

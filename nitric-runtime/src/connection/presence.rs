//! Presence: who is in a room, with what each member says about itself,
//! announced to the room as members come and go.

use super::keys;
use super::{Connection, ForgetGone};
use crate::declaration::{Departed, KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use crate::websocket::broadcast::ForgetConnection;
use crate::websocket::{BroadcastReport, Websocket};
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

/// A member of a room: `presence:{socket}:{room}:{connection}`.
const PRESENCE: &str = "presence";
/// A room a connection is present in: `present:{socket}:{connection}:{room}`.
const PRESENT: &str = "present";

/// Who is present in each room of a socket, with metadata of type `M` per
/// member (a name, an avatar, a status), kept in a declared key/value store
/// so every instance sees the same list.
///
/// [`join`](Self::join) puts a connection in a room with its metadata and
/// tells the room; [`leave`](Self::leave) takes it out and tells the room;
/// [`list`](Self::list) gives the members. The runtime makes a connection
/// leave every room when it disconnects (telling each room), and
/// [`sweep`](Self::sweep) finds members whose disconnect never came (API
/// Gateway's disconnect events are best effort) and removes them.
///
/// Each room hears of its members as a JSON text message:
///
/// ```json
/// {"type": "presence", "event": "join", "room": "lobby", "connection": "c1", "meta": {"name": "ada"}}
/// {"type": "presence", "event": "leave", "room": "lobby", "connection": "c1", "meta": {"name": "ada"}}
/// ```
///
/// A join is sent to every member, the joiner included (a join from its
/// connect handler reaches it once the connection opens); a leave to the
/// members that remain. A sweep probes each
/// member with `{"type": "presence", "event": "probe"}`, which clients
/// ignore.
///
/// Declare it with `#[kv_store("name", allow = [get, set, delete])]`; a
/// missing permission fails the build. `M` is any serde type; it is stored
/// as the `meta` field of an object. One `Presence` per store: a second
/// on the same store stops the service at startup, naming both statics.
///
/// ```
/// use nitric_runtime::connection::Presence;
/// use nitric_runtime::websocket::{ConnectContext, MessageContext};
/// use nitric_runtime::{kv_store, websocket, Error};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Member {
///     name: String,
/// }
///
/// #[kv_store("presence", allow = [get, set, delete])]
/// static PRESENCE: Presence<Member>;
///
/// #[websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), Error> {
///     let name = ctx.query().get("name").unwrap_or("guest").to_owned();
///     PRESENCE.join(&ctx, "lobby", &Member { name }).await?;
///     Ok(())
/// }
///
/// #[websocket("public", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), Error> {
///     let names: Vec<String> = PRESENCE
///         .list(ctx.socket(), "lobby")
///         .await?
///         .into_iter()
///         .map(|(_, member)| member.name)
///         .collect();
///     ctx.socket().send_json(ctx.connection_id(), &names).await
/// }
/// # fn main() {}
/// ```
pub struct Presence<M = Value> {
    store: KvStore<Value>,
    meta: PhantomData<fn() -> M>,
}

/// What a member key holds.
#[derive(Serialize, Deserialize)]
struct Member<M> {
    connection_id: String,
    meta: M,
    /// When it joined (see `joined_moments_ago`); absent in members
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    joined_at_ms: Option<u64>,
}

/// What a present key holds.
#[derive(Serialize, Deserialize)]
struct Present {
    room: String,
}

impl<M> KvClient for Presence<M> {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `Presence` static needs allow = [get, set, delete]: it lists, writes and deletes members",
        cleanup: Some(leave_everywhere),
        // Two would list each other's members, with metadata of another
        // type.
        owns_state: Some("Presence"),
    };
}

/// The cleanup after a disconnect: the connection leaves every room, and
/// each room hears of it.
fn leave_everywhere<'a>(
    declaration: &'static KvStoreDeclaration,
    connection: Departed<'a>,
) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move {
        let presence = Presence::<Value>::declared(declaration);
        let socket = Websocket::new(connection.socket);
        let mut first_error = None;
        for room in presence.rooms_of(&connection).await? {
            if let Err(error) = presence.leave_in(&socket, &connection, &room).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}

fn member_key(socket: &str, room: &str, connection_id: &str) -> String {
    keys::of_socket(PRESENCE, socket, &[room, connection_id])
}

fn present_key(socket: &str, connection_id: &str, room: &str) -> String {
    keys::of_socket(PRESENT, socket, &[connection_id, room])
}

fn check_room(room: &str, operation: impl FnOnce() -> String) -> Result<(), Error> {
    keys::check_room(room).map_err(|reason| Error::Value {
        operation: operation(),
        reason,
    })
}

/// A presence event as the room receives it.
fn event(kind: &str, room: &str, connection_id: &str, meta: &Value) -> Value {
    json!({
        "type": "presence",
        "event": kind,
        "room": room,
        "connection": connection_id,
        "meta": meta,
    })
}

impl<M> Presence<M> {
    /// The client for a declared store; `#[kv_store]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static KvStoreDeclaration) -> Self {
        Self {
            store: KvStore::declared(declaration),
            meta: PhantomData,
        }
    }

    /// The store's name.
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    /// # fn main() {
    /// assert_eq!(PRESENCE.name(), "presence");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }

    /// The rooms `connection` is present in, in no particular order.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let rooms = PRESENCE.rooms_of(&ctx).await?;
    ///     ctx.socket().send_json(ctx.connection_id(), &rooms).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn rooms_of<C: Connection + ?Sized>(
        &self,
        connection: &C,
    ) -> Result<Vec<String>, Error> {
        let prefix = keys::socket_prefix(
            PRESENT,
            connection.socket_name(),
            &[connection.connection_id()],
        );
        let listed: Vec<String> = self.store.keys(&prefix).try_collect().await?;
        Ok(listed
            .iter()
            .filter_map(|key| match keys::last_part(key, &prefix) {
                keys::Listed::Part(room) => Some(room),
                keys::Listed::Outside | keys::Listed::Foreign => None,
            })
            .collect())
    }

    /// Takes `connection` out of `room` and tells the members that remain;
    /// leaving a room it is not in sends nothing.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if let Some(room) = ctx.text()?.strip_prefix("/leave ") {
    ///         PRESENCE.leave(&ctx, room).await?;
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
        let socket = Websocket::new(connection.socket_name());
        self.leave_in(&socket, connection, room).await
    }

    async fn leave_in<C: Connection + ?Sized>(
        &self,
        socket: &Websocket,
        connection: &C,
        room: &str,
    ) -> Result<(), Error> {
        let (name, id) = (connection.socket_name(), connection.connection_id());
        check_room(room, || {
            format!("leave room {room:?} on socket \"{name}\" with connection \"{id}\"")
        })?;
        let key = member_key(name, room, id);
        let member = self.store.get_as::<Member<Value>>(&key).await?;
        self.store.delete(&key).await?;
        self.store.delete(&present_key(name, id, room)).await?;
        if let Some(member) = member {
            self.announce(socket, room, &event("leave", room, id, &member.meta))
                .await?;
        }
        Ok(())
    }

    /// Sends `event` to the members of `room`, cleaning up those found gone.
    async fn announce(
        &self,
        socket: &Websocket,
        room: &str,
        event: &Value,
    ) -> Result<BroadcastReport, Error> {
        let members = self.member_ids(socket, room).await?;
        let listed_as = |id: &str| {
            vec![
                member_key(socket.name(), room, id),
                present_key(socket.name(), id, room),
            ]
        };
        let forget = ForgetGone {
            store: &self.store,
            socket,
            listed_as: &listed_as,
        };
        socket
            .broadcast_json(members, event)
            .forget_gone_with(&forget)
            .await
    }

    async fn member_ids(&self, socket: &Websocket, room: &str) -> Result<Vec<String>, Error> {
        let prefix = keys::socket_prefix(PRESENCE, socket.name(), &[room]);
        let listed: Vec<String> = self.store.keys(&prefix).try_collect().await?;
        Ok(listed
            .iter()
            .filter_map(|key| match keys::last_part(key, &prefix) {
                keys::Listed::Part(id) => Some(id),
                keys::Listed::Outside | keys::Listed::Foreign => None,
            })
            .collect())
    }

    /// Probes every member of every room of `socket` and removes the ones
    /// that are gone, as a disconnect would (each of their rooms hears them
    /// leave); returns their connection ids. Call it from a schedule: on
    /// AWS a disconnect event can be lost, and such members stay otherwise
    /// until a presence event to their room finds them gone. It lists the
    /// socket's presence keys (a scan of the whole store on AWS and GCP) and
    /// sends each member one small probe message. A member that joined
    /// within the last 10 s is left for the next sweep: it may still be
    /// opening on another instance, which the membrane reports as gone.
    ///
    /// ```
    /// use nitric_runtime::websocket::Websocket;
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    ///
    /// async fn every_five_minutes() -> Result<(), nitric_runtime::Error> {
    ///     let gone = PRESENCE.sweep(&Websocket::new("public")).await?;
    ///     tracing::info!(gone = gone.len(), "swept");
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn sweep(&self, socket: &Websocket) -> Result<Vec<String>, Error> {
        let prefix = keys::socket_prefix(PRESENCE, socket.name(), &[]);
        let listed: Vec<String> = self.store.keys(&prefix).try_collect().await?;
        let mut rooms_of: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
        for key in &listed {
            if let Some([room, id]) = keys::parts_after(key, &prefix)
                .and_then(|parts| <[String; 2]>::try_from(parts).ok())
            {
                rooms_of.entry(id).or_default().insert(room);
            }
        }
        let probe = json!({ "type": "presence", "event": "probe" });
        let report = socket
            .broadcast_json(rooms_of.keys().cloned(), &probe)
            .await?;
        // Each room hears the gone member leave, then the rest of its data
        // goes as after a disconnect.
        let nothing_more = |_: &str| Vec::new();
        let forget = ForgetGone {
            store: &self.store,
            socket,
            listed_as: &nothing_more,
        };
        let mut swept = Vec::new();
        for id in report.gone {
            let rooms = rooms_of.get(&id).into_iter().flatten();
            // One that joined moments ago may still be opening (another
            // instance accepting it reads as gone): the next sweep decides.
            if let Some(room) = rooms.clone().next() {
                let member = self
                    .store
                    .get(&member_key(socket.name(), room, &id))
                    .await?;
                if member
                    .as_ref()
                    .is_some_and(super::record_joined_moments_ago)
                {
                    continue;
                }
            }
            let gone = (socket, id.as_str());
            for room in rooms {
                self.leave_in(socket, &gone, room).await?;
            }
            forget.forget(&id).await?;
            swept.push(id);
        }
        Ok(swept)
    }
}

impl<M: Serialize + DeserializeOwned> Presence<M> {
    /// Puts `connection` in `room` with `meta` (replacing what it had there)
    /// and tells the room's members. A room name longer than 256 bytes
    /// fails with [`Error::Value`].
    ///
    /// ```
    /// # use nitric_runtime::websocket::ConnectContext;
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     let meta = serde_json::json!({ "name": ctx.query().get("name").unwrap_or("guest") });
    ///     PRESENCE.join(&ctx, "lobby", &meta).await?;
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn join<C: Connection + ?Sized>(
        &self,
        connection: &C,
        room: &str,
        meta: &M,
    ) -> Result<BroadcastReport, Error> {
        let (name, id) = (connection.socket_name(), connection.connection_id());
        check_room(room, || {
            format!("join room {room:?} on socket \"{name}\" with connection \"{id}\"")
        })?;
        let meta = serde_json::to_value(meta).map_err(|error| Error::Value {
            operation: format!("join room {room:?} on socket \"{name}\""),
            reason: format!("cannot write the metadata as JSON: {error}"),
        })?;
        let present = Present {
            room: room.to_owned(),
        };
        // The connection's side first: the cleanup follows it.
        self.store
            .set_as(&present_key(name, id, room), &present)
            .await?;
        let member = Member {
            connection_id: id.to_owned(),
            meta,
            joined_at_ms: Some(super::now_millis()),
        };
        self.store
            .set_as(&member_key(name, room, id), &member)
            .await?;
        let socket = Websocket::new(name);
        self.announce(&socket, room, &event("join", room, id, &member.meta))
            .await
    }

    /// The members of `room` on `socket` with their metadata, in no
    /// particular order. On AWS one who joined a moment ago may be missing.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("presence", allow = [get, set, delete])]
    /// # static PRESENCE: nitric_runtime::connection::Presence;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let members = PRESENCE.list(ctx.socket(), "lobby").await?;
    ///     ctx.socket().send_json(ctx.connection_id(), &members).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn list(&self, socket: &Websocket, room: &str) -> Result<Vec<(String, M)>, Error> {
        check_room(room, || {
            format!("list room {room:?} on socket \"{}\"", socket.name())
        })?;
        let mut members = Vec::new();
        for id in self.member_ids(socket, room).await? {
            let key = member_key(socket.name(), room, &id);
            // A member who left since the listing is skipped.
            if let Some(member) = self.store.get_as::<Member<M>>(&key).await? {
                members.push((id, member.meta));
            }
        }
        Ok(members)
    }
}

impl<M> fmt::Debug for Presence<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presence")
            .field("store", &self.name())
            .finish_non_exhaustive()
    }
}

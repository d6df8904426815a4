//! Users: which user each connection belongs to, to reach all of a user's
//! connections at once.

use super::keys::{self, Listed};
use super::{Connection, ForgetGone};
use crate::declaration::{Departed, KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use crate::websocket::{BroadcastReport, Websocket};
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The key listing a user's connections: `user:{socket}:{user}:{connection}`.
const USER: &str = "user";
/// The key naming a connection's user: `bound:{socket}:{connection}`.
const BOUND: &str = "bound";

/// Users of a socket's connections, kept in a declared key/value store so
/// every instance of the service sees who is connected where.
///
/// [`bind`](Self::bind) a connection to a user id, usually in the connect
/// handler or guard (the [`Ticket`](super::Ticket) guard does it), then
/// [`send_to_user`](Self::send_to_user) reaches every connection of that
/// user (a phone and a laptop), and [`close_user`](Self::close_user)
/// closes them all. A connection has at most one user; binding it again
/// moves it. The runtime unbinds a connection when it disconnects, and a
/// send that finds a connection gone cleans it up as a disconnect would.
///
/// Declare it with `#[kv_store("name", allow = [get, set, delete])]`; a
/// missing permission fails the build. Listing a user's connections lists
/// keys by prefix, a scan of the whole store on AWS and GCP, eventually
/// consistent on AWS: give users a store of their own. A user id is at
/// most 256 bytes.
///
/// ```
/// use nitric_runtime::connection::Users;
/// use nitric_runtime::websocket::{ConnectContext, MessageContext, Reject};
/// use nitric_runtime::{kv_store, websocket, BoxError};
///
/// #[kv_store("users", allow = [get, set, delete])]
/// static USERS: Users;
///
/// #[websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
///     let user = ctx.query().get("user").ok_or(Reject::new("connect with ?user="))?;
///     USERS.bind(&ctx, user).await?;
///     Ok(())
/// }
///
/// #[websocket("public", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), BoxError> {
///     // "ada: hello" sends "hello" to every connection of ada.
///     let (to, text) = ctx.text()?.split_once(": ").ok_or("write `user: text`")?;
///     USERS.send_to_user(ctx.socket(), to, text).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct Users {
    store: KvStore<serde_json::Value>,
}

/// What both keys of a binding hold.
#[derive(Serialize, Deserialize)]
struct Binding {
    socket: String,
    user: String,
    connection_id: String,
    /// When it was bound (see `joined_moments_ago`); absent in bindings
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    joined_at_ms: Option<u64>,
}

impl KvClient for Users {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `Users` static needs allow = [get, set, delete]: it lists, writes and deletes bindings",
        cleanup: Some(unbind_departed),
        owns_state: None,
    };
}

/// The cleanup after a disconnect: the connection's user lets it go.
fn unbind_departed<'a>(
    declaration: &'static KvStoreDeclaration,
    connection: Departed<'a>,
) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move { Users::declared(declaration).unbind(&connection).await })
}

fn user_key(socket: &str, user: &str, connection_id: &str) -> String {
    keys::of_socket(USER, socket, &[user, connection_id])
}

fn bound_key(socket: &str, connection_id: &str) -> String {
    keys::of_socket(BOUND, socket, &[connection_id])
}

fn check_user(user: &str, operation: impl FnOnce() -> String) -> Result<(), Error> {
    keys::check_name("user id", user).map_err(|reason| Error::Value {
        operation: operation(),
        reason,
    })
}

impl Users {
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
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// # fn main() {
    /// assert_eq!(USERS.name(), "users");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }

    /// Makes `connection` one of `user`'s; a connection bound to another
    /// user moves. A user id longer than 256 bytes fails with
    /// [`Error::Value`].
    ///
    /// ```
    /// # use nitric_runtime::websocket::ConnectContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     USERS.bind(&ctx, "ada").await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn bind<C: Connection + ?Sized>(
        &self,
        connection: &C,
        user: &str,
    ) -> Result<(), Error> {
        let (socket, id) = (connection.socket_name(), connection.connection_id());
        check_user(user, || {
            format!("bind connection \"{id}\" of socket \"{socket}\" to user {user:?}")
        })?;
        if let Some(previous) = self.user_of(connection).await? {
            if previous != user {
                self.store.delete(&user_key(socket, &previous, id)).await?;
            }
        }
        let binding = Binding {
            socket: socket.to_owned(),
            user: user.to_owned(),
            connection_id: id.to_owned(),
            joined_at_ms: Some(super::now_millis()),
        };
        // The connection's side first: the cleanup follows it.
        self.store.set_as(&bound_key(socket, id), &binding).await?;
        self.store
            .set_as(&user_key(socket, user, id), &binding)
            .await
    }

    /// Takes `connection` from its user, as the runtime does when it
    /// disconnects; a connection bound to no one is not an error.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if ctx.body() == b"/logout" {
    ///         USERS.unbind(&ctx).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn unbind<C: Connection + ?Sized>(&self, connection: &C) -> Result<(), Error> {
        let (socket, id) = (connection.socket_name(), connection.connection_id());
        if let Some(user) = self.user_of(connection).await? {
            self.store.delete(&user_key(socket, &user, id)).await?;
        }
        self.store.delete(&bound_key(socket, id)).await
    }

    /// The user `connection` is bound to, if any.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let me = USERS.user_of(&ctx).await?.unwrap_or_else(|| "a guest".to_owned());
    ///     ctx.socket().send(ctx.connection_id(), format!("you are {me}")).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn user_of<C: Connection + ?Sized>(
        &self,
        connection: &C,
    ) -> Result<Option<String>, Error> {
        let key = bound_key(connection.socket_name(), connection.connection_id());
        let binding = self.store.get_as::<Binding>(&key).await?;
        Ok(binding.map(|binding| binding.user))
    }

    /// The connections of `user` on `socket`, in no particular order. On
    /// AWS one bound a moment ago may be missing (see the type's docs).
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let devices = USERS.connections_of(ctx.socket(), "ada").await?.len();
    ///     ctx.socket().send(ctx.connection_id(), format!("ada has {devices} connections")).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn connections_of(
        &self,
        socket: &Websocket,
        user: &str,
    ) -> Result<Vec<String>, Error> {
        check_user(user, || {
            format!(
                "list the connections of user {user:?} on socket \"{}\"",
                socket.name()
            )
        })?;
        let prefix = keys::socket_prefix(USER, socket.name(), &[user]);
        let keys: Vec<String> = self.store.keys(&prefix).try_collect().await?;
        Ok(keys
            .iter()
            .filter_map(|key| match keys::last_part(key, &prefix) {
                Listed::Part(id) => Some(id),
                Listed::Outside | Listed::Foreign => None,
            })
            .collect())
    }

    /// Sends `data` to every connection of `user` on `socket`, as
    /// [`Websocket::broadcast`] does. A connection found gone is cleaned up
    /// as a disconnect would (its binding, rooms and state go).
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let report = USERS.send_to_user(ctx.socket(), "ada", ctx.body()).await?;
    ///     if report.sent == 0 {
    ///         ctx.socket().send(ctx.connection_id(), "ada is offline").await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn send_to_user(
        &self,
        socket: &Websocket,
        user: &str,
        data: impl Into<Vec<u8>>,
    ) -> Result<BroadcastReport, Error> {
        let connections = self.connections_of(socket, user).await?;
        let listed_as = |id: &str| vec![user_key(socket.name(), user, id)];
        let forget = ForgetGone {
            store: &self.store,
            socket,
            listed_as: &listed_as,
        };
        socket
            .broadcast(connections, data)
            .forget_gone_with(&forget)
            .await
    }

    /// [`send_to_user`](Self::send_to_user)s `value` as JSON in a text
    /// frame; a value that cannot be serialized fails before anything is
    /// sent.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let note = serde_json::json!({ "from": ctx.connection_id(), "text": ctx.text()? });
    ///     USERS.send_json_to_user(ctx.socket(), "ada", &note).await?;
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn send_json_to_user<T: Serialize + ?Sized>(
        &self,
        socket: &Websocket,
        user: &str,
        value: &T,
    ) -> Result<BroadcastReport, Error> {
        let data = serde_json::to_vec(value).map_err(|error| Error::Value {
            operation: format!("send to user {user:?} on socket \"{}\"", socket.name()),
            reason: format!("cannot write the message as JSON: {error}"),
        })?;
        self.send_to_user(socket, user, data).await
    }

    /// Closes every connection of `user` on `socket` and returns how many
    /// were closed; their disconnect handlers run afterwards. One found gone
    /// is cleaned up as a disconnect would; any other failure is returned
    /// after every connection was tried.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: nitric_runtime::connection::Users;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if let Some(user) = ctx.text()?.strip_prefix("/kick ") {
    ///         let closed = USERS.close_user(ctx.socket(), user).await?;
    ///         tracing::info!(user, closed, "kicked");
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn close_user(&self, socket: &Websocket, user: &str) -> Result<usize, Error> {
        let listed_as = |id: &str| vec![user_key(socket.name(), user, id)];
        let forget = ForgetGone {
            store: &self.store,
            socket,
            listed_as: &listed_as,
        };
        let mut closed = 0;
        let mut first_error = None;
        for id in self.connections_of(socket, user).await? {
            let outcome = match socket.close(&id).await {
                Ok(()) => {
                    closed += 1;
                    Ok(())
                }
                // One that joined moments ago is kept: it may still be
                // opening (see `Forgot::Kept`).
                Err(error) if error.is_gone() => {
                    use crate::websocket::broadcast::ForgetConnection;
                    forget.forget(&id).await.map(drop)
                }
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(closed), Err)
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("store", &self.name())
            .finish_non_exhaustive()
    }
}

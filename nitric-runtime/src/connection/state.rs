//! A typed value per connection, set when it connects.

use super::{keys, Connection};
use crate::declaration::{Departed, KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A `T` attached to each connection, kept in a declared key/value store so
/// every instance of the service reads the same one.
///
/// Set it in the connect handler (say, the user a check of the query
/// found), read it in the connection's message and disconnect handlers.
/// The runtime deletes it when the connection disconnects, after the
/// socket's disconnect handler, and when its connect is refused. A message
/// handler still running after that cleanup can set it again; it then stays
/// until a room send finds the connection gone (see the
/// [module docs](crate::connection)). Declare it with
/// `#[kv_store("name", allow = [get, set, delete])]`; all three are needed,
/// and a missing one fails the build. `T` is any serde type (a struct, a
/// `String`, a number...): it is stored as `{"value": ...}`. One
/// `ConnectionState` per store: a second on the same store would share its
/// keys, so the service refuses to start, naming both.
///
/// ```
/// use nitric_runtime::connection::ConnectionState;
/// use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Reject};
/// use nitric_runtime::BoxError;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct User {
///     name: String,
/// }
///
/// #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
/// static USER: ConnectionState<User>;
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
///     let name = ctx.query().get("name").ok_or_else(|| Reject::new("connect with ?name="))?;
///     USER.set(&ctx, &User { name: name.to_owned() }).await?;
///     Ok(())
/// }
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), BoxError> {
///     let user = USER.get(&ctx).await?.ok_or("no user for this connection")?;
///     ctx.socket().send(ctx.connection_id(), format!("hello {}", user.name)).await?;
///     Ok(())
/// }
///
/// #[nitric_runtime::websocket("public", on = "disconnect")]
/// async fn disconnect(ctx: DisconnectContext) -> Result<(), BoxError> {
///     if let Some(user) = USER.get(&ctx).await? {
///         tracing::info!(user = user.name, "left"); // deleted after this handler
///     }
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct ConnectionState<T> {
    store: KvStore<Stored<T>>,
}

/// What a state key holds: the value in an object, as stores keep objects,
/// so `T` may be any serde type.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    value: T,
}

impl<T> KvClient for ConnectionState<T> {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `ConnectionState<T>` static needs allow = [get, set, delete]: it reads, writes and deletes each connection's value",
        cleanup: Some(delete_state),
        owns_state: Some("ConnectionState"),
    };
}

/// The cleanup after a disconnect: the connection's value goes.
fn delete_state<'a>(
    declaration: &'static KvStoreDeclaration,
    connection: Departed<'a>,
) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move {
        // The value's type does not matter for deleting it.
        let store = KvStore::<serde_json::Value>::declared(declaration);
        store.delete(&key(&connection)).await
    })
}

impl<T> ConnectionState<T> {
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
    /// # static USER: nitric_runtime::connection::ConnectionState<serde_json::Value>;
    /// # fn main() {
    /// assert_eq!(USER.name(), "users");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }
}

impl<T: Serialize + DeserializeOwned> ConnectionState<T> {
    /// Attaches `value` to `connection`, replacing what was there.
    ///
    /// ```
    /// # use nitric_runtime::websocket::ConnectContext;
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # struct User { name: String }
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USER: nitric_runtime::connection::ConnectionState<User>;
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::Error> {
    ///     let name = ctx.query().get("name").unwrap_or("guest").to_owned();
    ///     USER.set(&ctx, &User { name }).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn set<C: Connection + ?Sized>(
        &self,
        connection: &C,
        value: &T,
    ) -> Result<(), Error> {
        self.store.set_as(&key(connection), &Stored { value }).await
    }

    /// The value attached to `connection`, or `None` if there is none.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # struct User { name: String }
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USER: nitric_runtime::connection::ConnectionState<User>;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let name = USER.get(&ctx).await?.map_or("guest".to_owned(), |user| user.name);
    ///     ctx.socket().send(ctx.connection_id(), format!("you are {name}")).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn get<C: Connection + ?Sized>(&self, connection: &C) -> Result<Option<T>, Error> {
        let stored = self.store.get_as::<Stored<T>>(&key(connection)).await?;
        Ok(stored.map(|stored| stored.value))
    }

    /// Removes the value attached to `connection`; removing none is not an
    /// error. The runtime does this when the connection disconnects.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USER: nitric_runtime::connection::ConnectionState<serde_json::Value>;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     if ctx.body() == b"/logout" {
    ///         USER.delete(&ctx).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn delete<C: Connection + ?Sized>(&self, connection: &C) -> Result<(), Error> {
        self.store.delete(&key(connection)).await
    }
}

fn key<C: Connection + ?Sized>(connection: &C) -> String {
    keys::state(connection.socket_name(), connection.connection_id())
}

impl<T> fmt::Debug for ConnectionState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionState")
            .field("store", &self.name())
            .finish_non_exhaustive()
    }
}

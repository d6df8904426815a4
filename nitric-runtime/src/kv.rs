//! Key/value stores: typed clients for stores declared with `#[kv_store]`.

#[doc(hidden)]
pub use crate::declaration::{ConnectionCleanup, KvClientNeeds};
use crate::declaration::{KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::handle::ServiceHandle;
use crate::transport::Channel;
use futures_util::stream::{Stream, StreamExt};
use nitric_protocol::json;
use nitric_protocol::kvstore::v1::{
    kv_store_client::KvStoreClient, KvStoreDeleteKeyRequest, KvStoreGetValueRequest,
    KvStoreScanKeysRequest, KvStoreSetValueRequest, Store, ValueRef,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::marker::PhantomData;

/// A key/value store whose values are `T`, serialized as JSON objects.
///
/// Declare one with [`#[kv_store]`](macro@crate::kv_store); calls the declaration
/// does not allow fail with [`Error::NotAllowed`] before reaching the
/// membrane.
///
/// ```
/// use futures_util::TryStreamExt;
/// use nitric_runtime::kv::KvStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Visit {
///     count: u64,
/// }
///
/// #[nitric_runtime::kv_store("visits", allow = [get, set, delete])]
/// static VISITS: KvStore<Visit>;
///
/// async fn record(page: &str) -> Result<u64, nitric_runtime::Error> {
///     let count = VISITS.get(page).await?.map_or(0, |visit| visit.count) + 1;
///     VISITS.set(page, &Visit { count }).await?;
///     Ok(count)
/// }
///
/// async fn pages() -> Result<Vec<String>, nitric_runtime::Error> {
///     VISITS.keys("/").try_collect().await
/// }
/// # fn main() {}
/// ```
pub struct KvStore<T> {
    declaration: &'static KvStoreDeclaration,
    values: PhantomData<fn() -> T>,
}

/// A client a `#[kv_store]` static can have: the static's type picks it.
///
/// Implemented by [`KvStore<T>`], [`Rooms`](crate::connection::Rooms),
/// [`ConnectionState<T>`](crate::connection::ConnectionState) and the
/// other clients of [`connection`](crate::connection) (users, tickets,
/// presence, history). Each says what it needs from its declaration: those
/// of `connection` need `allow = [get, set, delete]` (a missing one fails
/// the build), and the runtime deletes their data for a connection when it
/// goes.
///
/// ```
/// use nitric_runtime::connection::Rooms;
/// use nitric_runtime::kv::KvStore;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// #[nitric_runtime::kv_store("profiles", allow = [get])]
/// static PROFILES: KvStore<Profile>;
///
/// #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
/// static ROOMS: Rooms;
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // error: a `Rooms` static needs allow = [get, set, delete]
/// #[nitric_runtime::kv_store("rooms", allow = [get, set])]
/// static ROOMS: nitric_runtime::connection::Rooms;
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a key/value client",
    label = "#[kv_store] cannot give a static of this type its value",
    note = "a #[kv_store] static is a `KvStore<T>` (from `nitric_runtime::kv`), or `Rooms`, `ConnectionState<T>`, `Users`, `Tickets`, `Presence<M>` or `History` (from `nitric_runtime::connection`)"
)]
pub trait KvClient {
    /// What the client needs from its declaration; generated-code
    /// plumbing.
    #[doc(hidden)]
    const NEEDS: KvClientNeeds;
}

impl<T> KvClient for KvStore<T> {
    const NEEDS: KvClientNeeds = KvClientNeeds::NOTHING;
}

impl<T> KvStore<T> {
    /// The client for a declared store; `#[kv_store]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static KvStoreDeclaration) -> Self {
        Self {
            declaration,
            values: PhantomData,
        }
    }

    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.declaration.name
    }

    /// Fails with [`Error::NotAllowed`] unless the declaration allows
    /// `permission`.
    pub(crate) fn require(&self, permission: KvPermission) -> Result<(), Error> {
        self.declaration.require(permission)
    }

    /// The calls on this store for the current service, once the
    /// declaration allows `permission`.
    fn calls(
        &self,
        permission: KvPermission,
        operation: impl FnOnce() -> String,
    ) -> Result<StoreCalls<'static>, Error> {
        self.declaration.require(permission)?;
        let service = ServiceHandle::current_for(operation)?;
        Ok(StoreCalls::new(self.name(), service.channel()))
    }

    /// [`get`](Self::get) read as `V`, for clients that wrap `T`.
    pub(crate) async fn get_as<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        let operation = || get_operation(self.name(), key);
        self.calls(KvPermission::Get, operation)?.get(key).await
    }

    /// [`set`](Self::set) of a `V`, for clients that wrap `T`.
    pub(crate) async fn set_as<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
    ) -> Result<(), Error> {
        let operation = || set_operation(self.name(), key);
        self.calls(KvPermission::Set, operation)?
            .set(key, value)
            .await
    }
}

impl<T: Serialize + DeserializeOwned> KvStore<T> {
    /// The value at `key`, or `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<T>, Error> {
        self.get_as(key).await
    }

    /// Stores `value` at `key`, replacing what was there.
    pub async fn set(&self, key: &str, value: &T) -> Result<(), Error> {
        self.set_as(key, value).await
    }

    /// Deletes `key`; deleting a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        let operation = || delete_operation(self.name(), key);
        self.calls(KvPermission::Delete, operation)?
            .delete(key)
            .await
    }

    /// The keys starting with `prefix` (all keys for `""`), as a stream.
    /// Listing needs the `get` permission.
    pub fn keys(&self, prefix: &str) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        let operation = || keys_operation(self.name(), prefix);
        match self.calls(KvPermission::Get, operation) {
            Ok(calls) => calls.keys(prefix).left_stream(),
            Err(error) => futures_util::stream::once(async { Err(error) }).right_stream(),
        }
    }
}

fn get_operation(store: &str, key: &str) -> String {
    format!("get key {key:?} from key/value store \"{store}\"")
}

fn set_operation(store: &str, key: &str) -> String {
    format!("set key {key:?} in key/value store \"{store}\"")
}

fn delete_operation(store: &str, key: &str) -> String {
    format!("delete key {key:?} from key/value store \"{store}\"")
}

fn keys_operation(store: &str, prefix: &str) -> String {
    format!("list keys with prefix {prefix:?} in key/value store \"{store}\"")
}

/// The membrane calls on one store, with values as JSON objects; what
/// [`KvStore`] makes once its declaration allows the call, and what the test
/// kit uses directly.
pub(crate) struct StoreCalls<'a> {
    store: &'a str,
    client: KvStoreClient<Channel>,
}

impl<'a> StoreCalls<'a> {
    pub(crate) fn new(store: &'a str, channel: Channel) -> Self {
        Self {
            store,
            client: KvStoreClient::new(channel)
                .max_decoding_message_size(crate::transport::MAX_DECODED_MESSAGE),
        }
    }

    fn value_ref(&self, key: &str) -> Option<ValueRef> {
        Some(ValueRef {
            store: self.store.to_owned(),
            key: key.to_owned(),
        })
    }

    pub(crate) async fn get<T: DeserializeOwned>(mut self, key: &str) -> Result<Option<T>, Error> {
        let operation = || get_operation(self.store, key);
        let request = KvStoreGetValueRequest {
            r#ref: self.value_ref(key),
        };
        let response = match self.client.get_value(request).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(Error::from_status(operation(), status)),
        };
        let content = response
            .value
            .and_then(|value| value.content)
            .unwrap_or_default();
        json::from_struct(content)
            .map(Some)
            .map_err(|reason| Error::Value {
                operation: operation(),
                reason: reason.to_string(),
            })
    }

    pub(crate) async fn set<T: Serialize + ?Sized>(
        mut self,
        key: &str,
        value: &T,
    ) -> Result<(), Error> {
        let operation = || set_operation(self.store, key);
        let content = json::to_struct(value).map_err(|reason| Error::Value {
            operation: operation(),
            reason: reason.to_string(),
        })?;
        let request = KvStoreSetValueRequest {
            r#ref: self.value_ref(key),
            content: Some(content),
        };
        self.client
            .set_value(request)
            .await
            .map_err(|status| Error::from_status(operation(), status))?;
        Ok(())
    }

    pub(crate) async fn delete(mut self, key: &str) -> Result<(), Error> {
        let operation = || delete_operation(self.store, key);
        let request = KvStoreDeleteKeyRequest {
            r#ref: self.value_ref(key),
        };
        self.client
            .delete_key(request)
            .await
            .map_err(|status| Error::from_status(operation(), status))?;
        Ok(())
    }

    /// The keys starting with `prefix`, flattened into one stream of keys or
    /// errors.
    pub(crate) fn keys(
        mut self,
        prefix: &str,
    ) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        let store = self.store.to_owned();
        let prefix = prefix.to_owned();
        let request = KvStoreScanKeysRequest {
            store: Some(Store {
                name: store.clone(),
            }),
            prefix: prefix.clone(),
        };
        let operation = move || keys_operation(&store, &prefix);
        let opened = async move {
            let response = self
                .client
                .scan_keys(request)
                .await
                .map_err(|status| Error::from_status(operation(), status))?;
            let keys = response.into_inner().map(move |item| {
                item.map(|found| found.key)
                    .map_err(|status| Error::from_status(operation(), status))
            });
            Ok::<_, Error>(keys)
        };
        futures_util::stream::once(opened).flat_map(|opened| match opened {
            Ok(keys) => keys.left_stream(),
            Err(error) => futures_util::stream::once(async { Err(error) }).right_stream(),
        })
    }
}

impl<T> fmt::Debug for KvStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvStore")
            .field("name", &self.declaration.name)
            .field("permissions", &self.declaration.permissions)
            .finish()
    }
}

//! Key/value stores: typed clients for stores declared with `#[kv_store]`.

use crate::error::Error;
use crate::json;
use crate::membrane;
use crate::registry::{KvPermission, KvStoreDeclaration};
use futures_util::stream::{Stream, StreamExt};
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

    fn client(
        &self,
        permission: KvPermission,
        operation: impl FnOnce() -> String,
    ) -> Result<KvStoreClient<tonic::transport::Channel>, Error> {
        self.declaration.require(permission)?;
        membrane::channel(operation).map(KvStoreClient::new)
    }

    fn value_ref(&self, key: &str) -> Option<ValueRef> {
        Some(ValueRef {
            store: self.name().to_owned(),
            key: key.to_owned(),
        })
    }
}

impl<T: Serialize + DeserializeOwned> KvStore<T> {
    /// The value at `key`, or `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<T>, Error> {
        let operation = || format!("get key {key:?} from key/value store \"{}\"", self.name());
        let mut client = self.client(KvPermission::Get, operation)?;
        let request = KvStoreGetValueRequest {
            r#ref: self.value_ref(key),
        };
        let response = match client.get_value(request).await {
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
                reason,
            })
    }

    /// Stores `value` at `key`, replacing what was there.
    pub async fn set(&self, key: &str, value: &T) -> Result<(), Error> {
        let operation = || format!("set key {key:?} in key/value store \"{}\"", self.name());
        let content = json::to_struct(value).map_err(|reason| Error::Value {
            operation: operation(),
            reason,
        })?;
        let mut client = self.client(KvPermission::Set, operation)?;
        let request = KvStoreSetValueRequest {
            r#ref: self.value_ref(key),
            content: Some(content),
        };
        client
            .set_value(request)
            .await
            .map_err(|status| Error::from_status(operation(), status))?;
        Ok(())
    }

    /// Deletes `key`; deleting a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        let operation = || {
            format!(
                "delete key {key:?} from key/value store \"{}\"",
                self.name()
            )
        };
        let mut client = self.client(KvPermission::Delete, operation)?;
        let request = KvStoreDeleteKeyRequest {
            r#ref: self.value_ref(key),
        };
        client
            .delete_key(request)
            .await
            .map_err(|status| Error::from_status(operation(), status))?;
        Ok(())
    }

    /// The keys starting with `prefix` (all keys for `""`), as a stream.
    /// Listing needs the `get` permission.
    pub fn keys(&self, prefix: &str) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        let name = self.name();
        let request = KvStoreScanKeysRequest {
            store: Some(Store {
                name: name.to_owned(),
            }),
            prefix: prefix.to_owned(),
        };
        let prefix = request.prefix.clone();
        let operation =
            move || format!("list keys with prefix {prefix:?} in key/value store \"{name}\"");
        let client = self.client(KvPermission::Get, operation.clone());
        scan_stream(client, request, operation)
    }
}

/// Opens the scan and flattens it into one stream of keys or errors.
fn scan_stream(
    client: Result<KvStoreClient<tonic::transport::Channel>, Error>,
    request: KvStoreScanKeysRequest,
    operation: impl Fn() -> String + Clone + Send + 'static,
) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
    let opened = async move {
        let mut client = client?;
        let response = client
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

impl<T> fmt::Debug for KvStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvStore")
            .field("name", &self.declaration.name)
            .field("permissions", &self.declaration.permissions)
            .finish()
    }
}

//! `KvStore`: JSON-object values kept in the on-disk store. Values are
//! stored as the protobuf encoding of their `google.protobuf.Struct`, which
//! round-trips every value exactly (JSON would need a conversion both ways).

use std::pin::Pin;

use futures_util::Stream;
use nitric_protocol::kvstore::v1::kv_store_server::KvStore;
use nitric_protocol::kvstore::v1::{
    KvStoreDeleteKeyRequest, KvStoreDeleteKeyResponse, KvStoreGetValueRequest,
    KvStoreGetValueResponse, KvStoreScanKeysRequest, KvStoreScanKeysResponse,
    KvStoreSetValueRequest, KvStoreSetValueResponse, Value, ValueRef,
};
use nitric_protocol::resources::v1::Action;
use prost::Message;
use prost_types::Struct;
use tonic::{Request, Response, Status};

use std::sync::Arc;

use super::kv_keys;
use crate::policies::Policies;
use crate::store::{Cause, Store, StoreError};

pub(super) struct KvStoreService {
    store: Store,
    policies: Arc<Policies>,
}

impl KvStoreService {
    pub(super) fn new(store: Store, policies: Arc<Policies>) -> Self {
        Self { store, policies }
    }
}

/// The (store, key) a request is about, or INVALID_ARGUMENT naming what is
/// missing or which of the cloud's rules for keys the key breaks
/// ([`kv_keys`]).
fn require_ref(value_ref: Option<ValueRef>, request: &str) -> Result<ValueRef, Status> {
    let value_ref =
        value_ref.ok_or_else(|| Status::invalid_argument(format!("{request}.ref is missing")))?;
    if value_ref.store.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{request}.ref.store is empty: name the key/value store"
        )));
    }
    kv_keys::check_key(
        &format!("{request}.ref.key"),
        &value_ref.store,
        &value_ref.key,
    )?;
    Ok(value_ref)
}

/// The status for a failed store operation, whose message names the
/// operation and the cause. UNAVAILABLE when a later try may succeed: the
/// membrane is shutting down (another may be started), or the disk failed
/// (the store reopens the database after an I/O error); INTERNAL otherwise.
fn store_failed(error: StoreError) -> Status {
    let message = error.to_string();
    match error.cause() {
        Cause::Closed | Cause::Unusable { .. } => Status::unavailable(message),
        Cause::Database { error, .. } if error.is_io() => Status::unavailable(message),
        Cause::Database { .. } | Cause::WriterStopped | Cause::Task(_) => Status::internal(message),
    }
}

#[tonic::async_trait]
impl KvStore for KvStoreService {
    async fn get_value(
        &self,
        request: Request<KvStoreGetValueRequest>,
    ) -> Result<Response<KvStoreGetValueResponse>, Status> {
        let value_ref = require_ref(request.into_inner().r#ref, "KvStoreGetValueRequest")?;
        self.policies
            .require(Action::KeyValueStoreRead, &value_ref.store)?;
        let stored = self
            .store
            .get(&value_ref.store, &value_ref.key)
            .await
            .map_err(store_failed)?
            .ok_or_else(|| {
                Status::not_found(format!(
                    "key \"{}\" not found in store \"{}\"",
                    value_ref.key, value_ref.store
                ))
            })?;
        let content = Struct::decode(stored.as_slice()).map_err(|error| {
            Status::data_loss(format!(
                "stored value of key \"{}\" in store \"{}\" is corrupt: {error}",
                value_ref.key, value_ref.store
            ))
        })?;
        Ok(Response::new(KvStoreGetValueResponse {
            value: Some(Value {
                r#ref: Some(value_ref),
                content: Some(content),
            }),
        }))
    }

    async fn set_value(
        &self,
        request: Request<KvStoreSetValueRequest>,
    ) -> Result<Response<KvStoreSetValueResponse>, Status> {
        let request = request.into_inner();
        let value_ref = require_ref(request.r#ref, "KvStoreSetValueRequest")?;
        self.policies
            .require(Action::KeyValueStoreWrite, &value_ref.store)?;
        let content = request.content.ok_or_else(|| {
            Status::invalid_argument(format!(
                "KvStoreSetValueRequest.content is missing (key \"{}\" of store \"{}\")",
                value_ref.key, value_ref.store
            ))
        })?;
        self.store
            .set(&value_ref.store, &value_ref.key, content.encode_to_vec())
            .await
            .map_err(store_failed)?;
        Ok(Response::new(KvStoreSetValueResponse {}))
    }

    async fn delete_key(
        &self,
        request: Request<KvStoreDeleteKeyRequest>,
    ) -> Result<Response<KvStoreDeleteKeyResponse>, Status> {
        let value_ref = require_ref(request.into_inner().r#ref, "KvStoreDeleteKeyRequest")?;
        self.policies
            .require(Action::KeyValueStoreDelete, &value_ref.store)?;
        self.store
            .delete(&value_ref.store, &value_ref.key)
            .await
            .map_err(store_failed)?;
        Ok(Response::new(KvStoreDeleteKeyResponse {}))
    }

    type ScanKeysStream =
        Pin<Box<dyn Stream<Item = Result<KvStoreScanKeysResponse, Status>> + Send + 'static>>;

    async fn scan_keys(
        &self,
        request: Request<KvStoreScanKeysRequest>,
    ) -> Result<Response<Self::ScanKeysStream>, Status> {
        let request = request.into_inner();
        let store = request
            .store
            .map(|store| store.name)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                Status::invalid_argument(
                    "KvStoreScanKeysRequest.store is missing or has an empty name",
                )
            })?;
        kv_keys::check_prefix("KvStoreScanKeysRequest.prefix", &store, &request.prefix)?;
        self.policies.require(Action::KeyValueStoreRead, &store)?;
        let keys = self
            .store
            .keys_with_prefix(&store, &request.prefix)
            .await
            .map_err(store_failed)?;
        let responses = keys
            .into_iter()
            .map(|key| Ok(KvStoreScanKeysResponse { key }));
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            responses,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use tonic::Code;

    use super::*;
    use crate::store::failing_disk::FailingDisk;

    fn value_ref() -> Option<ValueRef> {
        Some(ValueRef {
            store: "s".to_owned(),
            key: "k".to_owned(),
        })
    }

    async fn set(service: &KvStoreService) -> Result<(), Status> {
        let request = KvStoreSetValueRequest {
            r#ref: value_ref(),
            content: Some(Struct::default()),
        };
        service.set_value(Request::new(request)).await.map(drop)
    }

    async fn get(service: &KvStoreService) -> Result<(), Status> {
        let request = KvStoreGetValueRequest { r#ref: value_ref() };
        service.get_value(Request::new(request)).await.map(drop)
    }

    #[tokio::test]
    async fn a_failing_disk_answers_unavailable_naming_the_key_and_the_cause() {
        let disk = FailingDisk::new();
        let store = Store::open_on_backend(disk.clone(), Path::new("failing-disk"), Duration::ZERO)
            .unwrap();
        let service = KvStoreService::new(store, Arc::new(Policies::new(false)));
        set(&service).await.unwrap();

        disk.fail(true);
        for (status, operation) in [
            (set(&service).await.unwrap_err(), "write"),
            (get(&service).await.unwrap_err(), "read"),
        ] {
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            let message = status.message();
            assert!(
                message.starts_with(&format!(
                    "cannot {operation} key \"k\" of store \"s\": key/value database failing-disk"
                )),
                "{message}"
            );
            assert!(
                message.ends_with("I/O error: injected write failure"),
                "{message}"
            );
        }

        // The store reopens the database once the disk works: a retry
        // succeeds.
        disk.fail(false);
        set(&service).await.unwrap();
        get(&service).await.unwrap();
    }
}

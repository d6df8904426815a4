//! `KvStore` against the database on disk.

use std::collections::BTreeMap;

use nitric_protocol::kvstore::v1::kv_store_client::KvStoreClient;
use nitric_protocol::kvstore::v1::{
    KvStoreDeleteKeyRequest, KvStoreGetValueRequest, KvStoreScanKeysRequest,
    KvStoreSetValueRequest, Store, ValueRef,
};
use nitric_protocol::prost_types::{value::Kind, ListValue, Struct, Value};
use nitric_protocol::resources::v1::{Action, ResourceType};
use tonic::transport::Channel;
use tonic::Code;

use crate::common::TestMembrane;

/// Every key/value action.
pub const READ_WRITE_DELETE: [Action; 3] = [
    Action::KeyValueStoreRead,
    Action::KeyValueStoreWrite,
    Action::KeyValueStoreDelete,
];

/// A client for a service that declared `stores` with every permission.
pub async fn client(test: &TestMembrane, stores: &[&str]) -> KvStoreClient<Channel> {
    for store in stores {
        test.allow(ResourceType::KeyValueStore, store, &READ_WRITE_DELETE)
            .await;
    }
    KvStoreClient::new(test.channel().await)
}

fn value_ref(store: &str, key: &str) -> Option<ValueRef> {
    Some(ValueRef {
        store: store.into(),
        key: key.into(),
    })
}

pub fn profile(name: &str) -> Struct {
    let kind = |kind| Value { kind: Some(kind) };
    Struct {
        fields: BTreeMap::from([
            ("name".to_owned(), kind(Kind::StringValue(name.into()))),
            ("age".to_owned(), kind(Kind::NumberValue(42.5))),
            (
                "tags".to_owned(),
                kind(Kind::ListValue(ListValue {
                    values: vec![kind(Kind::BoolValue(true)), kind(Kind::NullValue(0))],
                })),
            ),
            (
                "nested".to_owned(),
                kind(Kind::StructValue(Struct {
                    fields: BTreeMap::from([("x".to_owned(), kind(Kind::NumberValue(1.0)))]),
                })),
            ),
        ]),
    }
}

pub async fn set(kv: &mut KvStoreClient<Channel>, store: &str, key: &str, content: Struct) {
    kv.set_value(KvStoreSetValueRequest {
        r#ref: value_ref(store, key),
        content: Some(content),
    })
    .await
    .expect("set succeeds");
}

pub async fn get(
    kv: &mut KvStoreClient<Channel>,
    store: &str,
    key: &str,
) -> Result<Struct, tonic::Status> {
    let response = kv
        .get_value(KvStoreGetValueRequest {
            r#ref: value_ref(store, key),
        })
        .await?
        .into_inner();
    let value = response.value.expect("a value");
    assert_eq!(value.r#ref, value_ref(store, key));
    Ok(value.content.expect("content"))
}

/// The stream of a scan, or why the membrane refused to start it.
async fn start_scan(
    kv: &mut KvStoreClient<Channel>,
    store: &str,
    prefix: &str,
) -> Result<tonic::Streaming<nitric_protocol::kvstore::v1::KvStoreScanKeysResponse>, tonic::Status>
{
    let request = KvStoreScanKeysRequest {
        store: Some(Store { name: store.into() }),
        prefix: prefix.into(),
    };
    Ok(kv.scan_keys(request).await?.into_inner())
}

async fn scan(kv: &mut KvStoreClient<Channel>, store: &str, prefix: &str) -> Vec<String> {
    let mut stream = start_scan(kv, store, prefix).await.expect("scan starts");
    let mut keys = Vec::new();
    while let Some(response) = stream.message().await.expect("scan continues") {
        keys.push(response.key);
    }
    keys
}

#[tokio::test]
async fn set_then_get_round_trips_the_whole_object() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles"]).await;

    set(&mut kv, "profiles", "ann", profile("Ann")).await;
    assert_eq!(
        get(&mut kv, "profiles", "ann").await.unwrap(),
        profile("Ann")
    );

    // Set replaces; an empty object is a value too.
    set(&mut kv, "profiles", "ann", Struct::default()).await;
    assert_eq!(
        get(&mut kv, "profiles", "ann").await.unwrap(),
        Struct::default()
    );
}

#[tokio::test]
async fn missing_keys_are_not_found_and_deleting_them_is_fine() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles", "other"]).await;

    let status = get(&mut kv, "profiles", "bob").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("bob") && status.message().contains("profiles"));

    set(&mut kv, "profiles", "bob", profile("Bob")).await;
    // Same key, other store: stores are separate.
    assert_eq!(
        get(&mut kv, "other", "bob").await.unwrap_err().code(),
        Code::NotFound
    );

    let delete = || KvStoreDeleteKeyRequest {
        r#ref: value_ref("profiles", "bob"),
    };
    kv.delete_key(delete()).await.expect("delete succeeds");
    assert_eq!(
        get(&mut kv, "profiles", "bob").await.unwrap_err().code(),
        Code::NotFound
    );
    kv.delete_key(delete())
        .await
        .expect("deleting again succeeds");
}

#[tokio::test]
async fn scan_lists_a_stores_keys_with_the_prefix_in_order() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles", "profiles-archive", "empty"]).await;
    for (store, key) in [
        ("profiles", "user:2"),
        ("profiles", "user:10"),
        ("profiles", "admin:1"),
        ("profiles", "user:1"),
        ("profiles-archive", "user:3"),
    ] {
        set(&mut kv, store, key, profile(key)).await;
    }

    assert_eq!(
        scan(&mut kv, "profiles", "user:").await,
        ["user:1", "user:10", "user:2"]
    );
    assert_eq!(
        scan(&mut kv, "profiles", "").await,
        ["admin:1", "user:1", "user:10", "user:2"]
    );
    assert!(scan(&mut kv, "profiles", "nobody").await.is_empty());
    assert!(scan(&mut kv, "empty", "").await.is_empty());
}

#[tokio::test]
async fn requests_without_a_store_or_key_are_invalid() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles"]).await;

    let missing_ref = kv
        .get_value(KvStoreGetValueRequest { r#ref: None })
        .await
        .unwrap_err();
    assert_eq!(missing_ref.code(), Code::InvalidArgument);
    let empty_store = kv
        .set_value(KvStoreSetValueRequest {
            r#ref: value_ref("", "k"),
            content: Some(Struct::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(empty_store.code(), Code::InvalidArgument);
    let empty_key = kv
        .delete_key(KvStoreDeleteKeyRequest {
            r#ref: value_ref("profiles", ""),
        })
        .await
        .unwrap_err();
    assert_eq!(empty_key.code(), Code::InvalidArgument);
    assert_eq!(
        empty_key.message(),
        "KvStoreDeleteKeyRequest.ref.key is empty (store \"profiles\"): \
         a key needs at least 1 byte, as a DynamoDB partition key does"
    );
    let no_content = kv
        .set_value(KvStoreSetValueRequest {
            r#ref: value_ref("profiles", "k"),
            content: None,
        })
        .await
        .unwrap_err();
    assert_eq!(no_content.code(), Code::InvalidArgument);
    let no_store = kv
        .scan_keys(KvStoreScanKeysRequest {
            store: None,
            prefix: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_store.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_store_declared_read_only_refuses_writes_and_deletes() {
    let test = TestMembrane::start().await;
    test.allow(
        ResourceType::KeyValueStore,
        "connections",
        &[Action::KeyValueStoreRead],
    )
    .await;
    let mut kv = KvStoreClient::new(test.channel().await);

    let status = kv
        .set_value(KvStoreSetValueRequest {
            r#ref: value_ref("connections", "ann"),
            content: Some(profile("Ann")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().starts_with(
            "key/value store \"connections\": this service has no policy allowing KeyValueStoreWrite; "
        ) && status.message().contains("\"set\""),
        "{}",
        status.message()
    );
    let status = kv
        .delete_key(KvStoreDeleteKeyRequest {
            r#ref: value_ref("connections", "ann"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("KeyValueStoreDelete"),
        "{}",
        status.message()
    );

    // Reading is allowed: nothing was written.
    assert_eq!(
        get(&mut kv, "connections", "ann").await.unwrap_err().code(),
        Code::NotFound
    );
    assert!(scan(&mut kv, "connections", "").await.is_empty());
}

#[tokio::test]
async fn an_undeclared_store_refuses_everything() {
    let test = TestMembrane::start().await;
    test.allow(
        ResourceType::KeyValueStore,
        "profiles",
        &[Action::KeyValueStoreWrite],
    )
    .await;
    let mut kv = KvStoreClient::new(test.channel().await);
    set(&mut kv, "profiles", "ann", profile("Ann")).await;

    // Write-only: no reads, no scans.
    let status = get(&mut kv, "profiles", "ann").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("KeyValueStoreRead"),
        "{}",
        status.message()
    );
    let status = start_scan(&mut kv, "profiles", "").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Another store was never declared.
    let status = get(&mut kv, "secrets", "ann").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("\"secrets\""),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn without_enforcement_undeclared_stores_are_usable() {
    let test = TestMembrane::start_with(|config| config.enforce_policies = false).await;
    let mut kv = KvStoreClient::new(test.channel().await);
    set(&mut kv, "anything", "k", profile("Ann")).await;
    assert_eq!(get(&mut kv, "anything", "k").await.unwrap(), profile("Ann"));
}

/// The most bytes of a key: a DynamoDB partition key value's limit.
const MAX_KEY_BYTES: usize = 2048;

#[tokio::test]
async fn keys_longer_than_the_cloud_allows_are_invalid_and_not_stored() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles"]).await;
    let longest = "k".repeat(MAX_KEY_BYTES);
    set(&mut kv, "profiles", &longest, profile("Ann")).await;
    assert_eq!(
        get(&mut kv, "profiles", &longest).await.unwrap(),
        profile("Ann")
    );

    // 3 MiB: the message quotes only the start of the key.
    let huge = format!("user:{}", "x".repeat(3 << 20));
    let status = kv
        .set_value(KvStoreSetValueRequest {
            r#ref: value_ref("profiles", &huge),
            content: Some(profile("Bob")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        format!(
            "KvStoreSetValueRequest.ref.key is {} bytes, over the 2048-byte limit of a key \
             (a DynamoDB partition key value) (store \"profiles\", key \"user:{}…\")",
            huge.len(),
            "x".repeat(35)
        )
    );

    // One byte over, counted in UTF-8 bytes rather than characters.
    let over = format!("{}é", "k".repeat(MAX_KEY_BYTES - 1));
    let status = get(&mut kv, "profiles", &over).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("KvStoreGetValueRequest.ref.key is 2049 bytes, over the 2048-byte limit"),
        "{}",
        status.message()
    );
    let status = kv
        .delete_key(KvStoreDeleteKeyRequest {
            r#ref: value_ref("profiles", &over),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("KvStoreDeleteKeyRequest.ref.key is 2049 bytes"),
        "{}",
        status.message()
    );

    // A prefix longer than any key is refused; one as long as a key is not.
    let status = start_scan(&mut kv, "profiles", &over).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(
            "KvStoreScanKeysRequest.prefix is 2049 bytes, over the 2048-byte limit of a key"
        ) && status
            .message()
            .contains("(store \"profiles\", prefix \"kkk"),
        "{}",
        status.message()
    );
    assert_eq!(
        scan(&mut kv, "profiles", &longest).await,
        std::slice::from_ref(&longest)
    );
    assert_eq!(scan(&mut kv, "profiles", "").await, [longest]);
}

#[tokio::test]
async fn keys_with_nul_and_control_characters_round_trip_as_in_the_cloud() {
    let test = TestMembrane::start().await;
    let mut kv = client(&test, &["profiles"]).await;
    for key in ["a\0b", "a", "a\u{1}", "\0"] {
        set(&mut kv, "profiles", key, profile(key)).await;
    }
    assert_eq!(
        get(&mut kv, "profiles", "a\0b").await.unwrap(),
        profile("a\0b")
    );
    assert_eq!(scan(&mut kv, "profiles", "a\0").await, ["a\0b"]);
    assert_eq!(
        scan(&mut kv, "profiles", "").await,
        ["\0", "a", "a\0b", "a\u{1}"]
    );
    kv.delete_key(KvStoreDeleteKeyRequest {
        r#ref: value_ref("profiles", "a\0b"),
    })
    .await
    .expect("delete succeeds");
    assert_eq!(scan(&mut kv, "profiles", "a").await, ["a", "a\u{1}"]);
}

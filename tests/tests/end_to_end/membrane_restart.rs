//! A standalone membrane restarting under a running app: the app reconnects
//! by itself and key/value data survives on disk.

use nitric_local::{Config, LocalMembrane};
use nitric_protocol::kvstore::v1::{
    kv_store_client::KvStoreClient, KvStoreGetValueRequest, KvStoreSetValueRequest, ValueRef,
};
use nitric_protocol::resources::v1::{
    resource_declare_request::Config as Declared, resources_client::ResourcesClient, Action,
    KeyValueStoreResource, PolicyResource, ResourceDeclareRequest, ResourceIdentifier,
    ResourceType,
};
use nitric_tests::{within, App, Client};
use prost_types::{value::Kind, Struct, Value};
use std::net::SocketAddr;
use std::path::Path;

async fn membrane(grpc_addr: SocketAddr, data_dir: &Path) -> LocalMembrane {
    nitric_local::start(Config {
        grpc_addr: Some(grpc_addr),
        ws_port: 0,
        data_dir: data_dir.to_owned(),
        announce: false,
        ..Config::default()
    })
    .await
    .unwrap()
}

/// Declares the store "notes" with read and write permissions, as the
/// service using it would: the membrane enforces policies.
async fn declare_notes(address: SocketAddr) {
    let id = |kind: ResourceType, name: &str| ResourceIdentifier {
        r#type: kind as i32,
        name: name.into(),
    };
    let mut resources = ResourcesClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let store = ResourceDeclareRequest {
        id: Some(id(ResourceType::KeyValueStore, "notes")),
        config: Some(Declared::KeyValueStore(KeyValueStoreResource {})),
    };
    let policy = ResourceDeclareRequest {
        id: Some(id(ResourceType::Policy, "")),
        config: Some(Declared::Policy(PolicyResource {
            principals: vec![id(ResourceType::Service, "")],
            actions: vec![
                Action::KeyValueStoreRead as i32,
                Action::KeyValueStoreWrite as i32,
            ],
            resources: vec![id(ResourceType::KeyValueStore, "notes")],
        })),
    };
    resources.declare(store).await.unwrap();
    resources.declare(policy).await.unwrap();
}

fn note_ref() -> Option<ValueRef> {
    Some(ValueRef {
        store: "notes".into(),
        key: "greeting".into(),
    })
}

#[tokio::test]
async fn the_app_reconnects_and_data_survives_a_membrane_restart() {
    let data = tempfile::tempdir().unwrap();
    let store_dir = data.path().join("membrane");
    // A fixed port, so the restarted membrane is where the app looks.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let first = membrane(address, &store_dir).await;
    let app = App::start(
        env!("CARGO_BIN_EXE_chat"),
        data.path(),
        &[("SERVICE_ADDRESS", &address.to_string())],
    );
    let url = within("the chat registering", first.wait_for_socket("public")).await;
    let mut client = Client::connect(&url).await;
    client.send("before").await;
    assert_eq!(client.receive().await, "before");

    declare_notes(address).await;
    let mut kv = KvStoreClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let content = Struct {
        fields: [(
            "text".to_owned(),
            Value {
                kind: Some(Kind::StringValue("kept".into())),
            },
        )]
        .into(),
    };
    kv.set_value(KvStoreSetValueRequest {
        r#ref: note_ref(),
        content: Some(content.clone()),
    })
    .await
    .unwrap();
    drop(kv);

    first.shutdown().await;
    let second = membrane(address, &store_dir).await;

    // Declarations live as long as a membrane: declare again.
    declare_notes(address).await;
    let mut kv = KvStoreClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let stored = kv
        .get_value(KvStoreGetValueRequest { r#ref: note_ref() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.value.and_then(|value| value.content), Some(content));

    let url = within(
        "the chat re-registering after the restart",
        second.wait_for_socket("public"),
    )
    .await;
    let mut client = Client::connect(&url).await;
    client.send("after").await;
    assert_eq!(client.receive().await, "after");

    drop(app);
    second.shutdown().await;
}

//! The chat example, driven by real websocket clients.

use nitric_local::Config;
use nitric_protocol::kvstore::v1::{kv_store_client::KvStoreClient, KvStoreScanKeysRequest, Store};
use nitric_tests::{within, App, Client};
use std::time::Duration;

const CHAT: &str = env!("CARGO_BIN_EXE_chat");

#[tokio::test]
async fn three_clients_chat_on_the_embedded_membrane() {
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(CHAT, data.path(), &[]);
    let url = app.socket_url("public").await;
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");

    let mut ada = Client::connect(&url).await;
    let mut bob = Client::connect(&url).await;
    let mut cy = Client::connect(&url).await;
    ada.send("hello from ada").await;
    for client in [&mut ada, &mut bob, &mut cy] {
        assert_eq!(client.receive().await, "hello from ada");
    }

    cy.close().await;
    bob.send("cy left").await;
    for client in [&mut ada, &mut bob] {
        assert_eq!(client.receive().await, "cy left");
    }

    app.terminate();
    let (status, stderr) = app.exit().await;
    assert!(
        status.success(),
        "the chat exits 0 on SIGTERM: {status}\n{stderr}"
    );
}

#[tokio::test]
async fn a_departed_connection_leaves_the_store() {
    let data = tempfile::tempdir().unwrap();
    let membrane = nitric_local::start(Config {
        grpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        ws_port: 0,
        data_dir: data.path().join("membrane"),
        announce: false,
        ..Config::default()
    })
    .await
    .unwrap();
    let address = membrane.grpc_addr().expect("a gRPC listener").to_string();
    let app = App::start(CHAT, data.path(), &[("SERVICE_ADDRESS", &address)]);
    let url = within("the chat registering", membrane.wait_for_socket("public")).await;

    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Client::connect(&url).await);
    }
    let before = stored_connections(&address).await;
    assert_eq!(before.len(), 3, "{before:?}");

    clients.pop().unwrap().close().await;
    let after = within(
        "the runtime taking the departed connection out of the lobby",
        async {
            loop {
                let keys = stored_connections(&address).await;
                if keys.len() == 2 {
                    return keys;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    assert!(
        after.iter().all(|id| before.contains(id)),
        "{before:?} -> {after:?}"
    );

    clients[0].send("two of us").await;
    for client in &mut clients {
        assert_eq!(client.receive().await, "two of us");
    }
    drop(app);
    membrane.shutdown().await;
}

/// The members of the lobby, as the chat's rooms keep them (see docs/rooms-and-state.md,
/// "Rooms").
async fn stored_connections(address: &str) -> Vec<String> {
    let mut client = KvStoreClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let request = KvStoreScanKeysRequest {
        store: Some(Store {
            name: "connections".into(),
        }),
        prefix: "room:public:lobby:".into(),
    };
    let mut keys = client.scan_keys(request).await.unwrap().into_inner();
    let mut found = Vec::new();
    while let Some(key) = keys.message().await.unwrap() {
        found.push(key.key);
    }
    found
}

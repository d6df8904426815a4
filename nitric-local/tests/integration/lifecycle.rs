//! Starting, stopping and restarting a membrane.

use futures_util::SinkExt;
use nitric_local::StartError;
use nitric_protocol::kvstore::v1::kv_store_client::KvStoreClient;
use nitric_protocol::kvstore::v1::{KvStoreGetValueRequest, KvStoreSetValueRequest, ValueRef};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{
    config_for, finish_closing, next_frame, open_client, within, Client, TestMembrane,
};
use crate::kvstore::{get, profile, set, READ_WRITE_DELETE};
use nitric_protocol::resources::v1::ResourceType;

/// A key/value client of the membrane at `addr`, with the "profiles" store
/// declared and every permission on it.
async fn profiles(addr: std::net::SocketAddr) -> KvStoreClient<tonic::transport::Channel> {
    let channel = crate::common::connect(addr).await;
    crate::common::allow(
        &channel,
        ResourceType::KeyValueStore,
        "profiles",
        &READ_WRITE_DELETE,
    )
    .await;
    KvStoreClient::new(channel)
}

#[tokio::test]
async fn stored_values_survive_a_restart_on_the_same_data_dir() {
    let TestMembrane { membrane, data } = TestMembrane::start().await;
    // Declarations last as long as the membrane: each one needs them.
    let mut kv = profiles(membrane.grpc_addr().expect("a gRPC listener")).await;
    set(&mut kv, "profiles", "ann", profile("Ann")).await;
    drop(kv);
    within("shutdown", membrane.shutdown()).await;

    let restarted = nitric_local::start(config_for(data.path()))
        .await
        .expect("the same data dir opens again right after shutdown");
    let mut kv = profiles(restarted.grpc_addr().expect("a gRPC listener")).await;
    assert_eq!(
        get(&mut kv, "profiles", "ann").await.unwrap(),
        profile("Ann")
    );
    within("shutdown", restarted.shutdown()).await;
}

#[tokio::test]
async fn in_process_calls_reach_the_same_services_until_shutdown() {
    let TestMembrane {
        membrane,
        data: _data,
    } = TestMembrane::start().await;
    let mut over_tcp = profiles(membrane.grpc_addr().expect("a gRPC listener")).await;
    let mut in_process = KvStoreClient::new(membrane.in_process());
    let ann = || {
        Some(ValueRef {
            store: "profiles".into(),
            key: "ann".into(),
        })
    };
    within(
        "an in-process set",
        in_process.set_value(KvStoreSetValueRequest {
            r#ref: ann(),
            content: Some(profile("Ann")),
        }),
    )
    .await
    .expect("the in-process set succeeds");
    // What went in through memory is what TCP clients see.
    assert_eq!(
        get(&mut over_tcp, "profiles", "ann").await.unwrap(),
        profile("Ann")
    );
    drop(over_tcp);

    within("shutdown", membrane.shutdown()).await;
    let refused = within(
        "an in-process get",
        in_process.get_value(KvStoreGetValueRequest { r#ref: ann() }),
    )
    .await
    .expect_err("the membrane has stopped");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("stopped"), "{refused:?}");
}

#[tokio::test]
async fn a_data_dir_in_use_is_refused_with_its_path() {
    let test = TestMembrane::start().await;
    let error = nitric_local::start(config_for(test.data.path()))
        .await
        .expect_err("the database is taken");
    assert!(matches!(error, StartError::StoreInUse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&test.data.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("already in use"), "{message}");
}

#[tokio::test]
async fn a_data_dir_that_cannot_be_created_is_refused_with_its_path() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let error = nitric_local::start(config_for(&file.join("inside")))
        .await
        .expect_err("a file is in the way");
    assert!(matches!(error, StartError::DataDir { .. }), "{error:?}");
    assert!(error.to_string().contains("not-a-dir"), "{error}");
}

#[tokio::test]
async fn a_grpc_address_in_use_is_refused_with_the_address() {
    let test = TestMembrane::start().await;
    let other_data = tempfile::tempdir().unwrap();
    let mut config = config_for(other_data.path());
    config.grpc_addr = test.membrane.grpc_addr();
    let error = nitric_local::start(config)
        .await
        .expect_err("the port is taken");
    assert!(matches!(error, StartError::GrpcBind { .. }), "{error:?}");
    assert!(
        error.to_string().contains(
            &test
                .membrane
                .grpc_addr()
                .expect("a gRPC listener")
                .to_string()
        ),
        "{error}"
    );
}

#[tokio::test]
async fn shutdown_closes_websockets_and_frees_the_ports() {
    let TestMembrane {
        membrane,
        data: _data,
    } = TestMembrane::start().await;
    let channel = crate::common::connect(membrane.grpc_addr().expect("a gRPC listener")).await;
    let test_app = register_all(channel, "chat").await;
    let url = membrane.socket_url("chat").unwrap();
    let client = open_client(&url).await.unwrap();
    let grpc_addr = membrane.grpc_addr().expect("a gRPC listener");
    shut_down_while_connected(membrane, client).await;
    drop(test_app);
    std::net::TcpListener::bind(grpc_addr).expect("the gRPC port is free");
    let gateway_addr = url.trim_start_matches("ws://");
    std::net::TcpListener::bind(gateway_addr).expect("the gateway port is free");
}

#[tokio::test]
async fn in_process_event_streams_serve_a_socket_until_shutdown() {
    let TestMembrane {
        membrane,
        data: _data,
    } = TestMembrane::start().await;
    let mut events = register_all(membrane.in_process(), "chat").await;
    let url = membrane.socket_url("chat").unwrap();
    // The handshake waits for the connect event's answer, given in memory.
    let mut client = open_client(&url).await.expect("the connection is accepted");
    assert_eq!(events[0].next().await.socket_name, "chat");
    client
        .send(Message::text("over memory"))
        .await
        .expect("the message is sent");
    let message = events[2].next().await;
    assert_eq!(message.socket_name, "chat");
    shut_down_while_connected(membrane, client).await;
    // The disconnect reached the app before its streams ended.
    assert_eq!(events[1].next().await.socket_name, "chat");
    for handler in &mut events {
        handler.ended().await;
    }
}

/// Shuts `membrane` down while `client` is connected, and checks that the
/// client got a going-away close frame (which it answers meanwhile).
async fn shut_down_while_connected(membrane: nitric_local::LocalMembrane, mut client: Client) {
    let first_frame = tokio::spawn(async move {
        let frame = next_frame(&mut client).await;
        finish_closing(client);
        frame
    });

    within("shutdown", membrane.shutdown()).await;

    match within("the close frame", first_frame).await.unwrap() {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a going-away close frame, got {other:?}"),
    }
}

/// Accepting handlers for every event of `socket`, kept alive by the result.
async fn register_all(
    channel: impl crate::common::Transport + Clone,
    socket: &str,
) -> Vec<crate::common::Events> {
    use crate::common::{accept, AppStream};
    use nitric_protocol::websockets::v1::{WebsocketEventResponse, WebsocketEventType};
    let mut events = Vec::new();
    for event in [
        WebsocketEventType::Connect,
        WebsocketEventType::Disconnect,
        WebsocketEventType::Message,
    ] {
        let stream = AppStream::register(channel.clone(), socket, event)
            .await
            .expect("registered");
        events.push(stream.answer_all(move |_| match event {
            WebsocketEventType::Connect => accept(),
            _ => WebsocketEventResponse::default(),
        }));
    }
    events
}

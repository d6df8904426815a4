//! `Websocket`: sending to, closing and locating connections.

use nitric_protocol::resources::v1::{Action, ResourceType};
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::{
    WebsocketCloseConnectionRequest, WebsocketDetailsRequest, WebsocketSendRequest,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tonic::transport::Channel;
use tonic::Code;

use crate::common::{finish_closing, next_frame, TestMembrane};

/// A client for a service that declared `sockets` (and so may manage them).
async fn manager(test: &TestMembrane, sockets: &[&str]) -> WebsocketClient<Channel> {
    for socket in sockets {
        test.allow(ResourceType::Websocket, socket, &[Action::WebsocketManage])
            .await;
    }
    WebsocketClient::new(test.channel().await)
}

fn send(socket: &str, connection_id: &str, data: &[u8]) -> WebsocketSendRequest {
    WebsocketSendRequest {
        socket_name: socket.into(),
        connection_id: connection_id.into(),
        data: data.to_vec(),
    }
}

fn close(socket: &str, connection_id: &str) -> WebsocketCloseConnectionRequest {
    WebsocketCloseConnectionRequest {
        socket_name: socket.into(),
        connection_id: connection_id.into(),
    }
}

#[tokio::test]
async fn send_message_delivers_text_or_binary_frames() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;
    let mut websocket = manager(&test, &["chat"]).await;

    websocket
        .send_message(send("chat", &id, "héllo".as_bytes()))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut client).await, Some(Message::text("héllo")));

    websocket
        .send_message(send("Chat", &id, &[0xff, 0xfe]))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        Some(Message::binary(vec![0xff, 0xfe]))
    );
}

#[tokio::test]
async fn unknown_sockets_and_connections_are_not_found() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (_client, id) = app.connect().await;
    let mut websocket = manager(&test, &["chat", "lobby"]).await;

    let status = websocket
        .send_message(send("lobby", &id, b"x"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("\"lobby\"") && status.message().contains(&id),
        "{}",
        status.message()
    );

    let status = websocket
        .send_message(send("chat", "nobody", b"x"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("\"chat\"") && status.message().contains("nobody"),
        "{}",
        status.message()
    );

    let status = websocket
        .close_connection(close("chat", "nobody"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = websocket
        .close_connection(close("lobby", &id))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn close_connection_closes_normally_and_reports_the_disconnect() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;
    let mut websocket = manager(&test, &["chat"]).await;

    websocket
        .close_connection(close("chat", &id))
        .await
        .unwrap();

    match next_frame(&mut client).await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a normal close frame, got {other:?}"),
    }
    finish_closing(client);
    assert_eq!(app.disconnects.next().await.connection_id, id);
    let status = websocket
        .send_message(send("chat", &id, b"late"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn socket_details_give_the_gateway_url() {
    let test = TestMembrane::start().await;
    let app = test.accepting_app("chat").await;
    let mut websocket = manager(&test, &["chat", "lobby"]).await;

    let details = websocket
        .socket_details(WebsocketDetailsRequest {
            socket_name: "chat".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(details.url, app.url);

    let status = websocket
        .socket_details(WebsocketDetailsRequest {
            socket_name: "lobby".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("\"lobby\""));
}

#[tokio::test]
async fn an_undeclared_socket_cannot_be_managed() {
    let test = TestMembrane::start().await;
    // Handlers alone do not grant WebsocketManage: the declaration does.
    let mut app = test.accepting_handlers("chat").await;
    let (_client, id) = app.connect().await;
    let mut websocket = manager(&test, &["lobby"]).await;

    let status = websocket
        .send_message(send("chat", &id, b"x"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().starts_with(
            "websocket \"chat\": this service has no policy allowing WebsocketManage; "
        ),
        "{}",
        status.message()
    );
    let status = websocket
        .close_connection(close("chat", &id))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = websocket
        .socket_details(WebsocketDetailsRequest {
            socket_name: "chat".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Once declared (names ignore case, as everywhere for sockets), it can.
    test.allow(ResourceType::Websocket, "CHAT", &[Action::WebsocketManage])
        .await;
    websocket
        .send_message(send("chat", &id, b"now allowed"))
        .await
        .unwrap();
}

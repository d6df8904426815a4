//! `WebsocketHandler.HandleEvents` registration rules.

use nitric_protocol::websockets::v1::{
    client_message, ClientMessage, WebsocketEventResponse, WebsocketEventType,
};
use tonic::Code;

use crate::common::{within, AppStream, TestMembrane};

#[tokio::test]
async fn registration_is_answered_and_starts_the_gateway() {
    let test = TestMembrane::start().await;
    assert_eq!(test.membrane.socket_url("chat"), None);

    let _handler = test.handler("chat", WebsocketEventType::Message).await;

    let url = test.membrane.socket_url("chat").expect("gateway runs");
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    assert_eq!(test.membrane.socket_url("CHAT"), Some(url.clone()));
    assert_eq!(
        within("the socket", test.membrane.wait_for_socket("chat")).await,
        url
    );
}

#[tokio::test]
async fn a_second_handler_for_the_same_socket_and_event_is_refused_ignoring_case() {
    let test = TestMembrane::start().await;
    let first = test.handler("Chat", WebsocketEventType::Connect).await;

    let refusal = AppStream::register(test.channel().await, "chat", WebsocketEventType::Connect)
        .await
        .err()
        .expect("the duplicate is refused");
    assert_eq!(refusal.code(), Code::AlreadyExists);
    assert!(
        refusal.message().contains("\"chat\""),
        "{}",
        refusal.message()
    );
    assert!(
        refusal.message().contains("connect"),
        "{}",
        refusal.message()
    );

    // Other event types of the same socket are free.
    test.handler("chat", WebsocketEventType::Message).await;

    // Once the first stream ends, its slot is free again.
    drop(first);
    within("the slot to free up", async {
        loop {
            match AppStream::register(test.channel().await, "CHAT", WebsocketEventType::Connect)
                .await
            {
                Ok(_) => break,
                Err(status) if status.code() == Code::AlreadyExists => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await
                }
                Err(status) => panic!("unexpected refusal: {status}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_first_message_must_be_a_registration() {
    let test = TestMembrane::start().await;
    let not_a_registration = ClientMessage {
        id: "1".into(),
        content: Some(client_message::Content::WebsocketEventResponse(
            WebsocketEventResponse::default(),
        )),
    };
    let mut stream = AppStream::open(test.channel().await, not_a_registration)
        .await
        .expect("the stream opens");
    let status = stream.next_message().await.expect_err("the stream fails");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("registration_request"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn an_empty_socket_name_is_refused() {
    let test = TestMembrane::start().await;
    let status = AppStream::register(test.channel().await, "", WebsocketEventType::Message)
        .await
        .err()
        .expect("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
}

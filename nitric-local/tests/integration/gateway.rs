//! The websocket gateway: connects, messages and disconnects as events.

use futures_util::SinkExt;
use nitric_protocol::websockets::v1::websocket_event_request::WebsocketEvent;
use nitric_protocol::websockets::v1::{WebsocketEventResponse, WebsocketEventType};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{
    accept, body, next_frame, open_client, refused_status, reject, within, TestMembrane,
};

#[tokio::test]
async fn the_connect_event_carries_the_query_and_a_fresh_uuid() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;

    let _first = open_client(&format!("{}/?user=ann&tag=a&tag=b%20c&empty=", app.url))
        .await
        .expect("accepted");
    let event = app.connects.next().await;
    assert_eq!(event.socket_name, "chat");
    let Some(WebsocketEvent::Connection(connection)) = &event.websocket_event else {
        panic!("expected a connection event, got {event:?}");
    };
    let params = &connection.query_params;
    assert_eq!(params["user"].value, ["ann"]);
    assert_eq!(params["tag"].value, ["a", "b c"]);
    assert_eq!(params["empty"].value, [""]);
    assert_eq!(params.len(), 3);
    let id = uuid::Uuid::parse_str(&event.connection_id).expect("the id is a UUID");
    assert_eq!(id.get_version_num(), 4);

    let _second = open_client(&app.url).await.expect("accepted");
    let second = app.connects.next().await;
    assert_ne!(second.connection_id, event.connection_id);
    let Some(WebsocketEvent::Connection(connection)) = &second.websocket_event else {
        panic!("expected a connection event");
    };
    assert!(connection.query_params.is_empty());
}

#[tokio::test]
async fn a_rejected_connect_fails_the_handshake_with_403() {
    let test = TestMembrane::start().await;
    let _connects = test
        .handler("chat", WebsocketEventType::Connect)
        .await
        .answer_all(|_| reject());
    let url = test.membrane.socket_url("chat").unwrap();
    assert_eq!(refused_status(&url).await, 403);
}

#[tokio::test]
async fn without_a_connect_handler_the_handshake_fails_with_503() {
    let test = TestMembrane::start().await;
    // A message handler alone starts the gateway; nobody answers connects.
    let _messages = test.handler("chat", WebsocketEventType::Message).await;
    let url = test.membrane.socket_url("chat").unwrap();
    assert_eq!(refused_status(&url).await, 503);
}

#[tokio::test]
async fn a_connect_handler_that_goes_away_fails_the_handshake_with_503() {
    let test = TestMembrane::start().await;
    let mut connects = test.handler("chat", WebsocketEventType::Connect).await;
    let url = test.membrane.socket_url("chat").unwrap();

    let handshake = tokio::spawn(async move { refused_status(&url).await });
    let _ = connects.next_event().await;
    drop(connects);
    assert_eq!(within("the refusal", handshake).await.unwrap(), 503);
}

#[tokio::test]
async fn a_connect_handler_registering_late_still_answers() {
    let test = TestMembrane::start().await;
    let _messages = test.handler("chat", WebsocketEventType::Message).await;
    let url = test.membrane.socket_url("chat").unwrap();

    // The client arrives while the application is (re)starting.
    let client = tokio::spawn(async move { open_client(&url).await.map(|_| ()) });
    let mut connects = test.handler("chat", WebsocketEventType::Connect).await;
    let (id, _) = connects.next_event().await;
    connects.answer(&id, accept()).await;
    within("the handshake", client)
        .await
        .unwrap()
        .expect("accepted");
}

#[tokio::test]
async fn messages_of_one_connection_arrive_in_order_and_others_are_not_held_up() {
    let test = TestMembrane::start().await;
    let mut connects = test
        .handler("chat", WebsocketEventType::Connect)
        .await
        .answer_all(|_| accept());
    // Message events are answered by hand, to hold some answers back.
    let mut messages = test.handler("chat", WebsocketEventType::Message).await;
    let url = test.membrane.socket_url("chat").unwrap();

    let mut slow = open_client(&url).await.unwrap();
    let slow_id = connects.next().await.connection_id;
    let mut fast = open_client(&url).await.unwrap();
    let fast_id = connects.next().await.connection_id;

    for text in ["a1", "a2", "a3"] {
        slow.send(Message::text(text)).await.unwrap();
    }
    let (a1, event) = messages.next_event().await;
    assert_eq!(
        (event.connection_id.as_str(), body(&event)),
        (slow_id.as_str(), &b"a1"[..])
    );

    // a1 is unanswered: the slow connection's next frames wait, the other
    // connection's do not.
    fast.send(Message::binary(vec![0xff, 0x00])).await.unwrap();
    let (b1, event) = messages.next_event().await;
    assert_eq!(event.connection_id, fast_id);
    assert_eq!(body(&event), [0xff, 0x00]);
    messages
        .answer(&b1, WebsocketEventResponse::default())
        .await;
    fast.send(Message::text("b2")).await.unwrap();
    let (b2, event) = messages.next_event().await;
    assert_eq!(
        (event.connection_id.as_str(), body(&event)),
        (fast_id.as_str(), &b"b2"[..])
    );
    messages
        .answer(&b2, WebsocketEventResponse::default())
        .await;

    messages
        .answer(&a1, WebsocketEventResponse::default())
        .await;
    for expected in ["a2", "a3"] {
        let (id, event) = messages.next_event().await;
        assert_eq!(event.connection_id, slow_id);
        assert_eq!(body(&event), expected.as_bytes());
        messages
            .answer(&id, WebsocketEventResponse::default())
            .await;
    }
}

#[tokio::test]
async fn closing_the_client_sends_a_disconnect_event() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;

    client.close(None).await.unwrap();
    // The gateway answers the close handshake.
    assert!(matches!(
        next_frame(&mut client).await,
        Some(Message::Close(_)) | None
    ));

    let event = app.disconnects.next().await;
    assert_eq!(event.connection_id, id);
    assert!(matches!(
        event.websocket_event,
        Some(WebsocketEvent::Disconnection(_))
    ));
}

#[tokio::test]
async fn a_dropped_tcp_connection_sends_a_disconnect_event() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (client, id) = app.connect().await;

    drop(client);

    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn an_oversized_message_closes_only_its_connection() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (huge, huge_id) = app.connect().await;
    let (mut other, other_id) = app.connect().await;

    // The gateway stops reading mid-frame, so this send may never finish.
    let (mut huge_out, mut huge_in) = futures_util::StreamExt::split(huge);
    let sender = tokio::spawn(async move {
        let _ = huge_out
            .send(Message::binary(vec![7u8; 2 * 1024 * 1024]))
            .await;
    });
    // Either the close frame arrives, or the connection is cut before it
    // can be read; both end the connection.
    match within(
        "the oversized connection to end",
        futures_util::StreamExt::next(&mut huge_in),
    )
    .await
    {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Size),
        Some(Ok(unexpected)) => panic!("expected the connection to close, got {unexpected:?}"),
        Some(Err(_)) | None => {}
    }
    sender.abort();
    assert_eq!(app.disconnects.next().await.connection_id, huge_id);

    other.send(Message::text("still here")).await.unwrap();
    let event = app.messages.next().await;
    assert_eq!(event.connection_id, other_id);
    assert_eq!(body(&event), b"still here");
}

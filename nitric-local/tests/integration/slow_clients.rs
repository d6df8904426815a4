//! Clients that do not read: they are closed, and nobody else waits for them.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nitric_protocol::resources::v1::{Action, ResourceType};
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::{
    WebsocketCloseConnectionRequest, WebsocketEventResponse, WebsocketEventType,
    WebsocketSendRequest,
};
use tokio_tungstenite::tungstenite::Message;
use tonic::Code;

use crate::common::{accept, body, next_frame, open_client, within, TestMembrane};

/// A message big enough that a few dozen fill the kernel's socket buffers.
const BROADCAST_SIZE: usize = 100 * 1024;

fn send(connection_id: &str, data: Vec<u8>) -> WebsocketSendRequest {
    WebsocketSendRequest {
        socket_name: "chat".into(),
        connection_id: connection_id.into(),
        data,
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_the_others_get_every_broadcast() {
    let test = TestMembrane::start_with(|config| {
        config.max_queued_bytes = 256 * 1024;
        // Longer than `within` waits: a send that waited for the client
        // that reads nothing would fail the test instead of slowing it.
        config.write_timeout = Duration::from_secs(3600);
    })
    .await;
    test.allow(ResourceType::Websocket, "chat", &[Action::WebsocketManage])
        .await;
    let mut connects = test
        .handler("chat", WebsocketEventType::Connect)
        .await
        .answer_all(|_| accept());
    let mut disconnects = test
        .handler("chat", WebsocketEventType::Disconnect)
        .await
        .answer_all(|_| WebsocketEventResponse::default());
    let mut messages = test.handler("chat", WebsocketEventType::Message).await;
    let url = test.membrane.socket_url("chat").unwrap();

    let _slow = open_client(&url).await.unwrap(); // never read
    let slow_id = connects.next().await.connection_id;
    let mut reader = open_client(&url).await.unwrap();
    let reader_id = connects.next().await.connection_id;
    let sender = open_client(&url).await.unwrap();
    let sender_id = connects.next().await.connection_id;

    // Every message the sender sends is broadcast to the other two, as a
    // chat app's message handler does; a broadcast is answered only once
    // every send returned, so a send that waited would stall the sender.
    const ROUNDS: usize = 80;
    let (mut sender_out, mut sender_in) = sender.split();
    let sending = tokio::spawn(async move {
        for round in 0..ROUNDS {
            sender_out
                .send(Message::text(round.to_string()))
                .await
                .unwrap();
        }
        sender_out
    });
    let draining = tokio::spawn(async move { while let Some(Ok(_)) = sender_in.next().await {} });
    let reading = tokio::spawn(async move {
        let mut received = Vec::new();
        while received.len() < ROUNDS {
            match next_frame(&mut reader).await {
                Some(Message::Text(text)) => received.push(text),
                other => panic!("expected a broadcast, got {other:?}"),
            }
        }
        (received, reader)
    });
    let mut websocket = WebsocketClient::new(test.channel().await);
    let mut slow_refusal = None;
    for round in 0..ROUNDS {
        let (id, event) = messages.next_event().await;
        assert_eq!(event.connection_id, sender_id);
        assert_eq!(body(&event), round.to_string().as_bytes());
        let mut data = round.to_string().into_bytes();
        data.resize(BROADCAST_SIZE, b'.');
        for to in [&slow_id, &reader_id] {
            match within("a send", websocket.send_message(send(to, data.clone()))).await {
                Ok(_) => {}
                Err(status) if to == &slow_id => {
                    assert_eq!(status.code(), Code::NotFound, "{status:?}");
                    slow_refusal.get_or_insert(status);
                }
                Err(status) => panic!("sending to the reading client failed: {status:?}"),
            }
        }
        messages
            .answer(&id, WebsocketEventResponse::default())
            .await;
    }
    let _sender = within("the sender", sending).await.unwrap();

    let (received, _reader) = within("the broadcasts", reading).await.unwrap();
    for (round, text) in received.iter().enumerate() {
        assert_eq!(text.len(), BROADCAST_SIZE);
        assert!(text.starts_with(&format!("{round}.")), "round {round}");
    }

    let refusal = slow_refusal.expect("sending to the client that never reads failed");
    let message = refusal.message();
    assert!(
        message.contains(&slow_id) && message.contains("262144") && message.contains("not reading"),
        "{message}"
    );
    assert_eq!(disconnects.next().await.connection_id, slow_id);
    draining.abort();
}

#[tokio::test]
async fn close_connection_is_prompt_when_the_client_reads_nothing() {
    // Longer than `within` waits: waiting for the blocked writes would
    // fail the test.
    let test = TestMembrane::start_with(|config| {
        config.max_queued_bytes = 64 * 1024 * 1024;
        config.write_timeout = Duration::from_secs(3600);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (_slow, id) = app.connect().await; // never read
    let mut websocket = WebsocketClient::new(test.channel().await);

    // More than the kernel buffers: the gateway's writes to it block.
    for _ in 0..100 {
        websocket
            .send_message(send(&id, vec![b'x'; BROADCAST_SIZE]))
            .await
            .unwrap();
    }
    within(
        "closing the connection",
        websocket.close_connection(WebsocketCloseConnectionRequest {
            socket_name: "chat".into(),
            connection_id: id.clone(),
        }),
    )
    .await
    .unwrap();
    // The close frame cannot get through, so the TCP connection is dropped
    // after a short grace instead of after the write timeout.
    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let test = TestMembrane::start_with(|config| {
        config.max_queued_bytes = 64 * 1024 * 1024;
        config.write_timeout = Duration::from_millis(300);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (_slow, id) = app.connect().await; // never read
    let mut websocket = WebsocketClient::new(test.channel().await);

    // The queue holds 64 MiB and at most 20 MiB are sent: only the write
    // timeout can drop the client.
    let mut refused = None;
    for _ in 0..200 {
        if let Err(status) = websocket
            .send_message(send(&id, vec![b'x'; BROADCAST_SIZE]))
            .await
        {
            refused = Some(status);
            break;
        }
    }
    assert_eq!(app.disconnects.next().await.connection_id, id);
    if let Some(status) = refused {
        assert_eq!(status.code(), Code::NotFound);
    }
}

//! The gateway's limits, each with a short configured value.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::{
    WebsocketEventResponse, WebsocketEventType, WebsocketSendRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use tonic::Code;

use crate::common::{
    accept, body, finish_closing, next_frame, open_client, refused_status, within, Client,
    TestMembrane,
};

/// Waits for the gateway to close `client`: the close frame's code, or
/// `None` if the connection was cut without one.
async fn closed_with(client: &mut Client) -> Option<CloseCode> {
    loop {
        match within("the connection to close", client.next()).await {
            Some(Ok(Message::Close(frame))) => return frame.map(|frame| frame.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn a_frame_over_the_frame_limit_closes_with_1009() {
    let test = TestMembrane::start_with(|config| config.max_frame_size = 1024).await;
    let mut app = test.accepting_app("chat").await;
    let (mut small, _) = app.connect().await;
    small.send(Message::binary(vec![1u8; 1024])).await.unwrap();
    assert_eq!(body(&app.messages.next().await).len(), 1024);

    let (mut big, id) = app.connect().await;
    big.send(Message::binary(vec![1u8; 1025])).await.unwrap();
    assert_eq!(closed_with(&mut big).await, Some(CloseCode::Size));
    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn a_message_over_the_message_limit_closes_with_1009_even_in_small_frames() {
    let test = TestMembrane::start_with(|config| {
        config.max_frame_size = 1024;
        config.max_message_size = 4096;
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;

    // Four frames of 1 KiB make a message of exactly the limit.
    let fragments = |count: usize| {
        (0..count).map(move |index| {
            let opcode = if index == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(Frame::message(vec![2u8; 1024], opcode, index + 1 == count))
        })
    };
    for frame in fragments(4) {
        client.send(frame).await.unwrap();
    }
    assert_eq!(body(&app.messages.next().await).len(), 4096);

    for frame in fragments(5) {
        if client.send(frame).await.is_err() {
            break;
        }
    }
    assert_eq!(closed_with(&mut client).await, Some(CloseCode::Size));
    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn send_message_over_the_message_limit_is_refused() {
    let test = TestMembrane::start().await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;
    let mut websocket = WebsocketClient::new(test.channel().await);
    let send = |size: usize| WebsocketSendRequest {
        socket_name: "chat".into(),
        connection_id: id.clone(),
        data: vec![b'a'; size],
    };

    let status = websocket
        .send_message(send(128 * 1024 + 1))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("131073 bytes") && status.message().contains("131072 bytes"),
        "{}",
        status.message()
    );

    websocket.send_message(send(128 * 1024)).await.unwrap();
    match next_frame(&mut client).await {
        Some(Message::Text(text)) => assert_eq!(text.len(), 128 * 1024),
        other => panic!("expected the largest message, got {other:?}"),
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_1001() {
    let test = TestMembrane::start_with(|config| {
        config.idle_timeout = Duration::from_millis(700);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (mut client, id) = app.connect().await;

    // Messages keep it open past the idle timeout: one every 120 ms (the
    // pause is the test: a client that talks less often than the timeout
    // but never falls silent that long), for more than the timeout. The
    // clock only says when to stop sending; nothing asserts on it.
    let talking = Instant::now();
    let mut sent = 0;
    while talking.elapsed() <= Duration::from_millis(900) {
        client.send(Message::text("still here")).await.unwrap();
        app.messages.next().await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    assert!(sent > 1, "{sent} messages");
    // ...and silence closes it.
    assert_eq!(closed_with(&mut client).await, Some(CloseCode::Away));
    finish_closing(client);
    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn a_connection_is_closed_with_1001_at_the_end_of_its_lifetime() {
    // Idle for an hour would be fine: only the lifetime can close it.
    let test = TestMembrane::start_with(|config| {
        config.max_connection_lifetime = Duration::from_millis(500);
        config.idle_timeout = Duration::from_secs(3600);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (client, id) = app.connect().await;

    // A busy client: it sends until the close, and the app hears it.
    let (mut out, mut incoming) = client.split();
    let chatting = tokio::spawn(async move {
        loop {
            if out.send(Message::text("busy")).await.is_err() {
                return;
            }
            // Pacing, not synchronisation: a client that keeps talking.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert_eq!(body(&app.messages.next().await), b"busy");
    let code = loop {
        match within("the close", incoming.next()).await {
            Some(Ok(Message::Close(frame))) => break frame.map(|frame| frame.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(code, Some(CloseCode::Away));
    chatting.abort();
    // Reading on answers the close frame.
    tokio::spawn(async move { while let Some(Ok(_)) = incoming.next().await {} });
    assert_eq!(app.disconnects.next().await.connection_id, id);
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503() {
    let test = TestMembrane::start_with(|config| config.max_connections = 2).await;
    let mut app = test.accepting_app("chat").await;
    let (first, first_id) = app.connect().await;
    let (_second, _) = app.connect().await;

    assert_eq!(refused_status(&app.url).await, 503);

    drop(first);
    assert_eq!(app.disconnects.next().await.connection_id, first_id);
    let (_third, _) = app.connect().await;
}

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_disconnected() {
    let test = TestMembrane::start_with(|config| {
        config.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let addr = app.url.strip_prefix("ws://").unwrap().to_owned();

    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n")
        .await
        .unwrap();
    for stream in [&mut silent, &mut slow] {
        let mut rest = Vec::new();
        // The server closes the connection (perhaps after an error
        // response) instead of waiting for the rest of the headers.
        within("the server to close", stream.read_to_end(&mut rest))
            .await
            .ok();
    }
    // Neither was taken for a websocket client; one that sends its
    // headers still is.
    let (_prompt, _) = app.connect().await;
}

#[tokio::test]
async fn the_gateway_pings_and_drops_clients_that_do_not_answer() {
    let test = TestMembrane::start_with(|config| {
        config.ping_interval = Duration::from_millis(200);
        config.pong_timeout = Duration::from_millis(400);
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    let (mut reading, reading_id) = app.connect().await;
    let (_deaf, deaf_id) = app.connect().await; // never read, so never pongs

    // A reading client answers pings (tungstenite does so as it reads).
    let pinged = async {
        let mut pings = 0;
        while pings < 4 {
            match reading.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                other => panic!("expected pings, got {other:?}"),
            }
        }
    };
    within("pings", pinged).await;
    assert_eq!(app.disconnects.next().await.connection_id, deaf_id);

    reading.send(Message::text("alive")).await.unwrap();
    let event = app.messages.next().await;
    assert_eq!(event.connection_id, reading_id);
}

async fn open_with_origin(
    url: &str,
    origin: &str,
) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    within("the handshake", tokio_tungstenite::connect_async(request))
        .await
        .map(|(client, _)| client)
}

fn status_of(result: Result<Client, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => 101,
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_with_403_and_loopback_ones_accepted() {
    let test = TestMembrane::start().await;
    let app = test.accepting_app("chat").await;

    for origin in ["https://evil.example", "http://192.0.2.1:4001", "null"] {
        assert_eq!(
            status_of(open_with_origin(&app.url, origin).await),
            403,
            "{origin}"
        );
    }
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:4001",
        "https://[::1]",
    ] {
        assert_eq!(
            status_of(open_with_origin(&app.url, origin).await),
            101,
            "{origin}"
        );
    }
    open_client(&app.url).await.expect("no Origin is accepted");
}

#[tokio::test]
async fn allowed_origins_extend_the_loopback_ones() {
    let test = TestMembrane::start_with(|config| {
        config.allowed_origins = vec!["https://app.example".into()];
    })
    .await;
    let app = test.accepting_app("chat").await;
    assert_eq!(
        status_of(open_with_origin(&app.url, "https://app.example").await),
        101
    );
    assert_eq!(
        status_of(open_with_origin(&app.url, "https://other.example").await),
        403
    );
    assert_eq!(
        status_of(open_with_origin(&app.url, "http://localhost").await),
        101
    );
}

#[tokio::test]
async fn an_unanswered_connect_refuses_the_upgrade_with_504() {
    let test = TestMembrane::start_with(|config| {
        config.event_timeout = Duration::from_millis(300);
    })
    .await;
    let mut connects = test.handler("chat", WebsocketEventType::Connect).await;
    let url = test.membrane.socket_url("chat").unwrap();

    let handshake = tokio::spawn(async move { refused_status(&url).await });
    // Never answered: 504 says the event timeout ended the wait.
    let _ignored = connects.next_event().await;
    assert_eq!(within("the refusal", handshake).await.unwrap(), 504);
}

#[tokio::test]
async fn after_an_unanswered_message_the_next_frame_is_read() {
    let test = TestMembrane::start_with(|config| {
        config.event_timeout = Duration::from_millis(300);
    })
    .await;
    let mut connects = test
        .handler("chat", WebsocketEventType::Connect)
        .await
        .answer_all(|_| accept());
    let mut messages = test.handler("chat", WebsocketEventType::Message).await;
    let url = test.membrane.socket_url("chat").unwrap();
    let mut client = open_client(&url).await.unwrap();
    connects.next().await;

    client.send(Message::text("one")).await.unwrap();
    client.send(Message::text("two")).await.unwrap();
    let (_unanswered, first) = messages.next_event().await;
    assert_eq!(body(&first), b"one");
    let (second_id, second) = messages.next_event().await;
    assert_eq!(body(&second), b"two");
    messages
        .answer(&second_id, WebsocketEventResponse::default())
        .await;
}

//! What goes out to a client, frame by frame: the frame type a message the
//! application sends goes out as, and what a client that breaks the protocol
//! still receives before its 1002 close.

use std::time::Duration;

use futures_util::SinkExt;
use nitric_protocol::websockets::v1::websocket_client::WebsocketClient;
use nitric_protocol::websockets::v1::{
    WebsocketEventResponse, WebsocketEventType, WebsocketSendRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{body, next_frame, open_client, within, TestMembrane};

fn send(connection_id: &str, data: &[u8]) -> WebsocketSendRequest {
    WebsocketSendRequest {
        socket_name: "chat".into(),
        connection_id: connection_id.into(),
        data: data.to_vec(),
    }
}

#[tokio::test]
async fn an_echo_goes_back_as_the_frame_type_the_client_sent() {
    let test = TestMembrane::start().await;
    let mut app = test.echo_app("chat").await;
    let mut client = open_client(&app.url).await.unwrap();
    let id = app.connects.next().await.connection_id;

    for message in [
        // Binary whose bytes happen to be UTF-8 (text would be wrong here).
        Message::binary(b"valid UTF-8".to_vec()),
        Message::binary(Vec::new()),
        Message::text(""),
        Message::text("text"),
        Message::binary(vec![0xff, 0xfe]),
        Message::binary(b"binary again".to_vec()),
        Message::text("text again"),
    ] {
        client.send(message.clone()).await.unwrap();
        assert_eq!(next_frame(&mut client).await, Some(message));
    }

    // Sends from outside a handler follow the client's last message too,
    // except that bytes that are not UTF-8 are always binary.
    let mut websocket = WebsocketClient::new(test.channel().await);
    websocket.send_message(send(&id, &[0xc3])).await.unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        Some(Message::binary(vec![0xc3]))
    );
    client.send(Message::binary(vec![1])).await.unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        Some(Message::binary(vec![1]))
    );
    websocket.send_message(send(&id, b"news")).await.unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        Some(Message::binary(b"news".to_vec()))
    );
}

/// A frame from the server: its opcode and payload.
type Frame = (u8, Vec<u8>);

/// Messages of [`BACKLOG_SIZE`] sent ahead of an echo: together more than
/// the kernel buffers of a loopback connection hold (4 MiB to send, 128 KiB
/// to receive until the client reads), so writing them to a client that
/// does not read keeps the gateway's writer busy.
const BACKLOG: usize = 16;
/// Under gRPC's default limit of 4 MiB per message.
const BACKLOG_SIZE: usize = 1024 * 1024;

#[tokio::test]
async fn what_was_queued_before_a_protocol_error_goes_out_before_the_1002_close() {
    let test = TestMembrane::start_with(|config| {
        config.max_message_size = BACKLOG_SIZE;
        config.max_queued_bytes = 2 * BACKLOG * BACKLOG_SIZE;
    })
    .await;
    let mut app = test.accepting_app("chat").await;
    drop(app.messages);
    // Message events are answered by hand, after what the test sends.
    let mut messages = test.handler("chat", WebsocketEventType::Message).await;
    let mut websocket = WebsocketClient::new(test.channel().await);

    let bad_frames: [(&str, u8); 3] = [
        // FIN clear on a ping.
        ("a fragmented control frame", 0x09),
        // RSV1 set, with no extension negotiated.
        ("reserved bits", 0xc1),
        ("a reserved opcode", 0x83),
    ];
    for (what, first_byte) in bad_frames {
        let mut tcp = upgrade(&app.url).await;
        let id = app.connects.next().await.connection_id;
        // The text and the bad frame in one write.
        let mut bytes = masked_frame(0x81, b"echo me");
        bytes.extend(masked_frame(first_byte, b""));
        tcp.write_all(&bytes).await.unwrap();

        // The client reads nothing yet, so the backlog holds the writer up
        // and the echo is still queued when the bad frame is read, which
        // happens as soon as the text's event is answered.
        let (event_id, event) = messages.next_event().await;
        for _ in 0..BACKLOG {
            websocket
                .send_message(send(&id, &vec![b'x'; BACKLOG_SIZE]))
                .await
                .unwrap();
        }
        websocket
            .send_message(send(&id, body(&event)))
            .await
            .unwrap();
        messages
            .answer(&event_id, WebsocketEventResponse::default())
            .await;
        // Not synchronisation: the frames asserted below are the same
        // whenever the client starts reading. The pause makes it likely
        // that the bad frame is read while the backlog is still queued,
        // the case this test is about; the gateway shows no event for that
        // moment that a test could wait for.
        tokio::time::sleep(Duration::from_millis(200)).await;

        let frames = frames_until_close(&mut tcp).await;
        let summary: Vec<_> = frames
            .iter()
            .map(|(opcode, payload)| (opcode, payload.len()))
            .collect();
        let context = format!("after {what}, (opcode, length) of each frame: {summary:?}");
        assert_eq!(frames.len(), BACKLOG + 2, "{context}");
        for (_, backlog) in &frames[..BACKLOG] {
            assert_eq!(backlog.len(), BACKLOG_SIZE, "{context}");
        }
        assert_eq!(frames[BACKLOG], (0x1, b"echo me".to_vec()), "{context}");
        let (opcode, close) = &frames[BACKLOG + 1];
        assert_eq!(*opcode, 0x8, "{context}");
        assert_eq!(close[..2], 1002u16.to_be_bytes(), "{context}");
    }
}

/// Opens a websocket by hand over TCP.
async fn upgrade(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("ws://");
    let mut tcp = within("the TCP connection", TcpStream::connect(addr))
        .await
        .unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // Byte by byte, so nothing after the response head is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(within("the upgrade response", tcp.read_u8()).await.unwrap());
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A final-or-not frame from the client: `first_byte` holds FIN, RSV and
/// opcode; the payload is masked, as a client's must be.
fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    assert!(payload.len() < 126, "short payloads only");
    let mut frame = vec![first_byte, 0x80 | payload.len() as u8];
    frame.extend(MASK);
    frame.extend(
        payload
            .iter()
            .zip(MASK.iter().cycle())
            .map(|(byte, mask)| byte ^ mask),
    );
    frame
}

/// The server's frames up to and including its close frame (or until it
/// drops the connection).
async fn frames_until_close(tcp: &mut TcpStream) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        let mut header = [0u8; 2];
        if within("a frame", tcp.read_exact(&mut header))
            .await
            .is_err()
        {
            return frames;
        }
        let opcode = header[0] & 0x0f;
        let len = match header[1] & 0x7f {
            126 => usize::from(tcp.read_u16().await.unwrap()),
            127 => usize::try_from(tcp.read_u64().await.unwrap()).unwrap(),
            short => usize::from(short),
        };
        let mut payload = vec![0; len];
        within("a frame's payload", tcp.read_exact(&mut payload))
            .await
            .unwrap();
        frames.push((opcode, payload));
        if opcode == 0x8 {
            return frames;
        }
    }
}

//! The echo example, driven by real websocket clients.

use nitric_tests::{App, Client};
use tokio_tungstenite::tungstenite::Message;

const ECHO: &str = env!("CARGO_BIN_EXE_echo");

#[tokio::test]
async fn each_message_goes_back_to_its_sender_alone() {
    let (app, url, _data) = App::start_serving(ECHO, "public").await;
    let mut ada = Client::connect(&url).await;
    let mut bob = Client::connect(&url).await;

    ada.send("hello from ada").await;
    bob.send("hello from bob").await;
    assert_eq!(ada.receive_frame().await, Message::text("hello from ada"));
    assert_eq!(bob.receive_frame().await, Message::text("hello from bob"));

    // Bytes that are not UTF-8 come back as a binary frame, unchanged.
    let bytes = [0x00, 0x9f, 0x92, 0x96, 0xff];
    ada.send_binary(&bytes).await;
    assert_eq!(ada.receive_frame().await, Message::binary(bytes.to_vec()));

    // A binary message comes back binary even when its bytes are UTF-8.
    ada.send_binary(b"binary").await;
    assert_eq!(ada.receive_frame().await, Message::binary(&b"binary"[..]));

    // One message in, one out: nothing else reaches either client. A
    // connection's messages are answered in order, so anything extra
    // would come before the answer to this last one.
    for client in [&mut ada, &mut bob] {
        client.send("last").await;
        assert_eq!(client.receive().await, "last");
    }

    ada.close().await;
    bob.send("still here").await;
    assert_eq!(bob.receive().await, "still here");

    app.terminate();
    let (status, stderr) = app.exit().await;
    assert!(
        status.success(),
        "the echo exits 0 on SIGTERM: {status}\n{stderr}"
    );
}

/// Many messages in flight at once all come back, in the order sent (one
/// connection's messages are handled in order).
#[tokio::test]
async fn a_burst_comes_back_in_order() {
    let (_app, url, _data) = App::start_serving(ECHO, "public").await;
    let mut client = Client::connect(&url).await;
    let sent: Vec<String> = (0..50).map(|index| format!("m{index}")).collect();
    for text in &sent {
        client.send(text).await;
    }
    let mut received = Vec::new();
    for _ in &sent {
        received.push(client.receive().await);
    }
    assert_eq!(received, sent);
}

//! The baseline for tests/autobahn/run.sh: a bare tokio-tungstenite echo
//! server in its default configuration, which run.sh builds outside the
//! repository. Text and binary messages go back as they came; pings, pongs
//! and the closing handshake are tungstenite's own.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).await.expect("the port is free");
    println!("bare echo on ws://{addr}");
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(serve(tcp));
    }
}

async fn serve(tcp: TcpStream) {
    let Ok(mut websocket) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = websocket.next().await {
        if (message.is_text() || message.is_binary()) && websocket.send(message).await.is_err() {
            return;
        }
    }
}

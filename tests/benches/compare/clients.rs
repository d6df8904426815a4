//! Websocket clients for the measurements: many connections opened at once,
//! and echo round trips driven on each of them in its own task. Every wait
//! is bounded.

use futures_util::{stream, SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One client connection.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest one connect, send or receive may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// How many connects are under way at once when opening many.
const CONNECTING_AT_ONCE: usize = 64;

/// The payload every echo round trip carries.
const PAYLOAD: &str = "the quick brown fox jumps over the lazy dog";

/// Connects to `url` with Nagle's algorithm off. A 503 (the connect handler
/// is not registered yet) is retried until [`WAIT`] has passed.
pub async fn connect(url: &str) -> Socket {
    let deadline = Instant::now() + WAIT;
    loop {
        let attempt = tokio_tungstenite::connect_async_with_config(url, None, true);
        match timeout(WAIT, attempt).await {
            Ok(Ok((socket, _))) => return socket,
            Ok(Err(Error::Http(response)))
                if response.status() == 503 && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(Err(error)) => panic!("connecting to {url}: {error}"),
            Err(_) => panic!("connecting to {url} took longer than {WAIT:?}"),
        }
    }
}

/// Opens `count` connections to `url`.
pub async fn connect_many(url: &str, count: usize) -> Vec<Socket> {
    stream::iter(0..count)
        .map(|_| connect(url))
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await
}

/// What [`drive`] measured.
pub struct Driven {
    /// The connections, for the next round.
    pub sockets: Vec<Socket>,
    /// Every round trip's latency, in microseconds, unsorted.
    pub latencies: Vec<u32>,
    /// From the start until the last round trip finished.
    pub elapsed: Duration,
}

/// Runs echo round trips on every socket at once, one in flight per socket,
/// each socket in its own task: `per_socket` of them, or fewer if `window`
/// ends first.
pub async fn drive(sockets: Vec<Socket>, per_socket: usize, window: Duration) -> Driven {
    let started = Instant::now();
    let until = started + window;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let message = Message::text(PAYLOAD);
                for _ in 0..per_socket {
                    if Instant::now() >= until {
                        break;
                    }
                    let sent = Instant::now();
                    round_trip(&mut socket, message.clone()).await;
                    let micros = sent.elapsed().as_micros();
                    latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
                (socket, latencies)
            })
        })
        .collect();
    let mut driven = Driven {
        sockets: Vec::with_capacity(tasks.len()),
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (socket, latencies) = task
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        driven.sockets.push(socket);
        driven.latencies.extend(latencies);
    }
    driven.elapsed = started.elapsed();
    driven
}

/// Sends `message` and waits for its echo.
async fn round_trip(socket: &mut Socket, message: Message) {
    let expected = message.len();
    timeout(WAIT, socket.send(message))
        .await
        .expect("sending took too long")
        .expect("send a message");
    let received = timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("the websocket failed: {error}"),
                None => panic!("the websocket closed while an echo was expected"),
            }
        }
    })
    .await
    .expect("no echo came back in time");
    assert_eq!(
        received.len(),
        expected,
        "the echo differs from the message"
    );
}

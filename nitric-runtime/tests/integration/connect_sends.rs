//! Sends from a connect handler to its own connection: queued while the
//! handler runs, delivered in order once it accepts, dropped quietly when
//! it refuses.

use nitric_runtime::connection::Rooms;
use nitric_runtime::testing::{TestApp, TestError};
use nitric_runtime::websocket::{
    ConnectContext, DisconnectContext, MessageContext, Reject, Websocket,
};
use nitric_runtime::{kv_store, websocket, BoxError};
use std::fmt::Write as _;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, Semaphore};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

// Socket "greeted": the connect handler sends two lines; with `?refuse=`
// it sends them and then refuses the connection.

#[websocket("greeted", on = "connect")]
async fn greeted_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    ctx.send("welcome").await?;
    ctx.send_json(&serde_json::json!({ "you": ctx.connection_id() }))
        .await?;
    if ctx.query().get("refuse").is_some() {
        return Err(Reject::new("asked to be refused").into());
    }
    Ok(())
}

#[websocket("greeted", on = "disconnect")]
async fn greeted_disconnect(_ctx: DisconnectContext) {}

/// Answers `ping` with `pong`: what was said after the greetings.
#[websocket("greeted", on = "message")]
async fn greeted_message(ctx: MessageContext) -> Result<(), BoxError> {
    if ctx.text()? == "ping" {
        ctx.socket().send(ctx.connection_id(), "pong").await?;
    }
    Ok(())
}

#[tokio::test]
async fn what_a_connect_handler_sends_arrives_in_order_once_connected() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    for _ in 0..3 {
        let mut client = app.connect("greeted").await?;
        assert_eq!(client.recv_text().await?, "welcome");
        let you: serde_json::Value = client.recv_json().await?;
        assert!(you["you"].is_string(), "{you}");
        // The queue is done: what follows is the connection's own.
        client.send_text("ping").await?;
        assert_eq!(client.recv_text().await?, "pong");
        client.close().await?;
    }
    app.stop().await
}

#[tokio::test]
async fn what_a_refused_connect_sent_is_dropped_without_warnings() -> Result<(), TestError> {
    // `#[tokio::test]` runs the app's tasks on this thread: the capture
    // sees the runtime's events for this test alone.
    let logged = Logged::default();
    let _capture =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logged.clone()));
    let app = TestApp::start().await?;

    let status = app
        .connect_refused_with_query("greeted", &[("refuse", "1")])
        .await?;
    assert_eq!(status, 403);
    // Dropped before the refusal was answered, not sent and retried.
    let dropped = logged.matching(Level::DEBUG, "are dropped");
    assert_eq!(dropped.len(), 1, "{:?}", logged.about("greeted"));
    assert!(dropped[0].contains("dropped=2"), "{}", dropped[0]);

    // An accepted connection still gets its greetings.
    let mut client = app.connect("greeted").await?;
    assert_eq!(client.recv_text().await?, "welcome");
    client.close().await?;
    app.stop().await?;
    let warnings: Vec<String> = logged
        .all()
        .into_iter()
        .filter(|line| line.starts_with("WARN") || line.starts_with("ERROR"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    Ok(())
}

// Socket "gated": the connect handler joins room "hall", says it has
// started, and waits for the test to let it answer, so the test can send
// to the room while the connection is being accepted.

#[kv_store("gated-rooms", allow = [get, set, delete])]
static HALL: Rooms;

/// Told once per connect handler, when it has joined the room.
static JOINED: Notify = Notify::const_new();
/// One permit per connect handler that may answer.
static ANSWER: Semaphore = Semaphore::const_new(0);

#[websocket("gated", on = "connect")]
async fn gated_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    HALL.join(&ctx, "hall").await?;
    ctx.send("joined").await?;
    JOINED.notify_one();
    ANSWER.acquire().await?.forget();
    Ok(())
}

#[websocket("gated", on = "disconnect")]
async fn gated_disconnect(_ctx: DisconnectContext) {}

#[websocket("gated", on = "message")]
async fn gated_message(_ctx: MessageContext) {}

/// What the room is sent while a member's connect handler runs, and after
/// it has answered but before the membrane has opened the connection,
/// waits for the opening, behind what the handler sent: nothing is lost,
/// and the broadcast counts it as sent.
#[tokio::test]
async fn a_room_broadcast_waits_for_a_connection_being_accepted() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let url = app.url("gated").await?;
    let connecting = tokio::spawn(async move {
        tokio_tungstenite::connect_async(url)
            .await
            .map(|(stream, _)| stream)
    });
    JOINED.notified().await;
    let socket = Websocket::new("gated");
    let report = app
        .scope(
            HALL.broadcast(&socket, "hall", "while connecting")
                .into_future(),
        )
        .await?;
    assert_eq!((report.sent, report.not_ready.len()), (1, 0), "{report:?}");
    ANSWER.add_permits(1);
    let report = app
        .scope(HALL.broadcast(&socket, "hall", "just after").into_future())
        .await?;
    assert_eq!(report.sent, 1, "{report:?}");
    let mut stream = connecting
        .await
        .expect("the connecting task")
        .expect("the handshake");
    let mut received = Vec::new();
    while received.len() < 3 {
        use futures_util::StreamExt;
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("a message within 10 s")
            .expect("the stream is open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            received.push(text.to_string());
        }
    }
    assert_eq!(received, ["joined", "while connecting", "just after"]);
    drop(stream);
    app.stop().await
}

// Socket "crowd": every connection joins room "crowd" in its connect
// handler.

#[kv_store("crowd-rooms", allow = [get, set, delete])]
static CROWD: Rooms;

#[websocket("crowd", on = "connect")]
async fn crowd_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    CROWD.join(&ctx, "crowd").await?;
    Ok(())
}

#[websocket("crowd", on = "disconnect")]
async fn crowd_disconnect(_ctx: DisconnectContext) {}

#[websocket("crowd", on = "message")]
async fn crowd_message(_ctx: MessageContext) {}

/// Broadcasts to a room from several tasks while a crowd connects to it,
/// on several worker threads: no member is taken for gone or not ready,
/// none leaves the room, and each gets every broadcaster's lines from the
/// first it got on, in order, then the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broadcasts_while_a_crowd_connects_lose_no_one() -> Result<(), TestError> {
    use futures_util::StreamExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio_tungstenite::tungstenite::Message;

    const CLIENTS: usize = 40;
    const BROADCASTERS: usize = 3;
    let app = TestApp::start().await?;
    let url = app.url("crowd").await?;
    let stop = Arc::new(AtomicBool::new(false));
    // Several broadcasters at once, so one connection is sent to by more
    // than one task while it opens.
    let broadcasting: Vec<_> = (0..BROADCASTERS)
        .map(|broadcaster| {
            let stop = stop.clone();
            app.service().spawn(async move {
                let socket = Websocket::new("crowd");
                let mut problems = Vec::new();
                let mut tick = 0u32;
                while !stop.load(Ordering::Acquire) {
                    tick += 1;
                    let said = format!("tick {broadcaster} {tick}");
                    match CROWD.broadcast(&socket, "crowd", said).await {
                        Ok(report)
                            if report.gone.is_empty()
                                && report.not_ready.is_empty()
                                && report.failed.is_empty() => {}
                        Ok(report) => problems.push(format!("{broadcaster}/{tick}: {report:?}")),
                        Err(error) => problems.push(format!("{broadcaster}/{tick}: {error}")),
                    }
                }
                problems
            })
        })
        .collect();
    let connecting: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                tokio_tungstenite::connect_async(url)
                    .await
                    .map(|(stream, _)| stream)
            })
        })
        .collect();
    let mut clients = Vec::new();
    for client in connecting {
        clients.push(
            client
                .await
                .expect("the connecting task")
                .expect("the handshake"),
        );
    }
    // Every member has joined (each connect handler ran to its answer).
    let socket = Websocket::new("crowd");
    let members = app.scope(CROWD.members(&socket, "crowd")).await?;
    assert_eq!(members.len(), CLIENTS, "{members:?}");
    stop.store(true, Ordering::Release);
    for broadcaster in broadcasting {
        let problems = broadcaster.await.expect("the broadcasting task");
        assert!(problems.is_empty(), "{problems:#?}");
    }
    let report = app
        .scope(CROWD.broadcast(&socket, "crowd", "last").into_future())
        .await?;
    assert_eq!(report.sent, CLIENTS, "{report:?}");

    for (index, client) in clients.iter_mut().enumerate() {
        // Each broadcaster's ticks, as this client got them.
        let mut ticks = vec![Vec::new(); BROADCASTERS];
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), client.next())
                .await
                .unwrap_or_else(|_| panic!("client {index} waited 10 s after {ticks:?}"))
                .expect("the stream is open")
                .expect("a frame");
            let Message::Text(text) = frame else { continue };
            if text.as_str() == "last" {
                break;
            }
            let mut words = text.as_str().split(' ').skip(1);
            let mut number = || -> usize {
                words
                    .next()
                    .and_then(|word| word.parse().ok())
                    .expect("tick B N")
            };
            let (broadcaster, tick) = (number(), number());
            ticks[broadcaster].push(tick);
        }
        for (broadcaster, got) in ticks.iter().enumerate() {
            let consecutive = got.windows(2).all(|pair| pair[1] == pair[0] + 1);
            assert!(
                consecutive,
                "client {index} got {got:?} from broadcaster {broadcaster}"
            );
        }
    }
    app.stop().await
}

/// The runtime's events, each as "LEVEL message field=value ...".
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<String>>>);

impl Logged {
    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The events that mention `text`.
    fn about(&self, text: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|line| line.contains(text))
            .collect()
    }

    /// The events at `level` that mention `text`.
    fn matching(&self, level: Level, text: &str) -> Vec<String> {
        let prefix = format!("{level} ");
        self.all()
            .into_iter()
            .filter(|line| line.starts_with(&prefix) && line.contains(text))
            .collect()
    }
}

impl<S: Subscriber> Layer<S> for Logged {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("nitric_runtime") {
            return;
        }
        let mut line = event.metadata().level().to_string();
        event.record(&mut Fields(&mut line));
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
}

/// Writes an event's fields after its level.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = match field.name() {
            "message" => write!(self.0, " {value:?}"),
            name => write!(self.0, " {name}={value:?}"),
        };
    }
}

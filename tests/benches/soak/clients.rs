//! The soak's websocket clients: connections split into shards, one tokio
//! task per shard, each reading all of its connections at once and counting
//! every delivery exactly (which connection got which broadcast).

use futures_util::stream::{self, SelectAll};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message};

/// The longest one connect or one send may take.
const WAIT: Duration = Duration::from_secs(30);
/// The longest a shard waits for its connections to finish closing.
const CLOSING: Duration = Duration::from_secs(30);
/// Each client's read buffer: the messages are small, and 10,000 clients
/// with tungstenite's default 128 KiB would take over a GiB in this process.
const READ_BUFFER: usize = 4 * 1024;
/// What every broadcast says before its number.
const PREFIX: &str = "soak ";

/// The text of broadcast `seq`.
pub fn broadcast_text(seq: usize) -> String {
    format!("{PREFIX}{seq}")
}

/// Counts shared by every shard and the driver.
pub struct Tally {
    /// Members that have received each broadcast (each member once).
    pub per_broadcast: Vec<AtomicU32>,
    /// Deliveries counted, duplicates excluded.
    pub received: AtomicU64,
    /// A member received a broadcast it had already received.
    pub duplicates: AtomicU64,
    /// A message that is no broadcast of this run.
    pub unexpected: AtomicU64,
    /// Connects refused or failed, sends failed, websocket errors.
    pub errors: AtomicU64,
    /// Connections the server closed or dropped before the end.
    pub closed_early: AtomicU64,
}

impl Tally {
    pub fn new(broadcasts: usize) -> Self {
        Self {
            per_broadcast: (0..broadcasts).map(|_| AtomicU32::new(0)).collect(),
            received: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            closed_early: AtomicU64::new(0),
        }
    }

    fn error(&self, what: &str, error: impl std::fmt::Display) {
        // The first few say what went wrong; the count says how often.
        if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("soak: {what}: {error}");
        }
    }

    /// Records that a member got `text`; `seen` holds its broadcasts so far.
    fn record(&self, seen: &mut [u64], text: &str) {
        let seq = text
            .strip_prefix(PREFIX)
            .and_then(|seq| seq.parse::<usize>().ok())
            .filter(|&seq| seq < self.per_broadcast.len());
        let Some(seq) = seq else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (word, bit) = (seq / 64, 1u64 << (seq % 64));
        if seen[word] & bit != 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        seen[word] |= bit;
        self.per_broadcast[seq].fetch_add(1, Ordering::Relaxed);
        self.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the driver asks of a shard.
pub enum Command {
    /// Send `text` on the shard's connection `local`.
    Send { local: usize, text: String },
    /// Close every connection and end.
    Close,
}

/// What a shard reports when it ends.
pub struct Closed {
    /// Connections whose closing handshake completed in time.
    pub cleanly: usize,
}

/// One task holding a share of the connections.
pub struct Shard {
    pub commands: mpsc::UnboundedSender<Command>,
    pub task: JoinHandle<Closed>,
}

/// What happens on one connection, tagged with its index in the shard.
enum Event {
    Frame(usize, Result<Message, Error>),
    Ended(usize),
}

/// Starts a shard opening `count` connections to `url` (at most as many
/// connects at once as `connecting` has permits), then counting what they
/// receive into `tally`. It sends its `index` and how many it opened on
/// `opened`.
pub fn start_shard(
    index: usize,
    url: String,
    count: usize,
    connecting: Arc<Semaphore>,
    tally: Arc<Tally>,
    opened: mpsc::UnboundedSender<(usize, usize)>,
) -> Shard {
    let (commands, receiver) = mpsc::unbounded_channel();
    let task = tokio::spawn(run_shard(
        index, url, count, connecting, tally, opened, receiver,
    ));
    Shard { commands, task }
}

async fn run_shard(
    index: usize,
    url: String,
    count: usize,
    connecting: Arc<Semaphore>,
    tally: Arc<Tally>,
    opened: mpsc::UnboundedSender<(usize, usize)>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> Closed {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let sockets: Vec<_> = stream::iter(0..count)
        .map(|_| {
            let (url, connecting, tally) = (&url, &connecting, &tally);
            async move {
                let _permit = connecting
                    .acquire()
                    .await
                    .expect("the semaphore stays open");
                let attempt = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
                match timeout(WAIT, attempt).await {
                    Ok(Ok((socket, _))) => Some(socket),
                    Ok(Err(error)) => {
                        tally.error("connecting", error);
                        None
                    }
                    Err(_) => {
                        tally.error("connecting", format!("no answer within {WAIT:?}"));
                        None
                    }
                }
            }
        })
        .buffer_unordered(64)
        .filter_map(|socket| async move { socket })
        .collect()
        .await;
    let _ = opened.send((index, sockets.len()));

    let words = tally.per_broadcast.len().div_ceil(64);
    let mut seen = vec![vec![0u64; words]; sockets.len()];
    let mut sinks = Vec::with_capacity(sockets.len());
    let mut events = SelectAll::new();
    for (local, socket) in sockets.into_iter().enumerate() {
        let (sink, stream) = socket.split();
        sinks.push(sink);
        let frames = stream.map(move |frame| Event::Frame(local, frame));
        events.push(
            frames
                .chain(stream::once(async move { Event::Ended(local) }))
                .boxed(),
        );
    }
    let mut open = vec![true; sinks.len()];

    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send { local, text }) => {
                    match timeout(WAIT, sinks[local].send(Message::text(text))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => tally.error("sending", error),
                        Err(_) => tally.error("sending", format!("not sent within {WAIT:?}")),
                    }
                }
                Some(Command::Close) | None => break,
            },
            Some(event) = events.next() => match event {
                Event::Frame(local, Ok(Message::Text(text))) => tally.record(&mut seen[local], &text),
                Event::Frame(_, Ok(Message::Close(_))) => {}
                Event::Frame(_, Ok(_)) => {} // pings and pongs
                Event::Frame(_, Err(error)) => tally.error("receiving", error),
                Event::Ended(local) => {
                    open[local] = false;
                    tally.closed_early.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }

    // Close every connection still open, then read until the server has
    // answered each close (or the time is up).
    let closing = open.iter().filter(|open| **open).count();
    for (sink, _) in sinks.iter_mut().zip(&open).filter(|(_, open)| **open) {
        let _ = timeout(WAIT, sink.close()).await;
    }
    let mut cleanly = 0;
    let _ = timeout(CLOSING, async {
        while cleanly < closing {
            match events.next().await {
                Some(Event::Ended(_)) => cleanly += 1,
                Some(_) => {}
                None => break,
            }
        }
    })
    .await;
    Closed { cleanly }
}

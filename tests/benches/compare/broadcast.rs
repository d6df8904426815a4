//! Broadcast: one chat message to 1,000 connected clients, timed from the
//! send until every client has it, for the chat app in Rust, Node and
//! Python on a `nitric-local` membrane in its own process; and the same
//! through the lobby example (tickets, presence, history) against the
//! Rust chat.

use crate::apps::{serving, Lang};
use crate::clients::{connect, connect_many, Socket, WAIT};
use crate::lobby_login::login;
use crate::report::{median, Figure, Report, Row, Target, Unit};
use crate::{guarded, Availability};
use futures_util::{stream, SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 1_000;
const WARM_UP: usize = 1;
const ROUNDS: usize = 5;
/// The longest one broadcast may take to reach everyone.
const ROUND_LIMIT: Duration = Duration::from_secs(20);
const PAUSE: Duration = Duration::from_millis(200);
/// How many lobby clients log in and connect at once.
const CONNECTING: usize = 64;

/// Adds the broadcast rows to `report`.
pub async fn measure(report: &mut Report, available: &Availability) {
    let ours = per_lang(Lang::Rust, available).await;
    for peer in Lang::PEERS {
        let theirs = per_lang(peer, available).await;
        report.row(Row {
            measure: format!("broadcast to {CLIENTS} clients, until all have it (p50)"),
            unit: Unit::Millis,
            ours: ours.clone(),
            peer: peer.label().into(),
            theirs,
            target: Some(Target {
                text: "< 50 ms and ≤ 0.1 (≥10x faster)",
                met: |ours, ratio| ours < 50.0 && ratio <= 0.1,
            }),
        });
    }
}

/// Adds the lobby's row: its broadcast beside the plain chat's, both in
/// Rust. Each lobby client logs in over HTTP and connects with its ticket;
/// each connect is announced to the room, and each line is recorded in the
/// room's history before it is sent.
pub async fn measure_lobby(report: &mut Report, available: &Availability) {
    let chat = per_lang(Lang::Rust, available).await;
    let lobby = guarded(async {
        eprintln!("broadcast: Rust lobby");
        let (mut membrane, app, url) = serving(Lang::Rust, "lobby").await;
        let api = membrane.api_url("auth").await;
        let (api, url) = (&api, url.trim_end_matches('/'));
        // Each client connects right after its login (tickets expire),
        // `CONNECTING` at a time, as a crowd arrives: the joins announced
        // to connections still being accepted wait for them to open (a
        // round that lost clients would not complete).
        let sockets = stream::iter(0..CLIENTS)
            .map(|client| async move {
                let ticket = login(api, &format!("user-{client}"))
                    .await
                    .unwrap_or_else(|why| panic!("logging in: {why}"));
                connect(&format!("{url}/?ticket={ticket}")).await
            })
            .buffer_unordered(CONNECTING)
            .collect()
            .await;
        let time = fan_out(sockets).await;
        drop(app);
        drop(membrane);
        time
    })
    .await;
    report.row(Row {
        measure: format!(
            "broadcast to {CLIENTS} clients through the lobby (presence + history), until all \
             have it (p50)"
        ),
        unit: Unit::Millis,
        ours: lobby,
        peer: "Rust chat".into(),
        theirs: chat,
        target: Some(Target {
            text: "≤ 1.5x of the plain chat",
            met: |_, ratio| ratio <= 1.5,
        }),
    });
}

async fn per_lang(lang: Lang, available: &Availability) -> Figure {
    available.check(lang)?;
    guarded(async move {
        eprintln!("broadcast: {} chat", lang.label());
        let (membrane, app, url) = serving(lang, "chat").await;
        let sockets = connect_many(&url, CLIENTS).await;
        let time = fan_out(sockets).await;
        drop(app);
        drop(membrane);
        time
    })
    .await
}

/// Sends `round N` from the first socket, a warm-up round then [`ROUNDS`]
/// timed ones, and returns the median time until every socket had it.
async fn fan_out(sockets: Vec<Socket>) -> f64 {
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut senders = Vec::with_capacity(CLIENTS);
    let mut readers = Vec::with_capacity(CLIENTS);
    for socket in sockets {
        let (sender, mut receiver) = socket.split();
        senders.push(sender);
        let arrived = arrived.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = receiver.next().await {
                if let Some(round) = message.to_text().ok().and_then(round_in) {
                    if arrived.send((round, Instant::now())).is_err() {
                        return;
                    }
                }
            }
        }));
    }
    let mut times = Vec::new();
    for round in 0..WARM_UP + ROUNDS {
        let started = Instant::now();
        tokio::time::timeout(
            WAIT,
            senders[0].send(Message::text(format!("round {round}"))),
        )
        .await
        .expect("sending took too long")
        .expect("send the broadcast");
        let mut reached = 0;
        let last = tokio::time::timeout(ROUND_LIMIT, async {
            let mut last = started;
            while reached < CLIENTS {
                let (which, at) = arrivals.recv().await.expect("readers are running");
                if which == round {
                    reached += 1;
                    last = last.max(at);
                }
            }
            last
        })
        .await
        .unwrap_or_else(|_| {
            panic!("round {round} reached {reached} of {CLIENTS} clients within {ROUND_LIMIT:?}")
        });
        if round >= WARM_UP {
            times.push((last - started).as_secs_f64() * 1e3);
        }
        tokio::time::sleep(PAUSE).await;
    }
    for reader in readers {
        reader.abort();
    }
    median(times)
}

/// The round a message carries: the chat's text is `round 3`; the lobby's
/// is a JSON history entry whose message text is. Presence events have
/// none.
fn round_in(text: &str) -> Option<usize> {
    let after = &text[text.find("round ")? + "round ".len()..];
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    after[..digits].parse().ok()
}
